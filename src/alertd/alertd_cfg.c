/*
 * alertd_cfg.c — leo-alertd's config schema: the key tables of the
 * matcher's sections (listen, engine, writer) and where every section,
 * shared or not, sits in struct alertd_cfg.
 *
 * Constant data; the loop thread loads through it (start-up and SIGHUP).
 */
#include "alertd_cfg.h"

#include <stddef.h>

static int alertd_cfg_check_channel(const char *v)
{
	for (; *v; v++) {
		if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		      (*v >= '0' && *v <= '9') || *v == '_'))
			return -1;
	}
	return 0;
}

#define OFF(field) offsetof(struct alertd_cfg_listen, field)
static const struct cfg_key alertd_cfg_listen_keys[] = {
	{ "market_channel", CFG_STR, "leo_market", 1, 63, NULL, false,
	  OFF(market_channel), alertd_cfg_check_channel, "letters, digits and _", NULL,
	  "NOTIFY channel of price changes; must match the database's leo.market_channel" },
};
#undef OFF

#define OFF(field) offsetof(struct alertd_cfg_engine, field)
static const struct cfg_key alertd_cfg_engine_keys[] = {
	{ "worker_threads", CFG_INT, "2", 1, 64, NULL, false,
	  OFF(worker_threads), NULL, NULL, NULL,
	  "threads evaluating rules; symbols are sharded across them" },
	{ "queue_capacity", CFG_INT, "65536", 16, 1048576, NULL, false,
	  OFF(queue_capacity), NULL, NULL, NULL,
	  "messages each worker queue holds" },
	{ "resync_interval_s", CFG_INT, "60", 1, 86400, NULL, true,
	  OFF(resync_interval_s), NULL, NULL, NULL,
	  "seconds between safety-net resyncs of rules (also the expiry sweep)" },
	{ "flood_max_fires", CFG_INT, "15", 1, 1000000, NULL, true,
	  OFF(flood_max_fires), NULL, NULL, NULL,
	  "firings of one rule within flood_window_seconds that pause it" },
	{ "flood_window_seconds", CFG_INT, "180", 1, 86400, NULL, true,
	  OFF(flood_window_seconds), NULL, NULL, NULL,
	  "window of the flood guard, seconds" },
};
#undef OFF

#define OFF(field) offsetof(struct alertd_cfg_writer, field)
static const struct cfg_key alertd_cfg_writer_keys[] = {
	{ "batch_max_rows", CFG_INT, "500", 1, 10000, NULL, true,
	  OFF(batch_max_rows), NULL, NULL, NULL,
	  "firings written per transaction at most" },
	{ "batch_max_delay_ms", CFG_INT, "0", 0, 10000, NULL, true,
	  OFF(batch_max_delay_ms), NULL, NULL, NULL,
	  "0: a writer writes as soon as it has firings, and its batches grow only while its previous write is in flight (natural batching); N > 0: a writer that wrote within the last N ms waits until then unless nothing more is coming, so it commits at most about once per N ms while busy" },
};
#undef OFF

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct cfg_section alertd_cfg_listen = { "listen", alertd_cfg_listen_keys,
						      N(alertd_cfg_listen_keys) };
static const struct cfg_section alertd_cfg_engine = { "engine", alertd_cfg_engine_keys,
						      N(alertd_cfg_engine_keys) };
static const struct cfg_section alertd_cfg_writer = { "writer", alertd_cfg_writer_keys,
						      N(alertd_cfg_writer_keys) };

#define PART(sec, field) { &(sec), offsetof(struct alertd_cfg, field) }
static const struct cfg_part alertd_cfg_parts[] = {
	PART(cfg_section_database, database),
	PART(alertd_cfg_listen, listen),
	PART(alertd_cfg_engine, engine),
	PART(alertd_cfg_writer, writer),
	PART(cfg_section_stats, stats),
	PART(cfg_section_log, log),
};
#undef PART

const struct cfg_schema alertd_cfg_schema = { "leo-alertd", sizeof(struct alertd_cfg),
					      alertd_cfg_parts, N(alertd_cfg_parts), NULL };
#undef N

struct alertd_cfg *alertd_cfg_load(const char *path, int path_is_default, FILE *errs)
{
	return cfg_load(&alertd_cfg_schema, path, path_is_default, errs);
}

void alertd_cfg_free(struct alertd_cfg *c)
{
	cfg_free(c);
}

void alertd_cfg_write_defaults(FILE *out)
{
	cfg_write_defaults(&alertd_cfg_schema, out);
}

void alertd_cfg_write_markdown(FILE *out)
{
	cfg_write_markdown(&alertd_cfg_schema, out);
}
