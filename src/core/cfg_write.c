/*
 * cfg_write.c — what a schema writes about itself: the program's annotated
 * default config file (cfg_write_defaults, nested sections indented under
 * their parents) and the README's key table (cfg_write_markdown).  Both
 * from the key tables alone, so the shipped file and the README cannot
 * drift from what loading accepts (tests compare them).  Any thread; no
 * state.
 */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cfg_int.h"

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
	case CFG_MAP:
		fprintf(out, "a mapping of name: text%s%s", k->check ? ", names " : "",
			k->check ? k->check_why : "");
		break;
	}
}

/* One key of cfg_write_defaults, indented by ind spaces: help, values, then
 * the key and its default. */
static void cfg_write_default(FILE *out, const struct cfg_key *k, const char *def, int ind)
{
	fprintf(out, "%*s# %s.\n%*s# ", ind, "", k->help, ind, "");
	cfg_write_range(out, k, " | ");
	fprintf(out, "; %s\n%*s%s: ", k->reload ? "reload" : "restart", ind, "", k->key);
	if (k->type == CFG_STR)
		cfg_write_quoted(out, def);
	else if (k->type == CFG_MAP)
		fputs("{}", out);
	else
		fputs(def, out);
	fputc('\n', out);
}

/*
 * The heads of section name after section prev (NULL: none): the dotted
 * components they do not share, each nested under the last.  Returns the
 * depth of name.  Sections that share a prefix are contiguous in a schema.
 */
static int cfg_write_head(FILE *out, const char *prev, const char *name)
{
	int depth = 0, shared = 0;
	const char *p = name, *q = prev;

	/* components of name also leading prev */
	while (q) {
		size_t n = strcspn(p, "."), m = strcspn(q, ".");

		if (n != m || strncmp(p, q, n) != 0 || !p[n])
			break;
		shared++;
		p += n + 1;
		q = q[m] ? q + m + 1 : NULL;
	}
	for (p = name; *p; depth++) {
		size_t n = strcspn(p, ".");

		if (depth >= shared)
			fprintf(out, "\n%*s%.*s:\n", 2 * depth, "", (int)n, p);
		p += n + (p[n] == '.');
	}
	return depth;
}

void cfg_write_defaults(const struct cfg_schema *schema, FILE *out)
{
	fprintf(out, "# %s configuration (YAML).\n"
		     "#\n"
		     "# Every key with its default.  Keys left out keep their default; unknown\n"
		     "# keys are errors.  \"reload\" keys change on SIGHUP, the others need a\n"
		     "# restart.  Check a file with: %s --check-config --config FILE\n",
		schema->program, schema->program);
	struct cfg_tab t;
	size_t i = 0;

	if (cfg_tab(schema, &t) < 0)
		return;
	for (size_t p = 0; p < schema->nparts; p++) {
		const struct cfg_section *sec = schema->parts[p].section;
		int depth = cfg_write_head(out, p ? schema->parts[p - 1].section->name : NULL,
					   sec->name);

		for (size_t j = 0; j < sec->nkeys; j++, i++) {
			if (j)
				fputc('\n', out);
			cfg_write_default(out, &sec->keys[j], t.ref[i].def, 2 * depth);
		}
	}
}

void cfg_write_markdown(const struct cfg_schema *schema, FILE *out)
{
	struct cfg_tab t;

	if (cfg_tab(schema, &t) < 0)
		return;
	fprintf(out, "| key | default | values | on SIGHUP | meaning |\n"
		     "| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < t.n; i++) {
		const struct cfg_key *k = t.ref[i].k;

		fprintf(out, "| `%s` | ", t.ref[i].key);
		if (k->type == CFG_STR)
			fprintf(out, "`\"%s\"`", t.ref[i].def);
		else if (k->type == CFG_MAP)
			fputs("`{}`", out);
		else
			fprintf(out, "`%s`", t.ref[i].def);
		fputs(" | ", out);
		cfg_write_range(out, k, ", ");
		fprintf(out, " | %s | %s |\n", k->reload ? "reloaded" : "restart needed", k->help);
	}
}
