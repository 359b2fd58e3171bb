/*
 * enrich_cfg.c — leo-enrich's config schema: the key tables of the `enrich`
 * section and of `enrich.embedder`, where every section sits in struct
 * enrich_cfg, and the checks that span keys.
 *
 * Constant data; the loop thread loads through it (start-up and SIGHUP).
 */
#include "enrich_cfg.h"

#include <stddef.h>
#include <string.h>

#include "log.h"

static const char *const enrich_kinds[] = { "hashing", "openai", NULL };
static const char *const enrich_bools[] = { "false", "true", NULL };

/* http:// or https:// and something after it. */
static int enrich_cfg_check_url(const char *v)
{
	if (!*v)
		return 0;
	if (strncmp(v, "http://", 7) == 0 && v[7])
		return 0;
	if (strncmp(v, "https://", 8) == 0 && v[8])
		return 0;
	return -1;
}

#define OFF(field) offsetof(struct enrich_cfg_enrich, field)
static const struct cfg_key enrich_cfg_enrich_keys[] = {
	{ "poll_interval_s", CFG_INT, "5", 1, 3600, NULL, true,
	  OFF(poll_interval_s), NULL, NULL, NULL,
	  "seconds between scans for due jobs (the backstop of the leo_enrich NOTIFY)" },
	{ "lease_s", CFG_INT, "120", 5, 86400, NULL, true,
	  OFF(lease_s), NULL, NULL, NULL,
	  "a claimed job whose worker has not finished it after this many seconds is claimed again; longer than embedder.timeout_ms" },
	{ "batch_size", CFG_INT, "64", 1, 2048, NULL, true,
	  OFF(batch_size), NULL, NULL, NULL,
	  "jobs claimed, embedded (one request to an openai embedder) and written together at most" },
	{ "max_attempts", CFG_INT, "5", 1, 1000, NULL, true,
	  OFF(max_attempts), NULL, NULL, NULL,
	  "attempts of one job at most; then it ends failed with its last_error" },
	{ "events_per_profile", CFG_INT, "50", 0, 10000, NULL, true,
	  OFF(events_per_profile), NULL, NULL, NULL,
	  "newest behavioral_events of a profile that go into its document" },
	{ "news", CFG_ENUM, "true", 0, 0, enrich_bools, true,
	  OFF(news), NULL, NULL, NULL,
	  "also embed news_feed rows without content_embedding (headline and body)" },
	{ "backoff_initial_s", CFG_INT, "10", 1, 86400, NULL, true,
	  OFF(backoff_initial_s), NULL, NULL, NULL,
	  "wait before retrying a job after a transient error; doubled per attempt, with jitter" },
	{ "backoff_max_s", CFG_INT, "900", 1, 86400, NULL, true,
	  OFF(backoff_max_s), NULL, NULL, NULL,
	  "longest wait before retrying a job" },
	{ "workers", CFG_INT, "2", 1, 16, NULL, false,
	  OFF(workers), NULL, NULL, NULL,
	  "workers in this process, each with its own connections and one batch in flight; one worker waits on each of its round trips, so two keep a 2-core database busy (one claims or records while the other embeds or is on the server)" },
};
#undef OFF

#define OFF(field) offsetof(struct enrich_cfg_embedder, field)
static const struct cfg_key enrich_cfg_embedder_keys[] = {
	{ "kind", CFG_ENUM, "hashing", 0, 0, enrich_kinds, false,
	  OFF(kind), NULL, NULL, NULL,
	  "hashing: built in, no network (README: the recipe); openai: an OpenAI-compatible embeddings server" },
	{ "base_url", CFG_STR, "http://127.0.0.1:8080/v1", 0, 2048, NULL, false,
	  OFF(base_url), enrich_cfg_check_url, "an http:// or https:// URL", NULL,
	  "openai: requests go to POST {base_url}/embeddings" },
	{ "model", CFG_STR, "text-embedding-3-small", 1, 255, NULL, false,
	  OFF(model), NULL, NULL, NULL,
	  "openai: the model asked for (with dimensions: 1536)" },
	{ "api_key_file", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(api_key_file), NULL, NULL, NULL,
	  "openai: file holding the API key (sent as Authorization: Bearer); empty: no key" },
	{ "timeout_ms", CFG_INT, "30000", 100, 600000, NULL, false,
	  OFF(timeout_ms), NULL, NULL, NULL,
	  "openai: longest one embeddings request may take, in milliseconds" },
};
#undef OFF

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct cfg_section enrich_cfg_enrich = { "enrich", enrich_cfg_enrich_keys,
						      N(enrich_cfg_enrich_keys) };
static const struct cfg_section enrich_cfg_embedder = { "enrich.embedder", enrich_cfg_embedder_keys,
							N(enrich_cfg_embedder_keys) };

#define PART(sec, field) { &(sec), offsetof(struct enrich_cfg, field) }
static const struct cfg_part enrich_cfg_parts[] = {
	PART(cfg_section_database, database),
	PART(enrich_cfg_enrich, enrich),
	PART(enrich_cfg_embedder, embedder),
	PART(cfg_section_stats, stats),
	PART(cfg_section_log, log),
};
#undef PART

static const struct cfg_override enrich_cfg_overrides[] = {
	{ "stats.listen", "127.0.0.1:9466" },
	{ NULL, NULL },
};

const struct cfg_schema enrich_cfg_schema = { "leo-enrich", sizeof(struct enrich_cfg),
					      enrich_cfg_parts, N(enrich_cfg_parts),
					      enrich_cfg_overrides };
#undef N

struct enrich_cfg *enrich_cfg_load(const char *path, int path_is_default, FILE *errs)
{
	struct enrich_cfg *c = cfg_load(&enrich_cfg_schema, path, path_is_default, errs);

	if (c && c->embedder.kind == EK_OPENAI && !c->embedder.base_url[0]) {
		const char *where = path ? path : "(defaults)";

		if (errs)
			fprintf(errs, "%s: enrich.embedder.base_url: required with kind openai\n", where);
		else
			log_error("%s: enrich.embedder.base_url: required with kind openai", where);
		cfg_free(c);
		return NULL;
	}
	return c;
}

void enrich_cfg_free(struct enrich_cfg *c)
{
	cfg_free(c);
}
