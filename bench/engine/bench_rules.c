/*
 * bench_rules.c — throughput, memory and load time of the rule table
 * (src/alertd/rules.c) against a brute-force scan of the same rules.
 *
 * Single-threaded, like one worker.  Not a test: run bench/engine/run.sh.
 *
 * Workload.  S symbols (default 10,000); each follows the real daily closes
 * of one ticker of strucchange_SP2001_daily.csv (symbol i takes ticker
 * i mod 496, starting at day (i / 496) mod 102 of it) and moves, over the
 * run, from that day's close to the next day's real close (see path_step);
 * change_percent is the move since the start, in hundredths.  Rules
 * (default 1,000,000) and changes both pick their symbol by Zipf(s=1) over
 * the symbols.  Each rule gets a mix of operators with thresholds around
 * its symbol's starting price (-d..-D percent away, default 2 to 30; the
 * change_percent thresholds are the same distance in percent), ONCE or REARM (with
 * hysteresis, cooldown), a few composites, a few on change_percent, a few
 * windowed moves.
 *
 * Reported in one run: load time (compile + index) of all rules, RSS per
 * resident rule, changes/s through rules_tick, changes/s of a brute-force
 * scan that evaluates every rule of the symbol with eval_cond() on the same
 * changes (policies not even applied, so the ratio is conservative), and a
 * replay of the raw CSV closes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cond.h"
#include "dec.h"
#include "eval.h"
#include "rules.h"

#define CENT ((dec_t)2000000)	/* 0.01 as a key */

struct series {
	char name[16];
	int64_t *cents;		/* closes in cents */
	int n, cap;
};

struct path {
	int64_t cents, open;	/* current price, the day's open */
	int day;		/* heading for close[day] */
	int64_t steps, taken;	/* changes expected in the run, so far */
};

struct change {
	uint32_t sym;
	int32_t chg;		/* hundredths of a percent */
	int64_t cents;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rndu(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

/*
 * CPU time of this thread: the machine the figures come from is shared, and
 * wall time there measures the neighbours.  wall_s() is reported beside it.
 */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * sysconf(_SC_PAGESIZE);
}

/* --- CSV --- */

static struct series *ser;
static int nser;

static struct series *series_get(const char *name)
{
	for (int i = nser - 1; i >= 0; i--)
		if (strcmp(ser[i].name, name) == 0)
			return &ser[i];
	ser = realloc(ser, (size_t)(nser + 1) * sizeof(*ser));
	if (!ser)
		abort();
	memset(&ser[nser], 0, sizeof(ser[0]));
	snprintf(ser[nser].name, sizeof(ser[nser].name), "%s", name);
	return &ser[nser++];
}

/* Rows in file order, for the raw replay. */
struct row {
	int ser;
	int64_t cents;
};
static struct row *rows;
static int nrows;

static int load_csv(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];

	if (!f) {
		perror(path);
		return -1;
	}
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *sym = strchr(line, ','), *price;
		struct series *s;
		double p;

		if (!sym || !(price = strchr(sym + 1, ',')))
			continue;
		*price++ = '\0';
		sym++;
		p = strtod(price, NULL);
		s = series_get(sym);
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 128;
			s->cents = realloc(s->cents, (size_t)s->cap * sizeof(*s->cents));
			if (!s->cents)
				abort();
		}
		s->cents[s->n++] = llround(p * 100);
		rows = realloc(rows, (size_t)(nrows + 1) * sizeof(*rows));
		if (!rows)
			abort();
		rows[nrows].ser = (int)(s - ser);
		rows[nrows].cents = s->cents[s->n - 1];
		nrows++;
	}
	fclose(f);
	return 0;
}

/* --- Zipf(s=1) over n ranks --- */

static double *zcdf;
static int zn;

static void zipf_init(int n)
{
	double sum = 0;

	zn = n;
	zcdf = malloc((size_t)n * sizeof(*zcdf));
	if (!zcdf)
		abort();
	for (int i = 0; i < n; i++)
		zcdf[i] = (sum += 1.0 / (i + 1));
	for (int i = 0; i < n; i++)
		zcdf[i] /= sum;
}

static uint32_t zipf(void)
{
	double u = rndu();
	int lo = 0, hi = zn - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (zcdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/* --- rules --- */

static void fmt_cents(char *out, size_t cap, int64_t c)
{
	snprintf(out, cap, "%s%" PRId64 ".%02" PRId64, c < 0 ? "-" : "",
		 (c < 0 ? -c : c) / 100, (c < 0 ? -c : c) % 100);
}

/* One rule's JSON and policy for a symbol whose price is p cents. */
enum { CL_GT, CL_LT, CL_GE, CL_LE, CL_CA, CL_CB, CL_CX, CL_BT, CL_OS, CL_EN,
       CL_EX, CL_EQ, CL_CHG, CL_ALL, CL_ANY, CL_MOVES, CL_N };
static const char *const cl_name[CL_N] = {
	">", "<", ">=", "<=", "crosses_above", "crosses_below", "crosses",
	"between", "outside", "enters", "exits", "==", "change_percent",
	"all", "any", "moves"
};
static uint64_t cl_rules[CL_N], cl_fires[CL_N];

/* Thresholds lie dmin .. dmax away from the starting price (fractions). */
static double dmin = 0.02, dmax = 0.30;
/* Share of windowed-move rules. */
static double pmoves = 0.001;

static int gen_rule(char *json, size_t cap, int64_t p, struct rules_def *d)
{
	static const int windows[] = { 60, 300, 900, 3600 };
	int cl;
	long h;

	char a[32], b[32], c2[32];
	double u = rndu(), dlt = dmin + rndu() * (dmax - dmin);
	int64_t up = llround((double)p * (1 + dlt)), dn = llround((double)p * (1 - dlt));
	int64_t band = llround((double)p * 0.02) + 1;

	fmt_cents(a, sizeof(a), up);
	fmt_cents(b, sizeof(b), dn);
	if (u < 0.25) {
		cl = CL_GT;
		snprintf(json, cap, "{\"operator\":\">\",\"value\":%s}", a);
	} else if (u < 0.50) {
		cl = CL_LT;
		snprintf(json, cap, "{\"operator\":\"<\",\"value\":%s}", b);
	} else if (u < 0.54) {
		cl = CL_GE;
		snprintf(json, cap, "{\"operator\":\">=\",\"value\":%s}", a);
	} else if (u < 0.58) {
		cl = CL_LE;
		snprintf(json, cap, "{\"operator\":\"<=\",\"value\":%s}", b);
	} else if (u < 0.62) {
		cl = CL_CA;
		snprintf(json, cap, "{\"operator\":\"crosses_above\",\"value\":%s}", a);
	} else if (u < 0.66) {
		cl = CL_CB;
		snprintf(json, cap, "{\"operator\":\"crosses_below\",\"value\":%s}", b);
	} else if (u < 0.68) {
		cl = CL_CX;
		snprintf(json, cap, "{\"operator\":\"crosses\",\"value\":%s}", rnd() & 1 ? a : b);
	} else if (u < 0.72) {
		cl = CL_BT;
		fmt_cents(c2, sizeof(c2), up + band);
		snprintf(json, cap, "{\"operator\":\"between\",\"low\":%s,\"high\":%s}", a, c2);
	} else if (u < 0.76) {
		cl = CL_OS;
		snprintf(json, cap, "{\"operator\":\"outside\",\"low\":%s,\"high\":%s}", b, a);
	} else if (u < 0.80) {
		cl = CL_EN;
		fmt_cents(c2, sizeof(c2), dn + band);
		snprintf(json, cap, "{\"operator\":\"enters\",\"low\":%s,\"high\":%s}", b, c2);
	} else if (u < 0.83) {
		cl = CL_EX;
		snprintf(json, cap, "{\"operator\":\"exits\",\"low\":%s,\"high\":%s}", b, a);
	} else if (u < 0.86) {
		cl = CL_EQ;
		snprintf(json, cap, "{\"operator\":\"==\",\"value\":%s}", rnd() & 1 ? a : b);
	} else if (u < 0.93) {
		bool gt = rnd() & 1;

		cl = CL_CHG;
		h = lround(dlt * 10000);	/* same distance, in percent */

		snprintf(json, cap, "{\"field\":\"change_percent\",\"operator\":\"%s\","
			 "\"value\":%s%ld.%02ld}", gt ? ">" : "<", gt ? "" : "-", h / 100, h % 100);
	} else if (u < 0.965) {
		cl = CL_ALL;
		fmt_cents(c2, sizeof(c2), up + band);
		snprintf(json, cap, "{\"all\":[{\"operator\":\">\",\"value\":%s},"
			 "{\"operator\":\"<\",\"value\":%s},"
			 "{\"field\":\"change_percent\",\"operator\":\">\",\"value\":%ld.%02ld}]}",
			 a, c2, lround(dlt * 10000) / 100, lround(dlt * 10000) % 100);
	} else if (u < 1 - pmoves) {
		cl = CL_ANY;
		snprintf(json, cap, "{\"any\":[{\"operator\":\"crosses_above\",\"value\":%s},"
			 "{\"operator\":\"crosses_below\",\"value\":%s}]}", a, b);
	} else {
		cl = CL_MOVES;
		snprintf(json, cap, "{\"operator\":\"moves_%s_pct\",\"value\":%d,\"window_seconds\":%d}",
			 rnd() & 1 ? "up" : "down", 5 + (int)(rnd() % 20), windows[rnd() % 4]);
	}
	d->condition = json;
	d->condition_len = strlen(json);	/* < cap by construction */
	d->rearm = rndu() < 0.25;
	d->cooldown_s = d->rearm && rndu() < 0.3 ? 60 + (int64_t)(rnd() % 3600) : 0;
	d->rearm_hysteresis = d->rearm && rndu() < 0.5 ? (dec_t)(p / 200 + 1) * CENT : 0;
	d->expires_at_us = 0;
	d->trigger_count = 0;
	d->last_triggered_at_us = 0;
	return cl;
}

/* --- events --- */

static uint64_t n_fire, n_pause, n_expire;

static void on_event(void *arg, const struct rules_event *ev)
{
	(void)arg;
	/* The tenant number is the rule's operator class (see the load). */
	cl_fires[atoi(ev->tenant_id + 24) % CL_N]++;
	if (ev->kind == RULES_FIRE)
		n_fire++;
	else if (ev->kind == RULES_FLOOD_PAUSE)
		n_pause++;
	else
		n_expire++;
}

/* --- price paths --- */

/*
 * One change of symbol s: a bridge from close[day] to close[day + 1] over
 * the number of changes the symbol is expected to get in the run (its Zipf
 * share), plus tick noise of up to 3 cents either way around that line.  So every symbol
 * moves like one real trading day of its ticker during the run, which is
 * what a run of a few million changes is in a market of 10,000 symbols.
 */
static void path_step(struct path *p, const struct series *s, struct change *c)
{
	int64_t target = s->cents[p->day], start = s->cents[p->day - (p->day > 0)];
	int64_t noise = (int64_t)(rnd() % 7) - 3;

	p->taken++;
	if (p->taken > p->steps)
		p->taken = p->steps;
	/* On the line from the day's close to the next, plus the tick noise. */
	p->cents = start + (target - start) * p->taken / p->steps + noise;
	if (p->cents < 1)
		p->cents = 1;
	c->cents = p->cents;
	c->chg = (int32_t)((p->cents - p->open) * 10000 / (p->open ? p->open : 1));
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_rules -c CSV [-r rules] [-s symbols] [-n changes] "
		"[-b brute-force changes] [-S seed]\n"
		"       [-d MIN%%] [-D MAX%%]  (threshold distance from the price, default 2..30)\n"
		"       [-m MOVES%%]  (share of windowed-move rules, default 0.1)\n");
}

int main(int argc, char **argv)
{
	const char *csv = NULL;
	long nrules = 1000000, nsym = 10000, nchg = 2000000, nbrute = 20000;
	unsigned long seed = 1;
	struct rules_limits lim = { 15, 180 };
	struct rules *t;
	struct path *paths;
	char (*names)[16];
	struct change *chg;
	struct cond ***bf;
	uint32_t *bfn, *bfcap;
	struct eval_snap *bsnap;
	struct rules_def *defs;
	char *text, tenants[CL_N][37];
	int opt;
	long rss0, rss1, rss2;
	double t0, w0, t_load, w_load, t_idx, w_idx, t_bf, t_csv;
	size_t resident, evals = 0;
	uint64_t bf_evals = 0, bf_hits = 0, fires_idx;
	int64_t clock_us = 1700000000LL * 1000000;

	while ((opt = getopt(argc, argv, "c:r:s:n:b:S:d:D:m:h")) != -1) {
		switch (opt) {
		case 'm': pmoves = atof(optarg) / 100; break;
		case 'd': dmin = atof(optarg) / 100; break;
		case 'D': dmax = atof(optarg) / 100; break;
		case 'c': csv = optarg; break;
		case 'r': nrules = atol(optarg); break;
		case 's': nsym = atol(optarg); break;
		case 'n': nchg = atol(optarg); break;
		case 'b': nbrute = atol(optarg); break;
		case 'S': seed = strtoul(optarg, NULL, 10); break;
		default: usage(); return 64;
		}
	}
	if (!csv || nrules <= 0 || nsym <= 0 || nchg <= 0 || nbrute < 0 ||
	    dmin < 0 || dmax < dmin || dmax >= 1 || pmoves < 0 || pmoves > 0.035) {
		usage();
		return 64;
	}
	rng_state ^= seed * 0x2545f4914f6cdd1dULL;
	if (load_csv(csv) || nser == 0)
		return 1;
	zipf_init((int)nsym);

	paths = calloc((size_t)nsym, sizeof(*paths));
	names = calloc((size_t)nsym, sizeof(*names));
	if (!paths || !names)
		return 1;
	t = rules_new(&lim, on_event, NULL);
	if (!t)
		return 1;
	for (long i = 0; i < nsym; i++) {
		const struct series *s = &ser[i % nser];

		/* Start at a day of the series picked by the symbol number. */
		int d = s->n > 1 ? (int)(i / nser) % (s->n - 1) : 0;
		double share = zcdf[i] - (i ? zcdf[i - 1] : 0);

		snprintf(names[i], sizeof(names[i]), "S%05d", (int)(i % 100000));
		paths[i].cents = paths[i].open = s->cents[d];
		paths[i].day = s->n > 1 ? d + 1 : d;
		paths[i].steps = (int64_t)(share * (double)nchg) + 1;
		if (rules_seed(t, names[i], (dec_t)s->cents[d] * CENT, true, 0))
			return 1;
	}

	/* ---- the rule rows, generated up front (not timed) ---- */
	defs = calloc((size_t)nrules, sizeof(*defs));
	text = malloc((size_t)nrules * 256 + 65 * (size_t)nrules);
	if (!defs || !text)
		return 1;
	for (int k = 0; k < CL_N; k++)
		snprintf(tenants[k], sizeof(tenants[k]), "00000000-0000-4000-8000-%012d", k);
	{
		char *tp = text;

		for (long i = 0; i < nrules; i++) {
			uint32_t s = zipf();
			uint64_t h1 = rnd(), h2 = rnd(), h3 = rnd(), h4 = rnd();
			struct rules_def *d = &defs[i];
			int cl;

			cl = gen_rule(tp, 256, paths[s].cents, d);
			cl_rules[cl]++;
			tp += d->condition_len + 1;
			snprintf(tp, 65, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
				 h1, h2, h3, h4);
			d->rule_id = tp;
			tp += 65;
			d->tenant_id = tenants[cl];
			d->symbol = names[s];
		}
	}

	/* ---- the price changes, generated up front ---- */
	chg = malloc((size_t)nchg * sizeof(*chg));
	if (!chg)
		return 1;
	for (long i = 0; i < nchg; i++) {
		uint32_t s = zipf();

		chg[i].sym = s;
		path_step(&paths[s], &ser[s % nser], &chg[i]);
	}

	/* ---- brute force: the same rules, every one of the symbol evaluated ---- */
	bf = calloc((size_t)nsym, sizeof(*bf));
	bfn = calloc((size_t)nsym, sizeof(*bfn));
	bfcap = calloc((size_t)nsym, sizeof(*bfcap));
	bsnap = calloc((size_t)nsym, sizeof(*bsnap));
	if (!bf || !bfn || !bfcap || !bsnap)
		return 1;
	for (long i = 0; i < nsym; i++) {
		const struct series *sr = &ser[i % nser];

		bsnap[i].has_price = true;
		bsnap[i].has_chg = true;
		bsnap[i].price = (dec_t)sr->cents[sr->n > 1 ? (i / nser) % (sr->n - 1) : 0] * CENT;
	}
	for (long i = 0; i < nrules; i++) {
		char err[256];
		uint32_t s = (uint32_t)atol(defs[i].symbol + 1);
		struct cond *c = cond_compile(defs[i].condition, defs[i].condition_len,
					      err, sizeof(err));

		if (!c)
			return 1;
		if (bfn[s] == bfcap[s]) {
			bfcap[s] = bfcap[s] ? bfcap[s] * 2 : 4;
			bf[s] = realloc(bf[s], bfcap[s] * sizeof(*bf[s]));
			if (!bf[s])
				return 1;
		}
		bf[s][bfn[s]++] = c;
	}
	/* ---- load: compile + index every rule; RSS before and after ---- */
	rss0 = rss_bytes();
	w0 = wall_s();
	t0 = now_s();
	for (long i = 0; i < nrules; i++) {
		char err[256];

		if (rules_upsert(t, &defs[i], clock_us, err, sizeof(err))) {
			fprintf(stderr, "upsert: %s: %s\n", defs[i].condition, err);
			return 1;
		}
	}
	t_load = now_s() - t0;
	w_load = wall_s() - w0;
	rss1 = rss_bytes();
	resident = rules_count(t);
	printf("load: %ld rules over %ld symbols compiled and indexed in %.3f s CPU (%.3f s wall, "
	       "%.0f rules/s); %zu resident, %" PRIu64 " fired at load\n", nrules, nsym, t_load, w_load,
	       nrules / t_load, resident, n_fire);
	printf("memory: RSS +%.1f MB = %.1f bytes per resident rule (after the load)\n",
	       (rss1 - rss0) / 1048576.0, (double)(rss1 - rss0) / (double)resident);

	if (nbrute > nchg)
		nbrute = nchg;
	t0 = now_s();
	for (long i = 0; i < nbrute; i++) {
		uint32_t s = chg[i].sym;
		struct eval_snap cur = { true, true, (dec_t)chg[i].cents * CENT,
					 (dec_t)chg[i].chg * CENT };

		for (uint32_t k = 0; k < bfn[s]; k++)
			bf_hits += eval_cond(bf[s][k], &bsnap[s], &cur, NULL);
		bf_evals += bfn[s];
		bsnap[s] = cur;
	}
	t_bf = now_s() - t0;

	/* ---- the index: every change through rules_tick ---- */
	fires_idx = n_fire;
	w0 = wall_s();
	t0 = now_s();
	for (long i = 0; i < nchg; i++) {
		clock_us += 1000;
		evals += rules_tick(t, names[chg[i].sym], (dec_t)chg[i].cents * CENT, true,
				    (dec_t)chg[i].chg * CENT, clock_us);
	}
	t_idx = now_s() - t0;
	w_idx = wall_s() - w0;
	fires_idx = n_fire - fires_idx;
	rss2 = rss_bytes();

	printf("changes: %ld (Zipf s=1 over %ld symbols, paths along the real closes)\n",
	       nchg, nsym);
	printf("index: %.3f s CPU (%.3f s wall) = %.0f changes/s; %.2f rule evaluations per change; "
	       "%" PRIu64 " firings (%.4f per change, %.3f%% of the rules), %" PRIu64
	       " flood pauses; %zu rules left\n", t_idx, w_idx, nchg / t_idx,
	       (double)evals / nchg, fires_idx, (double)fires_idx / nchg,
	       100.0 * (double)fires_idx / (double)resident, n_pause, rules_count(t));
	printf("brute force: %ld changes in %.3f s CPU = %.0f changes/s; %.0f evaluations per "
	       "change (%" PRIu64 " held)\n", nbrute, t_bf, nbrute / t_bf,
	       (double)bf_evals / (nbrute ? nbrute : 1), bf_hits);
	printf("ratio: index / brute force = %.0fx\n", (nchg / t_idx) / (nbrute / t_bf));
	printf("memory after the changes (every index merged, windows filled): RSS +%.1f MB = "
	       "%.1f bytes per resident rule\n", (rss2 - rss0) / 1048576.0,
	       (double)(rss2 - rss0) / (double)rules_count(t));
	printf("firings by operator (rules, firings):");
	for (int k = 0; k < CL_N; k++)
		printf(" %s %" PRIu64 "/%" PRIu64, cl_name[k], cl_rules[k], cl_fires[k]);
	printf("\n");

	/* ---- raw replay of the CSV closes (symbol i <- ticker i) ---- */
	{
		long n = 0;

		t0 = now_s();
		for (int r = 0; r < nrows; r++) {
			int s = rows[r].ser;

			if (s >= nsym)
				continue;
			clock_us += 1000;
			(void)rules_tick(t, names[s], (dec_t)rows[r].cents * CENT, false, 0, clock_us);
			n++;
		}
		t_csv = now_s() - t0;
		printf("csv replay: %ld daily closes in %.3f s CPU = %.0f changes/s\n", n, t_csv,
		       n / t_csv);
	}

	t0 = now_s();
	rules_free(t);
	printf("free: %.3f s\n", now_s() - t0);
	for (long i = 0; i < nsym; i++) {
		for (uint32_t k = 0; k < bfn[i]; k++)
			cond_free(bf[i][k]);
		free(bf[i]);
	}
	free(bf);
	free(bfn);
	free(bfcap);
	free(bsnap);
	free(chg);
	free(defs);
	free(text);
	free(paths);
	free(names);
	for (int i = 0; i < nser; i++)
		free(ser[i].cents);
	free(ser);
	free(rows);
	free(zcdf);
	return 0;
}
