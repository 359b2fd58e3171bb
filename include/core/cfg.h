/*
 * cfg.h — the daemon's configuration: YAML (libyaml) through one key table.
 *
 * A struct cfg is immutable once loaded; it is one allocation (its strings
 * live inside it), owned by whoever loaded it, released with cfg_free.  SIGHUP builds a new one and the
 * loop swaps it in; keys not marked reloadable keep their old value (and a
 * warning says so).  cfg.c's key table is the single source of every key's
 * type, default, bounds and reloadability; --check-config, the shipped
 * config/leo-alertd.yaml and the README table agree with it.
 */
#ifndef LEO_CFG_H
#define LEO_CFG_H

#include <stdio.h>

#include "log.h"

#define CFG_DEFAULT_PATH "/etc/leo-alertd/leo-alertd.yaml"

struct cfg {
	struct {
		char *conninfo;		/* libpq connection string or URI */
		char *password_file;	/* "" = libpq's usual sources */
		int pool_size;
		int connect_timeout_s;
	} database;
	struct {
		char *market_channel;	/* must match the schema's setting */
	} listen;
	struct {
		int worker_threads;
		int queue_capacity;	/* per worker queue, in messages */
		int resync_interval_s;
		int flood_max_fires;
		int flood_window_seconds;
	} engine;
	struct {
		int batch_max_rows;
		int batch_max_delay_ms;
	} writer;
	struct {
		char *listen;		/* "host:port"; "" disables */
		char *tls_cert;		/* both set: serve HTTPS */
		char *tls_key;
		int max_connections;	/* open HTTP connections at most */
		int timeout_s;		/* idle/read/write timeout per connection */
	} stats;
	struct {
		enum log_level level;
		enum log_format format;
	} log;
};

/*
 * Load a config file (path NULL: defaults only).  On any problem prints one
 * line per problem to errs as "FILE:LINE: KEY: reason" and returns NULL;
 * errs NULL: each problem is a log_error line instead (use it on SIGHUP, so
 * JSON logs stay JSON).  A missing file at the default path is not a
 * problem: defaults apply.
 */
struct cfg *cfg_load(const char *path, int path_is_default, FILE *errs)
	__attribute__((warn_unused_result));
void cfg_free(struct cfg *c);

/*
 * For SIGHUP: warn on errs (NULL: log_warn) about keys that changed but
 * cannot change at run time, and copy their old values into next.
 */
void cfg_keep_static(const struct cfg *old, struct cfg *next, FILE *errs);

/* Write the annotated default config (config/leo-alertd.yaml is checked against it). */
void cfg_write_defaults(FILE *out);

/* Write the README's Markdown table of every key (the README is checked against it). */
void cfg_write_markdown(FILE *out);

#endif
