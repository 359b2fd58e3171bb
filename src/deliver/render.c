/*
 * render.c — a delivery's message from its template or the built-in text
 * (render.h).  Loop thread.
 *
 * The built-in texts are templates themselves, compiled at start-up, so a
 * rule without a template and a rule with one take the same road.  A
 * tenant's templates are compiled on first use and kept by (tenant,
 * template id, version) — a new version is a new entry, an old one ages
 * out — and a template that does not compile is kept too, with its error,
 * so it costs one compile, not one per delivery.
 */
#include "render.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver_cfg.h"
#include "tmpl.h"

#define RENDER_CACHE 256

/* The built-in texts.  Every name is guarded: a delivery whose rule or
 * price is gone still gets a message. */
static const char render_builtin_subject[] =
	"{{ tick.symbol | default(rule.symbol | default('LEO')) }} alert"
	"{% if rule.condition is defined %}: {{ rule.condition }}{% endif %}";
static const char render_builtin_long[] =
	"{{ tenant.tenant_name | default('LEO') }}: "
	"{{ tick.symbol | default(rule.symbol | default('a symbol')) }}"
	"{% if tick.price is defined %} is at {{ tick.price }}"
	"{% if tick.change_percent is defined %} ({{ tick.change_percent | round(2) }}%){% endif %}"
	"{% endif %}.\n"
	"{% if rule.condition is defined %}Your alert: {{ rule.condition }}\n{% endif %}"
	"{% if news is defined %}News: {{ news.headline }}"
	"{% if news.source is defined %} ({{ news.source }}){% endif %}\n{% endif %}"
	"{% if summary is defined %}{{ summary }}\n{% endif %}";
static const char render_builtin_short[] =
	"{{ tick.symbol | default(rule.symbol | default('LEO')) }}"
	"{% if tick.price is defined %} {{ tick.price }}{% endif %}"
	"{% if rule.condition is defined %}: {{ rule.condition }}{% endif %}";

struct render_entry {
	char key[TENANT_ID_SIZE + 64];	/* tenant/template_id/version; "" free */
	struct tmpl *subject, *body;	/* subject NULL: none (or the error's) */
	char error[240];		/* "" when both compiled */
	unsigned long used;
};

struct render {
	struct tmpl *subject, *long_body, *short_body;
	struct tmpl *payload[DC_COUNT];	/* http, body: template */
	struct render_entry cache[RENDER_CACHE];
	unsigned long clock;
};

static struct tmpl *render_compile(const char *what, const char *src, char *why, size_t cap)
{
	struct tmpl_err e = { 0 };
	struct tmpl *t = tmpl_compile(src, strlen(src), &e);

	if (!t)
		snprintf(why, cap, "%s %d:%d: %s", what, e.line, e.col, e.msg);
	return t;
}

struct render *render_new(const struct deliver_cfg *cfg, char *why, size_t cap)
{
	struct render *r = calloc(1, sizeof(*r));
	char what[64];

	if (!r) {
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	if (!(r->subject = render_compile("built-in subject", render_builtin_subject, why, cap)) ||
	    !(r->long_body = render_compile("built-in text", render_builtin_long, why, cap)) ||
	    !(r->short_body = render_compile("built-in text", render_builtin_short, why, cap)))
		goto fail;
	for (int c = 0; c < DC_COUNT; c++) {
		const struct deliver_channel *ch = &cfg->channel[c];

		if (ch->kind != DK_HTTP || ch->body != DB_TEMPLATE)
			continue;
		snprintf(what, sizeof(what), "deliver.channels.%s.body_template",
			 deliver_channel_names[c]);
		if (!(r->payload[c] = render_compile(what, ch->body_template, why, cap)))
			goto fail;
	}
	return r;
fail:
	render_free(r);
	return NULL;
}

static void render_entry_clear(struct render_entry *e)
{
	tmpl_free(e->subject);
	tmpl_free(e->body);
	memset(e, 0, sizeof(*e));
}

void render_free(struct render *r)
{
	if (!r)
		return;
	tmpl_free(r->subject);
	tmpl_free(r->long_body);
	tmpl_free(r->short_body);
	for (int c = 0; c < DC_COUNT; c++)
		tmpl_free(r->payload[c]);
	for (int i = 0; i < RENDER_CACHE; i++)
		render_entry_clear(&r->cache[i]);
	free(r);
}

/* The compiled template of c, from the cache or compiled now into it. */
static struct render_entry *render_lookup(struct render *r, const struct dclaim *c)
{
	struct render_entry *e, *victim = &r->cache[0];
	char key[sizeof(e->key)];

	snprintf(key, sizeof(key), "%s/%s/%d", c->tenant, c->template_id, c->template_version);
	for (int i = 0; i < RENDER_CACHE; i++) {
		e = &r->cache[i];
		if (!strcmp(e->key, key)) {
			e->used = ++r->clock;
			return e;
		}
		if (e->used < victim->used)
			victim = e;
	}
	e = victim;
	render_entry_clear(e);
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->used = ++r->clock;
	if (c->subject_template && c->subject_template[0])
		e->subject = render_compile("subject", c->subject_template, e->error,
					    sizeof(e->error));
	if (!e->error[0])
		e->body = render_compile("body", c->body_template ? c->body_template : "",
					 e->error, sizeof(e->error));
	return e;
}

static int render_one(const struct tmpl *t, const char *what, const cJSON *ctx, char **out,
		      char *why, size_t cap)
{
	struct tmpl_err e = { 0 };
	size_t len;

	if (!tmpl_render(t, ctx, out, &len, &e))
		return 0;
	snprintf(why, cap, "%s %d:%d: %s", what, e.line, e.col, e.msg);
	return -1;
}

/* A subject is one header line: line ends and tabs become spaces, and the
 * ends are trimmed. */
static void render_one_line(char *s)
{
	char *w = s, *p;

	for (p = s; *p; p++)
		*p = *p == '\r' || *p == '\n' || *p == '\t' ? ' ' : *p;
	for (p = s; *p == ' '; p++)
		;
	while (*p)
		*w++ = *p++;
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

/* The http request body of `body: template`: the context and the message. */
static int render_payload(struct render *r, const struct dclaim *c, const char *to,
			  struct rendered *out, char *why, size_t cap)
{
	cJSON *msg = cJSON_CreateObject();
	int rc;

	if (!msg || !cJSON_AddStringToObject(msg, "to", to) ||
	    !cJSON_AddStringToObject(msg, "body", out->body) ||
	    !cJSON_AddStringToObject(msg, "idempotency_key", c->idempotency_key) ||
	    (out->subject && !cJSON_AddStringToObject(msg, "subject", out->subject)) ||
	    !cJSON_AddItemToObject(c->context, "message", msg)) {
		cJSON_Delete(msg);
		snprintf(why, cap, "out of memory");
		return -1;
	}
	rc = render_one(r->payload[c->channel], "body_template", c->context, &out->payload, why,
			cap);
	cJSON_Delete(cJSON_DetachItemFromObject(c->context, "message"));
	return rc;
}

int render_message(struct render *r, const struct dclaim *c, const char *to,
		   struct rendered *out, enum deliver_reason *reason, char *why, size_t cap)
{
	const struct tmpl *subject = r->subject, *body;
	struct render_entry *e;

	memset(out, 0, sizeof(*out));
	*reason = DR_TEMPLATE;
	body = c->channel == DC_EMAIL ? r->long_body : r->short_body;
	if (c->template_id) {
		if (!c->template_engine || strcmp(c->template_engine, "jinja2")) {
			*reason = DR_TEMPLATE_ENGINE_UNSUPPORTED;
			snprintf(why, cap, "template_engine '%s' is not supported (jinja2 is)",
				 c->template_engine ? c->template_engine : "");
			return -1;
		}
		e = render_lookup(r, c);
		if (e->error[0]) {
			snprintf(why, cap, "%s", e->error);
			return -1;
		}
		body = e->body;
		if (e->subject)
			subject = e->subject;
	}
	if ((c->channel == DC_EMAIL &&
	     render_one(subject, "subject", c->context, &out->subject, why, cap)) ||
	    render_one(body, "body", c->context, &out->body, why, cap))
		goto fail;
	if (out->subject)
		render_one_line(out->subject);
	if (r->payload[c->channel] && render_payload(r, c, to, out, why, cap))
		goto fail;
	return 0;
fail:
	rendered_free(out);
	return -1;
}

void rendered_free(struct rendered *m)
{
	free(m->subject);
	free(m->body);
	free(m->payload);
	memset(m, 0, sizeof(*m));
}
