/*
 * leo_bench_load.c — the load generator of the end-to-end benchmark
 * (bench/e2e/run.sh).  Not part of the daemon; one process, main thread plus
 * one thread per client and an optional listener thread.
 *
 * Modes:
 *
 *   ticks   UPDATE market_snapshot from C client threads, each on its own
 *           connection, K symbols per statement (K = 1: a prepared
 *           single-row UPDATE; K > 1: UPDATE ... FROM unnest($1, $2)), in
 *           autocommit, for --seconds, as fast as possible or at --rate
 *           ticks/s in total.  Symbols are drawn Zipf(s=1) by rank from the
 *           table bench_base(rank, symbol, p0); a price is p0 * (1 +/- u *
 *           band), u uniform in (0.05, 1], on a per-symbol side that flips
 *           with probability --flip per tick (a flip crosses p0, which is
 *           where the probe rules of run.sh sit).  The K symbols of one
 *           statement are distinct and sorted, so clients cannot deadlock.
 *           With --ticklog FILE every tick is written as
 *           "symbol,price,commit_us" (commit_us: CLOCK_REALTIME when the
 *           statement's commit was acknowledged).  With --listen FILE a
 *           thread LISTENs on leo_delivery for the whole run plus --drain
 *           seconds and writes "tenant,delivery_id,recv_us" per
 *           notification.
 *
 *   unnest  The write ceiling: one connection, transactions of one
 *           statement that inserts --batch delivery_log rows and --batch
 *           agent_task rows (a reasoning trace of the daemon's size) from
 *           unnest() of array parameters, for --seconds.  With --notify each
 *           delivery row also sends pg_notify('leo_delivery'), as the
 *           daemon's writer does (controls.sh uses it).
 *
 * Prints one line of key=value results on stdout; run.sh parses it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

struct load_opts {
	const char *mode, *conninfo, *ticklog, *listenlog, *tenant, *tag;
	int per_stmt, clients, batch, notify;
	double seconds, rate, band, flip, drain;
	uint64_t seed;
};

struct load_tick {
	uint16_t sym;
	int64_t commit_us;
	char price[24];
};

struct load_client {
	pthread_t thread;
	int index;
	uint64_t rng;
	uint64_t stmts, ticks, errors;
	int64_t *lat_us;		/* statement round trips */
	size_t nlat, caplat;
	struct load_tick *log;
	size_t nlog, caplog;
	bool failed;
};

struct load_recv {
	char tenant[40];
	long long delivery_id;
	int64_t recv_us;
};

/* Shared, read-only after start except the atomics. */
static struct load_opts load_o = {
	.mode = NULL, .per_stmt = 1, .clients = 1, .batch = 500,
	.seconds = 10, .rate = 0, .band = 0.001, .flip = 0.05, .drain = 3,
	.seed = 0, .tag = "ceil",
};
static int load_nsym;
static char (*load_symbol)[65];
static double *load_p0, *load_cum;
static _Atomic int *load_side;		/* per symbol: +1 above p0, -1 below */
static atomic_bool load_stop, load_listen_stop;
static int64_t load_t0_us;

static int64_t load_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t load_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t load_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static double load_unif(uint64_t *s)
{
	return (double)(load_rand(s) >> 11) / 9007199254740992.0;
}

/* Zipf(s=1) by rank: the first k with cum[k] >= u. */
static int load_zipf(uint64_t *s)
{
	double u = load_unif(s);
	int lo = 0, hi = load_nsym - 1;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (load_cum[mid] >= u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int load_cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static bool load_grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *np;
	size_t ncap;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 4096;
	np = realloc(*p, ncap * size);
	if (!np)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

static PGconn *load_connect(void)
{
	PGconn *c = PQconnectdb(load_o.conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "leo_bench_load: connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Read bench_base: symbols by Zipf rank and their base prices. */
static int load_symbols(void)
{
	PGconn *c = load_connect();
	PGresult *r = NULL;
	double h = 0;
	int rc = -1;

	if (!c)
		return -1;
	r = PQexec(c, "SELECT symbol, p0::float8 FROM bench_base ORDER BY rank");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0 ||
	    PQntuples(r) > 65535) {
		fprintf(stderr, "leo_bench_load: bench_base: %s", PQerrorMessage(c));
		goto out;
	}
	load_nsym = PQntuples(r);
	load_symbol = calloc((size_t)load_nsym, sizeof(*load_symbol));
	load_p0 = calloc((size_t)load_nsym, sizeof(*load_p0));
	load_cum = calloc((size_t)load_nsym, sizeof(*load_cum));
	load_side = calloc((size_t)load_nsym, sizeof(*load_side));
	if (!load_symbol || !load_p0 || !load_cum || !load_side)
		goto out;
	for (int i = 0; i < load_nsym; i++) {
		snprintf(load_symbol[i], sizeof(load_symbol[i]), "%s", PQgetvalue(r, i, 0));
		load_p0[i] = strtod(PQgetvalue(r, i, 1), NULL);
		h += 1.0 / (i + 1);
		load_cum[i] = h;
		atomic_store(&load_side[i], (i & 1) ? 1 : -1);
	}
	for (int i = 0; i < load_nsym; i++)
		load_cum[i] /= h;
	load_cum[load_nsym - 1] = 1.0;
	rc = 0;
out:
	PQclear(r);
	PQfinish(c);
	return rc;
}

/* The next price of symbol i (thread-local rng, shared side). */
static void load_price(struct load_client *cl, int i, char *out, size_t n)
{
	int side = atomic_load_explicit(&load_side[i], memory_order_relaxed);
	double u;

	if (load_unif(&cl->rng) < load_o.flip) {
		side = -side;
		atomic_store_explicit(&load_side[i], side, memory_order_relaxed);
	}
	u = 0.05 + 0.95 * load_unif(&cl->rng);
	snprintf(out, n, "%.6f", load_p0[i] * (1.0 + side * u * load_o.band));
}

static void *load_ticks_main(void *arg)
{
	struct load_client *cl = arg;
	int k = load_o.per_stmt;
	PGconn *c = load_connect();
	PGresult *r;
	int *syms = calloc((size_t)k, sizeof(int));
	char (*prices)[24] = calloc((size_t)k, sizeof(*prices));
	size_t cap = (size_t)k * 80 + 16;
	char *a1 = malloc(cap), *a2 = malloc(cap);
	const char *params[2];
	double per_client = load_o.rate > 0 ? load_o.rate / load_o.clients / k : 0;
	int64_t next_ns = load_mono_ns(), step_ns = per_client > 0 ? (int64_t)(1e9 / per_client) : 0;

	if (!c || !syms || !prices || !a1 || !a2)
		goto fail;
	r = PQprepare(c, "t1", "UPDATE market_snapshot SET price = $2::numeric WHERE symbol = $1",
		      2, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail_r;
	PQclear(r);
	r = PQprepare(c, "tk", "UPDATE market_snapshot m SET price = v.p"
			       " FROM unnest($1::text[], $2::numeric[]) AS v(s, p)"
			       " WHERE m.symbol = v.s", 2, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail_r;
	PQclear(r);
	/* K > 1: lock rows in the sorted array order (nested loop driven by
	 * unnest), so concurrent clients cannot deadlock on each other */
	if (k > 1) {
		r = PQexec(c, "SET enable_hashjoin = off; SET enable_mergejoin = off");
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			goto fail_r;
		PQclear(r);
	}
	/* stagger paced clients over one period */
	if (step_ns)
		next_ns += step_ns * cl->index / load_o.clients;

	while (!atomic_load(&load_stop)) {
		int64_t t0, t1, commit;
		int n = 0;

		if (step_ns) {
			struct timespec ts = { next_ns / 1000000000, next_ns % 1000000000 };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
			next_ns += step_ns;
			if (atomic_load(&load_stop))
				break;
		}
		while (n < k) {
			int s = load_zipf(&cl->rng), dup = 0;

			for (int j = 0; j < n; j++)
				dup |= syms[j] == s;
			if (!dup)
				syms[n++] = s;
		}
		if (k > 1)
			qsort(syms, (size_t)k, sizeof(int), load_cmp_int);
		for (int j = 0; j < k; j++)
			load_price(cl, syms[j], prices[j], sizeof(prices[j]));
		t0 = load_mono_ns();
		if (k == 1) {
			params[0] = load_symbol[syms[0]];
			params[1] = prices[0];
			r = PQexecPrepared(c, "t1", 2, params, NULL, NULL, 0);
		} else {
			size_t l1 = 0, l2 = 0;

			a1[l1++] = '{';
			a2[l2++] = '{';
			for (int j = 0; j < k; j++) {
				l1 += (size_t)snprintf(a1 + l1, cap - l1, "%s\"%s\"", j ? "," : "",
						       load_symbol[syms[j]]);
				l2 += (size_t)snprintf(a2 + l2, cap - l2, "%s%s", j ? "," : "",
						       prices[j]);
			}
			snprintf(a1 + l1, cap - l1, "}");
			snprintf(a2 + l2, cap - l2, "}");
			params[0] = a1;
			params[1] = a2;
			r = PQexecPrepared(c, "tk", 2, params, NULL, NULL, 0);
		}
		t1 = load_mono_ns();
		commit = load_now_us();
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			cl->errors++;
			if (cl->errors < 5)
				fprintf(stderr, "leo_bench_load: update: %s", PQerrorMessage(c));
			PQclear(r);
			if (PQstatus(c) != CONNECTION_OK)
				goto fail;
			continue;
		}
		PQclear(r);
		cl->stmts++;
		cl->ticks += (uint64_t)k;
		if (load_grow((void **)&cl->lat_us, &cl->caplat, cl->nlat, sizeof(int64_t)))
			cl->lat_us[cl->nlat++] = (t1 - t0) / 1000;
		if (load_o.ticklog) {
			for (int j = 0; j < k; j++) {
				if (!load_grow((void **)&cl->log, &cl->caplog, cl->nlog,
					       sizeof(*cl->log)))
					break;
				cl->log[cl->nlog].sym = (uint16_t)syms[j];
				cl->log[cl->nlog].commit_us = commit;
				memcpy(cl->log[cl->nlog].price, prices[j], sizeof(prices[j]));
				cl->nlog++;
			}
		}
	}
	goto out;
fail_r:
	fprintf(stderr, "leo_bench_load: prepare: %s", PQerrorMessage(c));
	PQclear(r);
fail:
	cl->failed = true;
out:
	free(syms);
	free(prices);
	free(a1);
	free(a2);
	PQfinish(c);
	return NULL;
}

struct load_listener {
	pthread_t thread;
	struct load_recv *v;
	size_t n, cap;
	bool failed;
	atomic_bool listening;
};

static void *load_listen_main(void *arg)
{
	struct load_listener *li = arg;
	PGconn *c = load_connect();
	PGresult *r;

	if (!c)
		goto fail;
	r = PQexec(c, "LISTEN leo_delivery");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	atomic_store(&li->listening, true);
	while (!atomic_load(&load_listen_stop)) {
		int fd = PQsocket(c);
		fd_set rs;
		struct timeval tv = { 0, 50000 };
		PGnotify *nf;

		FD_ZERO(&rs);
		FD_SET(fd, &rs);
		if (select(fd + 1, &rs, NULL, NULL, &tv) < 0 && errno != EINTR)
			goto fail;
		if (!PQconsumeInput(c))
			goto fail;
		while ((nf = PQnotifies(c)) != NULL) {
			int64_t now = load_now_us();

			if (load_grow((void **)&li->v, &li->cap, li->n, sizeof(*li->v))) {
				struct load_recv *e = &li->v[li->n++];

				e->delivery_id = 0;
				e->tenant[0] = '\0';
				sscanf(nf->extra, "%39s %lld", e->tenant, &e->delivery_id);
				e->recv_us = now;
			}
			PQfreemem(nf);
		}
	}
	PQfinish(c);
	return NULL;
fail:
	fprintf(stderr, "leo_bench_load: listen: %s", c ? PQerrorMessage(c) : "no connection\n");
	li->failed = true;
	atomic_store(&li->listening, true);
	PQfinish(c);
	return NULL;
}

static int load_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int load_ticks(void)
{
	struct load_client *cl = calloc((size_t)load_o.clients, sizeof(*cl));
	struct load_listener li = { 0 };
	int64_t t0, t1, *all = NULL;
	uint64_t stmts = 0, ticks = 0, errors = 0;
	size_t nall = 0, at = 0;
	double secs;
	int rc = 1;
	bool failed = false;

	if (!cl || load_symbols())
		goto out;
	if (load_o.per_stmt > load_nsym) {
		fprintf(stderr, "leo_bench_load: --per-stmt above the %d symbols\n", load_nsym);
		goto out;
	}
	if (load_o.listenlog) {
		if (pthread_create(&li.thread, NULL, load_listen_main, &li))
			goto out;
		while (!atomic_load(&li.listening))
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	load_t0_us = load_now_us();
	t0 = load_mono_ns();
	for (int i = 0; i < load_o.clients; i++) {
		cl[i].index = i;
		cl[i].rng = load_o.seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 7919 + 1;
		if (pthread_create(&cl[i].thread, NULL, load_ticks_main, &cl[i])) {
			atomic_store(&load_stop, true);
			for (int j = 0; j < i; j++)
				pthread_join(cl[j].thread, NULL);
			goto out;
		}
	}
	nanosleep(&(struct timespec){ (time_t)load_o.seconds,
				      (long)((load_o.seconds - floor(load_o.seconds)) * 1e9) },
		  NULL);
	atomic_store(&load_stop, true);
	for (int i = 0; i < load_o.clients; i++)
		pthread_join(cl[i].thread, NULL);
	t1 = load_mono_ns();
	if (load_o.listenlog) {
		nanosleep(&(struct timespec){ (time_t)load_o.drain,
					      (long)((load_o.drain - floor(load_o.drain)) * 1e9) },
			  NULL);
		atomic_store(&load_listen_stop, true);
		pthread_join(li.thread, NULL);
	}
	for (int i = 0; i < load_o.clients; i++) {
		stmts += cl[i].stmts;
		ticks += cl[i].ticks;
		errors += cl[i].errors;
		nall += cl[i].nlat;
		failed |= cl[i].failed;
	}
	all = malloc((nall ? nall : 1) * sizeof(*all));
	if (!all)
		goto out;
	for (int i = 0; i < load_o.clients; i++) {
		memcpy(all + at, cl[i].lat_us, cl[i].nlat * sizeof(*all));
		at += cl[i].nlat;
	}
	qsort(all, nall, sizeof(*all), load_cmp_i64);
	secs = (double)(t1 - t0) / 1e9;
	printf("ticks=%llu stmts=%llu errors=%llu seconds=%.3f ticks_per_s=%.1f"
	       " stmt_p50_us=%lld stmt_p99_us=%lld stmt_max_us=%lld t0_us=%lld",
	       (unsigned long long)ticks, (unsigned long long)stmts,
	       (unsigned long long)errors, secs, (double)ticks / secs,
	       (long long)(nall ? all[nall / 2] : 0),
	       (long long)(nall ? all[(size_t)((double)nall * 0.99)] : 0),
	       (long long)(nall ? all[nall - 1] : 0), (long long)load_t0_us);
	if (load_o.ticklog) {
		FILE *f = fopen(load_o.ticklog, "w");

		if (!f)
			goto out;
		for (int i = 0; i < load_o.clients; i++)
			for (size_t j = 0; j < cl[i].nlog; j++)
				fprintf(f, "%s,%s,%lld\n", load_symbol[cl[i].log[j].sym],
					cl[i].log[j].price, (long long)cl[i].log[j].commit_us);
		if (fclose(f))
			goto out;
	}
	if (load_o.listenlog) {
		FILE *f = fopen(load_o.listenlog, "w");

		if (!f)
			goto out;
		for (size_t j = 0; j < li.n; j++)
			fprintf(f, "%s,%lld,%lld\n", li.v[j].tenant, li.v[j].delivery_id,
				(long long)li.v[j].recv_us);
		if (fclose(f))
			goto out;
		printf(" notifications=%zu", li.n);
		failed |= li.failed;
	}
	printf("\n");
	rc = failed ? 1 : 0;
out:
	for (int i = 0; cl && i < load_o.clients; i++) {
		free(cl[i].lat_us);
		free(cl[i].log);
	}
	free(cl);
	free(li.v);
	free(all);
	return rc;
}

/* The write ceiling: delivery_log + agent_task rows from unnest() batches. */
static int load_unnest(void)
{
	static const char sql_notify[] =
		"WITH a AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[])"
		"  AS a(k, rule_id, profile_id, trace)),"
		" d AS (INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel,"
		"  delivery_status, idempotency_key, consent_legal_basis, consent_source,"
		"  consent_granted_at)"
		"  SELECT $1::uuid, a.rule_id, a.profile_id, 'email', 'queued', a.k,"
		"   'consent', 'bench', now() FROM a"
		"  RETURNING pg_notify('leo_delivery', $1::uuid::text || ' ' || delivery_id))"
		" INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id,"
		"  reasoning_trace, reasoning_summary)"
		" SELECT a.k, $1::uuid, a.profile_id, a.rule_id, a.trace, 'bench' FROM a";
	static const char sql[] =
		"WITH a AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[])"
		"  AS a(k, rule_id, profile_id, trace)),"
		" d AS (INSERT INTO delivery_log (tenant_id, rule_id, profile_id, channel,"
		"  delivery_status, idempotency_key, consent_legal_basis, consent_source,"
		"  consent_granted_at)"
		"  SELECT $1::uuid, a.rule_id, a.profile_id, 'email', 'queued', a.k,"
		"   'consent', 'bench', now() FROM a RETURNING delivery_id)"
		" INSERT INTO agent_task (task_id, tenant_id, profile_id, rule_id,"
		"  reasoning_trace, reasoning_summary)"
		" SELECT a.k, $1::uuid, a.profile_id, a.rule_id, a.trace,"
		"  'S0001 at 101.5 (previously 99.2) matched rule ' || left(a.rule_id, 12) ||"
		"  ' for profile ' || a.profile_id || '; email consent is granted (consent), so the alert was queued.'"
		"  FROM a";
	static const char trace[] =
		"\"[{\\\"step\\\": \\\"match\\\", \\\"firing\\\": 1, \\\"symbol\\\": \\\"S0001\\\","
		" \\\"observed\\\": {\\\"price\\\": 101.523411, \\\"change_percent\\\": null},"
		" \\\"previous\\\": {\\\"price\\\": 99.213377, \\\"change_percent\\\": null},"
		" \\\"fired_at\\\": \\\"2026-01-01T00:00:00.000001+00:00\\\","
		" \\\"condition\\\": {\\\"value\\\": 100.1234, \\\"operator\\\": \\\"crosses_above\\\"},"
		" \\\"trigger_mode\\\": \\\"ONCE\\\"}, {\\\"step\\\": \\\"consent\\\", \\\"result\\\": \\\"granted\\\","
		" \\\"source\\\": \\\"bench\\\", \\\"channel\\\": \\\"email\\\", \\\"expires_at\\\": null,"
		" \\\"granted_at\\\": \\\"2026-01-01T00:00:00+00:00\\\", \\\"legal_basis\\\": \\\"consent\\\"},"
		" {\\\"step\\\": \\\"decision\\\", \\\"action\\\": \\\"deliver\\\", \\\"reason\\\": null,"
		" \\\"rule_status\\\": \\\"TRIGGERED\\\"}]\"";
	PGconn *c = load_connect();
	PGresult *r;
	int b = load_o.batch;
	size_t cap = (size_t)b * (sizeof(trace) + 160) + 16;
	char *a[4] = { malloc(cap), malloc(cap), malloc(cap), malloc(cap) };
	const char *params[5];
	uint64_t seq = 0, rows = 0, batches = 0;
	int64_t t0, t1, deadline, *lat = NULL;
	size_t nlat = 0, caplat = 0;
	int rc = 1;

	if (!c || !a[0] || !a[1] || !a[2] || !a[3] || !load_o.tenant)
		goto out;
	r = PQprepare(c, "w", load_o.notify ? sql_notify : sql, 5, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "leo_bench_load: prepare: %s", PQerrorMessage(c));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	t0 = load_mono_ns();
	deadline = t0 + (int64_t)(load_o.seconds * 1e9);
	while (load_mono_ns() < deadline) {
		size_t l[4] = { 0 };
		int64_t s0;

		for (int k = 0; k < 4; k++)
			a[k][l[k]++] = '{';
		for (int i = 0; i < b; i++, seq++) {
			char rule[65];
			const char *sep = i ? "," : "";

			snprintf(rule, sizeof(rule), "%064llx", (unsigned long long)seq);
			l[0] += (size_t)snprintf(a[0] + l[0], cap - l[0], "%s%s:%s:%llu", sep,
						 load_o.tag, rule, (unsigned long long)seq);
			l[1] += (size_t)snprintf(a[1] + l[1], cap - l[1], "%s%s", sep, rule);
			l[2] += (size_t)snprintf(a[2] + l[2], cap - l[2], "%sp%llu", sep,
						 (unsigned long long)(seq % 10000));
			l[3] += (size_t)snprintf(a[3] + l[3], cap - l[3], "%s%s", sep, trace);
		}
		for (int k = 0; k < 4; k++)
			snprintf(a[k] + l[k], cap - l[k], "}");
		params[0] = load_o.tenant;
		for (int k = 0; k < 4; k++)
			params[k + 1] = a[k];
		s0 = load_mono_ns();
		r = PQexecPrepared(c, "w", 5, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "leo_bench_load: insert: %s", PQerrorMessage(c));
			PQclear(r);
			goto out;
		}
		PQclear(r);
		if (load_grow((void **)&lat, &caplat, nlat, sizeof(*lat)))
			lat[nlat++] = (load_mono_ns() - s0) / 1000;
		rows += (uint64_t)b;
		batches++;
	}
	t1 = load_mono_ns();
	qsort(lat, nlat, sizeof(*lat), load_cmp_i64);
	printf("rows=%llu batches=%llu seconds=%.3f rows_per_s=%.1f batch_p50_us=%lld"
	       " batch_max_us=%lld\n",
	       (unsigned long long)rows, (unsigned long long)batches,
	       (double)(t1 - t0) / 1e9, (double)rows / ((double)(t1 - t0) / 1e9),
	       (long long)(nlat ? lat[nlat / 2] : 0), (long long)(nlat ? lat[nlat - 1] : 0));
	rc = 0;
out:
	free(lat);
	for (int k = 0; k < 4; k++)
		free(a[k]);
	PQfinish(c);
	return rc;
}

static void load_usage(FILE *f)
{
	fprintf(f,
		"usage: leo_bench_load ticks|unnest --db CONNINFO [options]\n"
		"  ticks:  --per-stmt K --clients C --seconds S [--rate R] [--band F]\n"
		"          [--flip P] [--ticklog FILE] [--listen FILE] [--drain S] [--seed N]\n"
		"          (--seed 0, the default: a new sequence every run)\n"
		"  unnest: --tenant UUID --batch N --seconds S [--tag T] [--notify]\n"
		"          (--notify: pg_notify('leo_delivery', ...) per row, as leo-alertd)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "per-stmt", required_argument, NULL, 'k' },
		{ "clients", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "band", required_argument, NULL, 'b' },
		{ "flip", required_argument, NULL, 'f' },
		{ "ticklog", required_argument, NULL, 'T' },
		{ "listen", required_argument, NULL, 'L' },
		{ "drain", required_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, 'S' },
		{ "tenant", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'B' },
		{ "tag", required_argument, NULL, 'g' },
		{ "notify", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': load_o.conninfo = optarg; break;
		case 'k': load_o.per_stmt = atoi(optarg); break;
		case 'c': load_o.clients = atoi(optarg); break;
		case 's': load_o.seconds = strtod(optarg, NULL); break;
		case 'r': load_o.rate = strtod(optarg, NULL); break;
		case 'b': load_o.band = strtod(optarg, NULL); break;
		case 'f': load_o.flip = strtod(optarg, NULL); break;
		case 'T': load_o.ticklog = optarg; break;
		case 'L': load_o.listenlog = optarg; break;
		case 'D': load_o.drain = strtod(optarg, NULL); break;
		case 'S': load_o.seed = strtoull(optarg, NULL, 10); break;
		case 't': load_o.tenant = optarg; break;
		case 'B': load_o.batch = atoi(optarg); break;
		case 'g': load_o.tag = optarg; break;
		case 'N': load_o.notify = 1; break;
		case 'h': load_usage(stdout); return 0;
		default: load_usage(stderr); return 64;
		}
	}
	if (optind + 1 != argc || !load_o.conninfo || load_o.per_stmt < 1 ||
	    load_o.per_stmt > 1000 || load_o.clients < 1 || load_o.clients > 256 ||
	    load_o.batch < 1 || load_o.seconds <= 0) {
		load_usage(stderr);
		return 64;
	}
	load_o.mode = argv[optind];
	/* a fresh sequence per run: a repeated price is no change, and the
	 * schema's trigger rightly leaves it out */
	if (!load_o.seed)
		load_o.seed = (uint64_t)load_now_us() ^ ((uint64_t)getpid() << 32);
	if (strcmp(load_o.mode, "ticks") == 0)
		return load_ticks();
	if (strcmp(load_o.mode, "unnest") == 0)
		return load_unnest();
	load_usage(stderr);
	return 64;
}
