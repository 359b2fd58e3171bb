/*
 * metrics.h — a registry of Prometheus metrics and their text exposition.
 *
 * A program registers its families at start-up (its own list, e.g.
 * alertd_metrics.c; core modules such as httpd.c add theirs), then updates
 * them by id from any thread, lock-free (relaxed atomics); metrics_render()
 * sums them on a scrape.  The registry names no metric of its own but
 * leo_build_info and the process_* families.
 *
 * Ids: each kind (counter, gauge, histogram, age) numbers its entries from 0
 * in registration order; a registration returns the id of its first entry,
 * the others follow it.  A program that registers its list first gets ids
 * equal to its enum's.
 */
#ifndef LEO_METRICS_H
#define LEO_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define METRICS_MAX_COUNTERS 128
#define METRICS_MAX_GAUGES 128
#define METRICS_MAX_HISTOGRAMS 16
#define METRICS_MAX_BUCKETS 16	/* finite bounds per histogram, at most */
#define METRICS_MAX_AGES 8

/*
 * A counter, gauge or age series: a labelled series is one entry with its
 * label text (`reason="x"`, "" for none).  Entries of one family (same name)
 * must be adjacent; the family's HELP is the first entry's.
 */
struct metrics_desc {
	const char *name, *labels, *help;
};

/* A histogram: its finite bucket upper bounds, ascending (+Inf is implied);
 * a labelled series is one entry with its label text (`channel="x"`, ""
 * for none), adjacent to the other entries of its family as above. */
struct metrics_hdesc {
	const char *name, *labels, *help;
	const double *bounds;
	size_t nbounds;
};

/*
 * Register n entries of a kind; the registry keeps the pointer, so d must
 * outlive it (a static table).  Registering the same table again returns
 * the same id.  Returns the first entry's id, or -1 (after logging why) when
 * the kind is full or a histogram has too many buckets.  Start-up, any one
 * thread at a time; updates and scrapes may already run.
 */
int metrics_register_counters(const struct metrics_desc *d, size_t n)
	__attribute__((warn_unused_result));
int metrics_register_gauges(const struct metrics_desc *d, size_t n)
	__attribute__((warn_unused_result));
int metrics_register_histograms(const struct metrics_hdesc *d, size_t n)
	__attribute__((warn_unused_result));
/*
 * An age is a gauge of seconds since metrics_touch() was last called on it,
 * or since the process started when it never was (so always a finite number
 * an alert can compare).
 */
int metrics_register_ages(const struct metrics_desc *d, size_t n)
	__attribute__((warn_unused_result));

/* leo_build_info's HELP names the program ("Version of the running NAME."). */
void metrics_program(const char *name);

/* Updates by registered id; any thread. */
void metrics_add(int counter, uint64_t n);
void metrics_set(int gauge, double v);
double metrics_get(int gauge);
void metrics_observe(int histogram, double v);
void metrics_touch(int age);

/*
 * Append the whole exposition (text format 0.0.4): counters, gauges,
 * histograms and ages in registration order, then leo_build_info and
 * process_* from /proc.  Any thread (the stats thread's scrapes).
 */
int metrics_render(struct evbuffer *out) __attribute__((warn_unused_result));

#endif
