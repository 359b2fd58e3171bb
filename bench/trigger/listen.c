/*
 * listen.c — the benchmark's stand-in for the daemon's LISTEN connection.
 *
 * LISTENs on one channel and drains notifications as fast as they come,
 * doing nothing with them but counting notifications, payload bytes and
 * payloads whose body (after the 64-digit signature and a space) does not
 * start with "M1 ".  On SIGTERM or SIGINT it prints
 * "<notifications> <bytes> <malformed>" and exits 0.  Single-threaded.
 *
 *   listen DBNAME CHANNEL        (libpq's PG* environment for the rest)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

static volatile sig_atomic_t listen_stop;

static void listen_on_signal(int sig)
{
	(void)sig;
	listen_stop = 1;
}

int main(int argc, char **argv)
{
	const char *keys[] = { "dbname", NULL };
	const char *vals[] = { NULL, NULL };
	unsigned long long count = 0, bytes = 0, malformed = 0;
	struct sigaction sa;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char *sql = NULL;
	PGnotify *n;
	struct pollfd pfd;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: listen DBNAME CHANNEL\n");
		return 64;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = listen_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	vals[0] = argv[1];
	conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "listen: %s", PQerrorMessage(conn));
		goto fail;
	}
	sql = PQescapeIdentifier(conn, argv[2], strlen(argv[2]));
	if (sql == NULL) {
		fprintf(stderr, "listen: %s", PQerrorMessage(conn));
		goto fail;
	}
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "LISTEN %s", sql);
		res = PQexec(conn, cmd);
	}
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "listen: %s", PQerrorMessage(conn));
		goto fail;
	}
	fprintf(stderr, "listening\n");

	pfd.fd = PQsocket(conn);
	pfd.events = POLLIN;
	while (!listen_stop) {
		if (poll(&pfd, 1, 200) < 0 && errno != EINTR) {
			perror("listen: poll");
			goto fail;
		}
		if (PQconsumeInput(conn) == 0) {
			fprintf(stderr, "listen: %s", PQerrorMessage(conn));
			goto fail;
		}
		while ((n = PQnotifies(conn)) != NULL) {
			count++;
			bytes += strlen(n->extra);
			/* a 64-digit signature and a space, then the body */
			if (strlen(n->extra) < 68 || n->extra[64] != ' ' ||
			    strncmp(n->extra + 65, "M1 ", 3) != 0)
				malformed++;
			PQfreemem(n);
		}
	}
	printf("%llu %llu %llu\n", count, bytes, malformed);
	rc = 0;
fail:
	PQclear(res);
	PQfreemem(sql);
	PQfinish(conn);
	return rc;
}
