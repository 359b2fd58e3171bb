/*
 * httpd.c — the stats endpoint: /metrics, /healthz, /readyz over evhttp,
 * and the POST routes a program adds (leo-deliver's /v1/receipts).
 *
 * One thread only: every callback here runs on the event_base given to
 * httpd_start() (the daemon's stats thread), and struct httpd is touched by
 * nothing else.
 *
 * DESIGN
 *
 * The endpoint shares its thread with the systemd watchdog, so no client
 * may hold the thread or pile up without bound:
 *
 *  - requests are small: headers at most HTTPD_MAX_HEADERS bytes, bodies at
 *    most HTTPD_MAX_BODY (evhttp answers 413/400 and closes);
 *  - stats.timeout_s bounds how long a connection may stay idle, or take
 *    to send its request or read the answer;
 *  - a connection lives at most HTTPD_LIFETIMES x stats.timeout_s in all,
 *    so a client trickling one header byte per timeout cannot keep its slot
 *    for hours (a scraper cut off simply reconnects);
 *  - at most stats.max_connections are open.  libevent 2.1 has no
 *    evhttp_set_max_connections, so we count ourselves.  evhttp asks our
 *    bufferevent callback for each accepted connection: we count it there,
 *    keep a reference to the bufferevent and wake httpd_adopt(), which runs
 *    once evhttp has finished setting the connection up.  By then the
 *    bufferevent's callback argument is its evhttp_connection, and we hang
 *    a close callback on it; if evhttp already freed it, its callbacks are
 *    cleared and we count it closed right there.  At the cap the listener is
 *    disabled; further clients wait in the kernel's accept backlog until a
 *    connection closes, which the timeout guarantees.  (A filter bufferevent
 *    with a free callback would be simpler, but 2.1's filter does not push
 *    data written while EV_WRITE was disabled, which is what evhttp does.)
 *
 * Nothing a handler does blocks: /metrics renders from atomics and /proc,
 * /healthz answers while the process runs, /readyz asks the program's ready
 * callback (which must not block either).  NB: a program's POST handler
 * may (a receipt is one short database statement); it holds this thread
 * for that long, so such a program runs nothing else time-critical here.
 *
 * With stats.tls_cert and stats.tls_key the underlying bufferevent is an
 * OpenSSL one (TLS 1.2 or later).
 *
 * NB: writing to a peer that went away raises SIGPIPE; the daemon ignores
 * SIGPIPE process-wide.
 */
#include "httpd.h"

#include <errno.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cfg_section.h"
#include "log.h"
#include "metrics.h"

#define HTTPD_MAX_HEADERS 8192
#define HTTPD_MAX_BODY 65536
#define HTTPD_MAX_ROUTES 4
#define HTTPD_BACKLOG 128
#define HTTPD_LIFETIMES 6	/* a connection lives at most 6 x stats.timeout_s */

/* The endpoint's open connections (a program runs one endpoint). */
static const struct metrics_desc httpd_gauge_desc[] = {
	{ "leo_http_connections", "", "Open connections to the stats endpoint." },
};

/* Owned by its base's thread. */
struct httpd {
	struct event_base *base;
	struct evhttp *http;		/* NULL when disabled */
	struct evconnlistener *listener;	/* owned by http */
	SSL_CTX *ssl;			/* NULL: plain HTTP */
	struct event *adopt;		/* runs httpd_adopt() after accepts */
	struct bufferevent **fresh;	/* accepted, not adopted; each holds a ref */
	int nfresh, capfresh;
	int port;
	int gauge;			/* leo_http_connections' id */
	httpd_ready_fn *ready;		/* NULL: always ready */
	void *ready_arg;
	atomic_int open;		/* connections evhttp holds; read by httpd_open */
	int max_open;
	int timeout_s;			/* stats.timeout_s */
	bool paused;			/* listener disabled at the cap */
	bool stopped;			/* httpd_stop is freeing everything */
	time_t last_pause_log;		/* a busy endpoint logs once a minute */
	struct httpd_route {
		const char *path;	/* the caller's, static */
		httpd_post_fn *fn;
		void *arg;
	} route[HTTPD_MAX_ROUTES];
	int nroutes;
};

/* A POST request as its handler sees it. */
struct httpd_req {
	struct evhttp_request *req;
	const char *body;
	size_t len;
};

static void httpd_conn_gone(struct httpd *h)
{
	h->open--;
	metrics_set(h->gauge, h->open);
	if (h->stopped)
		return;
	if (h->paused && h->open < h->max_open) {
		h->paused = false;
		evconnlistener_enable(h->listener);
		log_debug("stats: accepting connections again");
	}
}

/* One adopted connection: its deadline.  Freed by httpd_closed. */
struct httpd_conn {
	struct httpd *h;
	struct evhttp_connection *evcon;
	struct event *deadline;
};

static void httpd_closed(struct evhttp_connection *evcon, void *arg)
{
	struct httpd_conn *c = arg;
	struct httpd *h = c->h;

	/* evhttp may call it on reset and again on free: once is enough. */
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	event_free(c->deadline);
	free(c);
	httpd_conn_gone(h);
}

/*
 * A connection reached its maximum lifetime: close it, whatever it is
 * doing.  Its base's thread, outside any evhttp callback, so freeing is safe;
 * httpd_closed runs from evhttp_connection_free and releases c.
 */
static void httpd_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;
	(void)fd;
	(void)what;

	log_debug("stats: closing a connection open for %d s", HTTPD_LIFETIMES * c->h->timeout_s);
	evhttp_connection_free(c->evcon);
}

/*
 * Hang our close callback and deadline on a new connection.  Without memory
 * for them the connection is closed at once: an uncounted, unbounded one
 * is what the cap exists to prevent.
 */
static void httpd_watch(struct httpd *h, struct evhttp_connection *evcon)
{
	struct timeval tv = { .tv_sec = HTTPD_LIFETIMES * h->timeout_s };
	struct httpd_conn *c = calloc(1, sizeof(*c));

	if (c)
		c->deadline = evtimer_new(h->base, httpd_deadline, c);
	if (!c || !c->deadline || evtimer_add(c->deadline, &tv) < 0) {
		if (c && c->deadline)
			event_free(c->deadline);
		free(c);
		log_error("stats: out of memory; closing a new connection");
		evhttp_connection_free(evcon);	/* no close callback yet */
		httpd_conn_gone(h);
		return;
	}
	c->h = h;
	c->evcon = evcon;
	evhttp_connection_set_closecb(evcon, httpd_closed, c);
}

/* After accepts: watch each new connection's close. */
static void httpd_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;
	(void)fd;
	(void)what;

	for (int i = 0; i < h->nfresh; i++) {
		struct bufferevent *bev = h->fresh[i];
		bufferevent_data_cb rd, wr;
		bufferevent_event_cb ev;
		void *evcon;

		bufferevent_getcb(bev, &rd, &wr, &ev, &evcon);
		if (evcon)
			httpd_watch(h, evcon);
		else
			httpd_conn_gone(h);	/* bufferevent_free() cleared it */
		bufferevent_decref(bev);
	}
	h->nfresh = 0;
}

/* evhttp's hook for each accepted connection: count it, and maybe pause. */
static struct bufferevent *httpd_new_bev(struct event_base *base, void *arg)
{
	struct httpd *h = arg;
	struct bufferevent *bev;

	if (h->nfresh == h->capfresh) {
		int cap = h->capfresh ? 2 * h->capfresh : 16;
		void *p = realloc(h->fresh, (size_t)cap * sizeof(*h->fresh));

		/*
		 * NB: returning NULL makes evhttp fall back to a plain socket
		 * bufferevent we do not count (and, with TLS on, one that
		 * speaks plain HTTP); only when memory is short, and the
		 * connection still times out.  XXX: a bufferevent that fails
		 * at once would be stricter, if it could be had without memory.
		 */
		if (!p)
			return NULL;
		h->fresh = p;
		h->capfresh = cap;
	}
	if (h->ssl) {
		SSL *ssl = SSL_new(h->ssl);

		if (!ssl)
			return NULL;
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
						     BEV_OPT_CLOSE_ON_FREE);
		if (!bev) {
			SSL_free(ssl);
			return NULL;
		}
	} else {
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (!bev)
			return NULL;
	}
	bufferevent_incref(bev);
	h->fresh[h->nfresh++] = bev;
	event_active(h->adopt, EV_TIMEOUT, 0);
	h->open++;
	metrics_set(h->gauge, h->open);
	if (h->open >= h->max_open && !h->paused) {
		h->paused = true;
		evconnlistener_disable(h->listener);
		if (time(NULL) - h->last_pause_log >= 60) {
			h->last_pause_log = time(NULL);
			log_warn("stats: %d connections open (stats.max_connections), "
				 "not accepting more until one closes",
				 h->open);
		}
	}
	return bev;
}

static void httpd_reply(struct evhttp_request *req, int code, const char *reason,
			const char *type, struct evbuffer *body)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	evhttp_add_header(hdr, "Content-Type", type);
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	/* evhttp 2.1 would send a HEAD response's body. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD)
		body = NULL;
	evhttp_send_reply(req, code, reason, body);
}

static void httpd_text(struct evhttp_request *req, int code, const char *reason,
		       const char *text)
{
	struct evbuffer *body = evbuffer_new();

	if (!body || evbuffer_add(body, text, strlen(text)) < 0) {
		evbuffer_free(body);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	httpd_reply(req, code, reason, "text/plain; charset=utf-8", body);
	evbuffer_free(body);
}

static void httpd_metrics(struct evhttp_request *req)
{
	struct evbuffer *body = evbuffer_new();

	if (!body || metrics_render(body) < 0) {
		log_error("stats: cannot render metrics: out of memory");
		evbuffer_free(body);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	httpd_reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8", body);
	evbuffer_free(body);
}

const char *httpd_req_header(const struct httpd_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

const char *httpd_req_body(const struct httpd_req *r, size_t *len)
{
	*len = r->len;
	return r->body;
}

/* A program's POST route: the whole body in one piece, the handler's answer as JSON. */
static void httpd_post(struct evhttp_request *req, const struct httpd_route *rt)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req), *out;
	size_t len = evbuffer_get_length(in);
	char reply[1024];
	struct httpd_req r = { req, NULL, len };
	unsigned char *body;
	int code;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		httpd_text(req, 405, "Method Not Allowed", "method not allowed\n");
		return;
	}
	body = evbuffer_pullup(in, -1);
	r.body = body ? (const char *)body : "";
	reply[0] = '\0';
	code = rt->fn(rt->arg, &r, reply, sizeof(reply));
	out = evbuffer_new();
	if (!out || evbuffer_add(out, reply, strlen(reply)) < 0) {
		evbuffer_free(out);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	httpd_reply(req, code, NULL, "application/json", out);
	evbuffer_free(out);
}

int httpd_route_post(struct httpd *h, const char *path, httpd_post_fn *fn, void *arg)
{
	if (h->nroutes == HTTPD_MAX_ROUTES)
		return -1;
	h->route[h->nroutes++] = (struct httpd_route){ path, fn, arg };
	return 0;
}

/* Every request: route by path, then by method. */
static void httpd_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct httpd *h = arg;

	for (int i = 0; path && i < h->nroutes; i++) {
		if (strcmp(path, h->route[i].path) == 0) {
			httpd_post(req, &h->route[i]);
			return;
		}
	}
	if (!path || (strcmp(path, "/metrics") != 0 && strcmp(path, "/healthz") != 0 &&
		      strcmp(path, "/readyz") != 0)) {
		httpd_text(req, HTTP_NOTFOUND, "Not Found", "not found\n");
		return;
	}
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		httpd_text(req, 405, "Method Not Allowed", "method not allowed\n");
		return;
	}
	if (strcmp(path, "/metrics") == 0)
		httpd_metrics(req);
	else if (strcmp(path, "/healthz") == 0)
		httpd_text(req, HTTP_OK, "OK", "ok\n");
	else if (!h->ready || h->ready(h->ready_arg))
		httpd_text(req, HTTP_OK, "OK", "ready\n");
	else
		httpd_text(req, 503, "Service Unavailable", "not ready\n");
}

static void httpd_ssl_log(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	log_error("stats: %s: %s", what, e ? buf : "unknown TLS error");
	ERR_clear_error();
}

static SSL_CTX *httpd_ssl_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		httpd_ssl_log("cannot create a TLS context");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		httpd_ssl_log("cannot require TLS 1.2");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		httpd_ssl_log("cannot load stats.tls_cert");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		httpd_ssl_log("cannot load stats.tls_key");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Split "host:port" / "[v6]:port" into its parts (cfg has checked the form). */
static int httpd_split(const char *listen, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hlen;

	if (!colon)
		return -1;
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen >= hcap || strlen(colon + 1) >= pcap)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static struct evconnlistener *httpd_listen(struct httpd *h, const char *listen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct evconnlistener *l = NULL;
	struct addrinfo *res, *ai;
	char host[256], port[16];
	int rc, err = 0;

	if (httpd_split(listen, host, sizeof(host), port, sizeof(port)) < 0) {
		log_error("stats: cannot parse stats.listen");
		return NULL;
	}
	rc = getaddrinfo(*host ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		log_error("stats: cannot resolve %s: %s", listen, gai_strerror(rc));
		return NULL;
	}
	for (ai = res; ai && !l; ai = ai->ai_next) {
		l = evconnlistener_new_bind(h->base, NULL, NULL,
					    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						    LEV_OPT_CLOSE_ON_EXEC,
					    HTTPD_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
		if (!l)
			err = errno;
	}
	freeaddrinfo(res);
	if (!l) {
		log_error("stats: cannot listen on %s: %s", listen, strerror(err));
		return NULL;
	}
	return l;
}

static int httpd_bound_port(struct evconnlistener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

struct httpd *httpd_start(struct event_base *base, const struct cfg_stats *c,
			  httpd_ready_fn *ready, void *ready_arg)
{
	struct httpd *h = calloc(1, sizeof(*h));
	struct evconnlistener *l;

	if (!h) {
		log_error("stats: out of memory");
		return NULL;
	}
	h->base = base;
	h->ready = ready;
	h->ready_arg = ready_arg;
	h->gauge = metrics_register_gauges(httpd_gauge_desc, 1);
	if (h->gauge < 0)
		goto fail;
	h->max_open = c->max_connections;
	h->timeout_s = c->timeout_s;
	if (!*c->listen) {
		log_info("stats: HTTP endpoint disabled (stats.listen is empty)");
		return h;
	}
	if (*c->tls_cert) {
		h->ssl = httpd_ssl_ctx(c->tls_cert, c->tls_key);
		if (!h->ssl)
			goto fail;
	}
	h->adopt = event_new(base, -1, 0, httpd_adopt, h);
	h->http = evhttp_new(base);
	if (!h->adopt || !h->http) {
		log_error("stats: out of memory");
		goto fail;
	}
	evhttp_set_max_headers_size(h->http, HTTPD_MAX_HEADERS);
	evhttp_set_max_body_size(h->http, HTTPD_MAX_BODY);
	evhttp_set_timeout(h->http, c->timeout_s);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, httpd_request, h);
	evhttp_set_bevcb(h->http, httpd_new_bev, h);

	l = httpd_listen(h, c->listen);
	if (!l)
		goto fail;
	if (!evhttp_bind_listener(h->http, l)) {
		evconnlistener_free(l);
		log_error("stats: out of memory");
		goto fail;
	}
	h->listener = l;
	h->port = httpd_bound_port(l);
	log_info("stats: serving %s on %s", h->ssl ? "HTTPS" : "HTTP", c->listen);
	return h;

fail:
	httpd_stop(h);
	return NULL;
}

int httpd_port(const struct httpd *h)
{
	return h->port;
}

int httpd_open(const struct httpd *h)
{
	return atomic_load(&h->open);
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	h->stopped = true;
	if (h->http)
		evhttp_free(h->http);	/* closes the listener and every connection */
	for (int i = 0; i < h->nfresh; i++)
		bufferevent_decref(h->fresh[i]);
	free(h->fresh);
	if (h->adopt)
		event_free(h->adopt);
	if (h->ssl)
		SSL_CTX_free(h->ssl);	/* open SSL objects hold their own reference */
	free(h);
}
