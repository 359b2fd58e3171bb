/*
 * prog.c — the command line every LEO program shares (SPEC section 6) and
 * its stats thread.
 *
 * prog_args runs on the main thread before anything else; the stats thread
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

int prog_stats_init(struct prog_stats *s)
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

void prog_stats_free(struct prog_stats *s)
{
	if (s->ev_stop)
		event_free(s->ev_stop);
	if (s->base)
		event_base_free(s->base);
	s->ev_stop = NULL;
	s->base = NULL;
}

void prog_notified(int rc, const char *what)
{
	if (rc)
		log_debug("sd_notify %s: %m", what);
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

int prog_loop_init(struct event_base **base, struct event *sig[3], struct prog_stats *stats,
		   event_callback_fn stop, event_callback_fn hup, void *arg)
{
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() || !(*base = event_base_new()) || prog_stats_init(stats)) {
		log_error("cannot create the event loop");
		return -1;
	}
	sig[0] = prog_signal(*base, SIGTERM, stop, arg);
	sig[1] = prog_signal(*base, SIGINT, stop, arg);
	sig[2] = prog_signal(*base, SIGHUP, hup, arg);
	if (!sig[0] || !sig[1] || !sig[2]) {
		log_error("cannot install signal events");
		return -1;
	}
	return 0;
}

void prog_loop_free(struct event_base *base, struct event *sig[3])
{
	for (int i = 2; i >= 0; i--) {
		prog_event_free(sig[i]);
		sig[i] = NULL;
	}
	if (base)
		event_base_free(base);
}
