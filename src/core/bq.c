/*
 * bq.c — the bounded FIFO of bq.h.  Any thread; see bq.h for the model.
 */
#include "bq.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int bq_init(struct bq *q, size_t cap, size_t size)
{
	memset(q, 0, sizeof(*q));
	if (cap == 0 || size == 0 || cap > SIZE_MAX / size)
		return -1;
	q->ring = malloc(cap * size);
	if (!q->ring)
		return -1;
	q->cap = cap;
	q->size = size;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	/* not_full is waited on with no deadline: the default clock is fine */
	pthread_cond_init(&q->not_full, NULL);
	return 0;
}

void bq_destroy(struct bq *q)
{
	if (!q->ring)
		return;
	free(q->ring);
	q->ring = NULL;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
}

/* Under the lock, with room. */
static void bq_put(struct bq *q, const void *item)
{
	memcpy(q->ring + ((q->head + q->len) % q->cap) * q->size, item, q->size);
	q->len++;
	pthread_cond_signal(&q->not_empty);
}

int bq_push(struct bq *q, const void *item)
{
	int rc = -1;

	pthread_mutex_lock(&q->lock);
	while (q->len == q->cap && !q->closed)
		pthread_cond_wait(&q->not_full, &q->lock);
	if (!q->closed) {
		bq_put(q, item);
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int bq_try_push(struct bq *q, const void *item)
{
	int rc = -1;

	pthread_mutex_lock(&q->lock);
	if (q->len < q->cap && !q->closed) {
		bq_put(q, item);
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

size_t bq_pop(struct bq *q, void *out, size_t max, int timeout_ms)
{
	unsigned char *o = out;
	struct timespec until;
	size_t n = 0;

	if (timeout_ms > 0) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed && !q->kicked && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&q->not_empty, &q->lock);
		else if (pthread_cond_timedwait(&q->not_empty, &q->lock, &until) == ETIMEDOUT)
			break;
	}
	while (q->len > 0 && n < max) {
		/* copy the run up to the ring's end, then the wrapped rest */
		size_t run = q->cap - q->head;

		if (run > q->len)
			run = q->len;
		if (run > max - n)
			run = max - n;
		memcpy(o + n * q->size, q->ring + q->head * q->size, run * q->size);
		q->head = (q->head + run) % q->cap;
		q->len -= run;
		n += run;
	}
	q->kicked = false;
	if (n)
		pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return n;
}

void bq_kick(struct bq *q)
{
	pthread_mutex_lock(&q->lock);
	q->kicked = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

size_t bq_len(struct bq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void bq_close(struct bq *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
}

bool bq_closed(struct bq *q)
{
	bool c;

	pthread_mutex_lock(&q->lock);
	c = q->closed;
	pthread_mutex_unlock(&q->lock);
	return c;
}

bool bq_drained(struct bq *q)
{
	bool d;

	pthread_mutex_lock(&q->lock);
	d = q->closed && q->len == 0;
	pthread_mutex_unlock(&q->lock);
	return d;
}
