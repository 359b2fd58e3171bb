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
	struct prog_args args;

	struct alertd_cfg *cfg;
	struct event_base *base;	/* the loop thread's */
	struct prog_stats stats;	/* the stats thread and its base */
	struct pool *pool;
	struct ckpt *ckpt;		/* workers and writers; freed after both */
	struct writer *writer;
	struct workers *workers;
	struct listen *listen;
	struct httpd *httpd;
	struct event *ev_sig[3];	/* SIGTERM, SIGINT, SIGHUP */
	struct event *ev_beat, *ev_watchdog;
	atomic_uint_fast64_t beats;	/* loop: ev_beat's count */
	atomic_bool stopping;		/* the loop has ended: flushing */
	atomic_bool ready;		/* listen's last word: rules loaded, database up */
	uint64_t wd_processed, wd_beats;	/* stats thread */
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

	atomic_store(&d->ready, ready);
	if (ready) {
		prog_notified(sdnotify_ready(), "READY");
		prog_notified(sdnotify_status("rules loaded, listening"), "STATUS");
		log_info("ready: rules loaded, listening");
	} else {
		prog_notified(sdnotify_status("database connection lost, reconnecting"),
			      "STATUS");
	}
}

/* Stats thread: /readyz. */
static bool main_is_ready(void *arg)
{
	struct main_daemon *d = arg;

	return atomic_load(&d->ready);
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
	event_base_loopbreak(d->base);
}

static void main_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct main_daemon *d = arg;
	struct alertd_cfg *next;
	struct rules_limits lim;

	(void)sig;
	(void)what;
	log_info("SIGHUP: reloading %s", d->args.config_path);
	prog_notified(sdnotify_reloading(), "RELOADING");
	next = alertd_cfg_load(d->args.config_path, d->args.path_is_default, NULL); /* to the log */
	if (!next) {
		log_error("SIGHUP: %s has errors; keeping the running configuration",
			  d->args.config_path);
		prog_notified(sdnotify_ready(), "READY");
		return;
	}
	alertd_cfg_keep_static(d->cfg, next, NULL);
	alertd_cfg_free(d->cfg);
	d->cfg = next;
	log_setup(d->args.log_level_forced ? d->args.log_level : next->log.level, next->log.format);
	lim = main_limits(next);
	workers_set_limits(d->workers, &lim);
	writer_set_limits(d->writer, next->writer.batch_max_rows,
			  next->writer.batch_max_delay_ms);
	listen_reload(d->listen, next->engine.resync_interval_s);
	prog_notified(sdnotify_ready(), "READY");
	prog_notified(sdnotify_status("configuration reloaded, rules resynced"), "STATUS");
}

/* Loop: a heartbeat for the watchdog. */
static void main_on_beat(evutil_socket_t fd, short what, void *arg)
{
	struct main_daemon *d = arg;

	(void)fd;
	(void)what;
	atomic_fetch_add(&d->beats, 1);
}

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
	uint64_t processed, waiting, beats = atomic_load(&d->beats);

	(void)fd;
	(void)what;
	if (atomic_load(&d->stopping)) {
		prog_notified(sdnotify_watchdog(), "WATCHDOG");
		return;
	}
	workers_progress(d->workers, &processed, &waiting);
	if (waiting ? processed != d->wd_processed : beats != d->wd_beats)
		prog_notified(sdnotify_watchdog(), "WATCHDOG");
	else if (waiting)
		log_warn("watchdog: workers made no progress with %llu messages waiting",
			 (unsigned long long)waiting);
	else
		log_warn("watchdog: the loop thread has not run since the last check");
	d->wd_processed = processed;
	d->wd_beats = beats;
}

/* The watchdog's timers: ev_beat on the loop at twice the check's rate. */
static int main_watchdog_start(struct main_daemon *d, uint64_t wd_usec)
{
	struct timeval check = { (time_t)(wd_usec / 2000000),
				 (suseconds_t)((wd_usec / 2) % 1000000) };
	struct timeval beat = { (time_t)(wd_usec / 4000000),
				(suseconds_t)((wd_usec / 4) % 1000000) };

	d->ev_beat = event_new(d->base, -1, EV_PERSIST, main_on_beat, d);
	d->ev_watchdog = event_new(d->stats.base, -1, EV_PERSIST, main_on_watchdog, d);
	return !d->ev_beat || !d->ev_watchdog || event_add(d->ev_beat, &beat) ||
	       event_add(d->ev_watchdog, &check) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct main_daemon d = { .args = { .name = "leo-alertd",
					   .default_config = ALERTD_CFG_DEFAULT_PATH } };
	struct rules_limits lim;
	int rc;
	uint64_t wd_usec;

	rc = prog_args(&d.args, argc, argv);
	if (rc >= 0)
		return rc;

	/* config */
	d.cfg = alertd_cfg_load(d.args.config_path, d.args.path_is_default, stderr);
	if (!d.cfg)
		return EX_CONFIG;
	if (d.args.check_config) {
		printf("%s: ok\n", d.args.config_path);
		alertd_cfg_free(d.cfg);
		return 0;
	}

	/* log */
	log_setup(d.args.log_level_forced ? d.args.log_level : d.cfg->log.level, d.cfg->log.format);
	log_thread_name("loop");
	log_info("leo-alertd %s starting", LEO_VERSION);
	rc = EX_OSERR;

	/* metrics: the list first, so its ids are its enums */
	if (alertd_metrics_register())
		goto out;

	/* event base and signals (libevent may be called from other threads) */
	if (prog_loop_init(&d.base, d.ev_sig, &d.stats, main_on_stop, main_on_hup, &d))
		goto out;

	/* connections, writers, workers, listen, http */
	d.pool = pool_new(&d.cfg->database, "leo-alertd");
	if (!d.pool) {
		rc = d.cfg->database.password_file[0] ? EX_CONFIG : EX_OSERR;
		goto out;
	}
	d.ckpt = ckpt_new();
	if (d.ckpt)
		d.writer = writer_start(d.pool, d.cfg->database.pool_size,
					d.cfg->engine.queue_capacity, d.cfg->writer.batch_max_rows,
					d.cfg->writer.batch_max_delay_ms, main_refetch, &d, d.ckpt);
	lim = main_limits(d.cfg);
	if (d.writer)
		d.workers = workers_start(d.cfg->engine.worker_threads,
					  d.cfg->engine.queue_capacity, &lim, main_emit,
					  main_flight, d.writer, d.ckpt);
	if (d.workers)
		d.listen = listen_new(d.base, d.pool, d.workers, d.cfg->listen.market_channel,
				      d.cfg->engine.resync_interval_s, main_ready, &d);
	if (!d.listen) {
		log_error("cannot start the worker and writer threads");
		goto out;
	}
	d.httpd = httpd_start(d.stats.base, &d.cfg->stats, main_is_ready, &d);
	if (!d.httpd) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (listen_start(d.listen)) {
		log_error("cannot start listening");
		goto out;
	}
	wd_usec = sdnotify_watchdog_usec();
	if (wd_usec > 0 && main_watchdog_start(&d, wd_usec)) {
		log_error("cannot start the watchdog timer");
		goto out;
	}
	if (prog_stats_start(&d.stats))
		goto out;
	prog_notified(sdnotify_status("connecting to the database, loading rules"), "STATUS");

	if (event_base_dispatch(d.base) < 0) {
		log_error("event loop failed");
		goto out;
	}
	rc = 0;
out:
	/* reverse order: intake first, then drain workers, then flush writers */
	atomic_store(&d.stopping, true);
	listen_stop(d.listen);
	workers_stop(d.workers);
	writer_stop(d.writer);
	ckpt_free(d.ckpt);
	prog_stats_stop(&d.stats);	/* it served /healthz while the writers flushed */
	workers_free(d.workers);
	httpd_stop(d.httpd);
	listen_free(d.listen);
	pool_free(d.pool);
	prog_event_free(d.ev_watchdog);
	prog_event_free(d.ev_beat);
	prog_stats_free(&d.stats);
	prog_loop_free(d.base, d.ev_sig);
	libevent_global_shutdown();
	log_info("stopped");
	alertd_cfg_free(d.cfg);
	return rc;
}
