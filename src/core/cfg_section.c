/*
 * cfg_section.c — the key tables of the shared sections database, stats
 * and log (cfg_section.h).
 *
 * Constant data and the syntax checks of their keys; whichever thread loads
 * a config (cfg.c) reads them.
 *
 * NB: database.password_file is only a path; the pool reads the file.
 */
#include "cfg_section.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const cfg_section_level_names[] = { "debug", "info", "warn", "error", NULL };
static const char *const cfg_section_format_names[] = { "text", "json", NULL };

_Static_assert(sizeof(enum log_level) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enums are stored as int");

/* "" or HOST:PORT with a port 1..65535; HOST may be [v6]. */
static int cfg_section_check_listen(const char *v)
{
	const char *colon = strrchr(v, ':');
	char *end;
	long port;

	if (!*v)
		return 0;
	if (!colon || colon == v || !colon[1])
		return -1;
	if (v[0] == '[' && colon[-1] != ']')
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || colon[1] < '0' || colon[1] > '9' || port < 1 || port > 65535)
		return -1;
	return 0;
}

#define OFF(field) offsetof(struct cfg_database, field)
static const struct cfg_key cfg_section_database_keys[] = {
	{ "conninfo", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(conninfo), NULL, NULL, NULL,
	  "libpq connection string or URI; empty: libpq's PG* environment variables" },
	{ "password_file", CFG_STR, "", 0, PATH_MAX - 1, NULL, false,
	  OFF(password_file), NULL, NULL, NULL,
	  "file holding the database password; empty: libpq's usual sources" },
	{ "pool_size", CFG_INT, "4", 1, 64, NULL, false,
	  OFF(pool_size), NULL, NULL, NULL,
	  "pooled connections for rule loads and writes; a tenant's firings use one" },
	{ "connect_timeout_s", CFG_INT, "10", 1, 3600, NULL, false,
	  OFF(connect_timeout_s), NULL, NULL, NULL,
	  "seconds to wait for a database connection" },
};
#undef OFF

#define OFF(field) offsetof(struct cfg_stats, field)
static const struct cfg_key cfg_section_stats_keys[] = {
	{ "listen", CFG_STR, "127.0.0.1:9464", 0, 255, NULL, false,
	  OFF(listen), cfg_section_check_listen, "HOST:PORT", NULL,
	  "HOST:PORT of the HTTP endpoint (/metrics, /healthz, /readyz); empty: off" },
	{ "tls_cert", CFG_STR, "", 0, PATH_MAX - 1, NULL, false,
	  OFF(tls_cert), NULL, NULL, "tls_key",
	  "PEM certificate chain; with tls_key set, the endpoint speaks HTTPS" },
	{ "tls_key", CFG_STR, "", 0, PATH_MAX - 1, NULL, false,
	  OFF(tls_key), NULL, NULL, "tls_cert",
	  "PEM private key of tls_cert" },
	{ "max_connections", CFG_INT, "256", 1, 65536, NULL, false,
	  OFF(max_connections), NULL, NULL, NULL,
	  "open HTTP connections at most; more wait in the kernel's backlog" },
	{ "timeout_s", CFG_INT, "10", 1, 3600, NULL, false,
	  OFF(timeout_s), NULL, NULL, NULL,
	  "seconds an HTTP connection may stay idle or slow; it lives 6 times this at most" },
};
#undef OFF

#define OFF(field) offsetof(struct cfg_log, field)
static const struct cfg_key cfg_section_log_keys[] = {
	{ "level", CFG_ENUM, "info", 0, 0, cfg_section_level_names, true,
	  OFF(level), NULL, NULL, NULL,
	  "least severe level logged" },
	{ "format", CFG_ENUM, "text", 0, 0, cfg_section_format_names, true,
	  OFF(format), NULL, NULL, NULL,
	  "text lines, or one JSON object per line" },
};
#undef OFF

#define N(a) (sizeof(a) / sizeof((a)[0]))
const struct cfg_section cfg_section_database = { "database", cfg_section_database_keys,
						  N(cfg_section_database_keys) };
const struct cfg_section cfg_section_stats = { "stats", cfg_section_stats_keys,
					       N(cfg_section_stats_keys) };
const struct cfg_section cfg_section_log = { "log", cfg_section_log_keys,
					     N(cfg_section_log_keys) };
#undef N
