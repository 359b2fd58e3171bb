/*
 * log.c — levels, text or JSON lines on stderr.
 *
 * Any thread.  A line is formatted into a stack buffer and written with one
 * write(2), so lines from different threads never interleave.  The format
 * and level are set by main before any thread starts and again on SIGHUP
 * while the others log, so both are relaxed atomics.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

_Atomic int log_min_level = LOG_LEVEL_INFO;
static _Atomic int log_fmt = LOG_FORMAT_TEXT;
static _Thread_local char log_thread[16] = "main";

static const char *const log_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level level, enum log_format format)
{
	atomic_store_explicit(&log_min_level, (int)level, memory_order_relaxed);
	atomic_store_explicit(&log_fmt, (int)format, memory_order_relaxed);
}

void log_thread_name(const char *name)
{
	snprintf(log_thread, sizeof(log_thread), "%s", name);
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Append s to buf[*n..cap) as the inside of a JSON string. */
static void log_json_escape(char *buf, size_t *n, size_t cap, const char *s)
{
	for (; *s && *n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[(*n)++] = '\\';
			buf[(*n)++] = (char)c;
		} else if (c < 0x20) {
			*n += (size_t)snprintf(buf + *n, cap - *n, "\\u%04x", c);
		} else {
			buf[(*n)++] = (char)c;
		}
	}
}

void log_write(enum log_level level, const char *fmt, ...)
{
	char msg[2048], line[4608], ts[40];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t n;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));

	if (atomic_load_explicit(&log_fmt, memory_order_relaxed) == LOG_FORMAT_JSON) {
		n = (size_t)snprintf(line, sizeof(line),
				     "{\"ts\":\"%s\",\"level\":\"%s\",\"thread\":\"", ts,
				     log_names[level]);
		log_json_escape(line, &n, sizeof(line), log_thread);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"msg\":\"");
		log_json_escape(line, &n, sizeof(line), msg);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
	} else {
		n = (size_t)snprintf(line, sizeof(line), "%s %s [%s] %s\n", ts,
				     log_names[level], log_thread, msg);
	}
	if (n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved;
}
