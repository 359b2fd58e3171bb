/*
 * main.c — leo-deliver: argv, ordered start-up and shut-down, the thread map.
 *
 * THREADS
 *
 *   loop      this thread: libevent base with the signals (as events), the
 *             LISTEN connection (pickup.c), the sender's passes and its
 *             database connection (sender.c), and every outbound request
 *             through libcurl's multi interface (curlev.c).
 *   stats     a libevent base of its own: /metrics, /healthz, /readyz,
 *             POST /v1/receipts (receipts.c, with its own connection) and
 *             the systemd watchdog, so that all go on while the loop waits
 *             on the database.
 *
 * Shut-down (SIGTERM): stop claiming, let the requests in flight end and
 * their records be written (at most MAIN_DRAIN_S), then abort what is left
 * (recorded as retries) and free everything.
 */
#include <curl/curl.h>
#include <event2/event.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "deliver_cfg.h"
#include "deliver_metrics.h"
#include "httpd.h"
#include "log.h"
#include "pickup.h"
#include "pool.h"
#include "prog.h"
#include "receipts.h"
#include "sdnotify.h"
#include "secret.h"
#include "sender.h"
#include "tmpl.h"

#define MAIN_DRAIN_S 10

struct main_sender {
	struct prog_args args;

	struct deliver_cfg *cfg;
	struct event_base *base;	/* the loop thread's */
	struct prog_stats stats;
	struct pool *pool;
	struct sender *sender;
	struct pickup *pickup;
	struct receipts *receipts;
	struct httpd *httpd;
	struct event *ev_sig[3];	/* SIGTERM, SIGINT, SIGHUP */
	struct event *ev_beat, *ev_watchdog, *ev_drain;
	atomic_uint_fast64_t beats;	/* loop: ev_beat's count */
	atomic_bool ready;		/* loop: the database is reachable */
	atomic_bool stopping;
	bool said_ready;		/* loop */
	uint64_t wd_beats;		/* stats thread */
	int drain_ticks;		/* loop, while stopping */
};

/* --check-template FILE: 0, or EX_DATAERR with line, column and reason. */
static int main_check_template(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct tmpl_err e = { 0 };
	struct tmpl *t;
	char *src = NULL;
	size_t len = 0;

	if (!f) {
		fprintf(stderr, "%s: cannot open: %m\n", path);
		return EX_NOINPUT;
	}
	FILE *m = open_memstream(&src, &len);
	char buf[8192];
	size_t n;

	while (m && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, m);
	if (!m || ferror(f) || fclose(m)) {
		fprintf(stderr, "%s: cannot read: %m\n", path);
		fclose(f);
		free(src);
		return EX_IOERR;
	}
	fclose(f);
	t = tmpl_compile(src, len, &e);
	free(src);
	if (!t) {
		fprintf(stderr, "%s:%d:%d: %s\n", path, e.line, e.col, e.msg);
		return EX_DATAERR;
	}
	tmpl_free(t);
	printf("%s: ok\n", path);
	return 0;
}

static void main_wake(void *arg)
{
	struct main_sender *d = arg;

	sender_wake(d->sender);
}

/* Stats thread: /readyz. */
static bool main_is_ready(void *arg)
{
	struct main_sender *d = arg;

	return atomic_load(&d->ready);
}

static void main_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct main_sender *d = arg;

	(void)what;
	if (atomic_exchange(&d->stopping, true))
		return;
	log_info("signal %d: stopping (finishing the requests in flight)", (int)sig);
	prog_notified(sdnotify_stopping(), "STOPPING");
	event_add(d->ev_drain, &(struct timeval){ 0, 100000 });
}

/* Loop, while stopping: end once nothing is in flight, or after MAIN_DRAIN_S. */
static void main_on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct main_sender *d = arg;

	(void)fd;
	(void)what;
	if (sender_quiesce(d->sender) || ++d->drain_ticks >= MAIN_DRAIN_S * 10)
		event_base_loopbreak(d->base);
}

static void main_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct main_sender *d = arg;
	struct deliver_cfg *next;

	(void)sig;
	(void)what;
	log_info("SIGHUP: reloading %s", d->args.config_path);
	prog_notified(sdnotify_reloading(), "RELOADING");
	next = deliver_cfg_load(d->args.config_path, d->args.path_is_default, NULL);
	if (!next) {
		log_error("SIGHUP: %s has errors; keeping the running configuration",
			  d->args.config_path);
	} else {
		cfg_keep_static(&deliver_cfg_schema, d->cfg, next, NULL);
		sender_set_cfg(d->sender, next);
		deliver_cfg_free(d->cfg);
		d->cfg = next;
		log_setup(d->args.log_level_forced ? d->args.log_level : next->log.level,
			  next->log.format);
	}
	prog_notified(sdnotify_ready(), "READY");
}

/* Loop, every second: the heartbeat for the watchdog, and readiness. */
static void main_on_beat(evutil_socket_t fd, short what, void *arg)
{
	struct main_sender *d = arg;
	bool up = sender_db_up(d->sender) && pickup_up(d->pickup);

	(void)fd;
	(void)what;
	atomic_fetch_add(&d->beats, 1);
	atomic_store(&d->ready, up);
	if (up && !d->said_ready) {
		prog_notified(sdnotify_ready(), "READY");
		prog_notified(sdnotify_status("sending"), "STATUS");
		log_info("ready: listening for deliveries");
	} else if (!up && d->said_ready) {
		prog_notified(sdnotify_status("database connection lost, reconnecting"),
			      "STATUS");
	}
	d->said_ready = up;
}

/* Stats thread: alive while the loop runs, or while stopping. */
static void main_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct main_sender *d = arg;
	uint64_t beats = atomic_load(&d->beats);

	(void)fd;
	(void)what;
	if (beats != d->wd_beats || atomic_load(&d->stopping))
		prog_notified(sdnotify_watchdog(), "WATCHDOG");
	else
		log_warn("watchdog: the loop thread has not run since the last check");
	d->wd_beats = beats;
}

/* The receipts' secret: "" when not configured; NULL when unreadable. */
static char *main_receipts_secret(const struct deliver_cfg *c)
{
	const char *path = c->deliver.receipts_secret_file;

	return path[0] ? secret_read("deliver.receipts_secret_file", path) : strdup("");
}

int main(int argc, char **argv)
{
	struct main_sender d = { .args = { .name = "leo-deliver",
					   .default_config = DELIVER_CFG_DEFAULT_PATH,
					   .check_template_option = true } };
	uint64_t wd_usec;
	char *secret = NULL;
	int rc;

	rc = prog_args(&d.args, argc, argv);
	if (rc >= 0)
		return rc;
	if (d.args.check_template)
		return main_check_template(d.args.check_template);

	/* config */
	d.cfg = deliver_cfg_load(d.args.config_path, d.args.path_is_default, stderr);
	if (!d.cfg)
		return EX_CONFIG;
	if (d.args.check_config) {
		printf("%s: ok\n", d.args.config_path);
		deliver_cfg_free(d.cfg);
		return 0;
	}

	log_setup(d.args.log_level_forced ? d.args.log_level : d.cfg->log.level, d.cfg->log.format);
	log_thread_name("loop");
	log_info("leo-deliver %s starting", LEO_VERSION);
	rc = EX_OSERR;
	if (deliver_metrics_register())
		goto out;

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		log_error("cannot initialise libcurl");
		goto out;
	}
	if (prog_loop_init(&d.base, d.ev_sig, &d.stats, main_on_stop, main_on_hup, &d))
		goto out;
	d.ev_drain = event_new(d.base, -1, EV_PERSIST, main_on_drain, &d);
	d.ev_beat = event_new(d.base, -1, EV_PERSIST, main_on_beat, &d);
	if (!d.ev_drain || !d.ev_beat ||
	    event_add(d.ev_beat, &(struct timeval){ 1, 0 })) {
		log_error("cannot install the loop's events");
		goto out;
	}

	d.pool = pool_new(&d.cfg->database, "leo-deliver");
	if (!d.pool) {
		rc = d.cfg->database.password_file[0] ? EX_CONFIG : EX_OSERR;
		goto out;
	}
	secret = main_receipts_secret(d.cfg);
	if (!secret) {
		rc = EX_CONFIG;
		goto out;
	}
	d.receipts = receipts_new(d.pool, secret, d.cfg->deliver.receipts_tolerance_s);
	d.sender = sender_new(d.base, d.pool, d.cfg);
	if (!d.sender || !d.receipts) {
		rc = EX_CONFIG;	/* a channel that cannot open: its config names it */
		goto out;
	}
	d.httpd = httpd_start(d.stats.base, &d.cfg->stats, main_is_ready, &d);
	if (!d.httpd || receipts_route(d.receipts, d.httpd)) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	d.pickup = pickup_new(d.base, d.pool, main_wake, &d);
	if (!d.pickup)
		goto out;
	wd_usec = sdnotify_watchdog_usec();
	if (wd_usec > 0) {
		d.ev_watchdog = event_new(d.stats.base, -1, EV_PERSIST, main_on_watchdog, &d);
		if (!d.ev_watchdog ||
		    event_add(d.ev_watchdog, &(struct timeval){ (time_t)(wd_usec / 2000000),
							       (suseconds_t)(wd_usec / 2 % 1000000) })) {
			log_error("cannot start the watchdog timer");
			goto out;
		}
	}
	if (prog_stats_start(&d.stats))
		goto out;
	main_on_beat(-1, 0, &d);
	sender_wake(d.sender);	/* what was queued while no sender ran */

	if (event_base_dispatch(d.base) < 0) {
		log_error("event loop failed");
		goto out;
	}
	rc = 0;
out:
	atomic_store(&d.stopping, true);
	prog_stats_stop(&d.stats);
	httpd_stop(d.httpd);
	pickup_free(d.pickup);
	sender_free(d.sender);
	receipts_free(d.receipts);
	pool_free(d.pool);
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	prog_event_free(d.ev_watchdog);
	prog_event_free(d.ev_beat);
	prog_event_free(d.ev_drain);
	prog_stats_free(&d.stats);
	prog_loop_free(d.base, d.ev_sig);
	libevent_global_shutdown();
	curl_global_cleanup();
	log_info("stopped");
	deliver_cfg_free(d.cfg);
	return rc;
}
