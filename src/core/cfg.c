/*
 * cfg.c — YAML (libyaml) -> immutable struct cfg, through one key table.
 *
 * Loop thread (start-up and SIGHUP); no shared state, nothing global but the
 * constant key table.
 *
 * DESIGN
 *
 * cfg_keys[] is the only list of keys.  Each entry names the dotted key, its
 * type (string, integer, enumeration), its default written as YAML scalar
 * text, its bounds (integer range, or string length), whether SIGHUP may
 * change it, where it lives in struct cfg, and its help text.  Everything
 * else is derived from it:
 *
 *  - loading: defaults are parsed from the table's text by the very code
 *    that parses the file, so a bad default cannot hide;
 *  - the walk of the YAML document: a mapping key is accepted when it is a
 *    table key or the prefix of one (a section), nothing else;
 *  - cfg_write_defaults(): the annotated config/leo-alertd.yaml;
 *  - cfg_write_markdown(): the README's key table;
 *  - cfg_keep_static(): which keys a reload may change.
 *
 * Every problem is printed as "FILE:LINE: KEY: reason" (to the FILE * given,
 * or as a log line when it is NULL, e.g. on SIGHUP) and the walk goes on,
 * so one run of --check-config lists all of them.  A YAML syntax error stops
 * libyaml; it is reported as "FILE:LINE: (yaml): reason" and is the last.
 *
 * A struct cfg is one allocation: struct cfg_store wraps it together with a
 * fixed buffer per string key, and the struct's char pointers point into
 * those buffers.  cfg_keep_static() can then copy an old string into the
 * new config without allocating, and cfg_free() is one free().
 *
 * NB: database.password_file is only a path; the pool reads the file.  No
 * string value is ever echoed in a message (conninfo may hold a password).
 */
#include "cfg.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "log.h"

#define CFG_STR_MAX 4096	/* bytes, with the NUL; bounds every string key */

enum cfg_type { CFG_STR, CFG_INT, CFG_ENUM };

struct cfg_key {
	const char *key;		/* dotted: "section.name" */
	enum cfg_type type;
	const char *def;		/* default, as a YAML scalar's text */
	long min, max;			/* CFG_INT: value range; CFG_STR: length range */
	const char *const *names;	/* CFG_ENUM: value i is names[i], NULL-ended */
	bool reload;			/* SIGHUP may change it */
	size_t off;			/* offsetof(struct cfg, ...) */
	int (*check)(const char *v);	/* CFG_STR: extra syntax check, 0 = fine */
	const char *check_why;		/* what check() wants, for the message */
	const char *help;
};

static const char *const cfg_level_names[] = { "debug", "info", "warn", "error", NULL };
static const char *const cfg_format_names[] = { "text", "json", NULL };

_Static_assert(sizeof(enum log_level) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enums are stored as int");

static int cfg_check_channel(const char *v);
static int cfg_check_listen(const char *v);

#define OFF(field) offsetof(struct cfg, field)

static const struct cfg_key cfg_keys[] = {
	{ "database.conninfo", CFG_STR, "", 0, CFG_STR_MAX - 1, NULL, false,
	  OFF(database.conninfo), NULL, NULL,
	  "libpq connection string or URI; empty: libpq's PG* environment variables" },
	{ "database.password_file", CFG_STR, "", 0, PATH_MAX - 1, NULL, false,
	  OFF(database.password_file), NULL, NULL,
	  "file holding the database password; empty: libpq's usual sources" },
	{ "database.pool_size", CFG_INT, "4", 1, 64, NULL, false,
	  OFF(database.pool_size), NULL, NULL,
	  "pooled connections for rule loads and writes; a tenant's firings use one" },
	{ "database.connect_timeout_s", CFG_INT, "10", 1, 3600, NULL, false,
	  OFF(database.connect_timeout_s), NULL, NULL,
	  "seconds to wait for a database connection" },
	{ "listen.market_channel", CFG_STR, "leo_market", 1, 63, NULL, false,
	  OFF(listen.market_channel), cfg_check_channel, "letters, digits and _",
	  "NOTIFY channel of price changes; must match the database's leo.market_channel" },
	{ "engine.worker_threads", CFG_INT, "2", 1, 64, NULL, false,
	  OFF(engine.worker_threads), NULL, NULL,
	  "threads evaluating rules; symbols are sharded across them" },
	{ "engine.queue_capacity", CFG_INT, "65536", 16, 1048576, NULL, false,
	  OFF(engine.queue_capacity), NULL, NULL,
	  "messages each worker queue holds" },
	{ "engine.resync_interval_s", CFG_INT, "60", 1, 86400, NULL, true,
	  OFF(engine.resync_interval_s), NULL, NULL,
	  "seconds between safety-net resyncs of rules (also the expiry sweep)" },
	{ "engine.flood_max_fires", CFG_INT, "15", 1, 1000000, NULL, true,
	  OFF(engine.flood_max_fires), NULL, NULL,
	  "firings of one rule within flood_window_seconds that pause it" },
	{ "engine.flood_window_seconds", CFG_INT, "180", 1, 86400, NULL, true,
	  OFF(engine.flood_window_seconds), NULL, NULL,
	  "window of the flood guard, seconds" },
	{ "writer.batch_max_rows", CFG_INT, "500", 1, 10000, NULL, true,
	  OFF(writer.batch_max_rows), NULL, NULL,
	  "firings written per transaction at most" },
	{ "writer.batch_max_delay_ms", CFG_INT, "10", 0, 10000, NULL, true,
	  OFF(writer.batch_max_delay_ms), NULL, NULL,
	  "longest a firing waits to join a batch, in milliseconds; a batch is written at once when nothing more is coming and its writer has not written for this long" },
	{ "stats.listen", CFG_STR, "127.0.0.1:9464", 0, 255, NULL, false,
	  OFF(stats.listen), cfg_check_listen, "HOST:PORT",
	  "HOST:PORT of the HTTP endpoint (/metrics, /healthz, /readyz); empty: off" },
	{ "stats.tls_cert", CFG_STR, "", 0, PATH_MAX - 1, NULL, false,
	  OFF(stats.tls_cert), NULL, NULL,
	  "PEM certificate chain; with tls_key set, the endpoint speaks HTTPS" },
	{ "stats.tls_key", CFG_STR, "", 0, PATH_MAX - 1, NULL, false,
	  OFF(stats.tls_key), NULL, NULL,
	  "PEM private key of tls_cert" },
	{ "stats.max_connections", CFG_INT, "256", 1, 65536, NULL, false,
	  OFF(stats.max_connections), NULL, NULL,
	  "open HTTP connections at most; more wait in the kernel's backlog" },
	{ "stats.timeout_s", CFG_INT, "10", 1, 3600, NULL, false,
	  OFF(stats.timeout_s), NULL, NULL,
	  "seconds an HTTP connection may stay idle or slow; it lives 6 times this at most" },
	{ "log.level", CFG_ENUM, "info", 0, 0, cfg_level_names, true,
	  OFF(log.level), NULL, NULL,
	  "least severe level logged" },
	{ "log.format", CFG_ENUM, "text", 0, 0, cfg_format_names, true,
	  OFF(log.format), NULL, NULL,
	  "text lines, or one JSON object per line" },
};

#undef OFF

#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* struct cfg plus the storage of its strings; see DESIGN. */
struct cfg_store {
	struct cfg cfg;
	char str[CFG_NKEYS][CFG_STR_MAX];	/* str[i] backs cfg_keys[i] if a string */
};

/* Where the walk reports problems. */
struct cfg_ctx {
	const char *file;
	FILE *errs;
	int nerr;
	int line[CFG_NKEYS];	/* line a key was set on, 0 = default */
};

static void cfg_problem(struct cfg_ctx *x, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cfg_problem(struct cfg_ctx *x, int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	char why[512];

	x->nerr++;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (x->errs)
		fprintf(x->errs, "%s:%d: %s: %s\n", x->file, line, key, why);
	else
		log_error("%s:%d: %s: %s", x->file, line, key, why);
}

static int cfg_check_channel(const char *v)
{
	for (; *v; v++) {
		if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
		      (*v >= '0' && *v <= '9') || *v == '_'))
			return -1;
	}
	return 0;
}

/* "" or HOST:PORT with a port 1..65535; HOST may be [v6]. */
static int cfg_check_listen(const char *v)
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

/* A printable, bounded copy of a scalar for a message (ints and enums only). */
static const char *cfg_show(const char *v, char *buf, size_t cap)
{
	size_t n = 0;

	for (; *v && n + 5 < cap; v++)
		buf[n++] = (*v >= 0x20 && *v < 0x7f) ? *v : '?';
	if (*v)
		buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
	buf[n] = '\0';
	return buf;
}

/*
 * Set key i of s from scalar text v (len bytes).  quoted: the scalar was
 * quoted in the YAML, so it is a string whatever it looks like.  Returns 0,
 * or reports the problem and returns -1.
 */
static int cfg_set(struct cfg_store *s, struct cfg_ctx *x, size_t i, const char *v, size_t len,
		   bool quoted, int line)
{
	const struct cfg_key *k = &cfg_keys[i];
	char *p = (char *)&s->cfg + k->off;
	char show[48];

	if (strlen(v) != len) {
		cfg_problem(x, line, k->key, "contains a NUL byte");
		return -1;
	}
	switch (k->type) {
	case CFG_STR:
		if ((long)len < k->min || (long)len > k->max) {
			cfg_problem(x, line, k->key, "length %zu is out of range %ld..%ld", len,
				    k->min, k->max);
			return -1;
		}
		if (k->check && k->check(v) != 0) {
			cfg_problem(x, line, k->key, "not %s", k->check_why);
			return -1;
		}
		memcpy(s->str[i], v, len + 1);
		return 0;
	case CFG_INT: {
		char *end;
		long n;

		if (quoted) {
			cfg_problem(x, line, k->key, "expected an integer, found a quoted string");
			return -1;
		}
		errno = 0;
		n = strtol(v, &end, 10);
		if (!*v || *end || (*v != '-' && (*v < '0' || *v > '9')) ||
		    (errno == ERANGE)) {
			if (errno == ERANGE)
				cfg_problem(x, line, k->key, "%s is out of range %ld..%ld",
					    cfg_show(v, show, sizeof(show)), k->min, k->max);
			else
				cfg_problem(x, line, k->key, "\"%s\" is not an integer",
					    cfg_show(v, show, sizeof(show)));
			return -1;
		}
		if (n < k->min || n > k->max) {
			cfg_problem(x, line, k->key, "%ld is out of range %ld..%ld", n, k->min,
				    k->max);
			return -1;
		}
		*(int *)(void *)p = (int)n;
		return 0;
	}
	case CFG_ENUM:
		for (int e = 0; k->names[e]; e++) {
			if (strcmp(v, k->names[e]) == 0) {
				*(int *)(void *)p = e;
				return 0;
			}
		}
		{
			char want[128];
			size_t n = 0;

			want[0] = '\0';
			for (int e = 0; k->names[e]; e++)
				n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s",
						      e ? ", " : "", k->names[e]);
			cfg_problem(x, line, k->key, "\"%s\" is not one of %s",
				    cfg_show(v, show, sizeof(show)), want);
		}
		return -1;
	}
	return -1;
}

static const char *cfg_node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* A plain scalar that YAML reads as null: "", "~", "null". */
static bool cfg_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * Walk mapping node m whose dotted path is prefix ("" at the root).  Keys
 * are table keys (scalar values) or sections (mapping values).
 */
static void cfg_walk(yaml_document_t *doc, yaml_node_t *m, const char *prefix,
		     struct cfg_store *s, struct cfg_ctx *x)
{
	yaml_node_pair_t *pair, *prev;

	for (pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(doc, pair->value);
		int line = (int)kn->start_mark.line + 1;
		char full[256];
		const char *name;
		size_t flen;
		bool section = false, dup = false;

		if (kn->type != YAML_SCALAR_NODE) {
			cfg_problem(x, line, *prefix ? prefix : "(root)",
				    "a key must be a scalar, found %s", cfg_node_kind(kn));
			continue;
		}
		name = (const char *)kn->data.scalar.value;
		if (snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", name) >=
		    (int)sizeof(full)) {
			cfg_problem(x, line, *prefix ? prefix : "(root)", "key too long");
			continue;
		}
		/* "a.b: 1" would otherwise pass as a.b; keys are one level each. */
		if (strlen(name) != kn->data.scalar.length || strchr(name, '.') || !*name) {
			cfg_problem(x, line, full, "unknown key");
			continue;
		}
		for (prev = m->data.mapping.pairs.start; prev < pair; prev++) {
			yaml_node_t *pk = yaml_document_get_node(doc, prev->key);

			if (pk->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)pk->data.scalar.value, name) == 0) {
				cfg_problem(x, line, full, "duplicate key (first at line %d)",
					    (int)pk->start_mark.line + 1);
				dup = true;
				break;
			}
		}
		if (dup)
			continue;

		flen = strlen(full);
		for (size_t i = 0; i < CFG_NKEYS; i++) {
			const struct cfg_key *k = &cfg_keys[i];

			if (strcmp(k->key, full) == 0) {
				int vline = (int)vn->start_mark.line + 1;

				if (vn->type != YAML_SCALAR_NODE) {
					cfg_problem(x, vline, full, "expected a scalar, found %s",
						    cfg_node_kind(vn));
				} else if (cfg_is_null(vn) && k->type != CFG_STR) {
					cfg_problem(x, vline, full, "has no value");
				} else if (cfg_is_null(vn)) {
					s->str[i][0] = '\0';
					x->line[i] = vline;
				} else if (cfg_set(s, x, i, (const char *)vn->data.scalar.value,
						   vn->data.scalar.length,
						   vn->data.scalar.style !=
							   YAML_PLAIN_SCALAR_STYLE,
						   vline) == 0) {
					x->line[i] = vline;
				}
				goto next;
			}
			if (strncmp(k->key, full, flen) == 0 && k->key[flen] == '.')
				section = true;
		}
		if (!section) {
			cfg_problem(x, line, full, "unknown key");
		} else if (vn->type != YAML_MAPPING_NODE) {
			if (!(vn->type == YAML_SCALAR_NODE && cfg_is_null(vn)))
				cfg_problem(x, (int)vn->start_mark.line + 1, full,
					    "expected a mapping, found %s", cfg_node_kind(vn));
		} else {
			cfg_walk(doc, vn, full, s, x);
		}
next:;
	}
}

/* Checks that involve more than one key. */
static void cfg_cross_check(struct cfg_store *s, struct cfg_ctx *x)
{
	const struct cfg *c = &s->cfg;
	size_t icert = 0, ikey = 0;

	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if (strcmp(cfg_keys[i].key, "stats.tls_cert") == 0)
			icert = i;
		else if (strcmp(cfg_keys[i].key, "stats.tls_key") == 0)
			ikey = i;
	}
	if (!*c->stats.tls_cert != !*c->stats.tls_key) {
		size_t set = *c->stats.tls_cert ? icert : ikey;
		size_t unset = *c->stats.tls_cert ? ikey : icert;

		cfg_problem(x, x->line[set], cfg_keys[unset].key, "must be set when %s is set",
			    cfg_keys[set].key);
	}
}

static struct cfg_store *cfg_defaults(struct cfg_ctx *x)
{
	struct cfg_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].type == CFG_STR)
			*(char **)(void *)((char *)&s->cfg + cfg_keys[i].off) = s->str[i];
		if (cfg_set(s, x, i, cfg_keys[i].def, strlen(cfg_keys[i].def), false, 0) != 0) {
			free(s);
			return NULL;
		}
	}
	return s;
}

/* Parse the file into s; problems go to x. */
static void cfg_parse_file(FILE *f, struct cfg_store *s, struct cfg_ctx *x)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;

	if (!yaml_parser_initialize(&parser)) {
		cfg_problem(x, 0, "(yaml)", "out of memory");
		return;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		cfg_problem(x, (int)parser.problem_mark.line + 1, "(yaml)", "%s%s%s",
			    parser.problem ? parser.problem : "unreadable",
			    parser.context ? " " : "", parser.context ? parser.context : "");
		goto out_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		/* An empty file: defaults. */
	} else if (root->type == YAML_MAPPING_NODE) {
		cfg_walk(&doc, root, "", s, x);
	} else if (!(root->type == YAML_SCALAR_NODE && cfg_is_null(root))) {
		cfg_problem(x, (int)root->start_mark.line + 1, "(root)",
			    "expected a mapping, found %s", cfg_node_kind(root));
	}
	yaml_document_delete(&doc);

	if (root) {
		/* A second document is a mistake, not something to ignore. */
		if (!yaml_parser_load(&parser, &doc)) {
			cfg_problem(x, (int)parser.problem_mark.line + 1, "(yaml)", "%s%s%s",
				    parser.problem ? parser.problem : "unreadable",
				    parser.context ? " " : "",
				    parser.context ? parser.context : "");
			goto out_parser;
		}
		root = yaml_document_get_root_node(&doc);
		if (root)
			cfg_problem(x, (int)root->start_mark.line + 1, "(yaml)",
				    "more than one document");
		yaml_document_delete(&doc);
	}
out_parser:
	yaml_parser_delete(&parser);
}

struct cfg *cfg_load(const char *path, int path_is_default, FILE *errs)
{
	struct cfg_ctx x = { .file = path ? path : "(defaults)", .errs = errs };
	struct cfg_store *s;
	FILE *f;

	s = cfg_defaults(&x);
	if (!s) {
		if (errs)
			fprintf(errs, "%s: out of memory\n", x.file);
		else
			log_error("%s: out of memory", x.file);
		return NULL;
	}
	if (!path)
		return &s->cfg;

	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && path_is_default)
			return &s->cfg;
		if (errs)
			fprintf(errs, "%s:0: (file): cannot open: %s\n", path, strerror(errno));
		else
			log_error("%s:0: (file): cannot open: %s", path, strerror(errno));
		goto fail;
	}
	cfg_parse_file(f, s, &x);
	fclose(f);
	if (x.nerr)
		goto fail;
	cfg_cross_check(s, &x);
	if (x.nerr)
		goto fail;
	return &s->cfg;

fail:
	free(s);
	return NULL;
}

void cfg_free(struct cfg *c)
{
	/* struct cfg is the first member of struct cfg_store. */
	free(c);
}

static bool cfg_same(const struct cfg *a, const struct cfg *b, size_t i)
{
	const struct cfg_key *k = &cfg_keys[i];
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;

	if (k->type == CFG_STR)
		return strcmp(*(char *const *)(const void *)pa, *(char *const *)(const void *)pb) == 0;
	return *(const int *)(const void *)pa == *(const int *)(const void *)pb;
}

void cfg_keep_static(const struct cfg *old, struct cfg *next, FILE *errs)
{
	struct cfg_store *s = (struct cfg_store *)next;

	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *po = (const char *)old + k->off;

		if (k->reload || cfg_same(old, next, i))
			continue;
		if (errs)
			fprintf(errs, "%s: cannot change without a restart; keeping the running value\n",
				k->key);
		else
			log_warn("%s: cannot change without a restart; keeping the running value",
				 k->key);
		if (k->type == CFG_STR)
			snprintf(s->str[i], sizeof(s->str[i]), "%s", *(char *const *)(const void *)po);
		else
			*(int *)(void *)((char *)next + k->off) = *(const int *)(const void *)po;
	}
}

/* Write v as a double-quoted YAML scalar. */
static void cfg_write_quoted(FILE *out, const char *v)
{
	fputc('"', out);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fprintf(out, "\\%c", *v);
		else
			fputc(*v, out);
	}
	fputc('"', out);
}

/* The values a key takes; sep separates enumeration names. */
static void cfg_write_range(FILE *out, const struct cfg_key *k, const char *sep)
{
	switch (k->type) {
	case CFG_INT:
		fprintf(out, "%ld..%ld", k->min, k->max);
		break;
	case CFG_ENUM:
		for (int e = 0; k->names[e]; e++)
			fprintf(out, "%s%s", e ? sep : "", k->names[e]);
		break;
	case CFG_STR:
		if (k->check)
			fprintf(out, "%s%s", k->min ? "" : "empty or ", k->check_why);
		else
			fprintf(out, "%s", k->min ? "text" : "text, may be empty");
		break;
	}
}

void cfg_write_defaults(FILE *out)
{
	const char *section = NULL;
	size_t seclen = 0;

	fprintf(out, "# leo-alertd configuration (YAML).\n"
		     "#\n"
		     "# Every key with its default.  Keys left out keep their default; unknown\n"
		     "# keys are errors.  \"reload\" keys change on SIGHUP, the others need a\n"
		     "# restart.  Check a file with: leo-alertd --check-config --config FILE\n");
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *dot = strchr(k->key, '.');

		if (!section || (size_t)(dot - k->key) != seclen ||
		    strncmp(section, k->key, seclen) != 0) {
			section = k->key;
			seclen = (size_t)(dot - k->key);
			fprintf(out, "\n%.*s:\n", (int)seclen, section);
		} else {
			fputc('\n', out);
		}
		fprintf(out, "  # %s.\n  # ", k->help);
		cfg_write_range(out, k, " | ");
		fprintf(out, "; %s\n  %s: ", k->reload ? "reload" : "restart", dot + 1);
		if (k->type == CFG_STR)
			cfg_write_quoted(out, k->def);
		else
			fputs(k->def, out);
		fputc('\n', out);
	}
}

void cfg_write_markdown(FILE *out)
{
	fprintf(out, "| key | default | values | on SIGHUP | meaning |\n"
		     "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		fprintf(out, "| `%s` | ", k->key);
		if (k->type == CFG_STR)
			fprintf(out, "`\"%s\"`", k->def);
		else
			fprintf(out, "`%s`", k->def);
		fputs(" | ", out);
		cfg_write_range(out, k, ", ");
		fprintf(out, " | %s | %s |\n", k->reload ? "reloaded" : "restart needed", k->help);
	}
}
