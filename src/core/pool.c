/*
 * pool.c — libpq connections: connect, check-out, check-in, backoff.
 *
 * The writer threads call pool_get/pool_put; the loop thread calls
 * pool_connect for its own LISTEN and lookup connections.  At most `size`
 * idle connections are kept; a connection the caller saw fail is closed,
 * never reused, so every retry starts on a fresh one.
 *
 * Locking: `lock` guards idle[] and nidle.  The password, conninfo and the
 * rest are set at pool_new and read-only afterwards.
 *
 * tests/test_pool.c runs check-out, check-in and backoff against a real
 * PostgreSQL: the libpq calls here are the whole module.
 */
#include "pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_section.h"
#include "log.h"
#include "secret.h"

struct pool {
	char *conninfo;
	char *application_name;
	char *password;		/* NULL: libpq's usual sources */
	char timeout[16];
	int size;
	pthread_mutex_t lock;
	int nidle;
	PGconn **idle;
};

struct pool *pool_new(const struct cfg_database *db, const char *application_name)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->size = db->pool_size > 0 ? db->pool_size : 1;
	snprintf(p->timeout, sizeof(p->timeout), "%d",
		 db->connect_timeout_s > 0 ? db->connect_timeout_s : 10);
	p->conninfo = strdup(db->conninfo ? db->conninfo : "");
	p->application_name = strdup(application_name);
	p->idle = calloc((size_t)p->size, sizeof(*p->idle));
	if (!p->conninfo || !p->application_name || !p->idle)
		goto fail;
	if (db->password_file && db->password_file[0]) {
		p->password = secret_read("database.password_file", db->password_file);
		if (!p->password)
			goto fail;
	}
	return p;
fail:
	pool_free(p);
	return NULL;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nidle; i++)
		PQfinish(p->idle[i]);
	free(p->idle);
	if (p->password) {
		explicit_bzero(p->password, strlen(p->password));
		free(p->password);
	}
	free(p->conninfo);
	free(p->application_name);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/*
 * libpq's notice processor for every connection: a server notice, or an
 * error that arrives while the connection is idle (e.g. FATAL at a server
 * shutdown), goes through the log as one line instead of libpq's raw
 * stderr lines.  Runs on the thread using the connection.
 */
static void pool_notice(void *arg, const char *msg)
{
	char line[1024];
	size_t n = 0;

	(void)arg;
	for (; *msg && n < sizeof(line) - 1; msg++)
		line[n++] = *msg == '\n' || *msg == '\t' ? ' ' : *msg;
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	log_warn("database: %s", line);
}

PGconn *pool_connect(struct pool *p)
{
	/* Later keywords win: conninfo overrides the defaults before it, the
	 * password file overrides whatever conninfo says.  UTF-8 always: the
	 * notifications' signatures are over their UTF-8 bytes. */
	const char *keys[] = { "application_name", "connect_timeout", "dbname",
			       "client_encoding", "password", NULL };
	const char *vals[] = { p->application_name, p->timeout, p->conninfo, "UTF8", p->password,
			       NULL };
	PGconn *c;

	if (!p->password)
		keys[4] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (!c) {
		log_error("database: out of memory connecting");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		char *msg = PQerrorMessage(c);
		size_t n = strlen(msg);

		while (n && msg[n - 1] == '\n')
			n--;
		for (size_t i = 0; i < n; i++)	/* one log line */
			if (msg[i] == '\n' || msg[i] == '\t')
				msg[i] = ' ';
		log_warn("database: cannot connect: %.*s", (int)n, msg);
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, pool_notice, NULL);
	return c;
}

PGconn *pool_get(struct pool *p)
{
	PGconn *c = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->nidle > 0)
		c = p->idle[--p->nidle];
	pthread_mutex_unlock(&p->lock);
	if (c && PQstatus(c) == CONNECTION_OK)
		return c;
	if (c)
		PQfinish(c);
	return pool_connect(p);
}

void pool_put(struct pool *p, PGconn *c, bool broken)
{
	if (!c)
		return;
	if (!broken && PQstatus(c) == CONNECTION_OK &&
	    PQtransactionStatus(c) == PQTRANS_IDLE) {
		pthread_mutex_lock(&p->lock);
		if (p->nidle < p->size) {
			p->idle[p->nidle++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&p->lock);
	}
	if (c)
		PQfinish(c);
}

int pool_backoff_ms(int attempt)
{
	int base = 100;

	for (int i = 0; i < attempt && base < 5000; i++)
		base *= 2;
	if (base > 5000)
		base = 5000;
	/* jitter in [-25 %, +25 %]; rand() quality is plenty for spreading retries */
	return base - base / 4 + (int)((unsigned)rand() % (unsigned)(base / 2 + 1));
}
