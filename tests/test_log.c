/* test_log.c — log levels parse, and JSON lines stay valid JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void test_level_parse(void **state)
{
	enum log_level l;
	(void)state;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOG_LEVEL_ERROR);
	assert_int_equal(log_level_parse("verbose", &l), -1);
}

/* Capture what one log call writes to stderr. */
static void capture(char *out, size_t cap, enum log_level lvl, const char *msg)
{
	int fds[2], saved = dup(STDERR_FILENO);
	ssize_t n;
	assert_int_equal(pipe(fds), 0);
	dup2(fds[1], STDERR_FILENO);
	log_at(lvl, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, cap - 1);
	close(fds[0]);
	out[n < 0 ? 0 : n] = '\0';
}

static void test_json_line(void **state)
{
	char buf[8192];
	cJSON *j;
	(void)state;
	log_setup(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	capture(buf, sizeof(buf), LOG_LEVEL_WARN, "quote \" backslash \\ tab \t nl \n end");
	j = cJSON_Parse(buf);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "warn");
	assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring,
			    "quote \" backslash \\ tab \t nl \n end");
	cJSON_Delete(j);
}

static void test_level_filter(void **state)
{
	char buf[256];
	(void)state;
	log_setup(LOG_LEVEL_WARN, LOG_FORMAT_TEXT);
	capture(buf, sizeof(buf), LOG_LEVEL_INFO, "hidden");
	assert_string_equal(buf, "");
	capture(buf, sizeof(buf), LOG_LEVEL_ERROR, "shown");
	assert_non_null(strstr(buf, " error [main] shown\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_json_line),
		cmocka_unit_test(test_level_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
