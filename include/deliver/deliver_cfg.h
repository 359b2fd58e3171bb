/*
 * deliver_cfg.h — leo-deliver's configuration: the shared sections
 * (cfg_section.h), the sender's own `deliver` section and one section per
 * channel under deliver.channels, in one immutable struct.
 *
 * Loaded through the core key-table machinery (cfg.h) with
 * deliver_cfg_schema, which cfg_keep_static, cfg_write_defaults and
 * cfg_write_markdown take as they are.  Every channel section has the same
 * keys (one table);
 * which keys a channel may set depends on its kind, checked by
 * deliver_cfg_load after the file has been read.
 */
#ifndef LEO_DELIVER_CFG_H
#define LEO_DELIVER_CFG_H

#include <stdbool.h>
#include <stdio.h>

#include "cfg.h"
#include "cfg_section.h"

#define DELIVER_CFG_DEFAULT_PATH "/etc/leo-alertd/leo-deliver.yaml"

/* The channels of leo_channel (schema/10_types.sql), in that order. */
enum deliver_channel_id { DC_EMAIL, DC_SMS, DC_ZALO_OA, DC_WEB_PUSH, DC_WHATSAPP, DC_COUNT };
extern const char *const deliver_channel_names[DC_COUNT];

enum deliver_kind { DK_NONE, DK_SMTP, DK_HTTP, DK_FILE };
enum deliver_starttls { DS_REQUIRED, DS_NONE };
enum deliver_method { DM_POST, DM_PUT };
enum deliver_body { DB_JSON, DB_FORM, DB_TEMPLATE };

struct deliver_channel {
	enum deliver_kind kind;
	char *url;
	enum deliver_starttls starttls;
	char *username;
	char *password_file;
	char *from;
	enum deliver_method method;
	char *headers;			/* CFG_MAP: name: value */
	char *header_files;		/* CFG_MAP: name: file holding the value */
	enum deliver_body body;
	char *body_template;		/* the template text itself */
	char *signing_secret_file;
	int accept_means_delivered;	/* 0 false, 1 true */
	char *ca_file;
	int timeout_ms;
	int concurrency;
	int rate_per_second;
	char *path;			/* kind file */
};

struct deliver_cfg_deliver {
	int poll_interval_s;
	int claim_lease_s;
	int claim_batch;
	int retry_initial_ms;
	int retry_max_ms;
	int max_attempts;
	int max_age_s;
	char *receipts_secret_file;
	int receipts_tolerance_s;
};

struct deliver_cfg {
	struct cfg_database database;
	struct deliver_cfg_deliver deliver;
	struct deliver_channel channel[DC_COUNT];
	struct cfg_stats stats;
	struct cfg_log log;
};

extern const struct cfg_schema deliver_cfg_schema;

/* cfg_load() (cfg.h) with deliver_cfg_schema, then the checks that span
 * keys (what each kind needs and refuses); problems as cfg_load reports them. */
struct deliver_cfg *deliver_cfg_load(const char *path, int path_is_default, FILE *errs)
	__attribute__((warn_unused_result));
void deliver_cfg_free(struct deliver_cfg *c);

/* The channel of a leo_channel name; -1 when unknown. */
int deliver_channel_id(const char *name);

#endif
