/*
 * curlev.c — libcurl's multi-socket API on a libevent base.  Loop thread.
 *
 * libcurl says which sockets it wants watched for what (socket callback)
 * and when it next needs a call without socket activity (timer callback);
 * each readiness or timeout becomes one curl_multi_socket_action, after
 * which finished transfers are collected and their callbacks run.  Each
 * transfer carries a struct curlev_req (CURLOPT_PRIVATE) on a list, so
 * curlev_free can end the ones still in flight.
 */
#include "curlev.h"

#include <event2/event.h>
#include <stdlib.h>

struct curlev_req {
	struct curlev_req *prev, *next;
	CURL *easy;
	curlev_done_fn *done;
	void *arg;
};

struct curlev {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct curlev_req *reqs;
	int inflight;
};

/* What one watched socket has: its event. */
struct curlev_sock {
	struct event *ev;
};

static void curlev_unlink(struct curlev *cv, struct curlev_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		cv->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	cv->inflight--;
}

/* Run the callbacks of the transfers that ended. */
static void curlev_collect(struct curlev *cv)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(cv->multi, &left)) != NULL) {
		struct curlev_req *r = NULL;
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		curl_multi_remove_handle(cv->multi, easy);
		if (!r)
			continue;
		curlev_unlink(cv, r);
		r->done(easy, rc, r->arg);
		free(r);
	}
}

static void curlev_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cv = arg;
	int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	curl_multi_socket_action(cv->multi, fd, flags, &running);
	curlev_collect(cv);
}

static void curlev_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cv = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_collect(cv);
}

static int curlev_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curlev *cv = userp;
	struct curlev_sock *k = socketp;
	short ev;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (k) {
			event_free(k->ev);
			free(k);
			curl_multi_assign(cv->multi, s, NULL);
		}
		return 0;
	}
	ev = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
		     (what & CURL_POLL_OUT ? EV_WRITE : 0));
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return -1;
		curl_multi_assign(cv->multi, s, k);
	} else {
		event_free(k->ev);
	}
	k->ev = event_new(cv->base, s, ev, curlev_on_socket, cv);
	if (!k->ev || event_add(k->ev, NULL))
		return -1;
	return 0;
}

static int curlev_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *cv = userp;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(cv->timer);
	return evtimer_add(cv->timer, &tv);
}

struct curlev *curlev_new(struct event_base *base)
{
	struct curlev *cv = calloc(1, sizeof(*cv));

	if (!cv)
		return NULL;
	cv->base = base;
	cv->multi = curl_multi_init();
	cv->timer = evtimer_new(base, curlev_on_timer, cv);
	if (!cv->multi || !cv->timer) {
		curlev_free(cv);
		return NULL;
	}
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, curlev_socket_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, curlev_timer_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	return cv;
}

int curlev_add(struct curlev *cv, CURL *easy, curlev_done_fn *done, void *arg)
{
	struct curlev_req *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->easy = easy;
	r->done = done;
	r->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)r);
	if (curl_multi_add_handle(cv->multi, easy) != CURLM_OK) {
		free(r);
		return -1;
	}
	r->next = cv->reqs;
	if (r->next)
		r->next->prev = r;
	cv->reqs = r;
	cv->inflight++;
	return 0;
}

int curlev_inflight(const struct curlev *cv)
{
	return cv->inflight;
}

void curlev_free(struct curlev *cv)
{
	if (!cv)
		return;
	while (cv->reqs) {
		struct curlev_req *r = cv->reqs;

		curlev_unlink(cv, r);
		curl_multi_remove_handle(cv->multi, r->easy);
		r->done(r->easy, CURLE_ABORTED_BY_CALLBACK, r->arg);
		free(r);
	}
	if (cv->multi)
		curl_multi_cleanup(cv->multi);	/* CURL_POLL_REMOVE for what is still watched */
	if (cv->timer)
		event_free(cv->timer);
	free(cv);
}

CURL *curlev_easy(const char *url, const char *protocols, int timeout_ms, const char *ca_file,
		  char *errbuf)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file && ca_file[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	return e;
}
