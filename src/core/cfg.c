/*
 * cfg.c — YAML (libyaml) -> an immutable config struct, through key tables.
 *
 * The loop thread of whichever program loads (start-up and SIGHUP); no
 * shared state, nothing global.
 *
 * DESIGN
 *
 * A schema (cfg.h) lists a program's sections in file order; each section
 * is a key table (struct cfg_key), the only list of its keys.  Each entry
 * names the key, its type (string, integer, enumeration), its default
 * written as YAML scalar text, its bounds (integer range, or string length),
 * whether SIGHUP may change it, where it lives in its section's struct, and
 * its help text.  Everything else is derived from it:
 *
 *  - loading: defaults are parsed from the table's text by the very code
 *    that parses the file, so a bad default cannot hide;
 *  - the walk of the YAML document: a mapping key is accepted when it is a
 *    schema key or the prefix of one (a section), nothing else;
 *  - cross-key checks: a string key's pair must be set when it is;
 *  - cfg_write_defaults(): the program's annotated config file, and
 *    cfg_write_markdown(): its README's key table (both cfg_write.c);
 *  - cfg_keep_static(): which keys a reload may change.
 *
 * Each call flattens the schema into a struct cfg_tab: key i with its
 * dotted name ("database.pool_size") and its offset in the program's struct.
 *
 * Every problem is printed as "FILE:LINE: KEY: reason" (to the FILE * given,
 * or as a log line when it is NULL, e.g. on SIGHUP) and the walk goes on,
 * so one run of --check-config lists all of them.  A YAML syntax error stops
 * libyaml; it is reported as "FILE:LINE: (yaml): reason" and is the last.
 *
 * A loaded config is one allocation: the program's struct, then a fixed
 * buffer of CFG_STR_MAX bytes per key (cfg_str()), into which its char
 * pointers point.  cfg_keep_static() can then copy an old string into the
 * new config without allocating, and cfg_free() is one free().
 *
 * NB: no string value is ever echoed in a message (a conninfo may hold a
 * password).
 */
#include "cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cfg_int.h"
#include "log.h"

/* Where the walk reports problems. */
struct cfg_ctx {
	const char *file;
	FILE *errs;
	int nerr;
	struct cfg_tab tab;
	int line[CFG_MAX_KEYS];	/* line a key was set on, 0 = default */
};

int cfg_tab(const struct cfg_schema *schema, struct cfg_tab *t)
{
	t->schema = schema;
	t->n = 0;
	for (size_t p = 0; p < schema->nparts; p++) {
		const struct cfg_section *sec = schema->parts[p].section;

		for (size_t j = 0; j < sec->nkeys; j++) {
			struct cfg_ref *r = &t->ref[t->n];

			if (t->n == CFG_MAX_KEYS ||
			    snprintf(r->key, sizeof(r->key), "%s.%s", sec->name,
				     sec->keys[j].key) >= (int)sizeof(r->key))
				return -1;
			r->k = &sec->keys[j];
			r->off = schema->parts[p].off + sec->keys[j].off;
			r->def = r->k->def;
			for (const struct cfg_override *o = schema->overrides; o && o->key; o++)
				if (strcmp(o->key, r->key) == 0)
					r->def = o->def;
			t->n++;
		}
	}
	return 0;
}

/* The string buffers follow the program's struct, aligned. */
static size_t cfg_str_base(const struct cfg_schema *schema)
{
	return (schema->size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
}

/* Key i's string buffer in config c. */
static char *cfg_str(const struct cfg_schema *schema, void *c, size_t i)
{
	return (char *)c + cfg_str_base(schema) + i * CFG_STR_MAX;
}

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
 * Set key i of config c from scalar text v (len bytes).  quoted: the scalar was
 * quoted in the YAML, so it is a string whatever it looks like.  Returns 0,
 * or reports the problem and returns -1.
 */
static int cfg_set(char *c, struct cfg_ctx *x, size_t i, const char *v, size_t len, bool quoted,
		   int line)
{
	const struct cfg_key *k = x->tab.ref[i].k;
	const char *key = x->tab.ref[i].key;
	char *p = c + x->tab.ref[i].off;
	char show[48];

	if (strlen(v) != len) {
		cfg_problem(x, line, key, "contains a NUL byte");
		return -1;
	}
	switch (k->type) {
	case CFG_STR:
		if ((long)len < k->min || (long)len > k->max) {
			cfg_problem(x, line, key, "length %zu is out of range %ld..%ld", len,
				    k->min, k->max);
			return -1;
		}
		if (k->check && k->check(v) != 0) {
			cfg_problem(x, line, key, "not %s", k->check_why);
			return -1;
		}
		memcpy(cfg_str(x->tab.schema, c, i), v, len + 1);
		return 0;
	case CFG_INT: {
		char *end;
		long n;

		if (quoted) {
			cfg_problem(x, line, key, "expected an integer, found a quoted string");
			return -1;
		}
		errno = 0;
		n = strtol(v, &end, 10);
		if (!*v || *end || (*v != '-' && (*v < '0' || *v > '9')) ||
		    (errno == ERANGE)) {
			if (errno == ERANGE)
				cfg_problem(x, line, key, "%s is out of range %ld..%ld",
					    cfg_show(v, show, sizeof(show)), k->min, k->max);
			else
				cfg_problem(x, line, key, "\"%s\" is not an integer",
					    cfg_show(v, show, sizeof(show)));
			return -1;
		}
		if (n < k->min || n > k->max) {
			cfg_problem(x, line, key, "%ld is out of range %ld..%ld", n, k->min,
				    k->max);
			return -1;
		}
		*(int *)(void *)p = (int)n;
		return 0;
	}
	case CFG_MAP:
		/* only the default comes here: a map's value is a YAML mapping */
		if (len) {
			cfg_problem(x, line, key, "expected a mapping, found a scalar");
			return -1;
		}
		memset(cfg_str(x->tab.schema, c, i), 0, 2);
		return 0;
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
			cfg_problem(x, line, key, "\"%s\" is not one of %s",
				    cfg_show(v, show, sizeof(show)), want);
		}
		return -1;
	}
	return -1;
}

/* Bytes of a packed map, with its final NUL. */
static size_t cfg_map_len(const char *m)
{
	const char *p = m;

	while (*p)
		p += strlen(p) + 1, p += strlen(p) + 1;
	return (size_t)(p - m) + 1;
}

bool cfg_map_next(const char **p, const char **name, const char **value)
{
	if (!**p)
		return false;
	*name = *p;
	*value = *name + strlen(*name) + 1;
	*p = *value + strlen(*value) + 1;
	return true;
}

static const char *cfg_node_kind(const yaml_node_t *n);
static bool cfg_is_null(const yaml_node_t *n);

/* Set CFG_MAP key i of config c from mapping node m; 0, or -1 after reporting. */
static int cfg_set_map(char *c, struct cfg_ctx *x, size_t i, yaml_document_t *doc,
		       yaml_node_t *m)
{
	const struct cfg_key *k = x->tab.ref[i].k;
	const char *key = x->tab.ref[i].key;
	char *buf = cfg_str(x->tab.schema, c, i);
	size_t n = 0, cap = (size_t)k->max < CFG_STR_MAX ? (size_t)k->max : CFG_STR_MAX;
	int bad = 0;

	for (yaml_node_pair_t *pair = m->data.mapping.pairs.start;
	     pair < m->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yaml_document_get_node(doc, pair->key);
		yaml_node_t *vn = yaml_document_get_node(doc, pair->value);
		int line = (int)kn->start_mark.line + 1;
		const char *name, *v;
		size_t nl, vl;

		if (kn->type != YAML_SCALAR_NODE || vn->type != YAML_SCALAR_NODE) {
			cfg_problem(x, line, key, "each entry must be name: value, found %s",
				    cfg_node_kind(kn->type != YAML_SCALAR_NODE ? kn : vn));
			bad = -1;
			continue;
		}
		name = (const char *)kn->data.scalar.value;
		v = cfg_is_null(vn) ? "" : (const char *)vn->data.scalar.value;
		nl = strlen(name);
		vl = strlen(v);
		if (nl != kn->data.scalar.length || (!cfg_is_null(vn) && vl != vn->data.scalar.length)) {
			cfg_problem(x, line, key, "contains a NUL byte");
			bad = -1;
			continue;
		}
		if (!nl || (k->check && k->check(name) != 0)) {
			cfg_problem(x, line, key, "entry name not %s",
				    k->check_why ? k->check_why : "empty");
			bad = -1;
			continue;
		}
		for (const char *p = buf, *pn, *pv; p < buf + n && cfg_map_next(&p, &pn, &pv);) {
			if (strcmp(pn, name) == 0) {
				cfg_problem(x, line, key, "duplicate entry name");
				bad = -1;
				goto next;
			}
		}
		if (n + nl + vl + 3 > cap) {
			cfg_problem(x, line, key, "longer than %zu bytes in all", cap);
			return -1;
		}
		memcpy(buf + n, name, nl + 1);
		memcpy(buf + n + nl + 1, v, vl + 1);
		n += nl + vl + 2;
		buf[n] = '\0';
next:;
	}
	return bad;
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
static void cfg_walk(yaml_document_t *doc, yaml_node_t *m, const char *prefix, char *c,
		     struct cfg_ctx *x)
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
		for (size_t i = 0; i < x->tab.n; i++) {
			const struct cfg_key *k = x->tab.ref[i].k;
			const char *key = x->tab.ref[i].key;

			if (strcmp(key, full) == 0) {
				int vline = (int)vn->start_mark.line + 1;

				if (k->type == CFG_MAP && vn->type == YAML_MAPPING_NODE) {
					memset(cfg_str(x->tab.schema, c, i), 0, 2);
					if (cfg_set_map(c, x, i, doc, vn) == 0)
						x->line[i] = vline;
				} else if (k->type == CFG_MAP &&
					   !(vn->type == YAML_SCALAR_NODE && cfg_is_null(vn))) {
					cfg_problem(x, vline, full, "expected a mapping, found %s",
						    cfg_node_kind(vn));
				} else if (k->type == CFG_MAP) {
					memset(cfg_str(x->tab.schema, c, i), 0, 2);
					x->line[i] = vline;
				} else if (vn->type != YAML_SCALAR_NODE) {
					cfg_problem(x, vline, full, "expected a scalar, found %s",
						    cfg_node_kind(vn));
				} else if (cfg_is_null(vn) && k->type != CFG_STR) {
					cfg_problem(x, vline, full, "has no value");
				} else if (cfg_is_null(vn)) {
					cfg_str(x->tab.schema, c, i)[0] = '\0';
					x->line[i] = vline;
				} else if (cfg_set(c, x, i, (const char *)vn->data.scalar.value,
						   vn->data.scalar.length,
						   vn->data.scalar.style !=
							   YAML_PLAIN_SCALAR_STYLE,
						   vline) == 0) {
					x->line[i] = vline;
				}
				goto next;
			}
			if (strncmp(key, full, flen) == 0 && key[flen] == '.')
				section = true;
		}
		if (!section) {
			cfg_problem(x, line, full, "unknown key");
		} else if (vn->type != YAML_MAPPING_NODE) {
			if (!(vn->type == YAML_SCALAR_NODE && cfg_is_null(vn)))
				cfg_problem(x, (int)vn->start_mark.line + 1, full,
					    "expected a mapping, found %s", cfg_node_kind(vn));
		} else {
			cfg_walk(doc, vn, full, c, x);
		}
next:;
	}
}

/* Checks that involve more than one key: a string key set needs its pair set. */
static void cfg_cross_check(char *c, struct cfg_ctx *x)
{
	const struct cfg_schema *schema = x->tab.schema;
	size_t base = 0;	/* index of the part's first key */

	for (size_t p = 0; p < schema->nparts; base += schema->parts[p].section->nkeys, p++) {
		const struct cfg_section *sec = schema->parts[p].section;

		for (size_t j = 0; j < sec->nkeys; j++) {
			size_t set = base + j, unset = base;

			if (!sec->keys[j].pair || !*cfg_str(schema, c, set))
				continue;
			while (unset < base + sec->nkeys &&
			       strcmp(sec->keys[unset - base].key, sec->keys[j].pair) != 0)
				unset++;
			if (unset < base + sec->nkeys && !*cfg_str(schema, c, unset))
				cfg_problem(x, x->line[set], x->tab.ref[unset].key,
					    "must be set when %s is set", x->tab.ref[set].key);
		}
	}
}

static char *cfg_defaults(struct cfg_ctx *x)
{
	const struct cfg_schema *schema = x->tab.schema;
	char *c = calloc(1, cfg_str_base(schema) + x->tab.n * CFG_STR_MAX);

	if (!c)
		return NULL;
	for (size_t i = 0; i < x->tab.n; i++) {
		const struct cfg_key *k = x->tab.ref[i].k;

		if (k->type == CFG_STR || k->type == CFG_MAP)
			*(char **)(void *)(c + x->tab.ref[i].off) = cfg_str(schema, c, i);
		if (cfg_set(c, x, i, x->tab.ref[i].def, strlen(x->tab.ref[i].def), false, 0) != 0) {
			free(c);
			return NULL;
		}
	}
	return c;
}

/* Parse the file into c; problems go to x. */
static void cfg_parse_file(FILE *f, char *c, struct cfg_ctx *x)
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
		cfg_walk(&doc, root, "", c, x);
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

void *cfg_load(const struct cfg_schema *schema, const char *path, int path_is_default,
	       FILE *errs)
{
	struct cfg_ctx *x = calloc(1, sizeof(*x));
	const char *file = path ? path : "(defaults)";
	char *c = NULL;
	FILE *f;

	if (!x || cfg_tab(schema, &x->tab) < 0) {
		if (errs)
			fprintf(errs, "%s: %s\n", file, x ? "schema too large" : "out of memory");
		else
			log_error("%s: %s", file, x ? "schema too large" : "out of memory");
		free(x);
		return NULL;
	}
	x->file = file;
	x->errs = errs;
	c = cfg_defaults(x);
	if (!c) {
		if (errs)
			fprintf(errs, "%s: out of memory\n", x->file);
		else
			log_error("%s: out of memory", x->file);
		goto fail;
	}
	if (!path)
		goto done;

	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && path_is_default)
			goto done;
		if (errs)
			fprintf(errs, "%s:0: (file): cannot open: %s\n", path, strerror(errno));
		else
			log_error("%s:0: (file): cannot open: %s", path, strerror(errno));
		goto fail;
	}
	cfg_parse_file(f, c, x);
	fclose(f);
	if (x->nerr)
		goto fail;
	cfg_cross_check(c, x);
	if (x->nerr)
		goto fail;
done:
	free(x);
	return c;

fail:
	free(c);
	free(x);
	return NULL;
}

void cfg_free(void *c)
{
	free(c);
}

static bool cfg_same(const struct cfg_tab *t, const void *a, const void *b, size_t i)
{
	const struct cfg_key *k = t->ref[i].k;
	const char *pa = (const char *)a + t->ref[i].off, *pb = (const char *)b + t->ref[i].off;

	if (k->type == CFG_STR)
		return strcmp(*(char *const *)(const void *)pa, *(char *const *)(const void *)pb) == 0;
	if (k->type == CFG_MAP) {
		const char *ma = *(char *const *)(const void *)pa, *mb = *(char *const *)(const void *)pb;
		size_t la = cfg_map_len(ma);

		return la == cfg_map_len(mb) && memcmp(ma, mb, la) == 0;
	}
	return *(const int *)(const void *)pa == *(const int *)(const void *)pb;
}

void cfg_keep_static(const struct cfg_schema *schema, const void *old, void *next, FILE *errs)
{
	struct cfg_tab t;

	if (cfg_tab(schema, &t) < 0)
		return;	/* cfg_load refused the schema: no next to keep */
	for (size_t i = 0; i < t.n; i++) {
		const struct cfg_key *k = t.ref[i].k;
		const char *po = (const char *)old + t.ref[i].off;

		if (k->reload || cfg_same(&t, old, next, i))
			continue;
		if (errs)
			fprintf(errs, "%s: cannot change without a restart; keeping the running value\n",
				t.ref[i].key);
		else
			log_warn("%s: cannot change without a restart; keeping the running value",
				 t.ref[i].key);
		if (k->type == CFG_STR)
			snprintf(cfg_str(schema, next, i), CFG_STR_MAX, "%s",
				 *(char *const *)(const void *)po);
		else if (k->type == CFG_MAP)
			memcpy(cfg_str(schema, next, i), *(char *const *)(const void *)po,
			       cfg_map_len(*(char *const *)(const void *)po));
		else
			*(int *)(void *)((char *)next + t.ref[i].off) = *(const int *)(const void *)po;
	}
}
