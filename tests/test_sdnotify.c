/*
 * test_sdnotify.c — the NOTIFY_SOCKET protocol against sockets the test
 * opens itself (a path and an abstract name), as systemd would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

/* A datagram socket bound to name (path, or '@' + abstract name), as systemd's. */
static int listen_at(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_true(len < sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
					  (name[0] == '@' ? 0 : 1))),
			 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

/* The next datagram, NUL-terminated. */
static void next_msg(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
}

static void test_path_socket(void **state)
{
	char dir[] = "/tmp/test_sdnotify.XXXXXX", path[64], msg[600];
	int fd;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listen_at(path);
	setenv("NOTIFY_SOCKET", path, 1);

	assert_int_equal(sdnotify_ready(), 0);
	next_msg(fd, msg, sizeof(msg));
	assert_string_equal(msg, "READY=1");

	assert_int_equal(sdnotify_status("%d rules loaded\nfrom %s", 42, "db"), 0);
	next_msg(fd, msg, sizeof(msg));
	assert_string_equal(msg, "STATUS=42 rules loaded from db");

	assert_int_equal(sdnotify_reloading(), 0);
	next_msg(fd, msg, sizeof(msg));
	assert_memory_equal(msg, "RELOADING=1\nMONOTONIC_USEC=", 27);
	assert_true(strtoull(msg + 27, NULL, 10) > 0);

	assert_int_equal(sdnotify_watchdog(), 0);
	next_msg(fd, msg, sizeof(msg));
	assert_string_equal(msg, "WATCHDOG=1");

	assert_int_equal(sdnotify_stopping(), 0);
	next_msg(fd, msg, sizeof(msg));
	assert_string_equal(msg, "STOPPING=1");

	/* Nobody listening any more: an error, not silence. */
	close(fd);
	unlink(path);
	assert_int_equal(sdnotify_ready(), -1);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
	char name[64], msg[64];
	int fd;
	(void)state;

	snprintf(name, sizeof(name), "@leo-test-sdnotify-%d", (int)getpid());
	fd = listen_at(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sdnotify("READY=1"), 0);
	next_msg(fd, msg, sizeof(msg));
	assert_string_equal(msg, "READY=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_unset_and_invalid(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_ready(), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sdnotify_ready(), 0);
	setenv("NOTIFY_SOCKET", "relative/socket", 1);
	assert_int_equal(sdnotify_ready(), -1);
	assert_int_equal(errno, EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_usec(void **state)
{
	char pid[32];
	(void)state;

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 30000000);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sdnotify_watchdog_usec(), 30000000);
	/* Meant for another process (e.g. our parent). */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "soon", 1);
	assert_int_equal(sdnotify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_unset_and_invalid),
		cmocka_unit_test(test_watchdog_usec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
