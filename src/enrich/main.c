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
#include <stddef.h>
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
	struct prog p;			/* args, config (struct enrich_cfg), loop, stats thread */
	struct pool *pool;
	struct lanes *lanes;
	struct httpd *httpd;
};

/* Loop: the database's reachability, for systemd and /readyz. */
static void main_ready(void *arg, bool ready)
{
	struct main_enrich *d = arg;

	atomic_store(&d->p.ready, ready);	/* the database answered the last claim */
	if (ready) {
		prog_notified(sdnotify_ready(), "READY");
		prog_notified(sdnotify_status("working the embedding queue"), "STATUS");
		log_info("ready: working the embedding queue");
	} else {
		prog_notified(sdnotify_status("database unreachable, retrying"), "STATUS");
	}
}

static void main_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct main_enrich *d = arg;

	(void)what;
	log_info("signal %d: stopping (recording the batch in flight)", (int)sig);
	prog_notified(sdnotify_stopping(), "STOPPING");
	lanes_drain(d->lanes);
}

/* Loop, SIGHUP (prog.c): the enrich section's new values to every lane. */
static void main_apply(void *arg, const void *cfg)
{
	struct main_enrich *d = arg;
	const struct enrich_cfg *next = cfg;

	lanes_reload(d->lanes, &next->enrich);
}

static void *main_load(const char *path, int path_is_default, FILE *errs)
{
	return enrich_cfg_load(path, path_is_default, errs);
}

static const struct prog_ops main_ops = {
	.schema = &enrich_cfg_schema,
	.load = main_load,
	.log_off = offsetof(struct enrich_cfg, log),
	.apply = main_apply,
	.reloaded = "configuration reloaded",
};

int main(int argc, char **argv)
{
	struct main_enrich d = { .p = { .args = { .name = "leo-enrich",
						  .default_config = ENRICH_CFG_DEFAULT_PATH },
					.ops = &main_ops } };
	const struct enrich_cfg *c;	/* the start-up config; SIGHUP swaps d.p.cfg */
	char owner[128], host[64] = "", *key = NULL;
	int rc;

	rc = prog_args(&d.p.args, argc, argv);
	if (rc < 0)
		rc = prog_config(&d.p);	/* config, log */
	if (rc >= 0)
		return rc;
	c = d.p.cfg;
	log_info("leo-enrich %s starting (embedder %s)", LEO_VERSION,
		 c->embedder.kind == EK_OPENAI ? "openai" : "hashing");
	rc = EX_OSERR;
	gethostname(host, sizeof(host) - 1);
	snprintf(owner, sizeof(owner), "%s:%ld", host, (long)getpid());
	srand((unsigned)time(NULL) ^ (unsigned)getpid());

	if (enrich_metrics_register())
		goto out;

	if (prog_loop_init(&d.p, main_on_stop, &d))
		goto out;

	/* connections, embedder, work, http */
	d.pool = pool_new(&c->database, "leo-enrich");
	if (!d.pool) {
		rc = c->database.password_file[0] ? EX_CONFIG : EX_OSERR;
		goto out;
	}
	d.httpd = httpd_start(d.p.stats.base, &c->stats, prog_is_ready, &d.p);
	if (!d.httpd) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	/* the openai key, read once from its file */
	if (c->embedder.kind == EK_OPENAI && c->embedder.api_key_file[0]) {
		key = secret_read("enrich.embedder.api_key_file", c->embedder.api_key_file);
		if (!key) {
			rc = EX_CONFIG;
			goto out;
		}
	}
	d.lanes = lanes_start(d.p.base, d.pool, c, key, owner, main_ready, &d);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (!d.lanes)
		goto out;
	/* alive while the loop runs, or while stopping (TimeoutStopSec bounds the last batch) */
	if (prog_watchdog_start(&d.p, prog_on_watchdog, &d.p))
		goto out;
	if (prog_stats_start(&d.p.stats))
		goto out;
	prog_notified(sdnotify_status("connecting to the database"), "STATUS");

	rc = prog_run(&d.p);
out:
	atomic_store(&d.p.stopping, true);
	prog_stats_stop(&d.p.stats);
	httpd_stop(d.httpd);
	lanes_free(d.lanes);	/* the other lanes drained and joined */
	pool_free(d.pool);
	prog_end(&d.p);
	return rc;
}
