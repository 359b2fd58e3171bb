/*
 * log.h — one line per event on stderr, as text or JSON lines.
 *
 * Thread-safe: each line is formatted into a local buffer and written with
 * one write(2).  The macros test the level before formatting anything.
 */
#ifndef LEO_LOG_H
#define LEO_LOG_H

#include <stdatomic.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Set by main at start and on SIGHUP while other threads log: atomic, relaxed
 * (a line logged at the old level just after a reload is harmless). */
extern _Atomic int log_min_level;

void log_setup(enum log_level level, enum log_format format);
/* Name the calling thread in its log lines ("loop", "worker-0", ...). */
void log_thread_name(const char *name);
int log_level_parse(const char *s, enum log_level *out);
void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                                   \
	do {                                               \
		if ((int)(lvl) >= atomic_load_explicit(     \
			    &log_min_level, memory_order_relaxed)) \
			log_write((lvl), __VA_ARGS__);     \
	} while (0)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
