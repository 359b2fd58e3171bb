/*
 * metrics_text.h — reading the Prometheus exposition in tests: render it
 * to a string, the value of one sample, how often a text occurs.  Test
 * code only (test_metrics, test_alertd_metrics).
 */
#ifndef LEO_TESTS_METRICS_TEXT_H
#define LEO_TESTS_METRICS_TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics.h"

/* The exposition as a NUL-terminated string; the caller frees it. */
static inline char *render(void)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	assert_non_null(b);
	assert_int_equal(metrics_render(b), 0);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	assert_non_null(s);
	assert_int_equal(evbuffer_remove(b, s, n), (int)n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* The value of the sample whose name and labels are exactly series ("name{...}"). */
static inline double value(const char *text, const char *series)
{
	size_t len = strlen(series);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, series, len) == 0 && p[len] == ' ')
			return strtod(p + len + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	fail_msg("no sample %s", series);
	return NAN;
}

static inline int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

#endif
