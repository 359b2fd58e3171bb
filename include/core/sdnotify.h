/*
 * sdnotify.h — tell systemd (Type=notify) how the daemon is doing.
 *
 * The sd_notify protocol without libsystemd: one datagram per message to
 * the unix socket named by $NOTIFY_SOCKET (a path, or '@' for an abstract
 * name).  When $NOTIFY_SOCKET is unset every call does nothing and
 * succeeds.  Any thread; no state is kept.
 */
#ifndef LEO_SDNOTIFY_H
#define LEO_SDNOTIFY_H

#include <stdint.h>

/* Send one message, e.g. "READY=1".  0: sent or nowhere to send; -1: failed (errno). */
int sdnotify(const char *msg) __attribute__((warn_unused_result));

int sdnotify_ready(void) __attribute__((warn_unused_result));
/* STATUS=<text>; newlines in the text become spaces. */
int sdnotify_status(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), warn_unused_result));
/* RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload wants it. */
int sdnotify_reloading(void) __attribute__((warn_unused_result));
int sdnotify_stopping(void) __attribute__((warn_unused_result));
int sdnotify_watchdog(void) __attribute__((warn_unused_result));

/*
 * The watchdog interval systemd asks for (WATCHDOG_USEC, when WATCHDOG_PID
 * is unset or names this process), or 0.  Send WATCHDOG=1 at about half of it.
 */
uint64_t sdnotify_watchdog_usec(void);

#endif
