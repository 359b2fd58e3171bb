/*
 * fuzz_httpd.c — the stats endpoint (httpd.c over evhttp) on arbitrary
 * request bytes.
 *
 * httpd.c exposes no seam below its listener, so the target runs the real
 * endpoint on a kernel-chosen loopback port inside the process, once, and
 * for each input opens one TCP connection, sends the bytes, half-closes,
 * and runs the loop until the server has closed the connection.  All on
 * this one thread: the client socket is an event on the server's base.
 *
 * Beside the sanitizers it checks that every connection gives its slot back
 * (the leo_http_connections gauge returns to 0), or the connection cap
 * would wedge the endpoint, and that the server ends every connection
 * within a few of its timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "alertd_cfg.h"
#include "fuzz.h"
#include "httpd.h"
#include "log.h"

/*
 * The server's per-connection timeout (stats.timeout_s), and how long an
 * input may keep its connection: a few timeouts (one to read the request,
 * one to write the answer) and a margin for a loaded machine.
 */
#define FUZZ_HTTPD_TIMEOUT_S 1
#define FUZZ_HTTPD_LIMIT_S (FUZZ_HTTPD_TIMEOUT_S * 10)

struct fuzz_client {
	struct event_base *base;
	struct event *ev;
	int fd;
	const uint8_t *data;
	size_t len, off;
	bool wrote_all;
	bool closed;		/* the server ended the connection */
};

static struct event_base *fuzz_base;
static struct httpd *fuzz_server;
static int fuzz_port;

static void fuzz_httpd_setup(void)
{
	struct alertd_cfg *c;
	char listen[] = "127.0.0.1:0";

	signal(SIGPIPE, SIG_IGN);	/* as the daemon does */
	log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	c = alertd_cfg_load(NULL, 0, stderr);
	if (!c)
		abort();
	c->stats.listen = listen;
	c->stats.timeout_s = FUZZ_HTTPD_TIMEOUT_S;
	c->stats.max_connections = 4;
	fuzz_base = event_base_new();
	if (!fuzz_base)
		abort();
	fuzz_server = httpd_start(fuzz_base, &c->stats, NULL, NULL);	/* always ready */
	alertd_cfg_free(c);
	if (!fuzz_server)
		abort();
	fuzz_port = httpd_port(fuzz_server);
}

/*
 * The input's deadline.  An event of its own, deleted after each input:
 * event_base_loopexit() would leave its timer behind when the input ends
 * early, and it would cut a later input short.
 */
static void fuzz_httpd_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void fuzz_httpd_io(evutil_socket_t fd, short what, void *arg)
{
	struct fuzz_client *cl = arg;
	char buf[65536];
	ssize_t n;

	if ((what & EV_WRITE) && !cl->wrote_all) {
		n = cl->off < cl->len ? write(fd, cl->data + cl->off, cl->len - cl->off) : 0;
		if (n > 0)
			cl->off += (size_t)n;
		if (cl->off == cl->len || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			/* all sent, or the server stopped reading: half-close */
			cl->wrote_all = true;
			shutdown(fd, SHUT_WR);
			event_del(cl->ev);
			if (event_assign(cl->ev, cl->base, fd, EV_READ | EV_PERSIST,
					 fuzz_httpd_io, cl) < 0 || event_add(cl->ev, NULL) < 0)
				abort();
		}
	}
	if (what & EV_READ) {
		do
			n = read(fd, buf, sizeof(buf));
		while (n > 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			cl->closed = true;
			event_base_loopbreak(cl->base);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval limit = { .tv_sec = FUZZ_HTTPD_LIMIT_S };
	struct fuzz_client cl = { .data = data, .len = size };
	struct event *deadline;
	int i;

	if (!fuzz_base)
		fuzz_httpd_setup();
	cl.base = fuzz_base;
	cl.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (cl.fd < 0)
		abort();
	sa.sin_port = htons((uint16_t)fuzz_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(cl.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		abort();
	cl.ev = event_new(fuzz_base, cl.fd, EV_READ | EV_WRITE | EV_PERSIST, fuzz_httpd_io, &cl);
	if (!cl.ev || event_add(cl.ev, NULL) < 0)
		abort();
	deadline = evtimer_new(fuzz_base, fuzz_httpd_deadline, fuzz_base);
	if (!deadline || evtimer_add(deadline, &limit) < 0)
		abort();
	event_base_dispatch(fuzz_base);
	event_free(deadline);
	if (!cl.closed) {
		fprintf(stderr, "fuzz_httpd: server kept the connection past %d s "
			"(sent %zu of %zu bytes%s, %d connections open)\n",
			FUZZ_HTTPD_LIMIT_S, cl.off, cl.len,
			cl.wrote_all ? ", half-closed" : "",
			httpd_open(fuzz_server));
		abort();
	}
	event_free(cl.ev);
	close(cl.fd);
	/* the server's close callbacks may still be queued: let them run */
	for (i = 0; i < 1000 && httpd_open(fuzz_server) != 0; i++) {
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
		if (httpd_open(fuzz_server) != 0)
			usleep(1000);
	}
	if (httpd_open(fuzz_server) != 0) {
		fprintf(stderr, "fuzz_httpd: a connection slot was not given back\n");
		abort();
	}
	/*
	 * evhttp may still hold the server side's close (deferred callbacks,
	 * bufferevent finalizers): let it finish, as the daemon's loop, which
	 * never stops, would, so no state leaks into the next input.
	 */
	for (i = 0; i < 8; i++)
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	return 0;
}
