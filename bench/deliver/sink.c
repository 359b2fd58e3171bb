/*
 * sink.c — the sender benchmark's HTTP receiver: answers every request at
 * once with 200, keep-alive, on one libevent thread; on SIGTERM writes one
 * line per request (Idempotency-Key, arrival in unix microseconds) to LOG.
 *
 *	leo_bench_sink LOG		prints "PORT n" once listening on 127.0.0.1
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct sink {
	FILE *log;
	struct evbuffer *ok;
	long long n;
};

static void sink_on_request(struct evhttp_request *req, void *arg)
{
	struct sink *s = arg;
	const char *key = evhttp_find_header(evhttp_request_get_input_headers(req), "Idempotency-Key");
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(s->log, "%s %lld\n", key ? key : "-",
		(long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	s->n++;
	evbuffer_add(s->ok, "ok", 2);
	evhttp_send_reply(req, 200, "OK", s->ok);
}

static void sink_on_term(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	struct sink s = { 0 };
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct event *term;

	if (argc != 2) {
		fprintf(stderr, "usage: leo_bench_sink LOG\n");
		return 64;
	}
	s.log = fopen(argv[1], "w");
	base = event_base_new();
	http = base ? evhttp_new(base) : NULL;
	s.ok = evbuffer_new();
	if (!s.log || !http || !s.ok)
		return 1;
	evhttp_set_gencb(http, sink_on_request, &s);
	bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	if (!bound || getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sa, &len))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	term = evsignal_new(base, SIGTERM, sink_on_term, base);
	if (!term || event_add(term, NULL))
		return 1;
	printf("PORT %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	event_base_dispatch(base);
	fclose(s.log);
	fprintf(stderr, "sink: %lld requests\n", s.n);
	event_free(term);
	evbuffer_free(s.ok);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
