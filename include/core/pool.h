/*
 * pool.h — libpq connections to the LEO database: how to connect (conninfo,
 * password file), a bounded set of idle connections for the writer threads,
 * and the reconnect backoff everyone uses.
 *
 * Thread-safe: the writer threads check connections out and in; the loop
 * thread opens its own (LISTEN and lookups) through pool_connect.
 */
#ifndef LEO_POOL_H
#define LEO_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>

struct cfg_database;
struct pool;

/*
 * The database section of the config (cfg_section.h): db->password_file ""
 * or NULL: libpq's usual sources (PGPASSWORD, ~/.pgpass).  The password is
 * read once here and never logged.  Every connection names itself
 * application_name (the program, "leo-alertd").  db may be freed afterwards.
 */
struct pool *pool_new(const struct cfg_database *db, const char *application_name)
	__attribute__((warn_unused_result));
void pool_free(struct pool *p);

/* A new connection of the caller's own; NULL (logged) when it fails. */
PGconn *pool_connect(struct pool *p) __attribute__((warn_unused_result));

/* Check out an idle connection or open one; NULL when connecting failed. */
PGconn *pool_get(struct pool *p) __attribute__((warn_unused_result));

/* Check in; broken (or bad status) closes it instead. */
void pool_put(struct pool *p, PGconn *c, bool broken);

/* Milliseconds to wait before reconnect attempt n (0-based): 100 ms
 * doubling to 5 s, with +-25 % jitter so daemons do not retry in step. */
int pool_backoff_ms(int attempt);

#endif
