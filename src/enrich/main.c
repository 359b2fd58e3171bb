/*
 * main.c — leo-enrich: argv, ordered start-up and shut-down, the thread map.
 *
 * THREADS
 *
 *   loop   this thread: libevent base with the signals (as events), and
 *          worker lane 0 (lanes.c): its LISTEN connection, poll timer and
 *          rounds of work (jobs.c): claims and writes over its own
 *          connection, the hashing embedder in place, the openai
 *          embedder's requests on curlev.
 *   lane-N enrich.workers - 1 more lanes, each the same on a base and
 *          connections of its own.
 *   stats  a libevent base of its own: the HTTP stats endpoint (httpd.c)
 *          and the systemd watchdog, so both go on while the loop waits on
 *          the database.
 *
 * SIGTERM/SIGINT: no new round; each lane's batch in flight (an openai
 * request, at most embedder.timeout_ms) is recorded, then the loops end.  Jobs claimed
 * but never recorded (kill -9) come back when their lease runs out.
 * SIGHUP: load the config again; the enrich section's keys change, the
 * others keep their values (and a warning says so).
 */
#include <event2/event.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "enrich_cfg.h"
#include "enrich_metrics.h"
#include "httpd.h"
#include "lanes.h"
#include "log.h"
#include "pool.h"
#include "prog.h"
#include "sdnotify.h"
#include "secret.h"

struct main_enrich {
	struct prog_args args;

	struct enrich_cfg *cfg;
	struct event_base *base;	/* the loop thread's */
	struct prog_stats stats;
	struct pool *pool;
	struct lanes *lanes;
	struct httpd *httpd;
	struct event *ev_sig[3];	/* SIGTERM, SIGINT, SIGHUP */
	struct event *ev_beat, *ev_watchdog;
	atomic_uint_fast64_t beats;	/* loop: ev_beat's count */
	atomic_bool stopping;
	atomic_bool ready;		/* the database answered the last claim */
	uint64_t wd_beats;		/* stats thread */
};

/* Loop: the database's reachability, for systemd and /readyz. */
static void main_ready(void *arg, bool ready)
{
	struct main_enrich *d = arg;

	atomic_store(&d->ready, ready);
	if (ready) {
		prog_notified(sdnotify_ready(), "READY");
		prog_notified(sdnotify_status("working the embedding queue"), "STATUS");
		log_info("ready: working the embedding queue");
	} else {
		prog_notified(sdnotify_status("database unreachable, retrying"), "STATUS");
	}
}

/* Stats thread: /readyz. */
static bool main_is_ready(void *arg)
{
	struct main_enrich *d = arg;

	return atomic_load(&d->ready);
}

static void main_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct main_enrich *d = arg;

	(void)what;
	log_info("signal %d: stopping (recording the batch in flight)", (int)sig);
	prog_notified(sdnotify_stopping(), "STOPPING");
	lanes_drain(d->lanes);
}

static void main_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct main_enrich *d = arg;
	struct enrich_cfg *next;

	(void)sig;
	(void)what;
	log_info("SIGHUP: reloading %s", d->args.config_path);
	prog_notified(sdnotify_reloading(), "RELOADING");
	next = enrich_cfg_load(d->args.config_path, d->args.path_is_default, NULL);
	if (!next) {
		log_error("SIGHUP: %s has errors; keeping the running configuration",
			  d->args.config_path);
		prog_notified(sdnotify_ready(), "READY");
		return;
	}
	cfg_keep_static(&enrich_cfg_schema, d->cfg, next, NULL);
	enrich_cfg_free(d->cfg);
	d->cfg = next;
	log_setup(d->args.log_level_forced ? d->args.log_level : next->log.level, next->log.format);
	lanes_reload(d->lanes, &next->enrich);
	prog_notified(sdnotify_ready(), "READY");
	prog_notified(sdnotify_status("configuration reloaded"), "STATUS");
}

static void main_on_beat(evutil_socket_t fd, short what, void *arg)
{
	struct main_enrich *d = arg;

	(void)fd;
	(void)what;
	atomic_fetch_add(&d->beats, 1);
}

/* Stats thread: alive while the loop runs (its heartbeat moved) or while
 * stopping (TimeoutStopSec bounds the last batch). */
static void main_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct main_enrich *d = arg;
	uint64_t beats = atomic_load(&d->beats);

	(void)fd;
	(void)what;
	if (atomic_load(&d->stopping) || beats != d->wd_beats)
		prog_notified(sdnotify_watchdog(), "WATCHDOG");
	else
		log_warn("watchdog: the loop thread has not run since the last check");
	d->wd_beats = beats;
}

static int main_watchdog_start(struct main_enrich *d, uint64_t wd_usec)
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
	struct main_enrich d = { .args = { .name = "leo-enrich",
					   .default_config = ENRICH_CFG_DEFAULT_PATH } };
	char owner[128], host[64] = "", *key = NULL;
	int rc;
	uint64_t wd_usec;

	rc = prog_args(&d.args, argc, argv);
	if (rc >= 0)
		return rc;

	/* config */
	d.cfg = enrich_cfg_load(d.args.config_path, d.args.path_is_default, stderr);
	if (!d.cfg)
		return EX_CONFIG;
	if (d.args.check_config) {
		printf("%s: ok\n", d.args.config_path);
		enrich_cfg_free(d.cfg);
		return 0;
	}

	/* log */
	log_setup(d.args.log_level_forced ? d.args.log_level : d.cfg->log.level, d.cfg->log.format);
	log_thread_name("loop");
	log_info("leo-enrich %s starting (embedder %s)", LEO_VERSION,
		 d.cfg->embedder.kind == EK_OPENAI ? "openai" : "hashing");
	rc = EX_OSERR;
	gethostname(host, sizeof(host) - 1);
	snprintf(owner, sizeof(owner), "%s:%ld", host, (long)getpid());
	srand((unsigned)time(NULL) ^ (unsigned)getpid());

	if (enrich_metrics_register())
		goto out;

	if (prog_loop_init(&d.base, d.ev_sig, &d.stats, main_on_stop, main_on_hup, &d))
		goto out;

	/* connections, embedder, work, http */
	d.pool = pool_new(&d.cfg->database, "leo-enrich");
	if (!d.pool) {
		rc = d.cfg->database.password_file[0] ? EX_CONFIG : EX_OSERR;
		goto out;
	}
	d.httpd = httpd_start(d.stats.base, &d.cfg->stats, main_is_ready, &d);
	if (!d.httpd) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	/* the openai key, read once from its file */
	if (d.cfg->embedder.kind == EK_OPENAI && d.cfg->embedder.api_key_file[0]) {
		key = secret_read("enrich.embedder.api_key_file", d.cfg->embedder.api_key_file);
		if (!key) {
			rc = EX_CONFIG;
			goto out;
		}
	}
	d.lanes = lanes_start(d.base, d.pool, d.cfg, key, owner, main_ready, &d);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (!d.lanes)
		goto out;
	wd_usec = sdnotify_watchdog_usec();
	if (wd_usec > 0 && main_watchdog_start(&d, wd_usec)) {
		log_error("cannot start the watchdog timer");
		goto out;
	}
	if (prog_stats_start(&d.stats))
		goto out;
	prog_notified(sdnotify_status("connecting to the database"), "STATUS");

	if (event_base_dispatch(d.base) < 0) {
		log_error("event loop failed");
		goto out;
	}
	rc = 0;
out:
	atomic_store(&d.stopping, true);
	prog_stats_stop(&d.stats);
	httpd_stop(d.httpd);
	lanes_free(d.lanes);	/* the other lanes drained and joined */
	pool_free(d.pool);
	prog_event_free(d.ev_watchdog);
	prog_event_free(d.ev_beat);
	prog_stats_free(&d.stats);
	prog_loop_free(d.base, d.ev_sig);
	libevent_global_shutdown();
	log_info("stopped");
	enrich_cfg_free(d.cfg);
	return rc;
}
