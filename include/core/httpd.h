/*
 * httpd.h — the stats endpoint: GET /metrics, /healthz, /readyz.
 *
 * Runs on the event_base it is given (libevent evhttp; the daemon's stats
 * thread), optionally over TLS.  /readyz answers 200 while the program's
 * ready callback says so, else 503.  The open connections are the gauge
 * leo_http_connections, which httpd_start registers (metrics.h).
 */
#ifndef LEO_HTTPD_H
#define LEO_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct cfg_stats;
struct httpd;

/* Whether the program is ready (/readyz); the stats thread, must not block. */
typedef bool httpd_ready_fn(void *arg);

/*
 * Listen on c->listen (the stats section; "" disables: a valid handle
 * that serves nothing).  Copies what it needs from c; c may be freed
 * afterwards.
 * Returns NULL (after logging why) when it cannot listen or load the TLS
 * certificate.  ready (NULL: always ready) is called with ready_arg on
 * base's thread for each /readyz.  Before base's thread runs it; the caller
 * owns the handle.
 */
struct httpd *httpd_start(struct event_base *base, const struct cfg_stats *c,
			  httpd_ready_fn *ready, void *ready_arg) __attribute__((warn_unused_result));

/* A POST request, for its handler: a header's value (NULL when absent) and
 * the body (len bytes, not NUL-terminated; at most 64 KiB). */
struct httpd_req;
const char *httpd_req_header(const struct httpd_req *r, const char *name);
const char *httpd_req_body(const struct httpd_req *r, size_t *len);

/*
 * A POST handler: answers r with the HTTP status it returns and the JSON
 * text it writes into reply (cap bytes).  Runs on base's thread; it may
 * block briefly (one database statement), holding that thread.
 */
typedef int httpd_post_fn(void *arg, const struct httpd_req *r, char *reply, size_t cap);

/* Serve POST path (a static string) with fn; other methods get 405.  Before
 * base's thread runs; 0, or -1 when the routes are full. */
int httpd_route_post(struct httpd *h, const char *path, httpd_post_fn *fn, void *arg)
	__attribute__((warn_unused_result));

/* The bound TCP port, 0 when disabled. */
int httpd_port(const struct httpd *h);

/* Connections open now; any thread. */
int httpd_open(const struct httpd *h);

/* Close the listener and every open connection; NULL is fine.  Once base's
 * thread has stopped, or on it. */
void httpd_stop(struct httpd *h);

#endif
