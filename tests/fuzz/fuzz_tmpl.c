/*
 * fuzz_tmpl.c — the template compiler (tmpl_compile) on arbitrary bytes.
 *
 * Whatever compiles is also rendered over a small fixed context holding
 * every kind of value, so the renderer and the filters walk every tree the
 * compiler can build.  Invariants checked beside the sanitizers: a failure
 * always says where (line and column from 1) and why, in a NUL-terminated
 * message; an output is NUL-terminated and within TMPL_OUT_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tmpl.h"

static const char context[] =
	"{\"profile\":{\"profile_id\":\"p1\",\"living_location\":\"Đà Nẵng\","
	"\"job_titles\":[\"kỹ sư\",\"nhà đầu tư\"],\"segments\":[\"vip\",\"retail\"]},"
	"\"rule\":{\"rule_id\":\"r1\",\"symbol\":\"VNM\",\"trigger_count\":3},"
	"\"tick\":{\"symbol\":\"VNM\",\"price\":72800.5,\"previous_price\":71000,"
	"\"change_percent\":-2.5},\"summary\":\"  tóm tắt  \",\"nothing\":null,\"flag\":true,"
	"\"zero\":0,\"big\":1e300,\"list\":[1,2.5,\"x\",null,true,[1],{\"a\":1}],"
	"\"ten\":[0,1,2,3,4,5,6,7,8,9]}";

static void fuzz_tmpl_check(const struct tmpl_err *err)
{
	if (err->line < 1 || err->col < 1 || !memchr(err->msg, '\0', sizeof(err->msg)) ||
	    err->msg[0] == '\0')
		abort();	/* a failure must say where and why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cJSON *ctx;
	struct tmpl_err err;
	struct tmpl *t;
	char *out;
	size_t len;

	if (!ctx) {
		ctx = cJSON_Parse(context);
		if (!ctx)
			abort();
	}
	memset(&err, 'x', sizeof(err));
	t = tmpl_compile((const char *)data, size, &err);
	if (!t) {
		fuzz_tmpl_check(&err);
		return 0;
	}
	memset(&err, 'x', sizeof(err));
	if (tmpl_render(t, ctx, &out, &len, &err) == 0) {
		if (len > TMPL_OUT_MAX || out[len] != '\0')
			abort();
		free(out);
	} else {
		fuzz_tmpl_check(&err);
	}
	tmpl_free(t);
	return 0;
}
