/*
 * httpd.h — the stats endpoint: GET /metrics, /healthz, /readyz.
 *
 * Runs on the event_base it is given (libevent evhttp; the daemon's stats
 * thread), optionally over TLS.  /readyz answers 200 while the READY gauge is 1 (the daemon sets it
 * with metrics_set(METRIC_READY, ...)), else 503.
 */
#ifndef LEO_HTTPD_H
#define LEO_HTTPD_H

struct event_base;
struct cfg;
struct httpd;

/*
 * Listen on c->stats.listen ("" disables: a valid handle that serves
 * nothing).  Copies what it needs from c; c may be freed afterwards.
 * Returns NULL (after logging why) when it cannot listen or load the TLS
 * certificate.  Before base's thread runs it; the caller owns the handle.
 */
struct httpd *httpd_start(struct event_base *base, const struct cfg *c)
	__attribute__((warn_unused_result));

/* The bound TCP port, 0 when disabled. */
int httpd_port(const struct httpd *h);

/* Close the listener and every open connection; NULL is fine.  Once base's
 * thread has stopped, or on it. */
void httpd_stop(struct httpd *h);

#endif
