/*
 * cfg_section.h — the config sections every LEO program shares: database,
 * stats and log, defined once.
 *
 * A program places them in its own config struct and lists them in its
 * schema (cfg.h) beside its own sections, e.g.
 *   { &cfg_section_database, offsetof(struct alertd_cfg, database) }.
 */
#ifndef LEO_CFG_SECTION_H
#define LEO_CFG_SECTION_H

#include "cfg.h"
#include "log.h"

struct cfg_database {
	char *conninfo;		/* libpq connection string or URI */
	char *password_file;	/* "" = libpq's usual sources */
	int pool_size;
	int connect_timeout_s;
};

/* The HTTP endpoint (httpd.h). */
struct cfg_stats {
	char *listen;		/* "host:port"; "" disables */
	char *tls_cert;		/* both set: serve HTTPS */
	char *tls_key;
	int max_connections;	/* open HTTP connections at most */
	int timeout_s;		/* idle/read/write timeout per connection */
};

struct cfg_log {
	enum log_level level;
	enum log_format format;
};

extern const struct cfg_section cfg_section_database;
extern const struct cfg_section cfg_section_stats;
extern const struct cfg_section cfg_section_log;

#endif
