/*
 * alertd_cfg.h — leo-alertd's configuration: the shared sections
 * (cfg_section.h) and the matcher's own, in one immutable struct.
 *
 * Loaded through the core key-table machinery (cfg.h) with
 * alertd_cfg_schema; config/leo-alertd.yaml and the README's key table are
 * what it writes.  The matcher's sections (listen, engine, writer) each have
 * one key table in alertd_cfg.c.
 */
#ifndef LEO_ALERTD_CFG_H
#define LEO_ALERTD_CFG_H

#include <stdio.h>

#include "cfg.h"
#include "cfg_section.h"

#define ALERTD_CFG_DEFAULT_PATH "/etc/leo-alertd/leo-alertd.yaml"

struct alertd_cfg_listen {
	char *market_channel;	/* must match the schema's setting */
};

struct alertd_cfg_engine {
	int worker_threads;
	int queue_capacity;	/* per worker queue, in messages */
	int resync_interval_s;
	int flood_max_fires;
	int flood_window_seconds;
};

struct alertd_cfg_writer {
	int batch_max_rows;
	int batch_max_delay_ms;
};

struct alertd_cfg {
	struct cfg_database database;
	struct alertd_cfg_listen listen;
	struct alertd_cfg_engine engine;
	struct alertd_cfg_writer writer;
	struct cfg_stats stats;
	struct cfg_log log;
};

extern const struct cfg_schema alertd_cfg_schema;

/* cfg_load() and friends (cfg.h) with alertd_cfg_schema, typed. */
struct alertd_cfg *alertd_cfg_load(const char *path, int path_is_default, FILE *errs)
	__attribute__((warn_unused_result));
void alertd_cfg_free(struct alertd_cfg *c);
void alertd_cfg_write_defaults(FILE *out);
void alertd_cfg_write_markdown(FILE *out);

#endif
