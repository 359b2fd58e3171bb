/*
 * document.c — the text of a profile or a news row, as document.h shows
 * it.  A growing buffer; values are cleaned as they are appended (control
 * characters to spaces, runs of spaces to one, trimmed).  Pure; any thread.
 */
#include "document.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct doc_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void doc_put(struct doc_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *q;

		while (b->len + n + 1 > cap)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void doc_lit(struct doc_buf *b, const char *s)
{
	doc_put(b, s, strlen(s));
}

/* A value on one line: bytes below 0x20 and DEL become spaces, a run of
 * spaces one, none at either end.  UTF-8 passes through untouched. */
static void doc_value(struct doc_buf *b, const char *s)
{
	bool gap = false, any = false;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			gap = true;
			continue;
		}
		if (gap && any)
			doc_put(b, " ", 1);
		gap = false;
		any = true;
		doc_put(b, s, 1);
	}
}

/* The string items of a json array, as leo_enrich_fields lists them. */
static bool doc_has_strings(const cJSON *a)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e) && e->valuestring[0])
			return true;
	return false;
}

static void doc_list(struct doc_buf *b, const cJSON *fields, const char *key, const char *label,
		     const char *sep)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(fields, key), *e;
	bool first = true;

	if (!cJSON_IsArray(a) || !doc_has_strings(a))
		return;
	doc_lit(b, label);
	doc_lit(b, ": ");
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || !e->valuestring[0])
			continue;
		if (!first)
			doc_lit(b, sep);
		first = false;
		doc_value(b, e->valuestring);
	}
	doc_lit(b, "\n");
}

/* "VIEW" -> "view": the event and entity words are ASCII upper case. */
static void doc_lower(struct doc_buf *b, const char *s)
{
	for (; *s; s++) {
		char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;

		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = ' ';
		doc_put(b, &c, 1);
	}
}

static void doc_events(struct doc_buf *b, const cJSON *fields, int max_events)
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

static char *doc_done(struct doc_buf *b)
{
	if (!b->oom && !b->p)
		doc_put(b, "", 0);
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

char *document_profile(const cJSON *fields, int max_events)
{
	struct doc_buf b = { 0 };
	const cJSON *loc = cJSON_GetObjectItemCaseSensitive(fields, "location");

	doc_list(&b, fields, "job_titles", "job titles", "; ");
	doc_list(&b, fields, "segments", "segments", "; ");
	if (cJSON_IsString(loc) && loc->valuestring[0]) {
		doc_lit(&b, "location: ");
		doc_value(&b, loc->valuestring);
		doc_lit(&b, "\n");
	}
	doc_list(&b, fields, "symbols", "symbols", ", ");
	doc_events(&b, fields, max_events);
	return doc_done(&b);
}

char *document_news(const char *headline, const char *body)
{
	struct doc_buf b = { 0 };

	doc_value(&b, headline ? headline : "");
	doc_lit(&b, "\n");
	if (body && body[0]) {
		doc_lit(&b, "\n");
		doc_value(&b, body);
		doc_lit(&b, "\n");
	}
	return doc_done(&b);
}
