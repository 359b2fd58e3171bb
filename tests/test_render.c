/*
 * test_render.c — a delivery's message (render.c): the built-in texts over
 * a full context and over one whose rule, price and news are gone; a rule's
 * template (subject made one line); a template that fails, with its place;
 * an engine other than jinja2; the cache keyed by version; an http
 * channel's body_template seeing the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver_cfg.h"
#include "render.h"
#include "slurp.h"

static char ctx_path[PATH_MAX];

static struct dclaim claim(int channel, const char *context_json)
{
	struct dclaim c = { .tenant = "11111111-1111-1111-1111-111111111111", .delivery_id = 7,
			    .channel = channel, .attempt = 1, .consent_ok = true };
	char *text = context_json ? NULL : slurp(ctx_path);

	c.idempotency_key = strdup("task-7");
	c.context = cJSON_Parse(context_json ? context_json : text);
	assert_non_null(c.context);
	free(text);
	return c;
}

static void with_template(struct dclaim *c, const char *engine, int version, const char *subject,
			  const char *body)
{
	c->template_id = strdup("22222222-2222-2222-2222-222222222222");
	c->template_version = version;
	c->template_engine = strdup(engine);
	c->subject_template = subject ? strdup(subject) : NULL;
	c->body_template = strdup(body);
}

static void clear(struct dclaim *c)
{
	struct dclaim *heap = malloc(sizeof(*heap));

	*heap = *c;
	dstore_claims_free(heap, 1);
}

static struct render *renderer(struct deliver_cfg **cfg)
{
	char why[256] = "";
	struct render *r;

	*cfg = deliver_cfg_load(NULL, 0, stderr);
	assert_non_null(*cfg);
	r = render_new(*cfg, why, sizeof(why));
	if (!r)
		fail_msg("render_new: %s", why);
	return r;
}

static void test_builtin(void **state)
{
	struct deliver_cfg *cfg;
	struct render *r = renderer(&cfg);
	struct dclaim c = claim(DC_EMAIL, NULL);
	struct rendered m;
	enum deliver_reason why;
	char err[256];

	(void)state;
	assert_int_equal(render_message(r, &c, "lan@example.vn", &m, &why, err, sizeof(err)), 0);
	assert_string_equal(m.subject, "VNM alert: price >= 72500");
	assert_non_null(strstr(m.body, "Công ty Chứng khoán An Bình: VNM is at 72800.5 (2.54%).\n"));
	assert_non_null(strstr(m.body, "Your alert: price >= 72500\n"));
	assert_non_null(strstr(m.body, "News: Vinamilk công bố lợi nhuận quý 3 tăng 12% (VnExpress)\n"));
	assert_null(m.payload);
	rendered_free(&m);
	clear(&c);
	/* a short text on the other channels, no subject */
	c = claim(DC_SMS, NULL);
	assert_int_equal(render_message(r, &c, "+84900000000", &m, &why, err, sizeof(err)), 0);
	assert_null(m.subject);
	assert_string_equal(m.body, "VNM 72800.5: price >= 72500");
	rendered_free(&m);
	clear(&c);
	/* the rule and the price gone: still a message */
	c = claim(DC_EMAIL, "{\"rule\":{},\"tick\":{},\"tenant\":{\"tenant_name\":\"T\"},"
			    "\"profile\":{},\"delivery\":{}}");
	assert_int_equal(render_message(r, &c, "a@b.c", &m, &why, err, sizeof(err)), 0);
	assert_string_equal(m.subject, "LEO alert");
	assert_string_equal(m.body, "T: a symbol.\n");
	rendered_free(&m);
	clear(&c);
	render_free(r);
	deliver_cfg_free(cfg);
}

static void test_rule_template(void **state)
{
	struct deliver_cfg *cfg;
	struct render *r = renderer(&cfg);
	struct dclaim c = claim(DC_EMAIL, NULL);
	struct rendered m;
	enum deliver_reason why;
	char err[256];

	(void)state;
	with_template(&c, "jinja2", 1, "{{ rule.symbol }}\n  moved\r\n", "Hi {{ profile.profile_id }}");
	assert_int_equal(render_message(r, &c, "a@b.c", &m, &why, err, sizeof(err)), 0);
	assert_string_equal(m.subject, "VNM   moved");
	assert_string_equal(m.body, "Hi p-000123");
	rendered_free(&m);
	clear(&c);
	/* the same id and version is the cached compile, even with other text */
	c = claim(DC_EMAIL, NULL);
	with_template(&c, "jinja2", 1, NULL, "changed {{ nope }}");
	assert_int_equal(render_message(r, &c, "a@b.c", &m, &why, err, sizeof(err)), 0);
	assert_string_equal(m.body, "Hi p-000123");
	rendered_free(&m);
	clear(&c);
	/* a new version is compiled: an undefined name fails with its place */
	c = claim(DC_EMAIL, NULL);
	with_template(&c, "jinja2", 2, NULL, "line one\n  {{ tick.prise }}");
	assert_int_equal(render_message(r, &c, "a@b.c", &m, &why, err, sizeof(err)), -1);
	assert_int_equal(why, DR_TEMPLATE);
	assert_non_null(strstr(err, "body 2:"));
	assert_non_null(strstr(err, "prise"));
	assert_null(m.body);
	clear(&c);
	/* a syntax error in the subject */
	c = claim(DC_EMAIL, NULL);
	with_template(&c, "jinja2", 3, "{% if %}", "x");
	assert_int_equal(render_message(r, &c, "a@b.c", &m, &why, err, sizeof(err)), -1);
	assert_int_equal(why, DR_TEMPLATE);
	assert_memory_equal(err, "subject 1:", 10);
	clear(&c);
	/* another engine */
	c = claim(DC_SMS, NULL);
	with_template(&c, "mustache", 1, NULL, "{{x}}");
	assert_int_equal(render_message(r, &c, "+84", &m, &why, err, sizeof(err)), -1);
	assert_int_equal(why, DR_TEMPLATE_ENGINE_UNSUPPORTED);
	assert_non_null(strstr(err, "mustache"));
	clear(&c);
	render_free(r);
	deliver_cfg_free(cfg);
}

/* The config of an http web_push channel whose request body is template. */
static struct deliver_cfg *http_template_cfg(const char *tmpl)
{
	char path[] = "/tmp/leo-render-cfg-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct deliver_cfg *cfg;

	assert_non_null(f);
	fprintf(f, "deliver:\n  channels:\n    web_push:\n      kind: http\n"
		   "      url: \"https://127.0.0.1:1/x\"\n      body: template\n"
		   "      body_template: '%s'\n", tmpl);
	fclose(f);
	cfg = deliver_cfg_load(path, 0, stderr);
	unlink(path);
	assert_non_null(cfg);
	return cfg;
}

static void test_payload(void **state)
{
	struct deliver_cfg *cfg = http_template_cfg(
		"to={{ message.to }}&text={{ message.body }}&key={{ message.idempotency_key }}");
	struct dclaim c = claim(DC_WEB_PUSH, NULL);
	struct rendered m;
	struct render *r;
	enum deliver_reason why;
	char err[256] = "";

	(void)state;
	r = render_new(cfg, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(render_message(r, &c, "sub-1", &m, &why, err, sizeof(err)), 0);
	assert_string_equal(m.payload, "to=sub-1&text=VNM 72800.5: price >= 72500&key=task-7");
	assert_null(cJSON_GetObjectItem(c.context, "message"));	/* the context is left as it was */
	rendered_free(&m);
	clear(&c);
	render_free(r);
	deliver_cfg_free(cfg);
	/* a body_template that does not compile is a start-up error naming the key */
	cfg = http_template_cfg("{{ message.to ");
	assert_null(render_new(cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "deliver.channels.web_push.body_template 1:"));
	deliver_cfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_rule_template),
		cmocka_unit_test(test_payload),
	};
	const char *d = getenv("LEO_TEST_DATA");

	snprintf(ctx_path, sizeof(ctx_path), "%s/tmpl/context.json", d ? d : "tests/data");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
