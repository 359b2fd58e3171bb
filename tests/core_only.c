/*
 * core_only.c — a third LEO program in miniature: its main() and leo_core,
 * nothing of the matcher (it links leo_core alone).
 *
 * As leo-deliver or leo-enrich would, it loads a config with the shared
 * sections (database, stats, log) and one of its own, sets up the log,
 * registers its metrics, serves /metrics, /healthz and /readyz on an
 * ephemeral port from a stats thread, scrapes itself once, and exits 0;
 * any failure exits 1 with a line on stderr.
 *
 *   core_only --config FILE
 *
 * Threads: main (start-up, the scrape, shut-down) and stats (the event
 * base httpd serves on).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "cfg.h"
#include "cfg_section.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"

/* The program's own section. */
struct core_only_section {
	char *greeting;
};

struct core_only_cfg {
	struct cfg_database database;
	struct cfg_stats stats;
	struct cfg_log log;
	struct core_only_section own;
};

static const struct cfg_key core_only_keys[] = {
	{ "greeting", CFG_STR, "hi", 1, 63, NULL, true, offsetof(struct core_only_section, greeting),
	  NULL, NULL, NULL, "what the program says" },
};
static const struct cfg_section core_only_section = { "core_only", core_only_keys, 1 };
static const struct cfg_part core_only_parts[] = {
	{ &cfg_section_database, offsetof(struct core_only_cfg, database) },
	{ &cfg_section_stats, offsetof(struct core_only_cfg, stats) },
	{ &cfg_section_log, offsetof(struct core_only_cfg, log) },
	{ &core_only_section, offsetof(struct core_only_cfg, own) },
};
static const struct cfg_schema core_only_schema = { "core-only", sizeof(struct core_only_cfg),
						    core_only_parts, 4, NULL };

static const struct metrics_desc core_only_counters[] = {
	{ "leo_core_only_greetings_total", "", "Greetings said." },
};

static atomic_bool core_only_ready;

static bool core_only_is_ready(void *arg)
{
	(void)arg;
	return atomic_load(&core_only_ready);
}

static void core_only_break(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *core_only_stats(void *arg)
{
	log_thread_name("stats");
	event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* GET path from 127.0.0.1:port; the whole answer in buf.  -1 on failure. */
static int core_only_get(int port, const char *path, char *buf, size_t cap)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;
	ssize_t r;
	char req[128];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		goto fail;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

#define CORE_ONLY_EXPECT(cond, what)                                                  \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "core_only: %s\n", what);                      \
			goto out;                                                      \
		}                                                                      \
	} while (0)

int main(int argc, char **argv)
{
	static char buf[65536], ephemeral[] = "127.0.0.1:0";
	struct core_only_cfg *c = NULL;
	struct event_base *base = NULL;
	struct event *stop = NULL;
	struct httpd *h = NULL;
	struct pool *p = NULL;
	pthread_t stats;
	bool stats_on = false;
	int counter, rc = 1;

	if (argc != 3 || strcmp(argv[1], "--config") != 0) {
		fprintf(stderr, "usage: core_only --config FILE\n");
		return 2;
	}
	c = cfg_load(&core_only_schema, argv[2], 0, stderr);
	CORE_ONLY_EXPECT(c, "the config did not load");
	CORE_ONLY_EXPECT(strcmp(c->own.greeting, "hello") == 0, "own section not read");
	CORE_ONLY_EXPECT(c->database.pool_size == 2 && c->stats.max_connections == 4 &&
				 c->log.level == LOG_LEVEL_WARN && c->stats.timeout_s == 10,
			 "shared sections not read, or their defaults lost");
	log_setup(c->log.level, c->log.format);
	log_thread_name("main");
	/* stats.listen wants a port of 1..65535 (an operator's is known); a
	 * test takes whichever the kernel gives. */
	c->stats.listen = ephemeral;

	counter = metrics_register_counters(core_only_counters, 1);
	CORE_ONLY_EXPECT(counter == 0, "cannot register the metrics");
	metrics_program("core-only");
	metrics_add(counter, 3);

	/* A pool connects only when asked: none here. */
	p = pool_new(&c->database, "core-only");
	CORE_ONLY_EXPECT(p, "cannot make the pool");

	CORE_ONLY_EXPECT(evthread_use_pthreads() == 0 && (base = event_base_new()) &&
				 (stop = event_new(base, -1, 0, core_only_break, base)),
			 "cannot make the event base");
	h = httpd_start(base, &c->stats, core_only_is_ready, NULL);
	CORE_ONLY_EXPECT(h && httpd_port(h) > 0, "cannot serve");
	CORE_ONLY_EXPECT(pthread_create(&stats, NULL, core_only_stats, base) == 0,
			 "cannot start the stats thread");
	stats_on = true;

	CORE_ONLY_EXPECT(core_only_get(httpd_port(h), "/metrics", buf, sizeof(buf)) == 0,
			 "cannot scrape");
	CORE_ONLY_EXPECT(strncmp(buf, "HTTP/1.", 7) == 0 && strstr(buf, " 200 "), "no 200");
	CORE_ONLY_EXPECT(strstr(buf, "\r\n\r\n# HELP leo_core_only_greetings_total Greetings said.\n"
				     "# TYPE leo_core_only_greetings_total counter\n"
				     "leo_core_only_greetings_total 3\n"),
			 "the program's counter is not first");
	CORE_ONLY_EXPECT(strstr(buf, "\nleo_http_connections 1\n"), "no leo_http_connections");
	CORE_ONLY_EXPECT(strstr(buf, "# HELP leo_build_info Version of the running core-only.\n"),
			 "leo_build_info does not name the program");
	CORE_ONLY_EXPECT(strstr(buf, "\nprocess_open_fds "), "no process_* metrics");
	CORE_ONLY_EXPECT(!strstr(buf, "leo_ticks_received_total") && !strstr(buf, "leo_ready"),
			 "the matcher's metrics leaked in");

	CORE_ONLY_EXPECT(core_only_get(httpd_port(h), "/readyz", buf, sizeof(buf)) == 0 &&
				 strstr(buf, " 503 "),
			 "/readyz before the program is ready is not 503");
	atomic_store(&core_only_ready, true);
	CORE_ONLY_EXPECT(core_only_get(httpd_port(h), "/readyz", buf, sizeof(buf)) == 0 &&
				 strstr(buf, " 200 "),
			 "/readyz once ready is not 200");
	rc = 0;
out:
	if (stats_on) {
		event_active(stop, 0, 0);
		pthread_join(stats, NULL);
	}
	httpd_stop(h);
	if (stop)
		event_free(stop);
	if (base)
		event_base_free(base);
	pool_free(p);
	cfg_free(c);
	if (rc == 0)
		printf("core_only: ok\n");
	return rc;
}
