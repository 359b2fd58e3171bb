/*
 * document.c — the text of a profile or a news row, as document.h shows
 * it.  A growing string (sbuf.h); values are cleaned as they are appended
 * (control characters to spaces, runs of spaces to one, trimmed).  Pure;
 * any thread (the item lists are per thread).
 */
#include "document.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

static void doc_lit(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

/* A value on one line: bytes below 0x20 and DEL become spaces, a run of
 * spaces one, none at either end.  UTF-8 passes through untouched. */
static void doc_value(struct sbuf *b, const char *s)
{
	bool gap = false, any = false;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			gap = true;
			continue;
		}
		if (gap && any)
			sbuf_put(b, " ", 1);
		gap = false;
		any = true;
		sbuf_put(b, s, 1);
	}
}

/* Whether s has anything but blanks and control characters. */
static bool doc_blank(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s > 0x20 && *s != 0x7f)
			return false;
	return true;
}

/* The strings of a profile field: a string is itself; an array gives its
 * strings and numbers and the "name", "title" or "symbol" of its objects;
 * anything else nothing.  Blank ones dropped, order kept.  Up to max into
 * out (pointers into j, or into nums for numbers); the count. */
#define DOC_MAX_ITEMS 256
#define DOC_NUM_LEN 32
static size_t doc_strings(const cJSON *j, const char **out, char (*nums)[DOC_NUM_LEN])
{
	const cJSON *e;
	size_t n = 0;

	if (cJSON_IsString(j)) {
		if (!doc_blank(j->valuestring))
			out[n++] = j->valuestring;
		return n;
	}
	if (!cJSON_IsArray(j))
		return 0;
	cJSON_ArrayForEach(e, j) {
		const char *v = NULL;

		if (n >= DOC_MAX_ITEMS)
			break;
		if (cJSON_IsString(e)) {
			v = e->valuestring;
		} else if (cJSON_IsNumber(e)) {
			snprintf(nums[n], DOC_NUM_LEN, "%.15g", e->valuedouble);
			v = nums[n];
		} else if (cJSON_IsObject(e)) {
			const char *k[] = { "name", "title", "symbol" };

			for (size_t i = 0; i < 3 && !v; i++) {
				const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, k[i]);

				if (cJSON_IsString(x))
					v = x->valuestring;
			}
		}
		if (v && !doc_blank(v))
			out[n++] = v;
	}
	return n;
}

static void doc_items(struct sbuf *b, const char *label, const char **v, size_t n,
		      const char *sep)
{
	if (n == 0)
		return;
	doc_lit(b, label);
	doc_lit(b, ": ");
	for (size_t i = 0; i < n; i++) {
		if (i)
			doc_lit(b, sep);
		doc_value(b, v[i]);
	}
	doc_lit(b, "\n");
}

static void doc_list(struct sbuf *b, const cJSON *fields, const char *key, const char *label,
		     const char *sep)
{
	static __thread const char *v[DOC_MAX_ITEMS];
	static __thread char nums[DOC_MAX_ITEMS][DOC_NUM_LEN];

	doc_items(b, label, v,
		  doc_strings(cJSON_GetObjectItemCaseSensitive(fields, key), v, nums), sep);
}

static int doc_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The symbols of a portfolio ("Cash, Positions"): the strings of its
 * "positions" (or "holdings") array, or the keys when that is an object of
 * symbol -> holding.  Sorted (bytes), each once. */
static void doc_symbols(struct sbuf *b, const cJSON *fields)
{
	static __thread const char *v[DOC_MAX_ITEMS];
	static __thread char nums[DOC_MAX_ITEMS][DOC_NUM_LEN];
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(fields, "portfolio"), *pos, *e;
	size_t n = 0, m = 0;

	if (!cJSON_IsObject(p))
		return;
	pos = cJSON_GetObjectItemCaseSensitive(p, "positions");
	if (!pos)
		pos = cJSON_GetObjectItemCaseSensitive(p, "holdings");
	if (cJSON_IsArray(pos)) {
		n = doc_strings(pos, v, nums);
	} else if (cJSON_IsObject(pos)) {
		cJSON_ArrayForEach(e, pos)
			if (n < DOC_MAX_ITEMS && e->string && !doc_blank(e->string))
				v[n++] = e->string;
	}
	qsort(v, n, sizeof(v[0]), doc_cmp);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || strcmp(v[m - 1], v[i]) != 0)
			v[m++] = v[i];
	doc_items(b, "symbols", v, m, ", ");
}

/* "VIEW" -> "view": the event and entity words are ASCII upper case. */
static void doc_lower(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;

		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		sbuf_put(b, &c, 1);
	}
}

static void doc_events(struct sbuf *b, const cJSON *fields, int max_events)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(fields, "events"), *e;
	int n = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0 || max_events <= 0)
		return;
	doc_lit(b, "events:\n");
	cJSON_ArrayForEach(e, a) {
		const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type");
		const cJSON *en = cJSON_GetObjectItemCaseSensitive(e, "entity");
		const cJSON *tx = cJSON_GetObjectItemCaseSensitive(e, "text");

		if (n++ >= max_events)
			break;
		doc_lower(b, cJSON_IsString(ty) ? ty->valuestring : "event");
		doc_lit(b, " ");
		doc_lower(b, cJSON_IsString(en) ? en->valuestring : "entity");
		if (cJSON_IsString(tx) && tx->valuestring[0]) {
			doc_lit(b, ": ");
			doc_value(b, tx->valuestring);
		}
		doc_lit(b, "\n");
	}
}

/* The document, "" when empty; NULL when out of memory. */
static char *doc_done(struct sbuf *b)
{
	sbuf_put(b, "", 0);
	if (b->oom) {
		sbuf_free(b);
		return NULL;
	}
	return b->s;
}

char *document_profile(const cJSON *fields, int max_events)
{
	struct sbuf b = { 0 };
	const cJSON *loc = cJSON_GetObjectItemCaseSensitive(fields, "location");

	doc_list(&b, fields, "job_titles", "job titles", "; ");
	doc_list(&b, fields, "segments", "segments", "; ");
	if (cJSON_IsString(loc) && loc->valuestring[0]) {
		doc_lit(&b, "location: ");
		doc_value(&b, loc->valuestring);
		doc_lit(&b, "\n");
	}
	doc_symbols(&b, fields);
	doc_events(&b, fields, max_events);
	return doc_done(&b);
}

char *document_news(const char *headline, const char *body)
{
	struct sbuf b = { 0 };

	doc_value(&b, headline ? headline : "");
	doc_lit(&b, "\n");
	if (body && body[0]) {
		doc_lit(&b, "\n");
		doc_value(&b, body);
		doc_lit(&b, "\n");
	}
	return doc_done(&b);
}
