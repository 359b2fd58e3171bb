/*
 * deliver_cfg.c — leo-deliver's config schema: the key tables of the
 * `deliver` section and of a channel (one table, placed once per channel
 * under deliver.channels), where every section sits in struct deliver_cfg,
 * and the checks that span keys.
 *
 * Constant data; the loop thread loads through it (start-up and SIGHUP).
 */
#include "deliver_cfg.h"

#include <stddef.h>
#include <string.h>

const char *const deliver_channel_names[DC_COUNT] = { "email", "sms", "zalo_oa", "web_push",
						      "whatsapp" };

static const char *const deliver_kinds[] = { "none", "smtp", "http", "file", NULL };
static const char *const deliver_starttls[] = { "required", "none", NULL };
static const char *const deliver_methods[] = { "POST", "PUT", NULL };
static const char *const deliver_bodies[] = { "json", "form", "template", NULL };
static const char *const deliver_bools[] = { "false", "true", NULL };

/* An HTTP header name: a token (RFC 9110). */
static int deliver_cfg_check_header(const char *v)
{
	for (; *v; v++) {
		if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		      (*v >= '0' && *v <= '9') || strchr("!#$%&'*+-.^_`|~", *v)))
			return -1;
	}
	return 0;
}

#define OFF(field) offsetof(struct deliver_cfg_deliver, field)
static const struct cfg_key deliver_cfg_deliver_keys[] = {
	{ "poll_interval_s", CFG_INT, "5", 1, 3600, NULL, true,
	  OFF(poll_interval_s), NULL, NULL, NULL,
	  "seconds between scans for queued deliveries (the backstop of the leo_delivery NOTIFY)" },
	{ "claim_lease_s", CFG_INT, "60", 5, 86400, NULL, true,
	  OFF(claim_lease_s), NULL, NULL, NULL,
	  "a claim older than this is taken over by another sender; longer than any channel's timeout" },
	{ "claim_batch", CFG_INT, "64", 1, 10000, NULL, true,
	  OFF(claim_batch), NULL, NULL, NULL,
	  "deliveries claimed per statement at most" },
	{ "retry_initial_ms", CFG_INT, "1000", 1, 3600000, NULL, true,
	  OFF(retry_initial_ms), NULL, NULL, NULL,
	  "wait before the first retry, in milliseconds; doubled on each retry, with jitter" },
	{ "retry_max_ms", CFG_INT, "300000", 1, 86400000, NULL, true,
	  OFF(retry_max_ms), NULL, NULL, NULL,
	  "longest wait between two attempts, in milliseconds (a longer Retry-After is honoured)" },
	{ "max_attempts", CFG_INT, "8", 1, 1000, NULL, true,
	  OFF(max_attempts), NULL, NULL, NULL,
	  "attempts of one delivery at most; then it fails with reason retries_exhausted" },
	{ "max_age_s", CFG_INT, "86400", 1, 31536000, NULL, true,
	  OFF(max_age_s), NULL, NULL, NULL,
	  "a delivery older than this is not retried again; it fails with reason retries_exhausted" },
	{ "receipts_secret_file", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, true,
	  OFF(receipts_secret_file), NULL, NULL, NULL,
	  "file holding the secret that signs POST /v1/receipts; receipts are refused while empty" },
	{ "receipts_tolerance_s", CFG_INT, "300", 1, 86400, NULL, true,
	  OFF(receipts_tolerance_s), NULL, NULL, NULL,
	  "a receipt's signature timestamp may differ from now by this many seconds at most" },
};
#undef OFF

#define OFF(field) offsetof(struct deliver_channel, field)
static const struct cfg_key deliver_cfg_channel_keys[] = {
	{ "kind", CFG_ENUM, "none", 0, 0, deliver_kinds, false,
	  OFF(kind), NULL, NULL, NULL,
	  "transport of the channel; none keeps its deliveries queued" },
	{ "url", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(url), NULL, NULL, NULL,
	  "smtp: smtp://host:port (STARTTLS) or smtps://host:port; http: the endpoint, https:// (http:// on loopback only)" },
	{ "starttls", CFG_ENUM, "required", 0, 0, deliver_starttls, false,
	  OFF(starttls), NULL, NULL, NULL,
	  "smtp:// only: required, or none (allowed on loopback only)" },
	{ "username", CFG_STR, "", 0, 255, NULL, false,
	  OFF(username), NULL, NULL, "password_file",
	  "smtp: login name; empty: no login" },
	{ "password_file", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(password_file), NULL, NULL, "username",
	  "smtp: file holding the login's password" },
	{ "from", CFG_STR, "", 0, 255, NULL, false,
	  OFF(from), NULL, NULL, NULL,
	  "smtp: the sender address (envelope and From:)" },
	{ "method", CFG_ENUM, "POST", 0, 0, deliver_methods, false,
	  OFF(method), NULL, NULL, NULL,
	  "http: request method" },
	{ "headers", CFG_MAP, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(headers), deliver_cfg_check_header, "HTTP header names", NULL,
	  "http: extra request headers, name: value" },
	{ "header_files", CFG_MAP, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(header_files), deliver_cfg_check_header, "HTTP header names", NULL,
	  "http: request headers whose values are secrets, name: file holding the value" },
	{ "body", CFG_ENUM, "json", 0, 0, deliver_bodies, false,
	  OFF(body), NULL, NULL, NULL,
	  "http: request body: the delivery document as json or form fields, or body_template" },
	{ "body_template", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(body_template), NULL, NULL, NULL,
	  "http with body template: the request body as a template (docs/templates.md), rendered with the message's context plus message.subject, message.body, message.to" },
	{ "signing_secret_file", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(signing_secret_file), NULL, NULL, NULL,
	  "http: file holding the secret of the X-Leo-Signature header; empty: unsigned" },
	{ "accept_means_delivered", CFG_ENUM, "false", 0, 0, deliver_bools, false,
	  OFF(accept_means_delivered), NULL, NULL, NULL,
	  "http: a 2xx answer marks the delivery delivered, not sent" },
	{ "ca_file", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(ca_file), NULL, NULL, NULL,
	  "smtp, http: CA certificates to verify the server with; empty: the system's" },
	{ "timeout_ms", CFG_INT, "10000", 100, 600000, NULL, false,
	  OFF(timeout_ms), NULL, NULL, NULL,
	  "smtp, http: longest one attempt may take, in milliseconds" },
	{ "concurrency", CFG_INT, "8", 1, 1024, NULL, false,
	  OFF(concurrency), NULL, NULL, NULL,
	  "messages of the channel in flight at most" },
	{ "rate_per_second", CFG_INT, "0", 0, 100000, NULL, false,
	  OFF(rate_per_second), NULL, NULL, NULL,
	  "messages of the channel started per second at most; 0: unlimited" },
	{ "path", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(path), NULL, NULL, NULL,
	  "file: the file one JSON line per message is appended to" },
};
#undef OFF

#define N(a) (sizeof(a) / sizeof((a)[0]))
static const struct cfg_section deliver_cfg_deliver = { "deliver", deliver_cfg_deliver_keys,
							N(deliver_cfg_deliver_keys) };
#define CHANNEL(name) { "deliver.channels." name, deliver_cfg_channel_keys, \
			N(deliver_cfg_channel_keys) }
static const struct cfg_section deliver_cfg_channels[DC_COUNT] = {
	CHANNEL("email"), CHANNEL("sms"), CHANNEL("zalo_oa"), CHANNEL("web_push"),
	CHANNEL("whatsapp"),
};
#undef CHANNEL

#define PART(sec, field) { &(sec), offsetof(struct deliver_cfg, field) }
static const struct cfg_part deliver_cfg_parts[] = {
	PART(cfg_section_database, database),
	PART(deliver_cfg_deliver, deliver),
	PART(deliver_cfg_channels[DC_EMAIL], channel[DC_EMAIL]),
	PART(deliver_cfg_channels[DC_SMS], channel[DC_SMS]),
	PART(deliver_cfg_channels[DC_ZALO_OA], channel[DC_ZALO_OA]),
	PART(deliver_cfg_channels[DC_WEB_PUSH], channel[DC_WEB_PUSH]),
	PART(deliver_cfg_channels[DC_WHATSAPP], channel[DC_WHATSAPP]),
	PART(cfg_section_stats, stats),
	PART(cfg_section_log, log),
};
#undef PART

static const struct cfg_override deliver_cfg_overrides[] = {
	{ "stats.listen", "127.0.0.1:9465" },
	{ NULL, NULL },
};

const struct cfg_schema deliver_cfg_schema = { "leo-deliver", sizeof(struct deliver_cfg),
					       deliver_cfg_parts, N(deliver_cfg_parts),
					       deliver_cfg_overrides };
#undef N

int deliver_channel_id(const char *name)
{
	for (int i = 0; i < DC_COUNT; i++)
		if (strcmp(name, deliver_channel_names[i]) == 0)
			return i;
	return -1;
}

/* Whether URL u's host is a loopback address. */
static bool deliver_cfg_loopback(const char *u)
{
	const char *h = strstr(u, "://");
	size_t n;

	if (!h)
		return false;
	h += 3;
	if (strchr(h, '@') && strchr(h, '@') < h + strcspn(h, "/"))
		h = strchr(h, '@') + 1;
	if (*h == '[')
		return strncmp(h, "[::1]", 5) == 0;
	n = strcspn(h, ":/");
	return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
	       (n >= 9 && strncmp(h, "127.", 4) == 0);
}

static bool deliver_cfg_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Keys a kind may set (beyond kind): the others must keep their default. */
static const char *const deliver_cfg_allowed[] = {
	[DK_NONE] = " ",
	[DK_SMTP] = " url starttls username password_file from ca_file timeout_ms concurrency rate_per_second ",
	[DK_HTTP] = " url method headers header_files body body_template signing_secret_file "
		    "accept_means_delivered ca_file timeout_ms concurrency rate_per_second ",
	[DK_FILE] = " path concurrency rate_per_second ",
};

/* Whether channel key k of a and b hold the same value. */
static bool deliver_cfg_same(const struct cfg_key *k, const struct deliver_channel *a,
			     const struct deliver_channel *b)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;

	if (k->type == CFG_STR || k->type == CFG_MAP) {
		const char *sa = *(char *const *)(const void *)pa, *sb = *(char *const *)(const void *)pb;

		return sa[0] == sb[0] && (!sa[0] || strcmp(sa, sb) == 0);
	}
	return *(const int *)(const void *)pa == *(const int *)(const void *)pb;
}

/* The cross-key checks; the number of problems, each printed as cfg_load does. */
static int deliver_cfg_check(const struct deliver_cfg *c, const struct deliver_cfg *def,
			     const char *file, FILE *errs)
{
	int nerr = 0;

#define PROBLEM(ch, key, ...) do { \
		char why_[256]; \
		snprintf(why_, sizeof(why_), __VA_ARGS__); \
		if (errs) \
			fprintf(errs, "%s:0: deliver.channels.%s.%s: %s\n", file, \
				deliver_channel_names[ch], key, why_); \
		else \
			log_error("%s:0: deliver.channels.%s.%s: %s", file, \
				  deliver_channel_names[ch], key, why_); \
		nerr++; \
	} while (0)

	for (int i = 0; i < DC_COUNT; i++) {
		const struct deliver_channel *ch = &c->channel[i];
		const char *allowed = deliver_cfg_allowed[ch->kind];

		for (size_t j = 1; j < sizeof(deliver_cfg_channel_keys) / sizeof(deliver_cfg_channel_keys[0]); j++) {
			const struct cfg_key *k = &deliver_cfg_channel_keys[j];
			char word[64];

			snprintf(word, sizeof(word), " %s ", k->key);
			if (!strstr(allowed, word) && !deliver_cfg_same(k, ch, &def->channel[i]))
				PROBLEM(i, k->key, "not a key of kind %s", deliver_kinds[ch->kind]);
		}
		switch (ch->kind) {
		case DK_NONE:
			break;
		case DK_SMTP:
			if (!deliver_cfg_prefix(ch->url, "smtp://") &&
			    !deliver_cfg_prefix(ch->url, "smtps://"))
				PROBLEM(i, "url", "must be smtp://HOST[:PORT] or smtps://HOST[:PORT]");
			else if (ch->starttls == DS_NONE && deliver_cfg_prefix(ch->url, "smtp://") &&
				 !deliver_cfg_loopback(ch->url))
				PROBLEM(i, "starttls", "none is allowed for a loopback server only");
			if (!ch->from[0] || !strchr(ch->from, '@') || strpbrk(ch->from, "\r\n<> "))
				PROBLEM(i, "from", "must be an address like alerts@example.com");
			break;
		case DK_HTTP:
			if (!deliver_cfg_prefix(ch->url, "https://") &&
			    !(deliver_cfg_prefix(ch->url, "http://") && deliver_cfg_loopback(ch->url)))
				PROBLEM(i, "url", "must be https://... (http:// on loopback only)");
			if (ch->body == DB_TEMPLATE && !ch->body_template[0])
				PROBLEM(i, "body_template", "must be set when body is template");
			if (ch->body != DB_TEMPLATE && ch->body_template[0])
				PROBLEM(i, "body_template", "is used only when body is template");
			for (const char *p = ch->headers, *name, *value;
			     cfg_map_next(&p, &name, &value);)
				if (strpbrk(value, "\r\n"))
					PROBLEM(i, "headers", "%s: a header value cannot hold a line break",
						name);
			break;
		case DK_FILE:
			if (!ch->path[0])
				PROBLEM(i, "path", "must be set for kind file");
			break;
		}
		if (ch->kind != DK_NONE && ch->kind != DK_FILE &&
		    (long)ch->timeout_ms * 2 > (long)c->deliver.claim_lease_s * 1000)
			PROBLEM(i, "timeout_ms", "must be at most half of deliver.claim_lease_s (%d s)",
				c->deliver.claim_lease_s);
	}
#undef PROBLEM
	return nerr;
}

struct deliver_cfg *deliver_cfg_load(const char *path, int path_is_default, FILE *errs)
{
	struct deliver_cfg *c = cfg_load(&deliver_cfg_schema, path, path_is_default, errs);
	struct deliver_cfg *def;
	int nerr;

	if (!c)
		return NULL;
	def = cfg_load(&deliver_cfg_schema, NULL, 0, errs);
	if (!def) {
		cfg_free(c);
		return NULL;
	}
	nerr = deliver_cfg_check(c, def, path ? path : "(defaults)", errs);
	cfg_free(def);
	if (nerr) {
		cfg_free(c);
		return NULL;
	}
	return c;
}

void deliver_cfg_free(struct deliver_cfg *c)
{
	cfg_free(c);
}
