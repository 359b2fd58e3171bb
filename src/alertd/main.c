/*
 * main.c — leo-alertd: argv, ordered start-up and shut-down, the thread map.
 *
 * THREADS
 *
 *   loop      this thread: libevent base with the signals (as events), the
 *             LISTEN connection and its look-ups (listen.c; the load in
 *             load.c, decoding in decode.c, fences in fence.c), the resync
 *             and sampling timers.
 *   stats     a libevent base of its own: the HTTP stats endpoint (httpd.c)
 *             and the systemd watchdog, so that both go on while the loop
 *             waits on a full worker queue or a slow look-up.
 *   worker-N  engine.worker_threads evaluation threads (workers.c), each
 *             owning the symbols that hash to it.
 *   writer-N  database.pool_size writer threads (writer.c), each writing
 *             batches over one pooled connection.
 *
 * Data flows loop -> workers -> writers through bounded queues; the loop
 * never waits on a worker's (a full one spills, and the loop stops reading
 * notifications until it drains: throttle.c), a worker waits on a full
 * writer queue; the only way back (a claim that lost, so the rule must be
 * re-read) is listen_refetch, which never blocks.  Shut-down runs the other
 * way round: stop intake, let the workers drain, let the writers flush,
 * then free everything (the ASan build checks that nothing leaks).
 *
 * The loaded config never changes; SIGHUP loads a new one, keeps the old on
 * error, and otherwise swaps it in and hands each part its new values.
 */
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "alertd_metrics.h"
#include "alertd_cfg.h"
#include "ckpt.h"
#include "httpd.h"
#include "listen.h"
#include "log.h"
#include "pool.h"
#include "prog.h"
#include "sdnotify.h"
#include "workers.h"
#include "writer.h"

struct main_daemon {
	struct prog p;			/* args, config (struct alertd_cfg), loop, stats thread */
	struct pool *pool;
	struct ckpt *ckpt;		/* workers and writers; freed after both */
	struct writer *writer;
	struct workers *workers;
	struct listen *listen;
	struct httpd *httpd;
	uint64_t wd_processed;		/* stats thread */
};

/* Worker thread: an engine event goes to the writer queue. */
static void main_emit(void *arg, const struct rules_event *ev, int64_t recv_us)
{
	writer_push(arg, ev, recv_us);
}

/* Loop and worker threads: ticks in flight, for the writers' group commit. */
static void main_flight(void *arg, int delta)
{
	writer_flight(arg, delta);
}

/* Writer thread: a lost claim; the loop catches the rule's counter up. */
static void main_refetch(void *arg, const char *tenant, const char *rule)
{
	struct main_daemon *d = arg;

	listen_refetch(d->listen, tenant, rule);
}

/* Loop: listen's readiness, for systemd and /readyz. */
static void main_ready(void *arg, bool ready)
{
	struct main_daemon *d = arg;

	atomic_store(&d->p.ready, ready);	/* listen's last word: rules loaded, database up */
	if (ready) {
		prog_notified(sdnotify_ready(), "READY");
		prog_notified(sdnotify_status("rules loaded, listening"), "STATUS");
		log_info("ready: rules loaded, listening");
	} else {
		prog_notified(sdnotify_status("database connection lost, reconnecting"),
			      "STATUS");
	}
}

static struct rules_limits main_limits(const struct alertd_cfg *c)
{
	return (struct rules_limits){ .flood_max_fires = c->engine.flood_max_fires,
				      .flood_window_s = c->engine.flood_window_seconds };
}

static void main_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct main_daemon *d = arg;

	(void)what;
	log_info("signal %d: stopping (flushing pending firings)", (int)sig);
	prog_notified(sdnotify_stopping(), "STOPPING");
	event_base_loopbreak(d->p.base);
}

/* Loop, SIGHUP (prog.c): the new limits and resync interval. */
static void main_apply(void *arg, const void *cfg)
{
	struct main_daemon *d = arg;
	const struct alertd_cfg *next = cfg;
	struct rules_limits lim = main_limits(next);

	workers_set_limits(d->workers, &lim);
	writer_set_limits(d->writer, next->writer.batch_max_rows,
			  next->writer.batch_max_delay_ms);
	listen_reload(d->listen, next->engine.resync_interval_s);
}

static void *main_load(const char *path, int path_is_default, FILE *errs)
{
	return alertd_cfg_load(path, path_is_default, errs);
}

static const struct prog_ops main_ops = {
	.schema = &alertd_cfg_schema,
	.load = main_load,
	.log_off = offsetof(struct alertd_cfg, log),
	.apply = main_apply,
	.reloaded = "configuration reloaded, rules resynced",
};

/*
 * Stats thread: tell systemd we are alive while work goes on — the loop
 * runs (its heartbeat moved) with nothing waiting for the workers, or the
 * workers make progress on what waits (the loop may be throttled behind them,
 * which is back-pressure, not a hang), or the daemon is stopping (the loop
 * has ended; TimeoutStopSec bounds the flush).
 */
static void main_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct main_daemon *d = arg;
	uint64_t processed, waiting, beats = atomic_load(&d->p.beats);

	(void)fd;
	(void)what;
	if (atomic_load(&d->p.stopping)) {	/* the loop has ended: flushing */
		prog_notified(sdnotify_watchdog(), "WATCHDOG");
		return;
	}
	workers_progress(d->workers, &processed, &waiting);
	if (waiting ? processed != d->wd_processed : beats != d->p.wd_beats)
		prog_notified(sdnotify_watchdog(), "WATCHDOG");
	else if (waiting)
		log_warn("watchdog: workers made no progress with %llu messages waiting",
			 (unsigned long long)waiting);
	else
		log_warn("watchdog: the loop thread has not run since the last check");
	d->wd_processed = processed;
	d->p.wd_beats = beats;
}

int main(int argc, char **argv)
{
	struct main_daemon d = { .p = { .args = { .name = "leo-alertd",
						  .default_config = ALERTD_CFG_DEFAULT_PATH },
					.ops = &main_ops } };
	const struct alertd_cfg *c;	/* the start-up config; SIGHUP swaps d.p.cfg */
	struct rules_limits lim;
	int rc;

	rc = prog_args(&d.p.args, argc, argv);
	if (rc < 0)
		rc = prog_config(&d.p);	/* config, log */
	if (rc >= 0)
		return rc;
	c = d.p.cfg;
	log_info("leo-alertd %s starting", LEO_VERSION);
	rc = EX_OSERR;

	/* metrics: the list first, so its ids are its enums */
	if (alertd_metrics_register())
		goto out;

	/* event base and signals (libevent may be called from other threads) */
	if (prog_loop_init(&d.p, main_on_stop, &d))
		goto out;

	/* connections, writers, workers, listen, http */
	d.pool = pool_new(&c->database, "leo-alertd");
	if (!d.pool) {
		rc = c->database.password_file[0] ? EX_CONFIG : EX_OSERR;
		goto out;
	}
	d.ckpt = ckpt_new();
	if (d.ckpt)
		d.writer = writer_start(d.pool, c->database.pool_size,
					c->engine.queue_capacity, c->writer.batch_max_rows,
					c->writer.batch_max_delay_ms, main_refetch, &d, d.ckpt);
	lim = main_limits(c);
	if (d.writer)
		d.workers = workers_start(c->engine.worker_threads,
					  c->engine.queue_capacity, &lim, main_emit,
					  main_flight, d.writer, d.ckpt);
	if (d.workers)
		d.listen = listen_new(d.p.base, d.pool, d.workers, c->listen.market_channel,
				      c->engine.resync_interval_s, main_ready, &d);
	if (!d.listen) {
		log_error("cannot start the worker and writer threads");
		goto out;
	}
	d.httpd = httpd_start(d.p.stats.base, &c->stats, prog_is_ready, &d.p);
	if (!d.httpd) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (listen_start(d.listen)) {
		log_error("cannot start listening");
		goto out;
	}
	if (prog_watchdog_start(&d.p, main_on_watchdog, &d))
		goto out;
	if (prog_stats_start(&d.p.stats))
		goto out;
	prog_notified(sdnotify_status("connecting to the database, loading rules"), "STATUS");

	rc = prog_run(&d.p);
out:
	/* reverse order: intake first, then drain workers, then flush writers */
	atomic_store(&d.p.stopping, true);
	listen_stop(d.listen);
	workers_stop(d.workers);
	writer_stop(d.writer);
	ckpt_free(d.ckpt);
	prog_stats_stop(&d.p.stats);	/* it served /healthz while the writers flushed */
	workers_free(d.workers);
	httpd_stop(d.httpd);
	listen_free(d.listen);
	pool_free(d.pool);
	prog_end(&d.p);
	return rc;
}
