/*
 * metrics.c — a registry of counters, gauges, histograms and ages;
 * Prometheus text format 0.0.4.
 *
 * Registration: start-up, serialised by a mutex.  Updates: any thread,
 * lock-free.  Rendering: any thread (the stats thread, on a scrape).
 *
 * DESIGN
 *
 * The registry holds pointers to the descriptor tables its callers register
 * (a program's list, a core module's own gauges) and names no metric itself
 * but leo_build_info and process_*.  Ids index everything.  A kind's count
 * is published with a release store after its descriptors are written, so a
 * scrape (acquire load) never sees an entry without its descriptor, and a
 * module may register while other threads already update and scrape.
 *
 * Counters and histograms live in per-thread slots: a thread takes the next
 * free slot on its first update (one atomic increment) and from then on adds
 * to its own cache lines with relaxed atomic adds, so workers counting
 * millions of evaluations never bounce a shared line.  A scrape sums the
 * slots.  Slots are never released: a thread that exits leaves its counts
 * behind, which is what a counter must do.  When all METRICS_SLOTS are taken
 * later threads share the last slot (still correct, only slower).  A slot
 * has room for every counter and histogram the registry can hold.
 *
 * Gauges are set, not added, so a gauge is one relaxed atomic (a double's
 * bits in a uint64_t) shared by all threads; the last writer wins.
 *
 * A histogram slot keeps one count per bucket (not cumulative) plus +Inf and
 * the sum; the scrape makes the buckets cumulative and reports the +Inf
 * bucket as _count, so _count always equals the +Inf bucket.  The sum is
 * read separately and may lag the counts by an update in flight.
 *
 * An age reports seconds since metrics_touch() was last called on it, or
 * since the process started when it never was (so the value is always a
 * finite number an alert can compare, e.g. "> 300").  Both are measured on
 * CLOCK_BOOTTIME, which /proc's process start time also counts in, so a
 * wall-clock step cannot make it jump.
 *
 * process_* follow the Prometheus client conventions, read from getrusage,
 * getrlimit and /proc at scrape time.
 */
#include "metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"

#define METRICS_SLOTS 128	/* threads with a slot of their own */

/*
 * One kind's entries: desc[i] (or hdesc[i]) describes id i; table[i] is the
 * registered table that entry i came from, so registering it again finds it.
 * Written under metrics_reg_lock, published by n (release).
 */
struct metrics_kind {
	const char *what;	/* for the log: "counter", ... */
	int max;
	const struct metrics_desc *desc[METRICS_MAX_GAUGES];
	const struct metrics_hdesc *hdesc[METRICS_MAX_HISTOGRAMS];
	const void *table[METRICS_MAX_GAUGES];
	_Atomic int n;
};

_Static_assert(METRICS_MAX_COUNTERS <= METRICS_MAX_GAUGES &&
		       METRICS_MAX_AGES <= METRICS_MAX_GAUGES &&
		       METRICS_MAX_HISTOGRAMS <= METRICS_MAX_GAUGES,
	       "struct metrics_kind is sized by METRICS_MAX_GAUGES");

static pthread_mutex_t metrics_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metrics_kind metrics_counters = { .what = "counter", .max = METRICS_MAX_COUNTERS };
static struct metrics_kind metrics_gauges = { .what = "gauge", .max = METRICS_MAX_GAUGES };
static struct metrics_kind metrics_hists = { .what = "histogram", .max = METRICS_MAX_HISTOGRAMS };
static struct metrics_kind metrics_ages = { .what = "age", .max = METRICS_MAX_AGES };
static const char *_Atomic metrics_program_name;

/* One thread's counts; written by its owner (or by all, for the last slot). */
struct metrics_slot {
	alignas(64) _Atomic uint64_t counter[METRICS_MAX_COUNTERS];
	struct {
		_Atomic uint64_t bucket[METRICS_MAX_BUCKETS + 1];	/* last: +Inf */
		_Atomic uint64_t sum_bits;				/* a double */
	} hist[METRICS_MAX_HISTOGRAMS];
};

static struct metrics_slot metrics_slots[METRICS_SLOTS];
static atomic_uint metrics_slots_used;
static _Thread_local struct metrics_slot *metrics_my_slot;

static _Atomic uint64_t metrics_gauge_bits[METRICS_MAX_GAUGES];
static _Atomic int64_t metrics_age_ns[METRICS_MAX_AGES];	/* CLOCK_BOOTTIME, 0 = never */

/*
 * Append n entries to k (descs or hdescs, whichever is not NULL); the first
 * id, the existing one when table was registered before, or -1.
 */
static int metrics_register(struct metrics_kind *k, const void *table, size_t n,
			    const struct metrics_desc *d, const struct metrics_hdesc *h)
{
	int first, id = -1;

	pthread_mutex_lock(&metrics_reg_lock);
	first = atomic_load_explicit(&k->n, memory_order_relaxed);
	for (int i = 0; i < first; i++)
		if (k->table[i] == table) {
			id = i;
			goto out;
		}
	if (n > (size_t)(k->max - first)) {
		log_error("metrics: more than %d %ss registered", k->max, k->what);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (h && h[i].nbounds > METRICS_MAX_BUCKETS) {
			log_error("metrics: %s has more than %d buckets", h[i].name,
				  METRICS_MAX_BUCKETS);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		k->table[first + (int)i] = table;
		if (d)
			k->desc[first + (int)i] = &d[i];
		else
			k->hdesc[first + (int)i] = &h[i];
	}
	atomic_store_explicit(&k->n, first + (int)n, memory_order_release);
	id = first;
out:
	pthread_mutex_unlock(&metrics_reg_lock);
	return id;
}

int metrics_register_counters(const struct metrics_desc *d, size_t n)
{
	return metrics_register(&metrics_counters, d, n, d, NULL);
}

int metrics_register_gauges(const struct metrics_desc *d, size_t n)
{
	return metrics_register(&metrics_gauges, d, n, d, NULL);
}

int metrics_register_histograms(const struct metrics_hdesc *d, size_t n)
{
	return metrics_register(&metrics_hists, d, n, NULL, d);
}

int metrics_register_ages(const struct metrics_desc *d, size_t n)
{
	return metrics_register(&metrics_ages, d, n, d, NULL);
}

void metrics_program(const char *name)
{
	atomic_store_explicit(&metrics_program_name, name, memory_order_release);
}

static int metrics_count(struct metrics_kind *k)
{
	return atomic_load_explicit(&k->n, memory_order_acquire);
}

static uint64_t metrics_bits(double v)
{
	uint64_t b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static double metrics_double(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

static struct metrics_slot *metrics_slot(void)
{
	unsigned i;

	if (metrics_my_slot)
		return metrics_my_slot;
	i = atomic_fetch_add_explicit(&metrics_slots_used, 1, memory_order_relaxed);
	if (i >= METRICS_SLOTS) {
		/* Keep the counter from wrapping around to a used slot. */
		atomic_store_explicit(&metrics_slots_used, METRICS_SLOTS, memory_order_relaxed);
		i = METRICS_SLOTS - 1;
	}
	metrics_my_slot = &metrics_slots[i];
	return metrics_my_slot;
}

void metrics_add(int c, uint64_t n)
{
	atomic_fetch_add_explicit(&metrics_slot()->counter[c], n, memory_order_relaxed);
}

void metrics_set(int g, double v)
{
	atomic_store_explicit(&metrics_gauge_bits[g], metrics_bits(v), memory_order_relaxed);
}

double metrics_get(int g)
{
	return metrics_double(atomic_load_explicit(&metrics_gauge_bits[g], memory_order_relaxed));
}

void metrics_observe(int h, double v)
{
	const struct metrics_hdesc *d = metrics_hists.hdesc[h];
	struct metrics_slot *s = metrics_slot();
	uint64_t old, next;
	size_t b = 0;

	if (isnan(v))
		return;	/* would poison _sum forever */
	while (b < d->nbounds && v > d->bounds[b])
		b++;
	if (b == d->nbounds)
		b = METRICS_MAX_BUCKETS;
	old = atomic_load_explicit(&s->hist[h].sum_bits, memory_order_relaxed);
	do {
		next = metrics_bits(metrics_double(old) + v);
	} while (!atomic_compare_exchange_weak_explicit(&s->hist[h].sum_bits, &old, next,
							memory_order_relaxed,
							memory_order_relaxed));
	atomic_fetch_add_explicit(&s->hist[h].bucket[b], 1, memory_order_relaxed);
}

static int64_t metrics_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void metrics_touch(int a)
{
	atomic_store_explicit(&metrics_age_ns[a], metrics_boottime_ns(), memory_order_relaxed);
}

/* A sample value as Prometheus reads it: shortest text that round-trips. */
static const char *metrics_fmt(double v, char *buf, size_t cap)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	snprintf(buf, cap, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, cap, "%.17g", v);
	return buf;
}

/* HELP and TYPE of a family, once: entries of one family are adjacent. */
static int metrics_family(struct evbuffer *out, const char **last, const char *name,
			  const char *help, const char *type)
{
	if (*last && strcmp(*last, name) == 0)
		return 0;
	*last = name;
	return evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int metrics_sample(struct evbuffer *out, const char *name, const char *labels,
			  double v)
{
	char buf[40];

	return evbuffer_add_printf(out, "%s%s%s%s %s\n", name, *labels ? "{" : "", labels,
				   *labels ? "}" : "", metrics_fmt(v, buf, sizeof(buf)));
}

static int metrics_render_counters(struct evbuffer *out)
{
	unsigned nslots = atomic_load_explicit(&metrics_slots_used, memory_order_relaxed);
	int n = metrics_count(&metrics_counters);
	const char *last = NULL;

	if (nslots > METRICS_SLOTS)
		nslots = METRICS_SLOTS;
	for (int c = 0; c < n; c++) {
		const struct metrics_desc *d = metrics_counters.desc[c];
		uint64_t sum = 0;

		for (unsigned s = 0; s < nslots; s++)
			sum += atomic_load_explicit(&metrics_slots[s].counter[c],
						    memory_order_relaxed);
		if (metrics_family(out, &last, d->name, d->help, "counter") < 0 ||
		    evbuffer_add_printf(out, "%s%s%s%s %llu\n", d->name, *d->labels ? "{" : "",
					d->labels, *d->labels ? "}" : "",
					(unsigned long long)sum) < 0)
			return -1;
	}
	return 0;
}

static int metrics_render_gauges(struct evbuffer *out)
{
	int n = metrics_count(&metrics_gauges);
	const char *last = NULL;

	for (int g = 0; g < n; g++) {
		const struct metrics_desc *d = metrics_gauges.desc[g];
		double v = metrics_double(
			atomic_load_explicit(&metrics_gauge_bits[g], memory_order_relaxed));

		if (metrics_family(out, &last, d->name, d->help, "gauge") < 0 ||
		    metrics_sample(out, d->name, d->labels, v) < 0)
			return -1;
	}
	return 0;
}

static int metrics_render_histograms(struct evbuffer *out)
{
	unsigned nslots = atomic_load_explicit(&metrics_slots_used, memory_order_relaxed);
	int n = metrics_count(&metrics_hists);
	char buf[40];

	if (nslots > METRICS_SLOTS)
		nslots = METRICS_SLOTS;
	for (int h = 0; h < n; h++) {
		const struct metrics_hdesc *d = metrics_hists.hdesc[h];
		uint64_t cum = 0;
		double sum = 0;

		const char *l = d->labels, *comma = *l ? "," : "";

		if ((h == 0 || strcmp(metrics_hists.hdesc[h - 1]->name, d->name) != 0) &&
		    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", d->name,
					d->help, d->name) < 0)
			return -1;
		for (size_t b = 0; b <= d->nbounds; b++) {
			size_t idx = b < d->nbounds ? b : METRICS_MAX_BUCKETS;

			for (unsigned s = 0; s < nslots; s++)
				cum += atomic_load_explicit(&metrics_slots[s].hist[h].bucket[idx],
							    memory_order_relaxed);
			if (evbuffer_add_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", d->name, l,
						comma,
						b < d->nbounds ?
							metrics_fmt(d->bounds[b], buf, sizeof(buf)) :
							"+Inf",
						(unsigned long long)cum) < 0)
				return -1;
		}
		for (unsigned s = 0; s < nslots; s++)
			sum += metrics_double(atomic_load_explicit(
				&metrics_slots[s].hist[h].sum_bits, memory_order_relaxed));
		if (evbuffer_add_printf(out, "%s_sum%s%s%s %s\n%s_count%s%s%s %llu\n", d->name,
					*l ? "{" : "", l, *l ? "}" : "",
					metrics_fmt(sum, buf, sizeof(buf)), d->name,
					*l ? "{" : "", l, *l ? "}" : "",
					(unsigned long long)cum) < 0)
			return -1;
	}
	return 0;
}

/* Process start: seconds since boot and since the epoch.  -1 when unreadable. */
static int metrics_process_start(double *since_boot, double *epoch)
{
	char buf[1024], line[256];
	unsigned long long start_ticks = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	const char *p;
	size_t n;
	FILE *f;
	int field;

	f = fopen("/proc/self/stat", "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip to the last ')'. */
	p = strrchr(buf, ')');
	if (!p || hz <= 0)
		return -1;
	/* Field 3 (state) follows ") "; starttime is field 22. */
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start_ticks) != 1)
		return -1;

	f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	}
	fclose(f);
	if (!btime)
		return -1;
	*since_boot = (double)start_ticks / (double)hz;
	*epoch = (double)btime + *since_boot;
	return 0;
}

static int metrics_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* opendir's own descriptor */
}

/* Ages are gauges: seconds since touched, else since the process started. */
static int metrics_render_ages(struct evbuffer *out, int have_start, double since_boot)
{
	int n = metrics_count(&metrics_ages);
	double now = (double)metrics_boottime_ns() / 1e9;
	const char *last = NULL;

	for (int a = 0; a < n; a++) {
		const struct metrics_desc *d = metrics_ages.desc[a];
		int64_t t = atomic_load_explicit(&metrics_age_ns[a], memory_order_relaxed);
		double since = t ? now - (double)t / 1e9 : now - since_boot;

		if (!t && !have_start)
			continue;
		if (metrics_family(out, &last, d->name, d->help, "gauge") < 0 ||
		    metrics_sample(out, d->name, d->labels, since < 0 ? 0 : since) < 0)
			return -1;
	}
	return 0;
}

static int metrics_render_process(struct evbuffer *out)
{
	double since_boot = 0, start = 0, cpu;
	unsigned long long vsize_pages = 0, rss_pages = 0;
	long page = sysconf(_SC_PAGESIZE);
	int have_start = metrics_process_start(&since_boot, &start) == 0;
	const char *program = atomic_load_explicit(&metrics_program_name, memory_order_acquire);
	struct rusage ru;
	struct rlimit rl;
	int fds = metrics_open_fds();
	FILE *f;

	if (metrics_render_ages(out, have_start, since_boot) < 0)
		return -1;
	if (evbuffer_add_printf(out,
				"# HELP leo_build_info Version of the running %s.\n"
				"# TYPE leo_build_info gauge\n"
				"leo_build_info{version=\"%s\"} 1\n",
				program ? program : "program", LEO_VERSION) < 0)
		return -1;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		if (evbuffer_add_printf(out,
					"# HELP process_cpu_seconds_total Total user and system "
					"CPU time spent in seconds.\n"
					"# TYPE process_cpu_seconds_total counter\n") < 0 ||
		    metrics_sample(out, "process_cpu_seconds_total", "", cpu) < 0)
			return -1;
	}
	f = fopen("/proc/self/statm", "r");
	if (f) {
		int ok = fscanf(f, "%llu %llu", &vsize_pages, &rss_pages) == 2;

		fclose(f);
		if (ok && (evbuffer_add_printf(out,
					       "# HELP process_virtual_memory_bytes Virtual memory "
					       "size in bytes.\n"
					       "# TYPE process_virtual_memory_bytes gauge\n"
					       "process_virtual_memory_bytes %llu\n"
					       "# HELP process_resident_memory_bytes Resident memory "
					       "size in bytes.\n"
					       "# TYPE process_resident_memory_bytes gauge\n"
					       "process_resident_memory_bytes %llu\n",
					       vsize_pages * (unsigned long long)page,
					       rss_pages * (unsigned long long)page) < 0))
			return -1;
	}
	if (have_start &&
	    (evbuffer_add_printf(out, "# HELP process_start_time_seconds Start time of the "
				      "process since unix epoch in seconds.\n"
				      "# TYPE process_start_time_seconds gauge\n") < 0 ||
	     metrics_sample(out, "process_start_time_seconds", "", start) < 0))
		return -1;
	if (fds >= 0 && evbuffer_add_printf(out,
					    "# HELP process_open_fds Number of open file "
					    "descriptors.\n"
					    "# TYPE process_open_fds gauge\n"
					    "process_open_fds %d\n",
					    fds) < 0)
		return -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    (evbuffer_add_printf(out, "# HELP process_max_fds Maximum number of open file "
				      "descriptors.\n"
				      "# TYPE process_max_fds gauge\n") < 0 ||
	     metrics_sample(out, "process_max_fds", "",
			    rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur) < 0))
		return -1;
	return 0;
}

int metrics_render(struct evbuffer *out)
{
	if (metrics_render_counters(out) < 0 || metrics_render_gauges(out) < 0 ||
	    metrics_render_histograms(out) < 0 || metrics_render_process(out) < 0)
		return -1;
	return 0;
}
