/* test_sbuf.c — the growing string: printf and byte appends across growth,
 * "" after an empty append, and out of memory: it sticks, later appends do
 * nothing, and what is there stays a NUL-terminated prefix.  realloc is
 * wrapped (tests/CMakeLists.txt: --wrap=realloc) to fail on demand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int reallocs, fail_at = -1;	/* the realloc that fails (0: the next) */

void *__wrap_realloc(void *p, size_t n)
{
	if (fail_at >= 0 && fail_at-- == 0)
		return NULL;
	reallocs++;
	return __real_realloc(p, n);
}

static void test_add_grows(void **state)
{
	struct sbuf b = { 0 };
	char want[4096] = "";
	(void)state;
	assert_null(b.s);
	for (int i = 0; i < 500; i++) {
		char item[16];

		snprintf(item, sizeof(item), "%s%d", i ? "," : "{", i);
		strcat(want, item);
		sbuf_add(&b, "%s%d", i ? "," : "{", i);
	}
	sbuf_put(&b, "}", 1);
	strcat(want, "}");
	assert_false(b.oom);
	assert_string_equal(b.s, want);
	assert_int_equal(b.len, strlen(want));
	assert_true(b.cap > b.len);
	sbuf_free(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
}

static void test_put_bytes(void **state)
{
	struct sbuf b = { 0 };
	char big[1000];
	(void)state;
	sbuf_put(&b, "", 0);
	assert_non_null(b.s);	/* an empty document is "", not NULL */
	assert_string_equal(b.s, "");
	sbuf_put(&b, "ab\"cd", 3);	/* n bytes, not up to a NUL */
	assert_string_equal(b.s, "ab\"");
	memset(big, 'x', sizeof(big));
	sbuf_put(&b, big, sizeof(big));
	assert_int_equal(b.len, 3 + sizeof(big));
	assert_int_equal(b.s[b.len], '\0');
	assert_memory_equal(b.s + 3, big, sizeof(big));
	sbuf_add(&b, "%s", "");
	assert_int_equal(b.len, 3 + sizeof(big));
	sbuf_free(&b);
}

static void test_oom_sticks(void **state)
{
	struct sbuf b = { 0 };
	char big[300];
	(void)state;
	sbuf_add(&b, "{%d", 1);
	memset(big, 'y', sizeof(big));
	fail_at = 0;
	sbuf_put(&b, big, sizeof(big));	/* needs more than the first 256 bytes */
	assert_true(b.oom);
	assert_string_equal(b.s, "{1");
	reallocs = 0;
	sbuf_add(&b, ",%d", 2);	/* room enough, but oom sticks */
	sbuf_put(&b, "}", 1);
	assert_int_equal(reallocs, 0);
	assert_string_equal(b.s, "{1");
	assert_int_equal(b.len, 2);
	sbuf_free(&b);
	assert_false(b.oom);	/* and starts again */
	sbuf_add(&b, "%s", "ok");
	assert_string_equal(b.s, "ok");
	sbuf_free(&b);
}

static void test_oom_first(void **state)
{
	struct sbuf b = { 0 };
	(void)state;
	fail_at = 0;
	sbuf_add(&b, "%d", 7);
	assert_true(b.oom);
	assert_null(b.s);
	sbuf_put(&b, "", 0);
	assert_null(b.s);
	sbuf_free(&b);

	fail_at = 0;
	sbuf_put(&b, "x", (size_t)-1 / 2);	/* a length no buffer can hold: no realloc */
	assert_int_equal(fail_at, 0);
	assert_true(b.oom);
	fail_at = -1;
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_grows),
		cmocka_unit_test(test_put_bytes),
		cmocka_unit_test(test_oom_sticks),
		cmocka_unit_test(test_oom_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
