/*
 * cfg_int.h — the flattened schema, shared by cfg.c (loading) and
 * cfg_write.c (the written config file and README table).  Private to the
 * config machinery.
 */
#ifndef LEO_CFG_INT_H
#define LEO_CFG_INT_H

#include <stddef.h>

#include "cfg.h"

#define CFG_KEY_MAX 128		/* a dotted key name, with the NUL */

/* The schema flattened: key i, its dotted name and its offset in the config. */
struct cfg_tab {
	const struct cfg_schema *schema;
	size_t n;
	struct cfg_ref {
		const struct cfg_key *k;
		char key[CFG_KEY_MAX];
		size_t off;
		const char *def;	/* k->def, or the schema's override */
	} ref[CFG_MAX_KEYS];
};

/* Flatten schema into t; -1 when it has too many keys or too long names. */
int cfg_tab(const struct cfg_schema *schema, struct cfg_tab *t) __attribute__((warn_unused_result));

#endif
