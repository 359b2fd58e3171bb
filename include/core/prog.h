/*
 * prog.h — what every LEO program's main() shares: the command line of
 * SPEC section 6, loading the config and reloading it on SIGHUP, the loop
 * and its signals, the stats thread (a libevent base of its own serving
 * HTTP and the watchdog while the loop thread is busy) and the watchdog.
 *
 * main() calls prog_args, then prog_config and prog_loop_init; the stats
 * thread is started once its base has its events and stopped before
 * anything it serves is freed; prog_end comes last.
 */
#ifndef LEO_PROG_H
#define LEO_PROG_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
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

/* Run it on its own thread; 0 or -1 (logged). */
int prog_stats_start(struct prog_stats *s) __attribute__((warn_unused_result));
/* Stop and join the thread (if started); the base stays until prog_end. */
void prog_stats_stop(struct prog_stats *s);

/* What a program's main() does with each sd_notify answer: systemd is
 * told, not asked, so a lost datagram is worth a debug line only. */
void prog_notified(int rc, const char *what);

/* What prog.c needs to know of a program's config and its running parts. */
struct prog_ops {
	const struct cfg_schema *schema;	/* its keys, for SIGHUP's cfg_keep_static */
	/* cfg_load with the schema and the program's own checks; NULL on errors. */
	void *(*load)(const char *path, int path_is_default, FILE *errs);
	size_t log_off;				/* offsetof(the config, log) */
	/* Loop, on SIGHUP with a good file: hand next's values to the running
	 * parts (arg is prog_loop_init's); the old config is freed after. */
	void (*apply)(void *arg, const void *next);
	const char *reloaded;			/* STATUS= after a reload; NULL: none */
};

/*
 * What every program's main() holds: its command line, config, loop and
 * stats thread, the signals and the watchdog.  The fields are the loop
 * thread's unless they say otherwise.
 */
struct prog {
	struct prog_args args;
	const struct prog_ops *ops;
	void *arg;			/* the program's, for its callbacks */
	void *cfg;			/* the running config: SIGHUP swaps it whole */
	struct event_base *base;	/* the loop thread's */
	struct prog_stats stats;	/* the stats thread and its base */
	struct event *ev_sig[3];	/* SIGTERM, SIGINT, SIGHUP */
	struct event *ev_beat, *ev_watchdog;
	atomic_uint_fast64_t beats;	/* ev_beat's count */
	atomic_bool stopping;		/* set by main() once the loop has ended, or sooner */
	atomic_bool ready;		/* what /readyz answers */
	uint64_t wd_beats;		/* stats thread: beats at the last check */
};

/*
 * After prog_args: load the config (its problems on stderr), answer
 * --check-config, set up the log for the loop thread.  Returns -1 to go on
 * with p->cfg, or the exit status: 0 after --check-config, 78 (EX_CONFIG).
 */
int prog_config(struct prog *p) __attribute__((warn_unused_result));

/*
 * The loop thread's event base (libevent usable from every thread, SIGPIPE
 * ignored) with SIGTERM and SIGINT calling stop(arg) and SIGHUP reloading
 * the config (ops->apply(arg, next)), and the stats thread's base.  0, or
 * -1 (logged).
 */
int prog_loop_init(struct prog *p, event_callback_fn stop, void *arg)
	__attribute__((warn_unused_result));

/*
 * The systemd watchdog, if WATCHDOG_USEC asks for one: check(arg) on the
 * stats thread twice a period, and a heartbeat counting p->beats on the
 * loop four times a period unless the program made p->ev_beat its own.
 * 0, or -1 (logged).
 */
int prog_watchdog_start(struct prog *p, event_callback_fn check, void *arg)
	__attribute__((warn_unused_result));
/* The check of a program whose loop never waits on purpose (arg: the
 * prog): alive while the heartbeat moves, or while stopping. */
void prog_on_watchdog(evutil_socket_t fd, short what, void *arg);

/* Stats thread, /readyz (arg: the prog). */
bool prog_is_ready(void *arg);

/* Run the loop until it is broken: 0, or 71 (EX_OSERR, logged). */
int prog_run(struct prog *p) __attribute__((warn_unused_result));

/* main()'s last step, the stats thread stopped and what it served freed:
 * the watchdog's events, both bases, libevent, "stopped", the config. */
void prog_end(struct prog *p);

/* event_free that takes NULL. */
void prog_event_free(struct event *ev);

#endif
