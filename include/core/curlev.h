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

/* Start easy; done is called exactly once.  0, or -1 (done is not called). */
int curlev_add(struct curlev *cv, CURL *easy, curlev_done_fn *done, void *arg)
	__attribute__((warn_unused_result));

/* Transfers in flight. */
int curlev_inflight(const struct curlev *cv);

/* Transfers still in flight end with done(..., CURLE_ABORTED_BY_CALLBACK). */
void curlev_free(struct curlev *cv);

#endif
