/*
 * enrich_cfg.h — leo-enrich's configuration (SPEC section 8): the shared
 * sections (cfg_section.h), the worker's `enrich` section and its
 * `enrich.embedder`, in one immutable struct.
 *
 * Loaded through the core key-table machinery (cfg.h) with
 * enrich_cfg_schema, which cfg_keep_static, cfg_write_defaults and
 * cfg_write_markdown take as they are; config/leo-enrich.yaml is what
 * cfg_write_defaults writes (tests/test_enrich_cfg.c checks it).
 */
#ifndef LEO_ENRICH_CFG_H
#define LEO_ENRICH_CFG_H

#include <stdio.h>

#include "cfg.h"
#include "cfg_section.h"

#define ENRICH_CFG_DEFAULT_PATH "/etc/leo-alertd/leo-enrich.yaml"

enum enrich_embedder_kind { EK_HASHING, EK_OPENAI };

struct enrich_cfg_embedder {
	enum enrich_embedder_kind kind;
	char *base_url;
	char *model;
	char *api_key_file;
	int timeout_ms;
};

struct enrich_cfg_enrich {
	int poll_interval_s;
	int lease_s;
	int batch_size;
	int max_attempts;
	int events_per_profile;
	int news;			/* 0 false, 1 true */
	int backoff_initial_s;
	int backoff_max_s;
	int workers;			/* lanes.h */
};

struct enrich_cfg {
	struct cfg_database database;
	struct enrich_cfg_enrich enrich;
	struct enrich_cfg_embedder embedder;
	struct cfg_stats stats;
	struct cfg_log log;
};

extern const struct cfg_schema enrich_cfg_schema;

/* cfg_load() (cfg.h) with enrich_cfg_schema, then the checks that span keys
 * (openai needs a base_url); problems as cfg_load reports them. */
struct enrich_cfg *enrich_cfg_load(const char *path, int path_is_default, FILE *errs)
	__attribute__((warn_unused_result));
void enrich_cfg_free(struct enrich_cfg *c);

#endif
