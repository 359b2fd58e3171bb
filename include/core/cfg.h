/*
 * cfg.h — a program's configuration: YAML (libyaml) through key tables.
 *
 * A program describes its config as a schema: its struct, and the sections
 * in it, each a key table (the shared ones, database, stats and log, come
 * from cfg_section.h; the program's own from its files, e.g. alertd_cfg.c).
 * A key table entry is the single source of the key's type, default, bounds
 * and reloadability; loading, --check-config, the program's shipped config
 * file and its README table all derive from it.
 *
 * A loaded config is immutable; it is one allocation (its strings live
 * inside it), owned by whoever loaded it, released with cfg_free.  SIGHUP
 * builds a new one and the loop swaps it in; keys not marked reloadable keep
 * their old value (and a warning says so).
 */
#ifndef LEO_CFG_H
#define LEO_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CFG_STR_MAX 4096	/* bytes, with the NUL; bounds every string key */
#define CFG_MAX_KEYS 192	/* keys in a schema, at most */

/*
 * CFG_MAP: a YAML mapping of names to string values ("headers: {A: b}"), held
 * as packed "name\0value\0...\0" text (walk it with cfg_map_next); its
 * default is always empty, its check() applies to each name, its max to the
 * packed size.
 */
enum cfg_type { CFG_STR, CFG_INT, CFG_ENUM, CFG_MAP };

/* One key of a section; its value is a char * (CFG_STR, CFG_MAP) or an int. */
struct cfg_key {
	const char *key;		/* within its section: "pool_size" */
	enum cfg_type type;
	const char *def;		/* default, as a YAML scalar's text */
	long min, max;			/* CFG_INT: value range; CFG_STR: length range */
	const char *const *names;	/* CFG_ENUM: value i is names[i], NULL-ended */
	bool reload;			/* SIGHUP may change it */
	size_t off;			/* offsetof(the section's struct, ...) */
	int (*check)(const char *v);	/* CFG_STR: extra syntax check, 0 = fine */
	const char *check_why;		/* what check() wants, for the message */
	const char *pair;		/* CFG_STR: a key of the section that must be set with it */
	const char *help;
};

/* A section: "database:" and its keys, stored in a struct of its own.  A
 * dotted name ("deliver.channels.email") is a section nested in others; one
 * key table may serve several sections. */
struct cfg_section {
	const char *name;
	const struct cfg_key *keys;
	size_t nkeys;
};

/* A section placed in a program's config struct. */
struct cfg_part {
	const struct cfg_section *section;
	size_t off;			/* offsetof(the program's struct, the section) */
};

/* A program's config: its struct and its sections, in file order. */
struct cfg_schema {
	const char *program;		/* "leo-alertd", for the written defaults */
	size_t size;			/* sizeof the program's struct */
	const struct cfg_part *parts;
	size_t nparts;
	/* The program's own defaults of shared keys: { "stats.listen",
	 * "127.0.0.1:9465" }, ended by { NULL }; NULL: none. */
	const struct cfg_override { const char *key, *def; } *overrides;
};

/*
 * Load a config file (path NULL: defaults only) into a new struct of
 * schema's.  On any problem prints one line per problem to errs as
 * "FILE:LINE: KEY: reason" and returns NULL; errs NULL: each problem is a
 * log_error line instead (use it on SIGHUP, so JSON logs stay JSON).  A
 * missing file at the default path is not a problem: defaults apply.
 */
void *cfg_load(const struct cfg_schema *schema, const char *path, int path_is_default,
	       FILE *errs) __attribute__((warn_unused_result));
void cfg_free(void *c);

/*
 * Walk a CFG_MAP value: at *p (start with the key's char *) the next pair
 * goes to *name and *value and *p moves past it; false at the end.
 */
bool cfg_map_next(const char **p, const char **name, const char **value);

/*
 * For SIGHUP: warn on errs (NULL: log_warn) about keys that changed but
 * cannot change at run time, and copy their old values into next.
 */
void cfg_keep_static(const struct cfg_schema *schema, const void *old, void *next, FILE *errs);

/* Write the annotated default config (a program's shipped file is checked against it). */
void cfg_write_defaults(const struct cfg_schema *schema, FILE *out);

/* Write the Markdown table of every key (a README is checked against it). */
void cfg_write_markdown(const struct cfg_schema *schema, FILE *out);

#endif
