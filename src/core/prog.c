/*
 * prog.c — what every LEO program's main() shares: the command line (SPEC
 * section 6), the config and its reload, the loop and its signals, the
 * stats thread and the watchdog.
 *
 * prog_args runs on the main thread before anything else; SIGHUP's reload
 * runs on the loop, which owns the running config; the stats thread
 * runs only its own event base, stopped through an event of that base (an
 * event_base_loopbreak() from outside is lost when it comes before the
 * thread entered its loop).
 */
#include "prog.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <sys/time.h>

#include "cfg_section.h"
#include "sdnotify.h"

static void prog_usage(const struct prog_args *a, FILE *out)
{
	fprintf(out,
		"usage: %s [--config FILE] [--check-config]%s [--foreground]\n"
		"       %*s [--log-level debug|info|warn|error] [--version] [--help]\n"
		"\n"
		"  --config FILE     configuration (default %s)\n"
		"  --check-config    validate the configuration and exit (0, or 78)\n",
		a->name, a->check_template_option ? " [--check-template FILE]" : "",
		(int)strlen(a->name), "",
		a->default_config);
	if (a->check_template_option)
		fprintf(out, "  --check-template FILE\n"
			     "                    parse a message template and exit (0, or 65)\n");
	fprintf(out,
		"  --foreground      accepted for compatibility: %s never\n"
		"                    daemonizes (systemd Type=notify, containers)\n"
		"  --log-level L     override log.level\n"
		"  --version         print the version and exit\n"
		"  --help            print this help and exit\n",
		a->name);
}

int prog_args(struct prog_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "check-template", required_argument, NULL, 'T' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int o;

	a->config_path = a->default_config;
	a->path_is_default = true;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			a->config_path = optarg;
			a->path_is_default = false;
			break;
		case 'C':
			a->check_config = true;
			break;
		case 'T':
			if (!a->check_template_option)
				goto usage;
			a->check_template = optarg;
			break;
		case 'f':
			break;	/* never daemonizes; accepted for compatibility */
		case 'l':
			if (log_level_parse(optarg, &a->log_level)) {
				fprintf(stderr, "%s: --log-level: unknown level '%s'\n", a->name,
					optarg);
				goto usage;
			}
			a->log_level_forced = true;
			break;
		case 'V':
			printf("%s %s\n", a->name, LEO_VERSION);
			return 0;
		case 'h':
			prog_usage(a, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", a->name, argv[optind]);
		goto usage;
	}
	return -1;
usage:
	prog_usage(a, stderr);
	return EX_USAGE;
}

static void prog_on_stats_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *prog_stats_main(void *arg)
{
	struct prog_stats *s = arg;

	log_thread_name("stats");
	event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int prog_stats_init(struct prog_stats *s)
{
	s->base = event_base_new();
	if (!s->base)
		return -1;
	s->ev_stop = event_new(s->base, -1, 0, prog_on_stats_stop, s->base);
	return s->ev_stop ? 0 : -1;
}

int prog_stats_start(struct prog_stats *s)
{
	if (pthread_create(&s->thread, NULL, prog_stats_main, s)) {
		log_error("cannot start the stats thread");
		return -1;
	}
	s->on = true;
	return 0;
}

void prog_stats_stop(struct prog_stats *s)
{
	if (!s->on)
		return;
	event_active(s->ev_stop, 0, 0);
	pthread_join(s->thread, NULL);
	s->on = false;
}

void prog_notified(int rc, const char *what)
{
	if (rc)
		log_debug("sd_notify %s: %m", what);
}

/* log.level and log.format of cfg, unless --log-level overrides the level. */
static void prog_log_setup(const struct prog *p, const void *cfg)
{
	const struct cfg_log *l = (const void *)((const char *)cfg + p->ops->log_off);

	log_setup(p->args.log_level_forced ? p->args.log_level : l->level, l->format);
}

int prog_config(struct prog *p)
{
	p->cfg = p->ops->load(p->args.config_path, p->args.path_is_default, stderr);
	if (!p->cfg)
		return EX_CONFIG;
	if (p->args.check_config) {
		printf("%s: ok\n", p->args.config_path);
		cfg_free(p->cfg);
		p->cfg = NULL;
		return 0;
	}
	prog_log_setup(p, p->cfg);
	log_thread_name("loop");
	return -1;
}

/* Loop, SIGHUP: a new config swapped in whole, or the running one kept. */
static void prog_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct prog *p = arg;
	void *next;

	(void)sig;
	(void)what;
	log_info("SIGHUP: reloading %s", p->args.config_path);
	prog_notified(sdnotify_reloading(), "RELOADING");
	next = p->ops->load(p->args.config_path, p->args.path_is_default, NULL); /* to the log */
	if (!next) {
		log_error("SIGHUP: %s has errors; keeping the running configuration",
			  p->args.config_path);
		prog_notified(sdnotify_ready(), "READY");
		return;
	}
	cfg_keep_static(p->ops->schema, p->cfg, next, NULL);
	prog_log_setup(p, next);
	p->ops->apply(p->arg, next);
	cfg_free(p->cfg);
	p->cfg = next;
	prog_notified(sdnotify_ready(), "READY");
	if (p->ops->reloaded)
		prog_notified(sdnotify_status("%s", p->ops->reloaded), "STATUS");
}

static struct event *prog_signal(struct event_base *base, int sig, event_callback_fn fn,
				 void *arg)
{
	struct event *ev = evsignal_new(base, sig, fn, arg);

	if (ev && event_add(ev, NULL)) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}

void prog_event_free(struct event *ev)
{
	if (ev)
		event_free(ev);
}

int prog_loop_init(struct prog *p, event_callback_fn stop, void *arg)
{
	p->arg = arg;
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() || !(p->base = event_base_new()) ||
	    prog_stats_init(&p->stats)) {
		log_error("cannot create the event loop");
		return -1;
	}
	p->ev_sig[0] = prog_signal(p->base, SIGTERM, stop, arg);
	p->ev_sig[1] = prog_signal(p->base, SIGINT, stop, arg);
	p->ev_sig[2] = prog_signal(p->base, SIGHUP, prog_on_hup, p);
	if (!p->ev_sig[0] || !p->ev_sig[1] || !p->ev_sig[2]) {
		log_error("cannot install signal events");
		return -1;
	}
	return 0;
}

/* Loop: a heartbeat for the watchdog. */
static void prog_on_beat(evutil_socket_t fd, short what, void *arg)
{
	struct prog *p = arg;

	(void)fd;
	(void)what;
	atomic_fetch_add(&p->beats, 1);
}

int prog_watchdog_start(struct prog *p, event_callback_fn check, void *arg)
{
	uint64_t us = sdnotify_watchdog_usec();
	struct timeval half = { (time_t)(us / 2000000), (suseconds_t)(us / 2 % 1000000) };
	struct timeval quarter = { (time_t)(us / 4000000), (suseconds_t)(us / 4 % 1000000) };

	if (us == 0)
		return 0;
	if (!p->ev_beat) {
		p->ev_beat = event_new(p->base, -1, EV_PERSIST, prog_on_beat, p);
		if (!p->ev_beat || event_add(p->ev_beat, &quarter))
			goto fail;
	}
	p->ev_watchdog = event_new(p->stats.base, -1, EV_PERSIST, check, arg);
	if (p->ev_watchdog && !event_add(p->ev_watchdog, &half))
		return 0;
fail:
	log_error("cannot start the watchdog timer");
	return -1;
}

void prog_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct prog *p = arg;
	uint64_t beats = atomic_load(&p->beats);

	(void)fd;
	(void)what;
	if (atomic_load(&p->stopping) || beats != p->wd_beats)
		prog_notified(sdnotify_watchdog(), "WATCHDOG");
	else
		log_warn("watchdog: the loop thread has not run since the last check");
	p->wd_beats = beats;
}

bool prog_is_ready(void *arg)
{
	struct prog *p = arg;

	return atomic_load(&p->ready);
}

int prog_run(struct prog *p)
{
	if (event_base_dispatch(p->base) < 0) {
		log_error("event loop failed");
		return EX_OSERR;
	}
	return 0;
}

void prog_end(struct prog *p)
{
	prog_event_free(p->ev_watchdog);
	prog_event_free(p->ev_beat);
	prog_event_free(p->stats.ev_stop);
	if (p->stats.base)
		event_base_free(p->stats.base);
	for (int i = 2; i >= 0; i--)
		prog_event_free(p->ev_sig[i]);
	if (p->base)
		event_base_free(p->base);
	libevent_global_shutdown();
	log_info("stopped");
	cfg_free(p->cfg);
}
