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
#include <stddef.h>
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
	struct prog p;			/* args, config (struct deliver_cfg), loop, stats thread */
	struct pool *pool;
	struct sender *sender;
	struct pickup *pickup;
	struct receipts *receipts;
	struct httpd *httpd;
	struct event *ev_drain;
	bool said_ready;		/* loop */
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

static void main_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct main_sender *d = arg;

	(void)what;
	if (atomic_exchange(&d->p.stopping, true))
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
		event_base_loopbreak(d->p.base);
}

/* Loop, SIGHUP (prog.c): the sender reads the new config from now on. */
static void main_apply(void *arg, const void *next)
{
	struct main_sender *d = arg;

	sender_set_cfg(d->sender, next);
}

static void *main_load(const char *path, int path_is_default, FILE *errs)
{
	return deliver_cfg_load(path, path_is_default, errs);
}

static const struct prog_ops main_ops = {
	.schema = &deliver_cfg_schema,
	.load = main_load,
	.log_off = offsetof(struct deliver_cfg, log),
	.apply = main_apply,
};

/* Loop, every second: the heartbeat for the watchdog, and readiness. */
static void main_on_beat(evutil_socket_t fd, short what, void *arg)
{
	struct main_sender *d = arg;
	bool up = sender_db_up(d->sender) && pickup_up(d->pickup);

	(void)fd;
	(void)what;
	atomic_fetch_add(&d->p.beats, 1);
	atomic_store(&d->p.ready, up);	/* the database is reachable */
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

/* The receipts' secret: "" when not configured; NULL when unreadable. */
static char *main_receipts_secret(const struct deliver_cfg *c)
{
	const char *path = c->deliver.receipts_secret_file;

	return path[0] ? secret_read("deliver.receipts_secret_file", path) : strdup("");
}

int main(int argc, char **argv)
{
	struct main_sender d = { .p = { .args = { .name = "leo-deliver",
						  .default_config = DELIVER_CFG_DEFAULT_PATH,
						  .check_template_option = true },
					.ops = &main_ops } };
	const struct deliver_cfg *c;	/* the start-up config; SIGHUP swaps d.p.cfg */
	char *secret = NULL;
	int rc;

	rc = prog_args(&d.p.args, argc, argv);
	if (rc >= 0)
		return rc;
	if (d.p.args.check_template)
		return main_check_template(d.p.args.check_template);
	rc = prog_config(&d.p);	/* config, log */
	if (rc >= 0)
		return rc;
	c = d.p.cfg;
	log_info("leo-deliver %s starting", LEO_VERSION);
	rc = EX_OSERR;
	if (deliver_metrics_register())
		goto out;

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		log_error("cannot initialise libcurl");
		goto out;
	}
	if (prog_loop_init(&d.p, main_on_stop, &d))
		goto out;
	d.ev_drain = event_new(d.p.base, -1, EV_PERSIST, main_on_drain, &d);
	d.p.ev_beat = event_new(d.p.base, -1, EV_PERSIST, main_on_beat, &d);
	if (!d.ev_drain || !d.p.ev_beat ||
	    event_add(d.p.ev_beat, &(struct timeval){ 1, 0 })) {
		log_error("cannot install the loop's events");
		goto out;
	}

	d.pool = pool_new(&c->database, "leo-deliver");
	if (!d.pool) {
		rc = c->database.password_file[0] ? EX_CONFIG : EX_OSERR;
		goto out;
	}
	secret = main_receipts_secret(c);
	if (!secret) {
		rc = EX_CONFIG;
		goto out;
	}
	d.receipts = receipts_new(d.pool, secret, c->deliver.receipts_tolerance_s);
	d.sender = sender_new(d.p.base, d.pool, c);
	if (!d.sender || !d.receipts) {
		rc = EX_CONFIG;	/* a channel that cannot open: its config names it */
		goto out;
	}
	d.httpd = httpd_start(d.p.stats.base, &c->stats, prog_is_ready, &d.p);
	if (!d.httpd || receipts_route(d.receipts, d.httpd)) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	d.pickup = pickup_new(d.p.base, d.pool, main_wake, &d);
	if (!d.pickup)
		goto out;
	/* alive while the loop runs (main_on_beat every second), or while stopping */
	if (prog_watchdog_start(&d.p, prog_on_watchdog, &d.p))
		goto out;
	if (prog_stats_start(&d.p.stats))
		goto out;
	main_on_beat(-1, 0, &d);
	sender_wake(d.sender);	/* what was queued while no sender ran */

	rc = prog_run(&d.p);
out:
	atomic_store(&d.p.stopping, true);
	prog_stats_stop(&d.p.stats);
	httpd_stop(d.httpd);
	pickup_free(d.pickup);
	sender_free(d.sender);
	receipts_free(d.receipts);
	pool_free(d.pool);
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	prog_event_free(d.ev_drain);
	curl_global_cleanup();
	prog_end(&d.p);
	return rc;
}
