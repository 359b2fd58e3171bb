/*
 * curlev.h — libcurl's multi interface driven by a libevent base: every
 * outbound request of a program on one loop thread, none blocking it
 * (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION, curl_multi_socket_action).
 * Loop thread only.
 */
#ifndef LEO_CURLEV_H
#define LEO_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

/* Called on the loop once a transfer ended (removed from the multi): the
 * caller owns easy again. */
typedef void curlev_done_fn(CURL *easy, CURLcode rc, void *arg);

struct curlev *curlev_new(struct event_base *base) __attribute__((warn_unused_result));

/*
 * A new easy handle with what every outbound request of a LEO program
 * wants: url over the protocols named (libcurl's list, "http,https"), TLS
 * verified against ca_file (NULL or "": the system's CAs), no proxy from the
 * environment, no signals, timeout_ms in all and at most 5 s of it to
 * connect, libcurl's error text into errbuf (CURL_ERROR_SIZE bytes, which
 * must outlive the handle).  NULL when out of memory.
 */
CURL *curlev_easy(const char *url, const char *protocols, int timeout_ms, const char *ca_file,
		  char *errbuf) __attribute__((warn_unused_result));

/* Start easy; done is called exactly once.  0, or -1 (done is not called). */
int curlev_add(struct curlev *cv, CURL *easy, curlev_done_fn *done, void *arg)
	__attribute__((warn_unused_result));

/* Transfers in flight. */
int curlev_inflight(const struct curlev *cv);

/* Transfers still in flight end with done(..., CURLE_ABORTED_BY_CALLBACK). */
void curlev_free(struct curlev *cv);

#endif
