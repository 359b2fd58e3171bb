/*
 * prog.h — what every LEO program's main() shares: the command line of
 * SPEC section 6 and the stats thread (a libevent base of its own serving
 * HTTP and the watchdog while the loop thread is busy).
 *
 * main() calls prog_args first; the stats thread is started once its base
 * has its events and stopped before anything it serves is freed.
 */
#ifndef LEO_PROG_H
#define LEO_PROG_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>

#include "log.h"

struct prog_args {
	/* in */
	const char *name;		/* "leo-deliver" */
	const char *default_config;
	bool check_template_option;	/* accept --check-template FILE */
	/* out */
	const char *config_path;
	bool path_is_default;
	bool check_config;
	const char *check_template;	/* NULL unless given */
	bool log_level_forced;
	enum log_level log_level;
};

/*
 * Parse argv into a.  Returns -1 to go on, or the exit status to return at
 * once: 0 after --version or --help (printed), 64 (EX_USAGE) after a usage
 * error (usage on stderr).
 */
int prog_args(struct prog_args *a, int argc, char **argv) __attribute__((warn_unused_result));

/* The stats thread: its own event base, run by prog_stats_start. */
struct prog_stats {
	struct event_base *base;
	struct event *ev_stop;
	pthread_t thread;
	bool on;
};

/* Create the stats base (before its events are added); 0 or -1. */
int prog_stats_init(struct prog_stats *s) __attribute__((warn_unused_result));
/* Run it on its own thread; 0 or -1 (logged). */
int prog_stats_start(struct prog_stats *s) __attribute__((warn_unused_result));
/* Stop and join the thread (if started); the base stays until prog_stats_free. */
void prog_stats_stop(struct prog_stats *s);
void prog_stats_free(struct prog_stats *s);

/* What a program's main() does with each sd_notify answer: systemd is
 * told, not asked, so a lost datagram is worth a debug line only. */
void prog_notified(int rc, const char *what);

/*
 * The loop thread's event base (libevent usable from every thread, SIGPIPE
 * ignored) with SIGTERM and SIGINT calling stop(arg) and SIGHUP calling
 * hup(arg), and the stats thread's base (prog_stats_init).  0, or -1
 * (logged).  prog_loop_free frees the signal events and the base; the stats
 * base stays prog_stats_free's.
 */
int prog_loop_init(struct event_base **base, struct event *sig[3], struct prog_stats *stats,
		   event_callback_fn stop, event_callback_fn hup, void *arg)
	__attribute__((warn_unused_result));
void prog_loop_free(struct event_base *base, struct event *sig[3]);

/* event_free that takes NULL. */
void prog_event_free(struct event *ev);

#endif
