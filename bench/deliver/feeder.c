/*
 * feeder.c — the sender benchmark's paced queue: RATE deliveries a second
 * for SECONDS, each one INSERT into delivery_log and its leo_delivery
 * notification in one autocommit statement (as leo-alertd's writer
 * announces them); one line per delivery to LOG: its idempotency key and
 * the moment its commit returned, in unix microseconds.
 *
 *	leo_bench_feeder CONNINFO TENANT PROFILES RATE SECONDS LOG
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"

int main(int argc, char **argv)
{
	const char *sql =
		"WITH d AS (INSERT INTO delivery_log (tenant_id, profile_id, channel, idempotency_key,"
		" consent_legal_basis, consent_source, consent_granted_at)"
		" VALUES ($1, 'p' || $2, 'web_push', $3, 'consent', 'bench', now())"
		" RETURNING delivery_id)"
		" SELECT pg_notify('leo_delivery', $1 || ' ' || delivery_id) FROM d";
	PGconn *c;
	FILE *log;
	int profiles, rate, seconds, n;
	int64_t t0;

	if (argc != 7) {
		fprintf(stderr, "usage: leo_bench_feeder CONNINFO TENANT PROFILES RATE SECONDS LOG\n");
		return 64;
	}
	profiles = atoi(argv[3]);
	rate = atoi(argv[4]);
	seconds = atoi(argv[5]);
	c = PQconnectdb(argv[1]);
	log = fopen(argv[6], "w");
	if (PQstatus(c) != CONNECTION_OK || !log || profiles < 1 || rate < 1) {
		fprintf(stderr, "feeder: %s", PQerrorMessage(c));
		return 1;
	}
	n = rate * seconds;
	t0 = clock_mono_us();
	for (int i = 0; i < n; i++) {
		char prof[16], key[32];
		const char *p[3] = { argv[2], prof, key };
		int64_t due = t0 + (int64_t)i * 1000000 / rate, now = clock_mono_us();
		struct timespec ts;
		PGresult *r;

		if (due > now)
			nanosleep(&(struct timespec){ (due - now) / 1000000, (due - now) % 1000000 * 1000 },
				  NULL);
		snprintf(prof, sizeof(prof), "%d", i % profiles);
		snprintf(key, sizeof(key), "feed-%d", i);
		r = PQexecParams(c, sql, 3, NULL, p, NULL, NULL, 0);
		clock_gettime(CLOCK_REALTIME, &ts);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "feeder: %s", PQresultErrorMessage(r));
			return 1;
		}
		PQclear(r);
		fprintf(log, "%s %lld\n", key, (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	}
	fclose(log);
	PQfinish(c);
	return 0;
}
