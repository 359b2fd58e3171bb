/*
 * test_httpd.c — the stats endpoint, driven by real clients on loopback.
 *
 * The server's loop runs in a thread; the test is the client.  Ports are
 * chosen by the kernel (stats.listen "127.0.0.1:0", then httpd_port()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "alertd_cfg.h"
#include "httpd.h"

static char tls_dir[] = "/tmp/test_httpd.XXXXXX";
static char tls_cert[64], tls_key[64];

struct server {
	struct event_base *base;
	struct event *stop;	/* activated by server_stop from the test thread */
	struct httpd *h;
	pthread_t thread;
	int port;
};

/* In the loop: unlike a loopbreak from outside, this cannot be lost before the loop starts. */
static void server_break(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *server_loop(void *arg)
{
	struct server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

/* What /readyz reports, as a program's own state would. */
static atomic_bool ready_flag;

static bool is_ready(void *arg)
{
	(void)arg;
	return atomic_load(&ready_flag);
}

/* Start an endpoint on a kernel-chosen port with the given limits. */
/* A POST route server_start adds when set (before the server's thread runs). */
static httpd_post_fn *route_fn;

static void server_start(struct server *s, int max_conn, int timeout_s, int tls)
{
	struct alertd_cfg *c = alertd_cfg_load(NULL, 0, stderr);
	char listen[] = "127.0.0.1:0";

	assert_non_null(c);
	c->stats.listen = listen;
	c->stats.max_connections = max_conn;
	c->stats.timeout_s = timeout_s;
	if (tls) {
		c->stats.tls_cert = tls_cert;
		c->stats.tls_key = tls_key;
	}
	s->base = event_base_new();
	assert_non_null(s->base);
	s->stop = event_new(s->base, -1, 0, server_break, s->base);
	assert_non_null(s->stop);
	s->h = httpd_start(s->base, &c->stats, is_ready, NULL);
	alertd_cfg_free(c);
	assert_non_null(s->h);
	s->port = httpd_port(s->h);
	assert_true(s->port > 0);
	if (route_fn)
		assert_int_equal(httpd_route_post(s->h, "/v1/echo", route_fn, NULL), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_loop, s), 0);
}

/*
 * Wait until the endpoint counts no open connection: every way a
 * connection ends must give its slot back, or the cap would wedge.
 */
static void wait_no_connections(const struct server *s)
{
	for (int i = 0; i < 500 && httpd_open(s->h) != 0; i++)
		usleep(10000);
	assert_int_equal(httpd_open(s->h), 0);
}

static void server_stop(struct server *s)
{
	event_active(s->stop, EV_TIMEOUT, 0);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	httpd_stop(s->h);
	event_free(s->stop);
	event_base_free(s->base);
}

static int connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 15 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/*
 * Send raw over a new connection (TLS when ctx is set) and read until the
 * server closes.  Returns the HTTP status, 0 when no status line came.
 */
static int request(int port, SSL_CTX *ctx, const char *raw, char *resp, size_t cap)
{
	int fd = connect_to(port), status = 0;
	size_t len = 0, rawlen = strlen(raw);
	SSL *ssl = NULL;
	ssize_t n;

	if (ctx) {
		ssl = SSL_new(ctx);
		assert_non_null(ssl);
		SSL_set_fd(ssl, fd);
		assert_int_equal(SSL_connect(ssl), 1);
		assert_int_equal(SSL_write(ssl, raw, (int)rawlen), (int)rawlen);
	} else {
		/* The server may close early on a hostile request: a short send is fine. */
		for (size_t off = 0; off < rawlen; off += (size_t)n) {
			n = send(fd, raw + off, rawlen - off, MSG_NOSIGNAL);
			if (n <= 0)
				break;
		}
	}
	for (;;) {
		if (len + 1 >= cap)
			break;
		n = ssl ? SSL_read(ssl, resp + len, (int)(cap - 1 - len))
			: recv(fd, resp + len, cap - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	resp[len] = '\0';
	if (ssl)
		SSL_free(ssl);
	close(fd);
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}

static int get(int port, const char *path, char *resp, size_t cap)
{
	char raw[256];

	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
	return request(port, NULL, raw, resp, cap);
}

static const char *body(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	return p ? p + 4 : "";
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_routes(void **state)
{
	static char resp[1 << 16];
	struct server s;
	(void)state;

	server_start(&s, 256, 10, 0);
	assert_int_equal(get(s.port, "/metrics", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(body(resp), "\nleo_build_info{version=\""));
	/* The scrape's own connection is open. */
	assert_non_null(strstr(body(resp), "# TYPE leo_http_connections gauge\n"
					   "leo_http_connections 1\n"));

	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 200);
	assert_string_equal(body(resp), "ok\n");
	assert_int_equal(get(s.port, "/healthz?verbose=1", resp, sizeof(resp)), 200);

	assert_int_equal(get(s.port, "/", resp, sizeof(resp)), 404);
	assert_int_equal(get(s.port, "/metricsx", resp, sizeof(resp)), 404);
	assert_int_equal(get(s.port, "/healthz/", resp, sizeof(resp)), 404);

	assert_int_equal(request(s.port, NULL,
				 "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
				 "Connection: close\r\n\r\n",
				 resp, sizeof(resp)),
			 405);
	assert_non_null(strstr(resp, "\r\nAllow: GET, HEAD\r\n"));
	assert_int_equal(request(s.port, NULL,
				 "DELETE /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 resp, sizeof(resp)),
			 405);
	assert_int_equal(request(s.port, NULL,
				 "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 resp, sizeof(resp)),
			 200);
	assert_string_equal(body(resp), "");
	wait_no_connections(&s);
	server_stop(&s);
}

/* The test's POST route: the body's length and a header, as JSON, status 201. */
static int echo(void *arg, const struct httpd_req *r, char *reply, size_t cap)
{
	const char *h = httpd_req_header(r, "X-Test");
	size_t len;
	const char *b = httpd_req_body(r, &len);

	(void)arg;
	snprintf(reply, cap, "{\"len\":%zu,\"first\":\"%c\",\"x\":\"%s\"}", len, len ? b[0] : '-',
		 h ? h : "");
	return 201;
}

static void test_post_route(void **state)
{
	static char resp[1 << 16];
	static char big[70000 + 256];
	struct server s;
	(void)state;

	route_fn = echo;
	server_start(&s, 256, 10, 0);
	route_fn = NULL;
	assert_int_equal(request(s.port, NULL,
				 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nX-Test: hi\r\n"
				 "Content-Length: 5\r\nConnection: close\r\n\r\nabcde",
				 resp, sizeof(resp)),
			 201);
	assert_non_null(strstr(resp, "\r\nContent-Type: application/json\r\n"));
	assert_string_equal(body(resp), "{\"len\":5,\"first\":\"a\",\"x\":\"hi\"}");
	assert_int_equal(request(s.port, NULL,
				 "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
				 "Connection: close\r\n\r\n",
				 resp, sizeof(resp)),
			 201);
	assert_string_equal(body(resp), "{\"len\":0,\"first\":\"-\",\"x\":\"\"}");
	assert_int_equal(get(s.port, "/v1/echo", resp, sizeof(resp)), 405);
	assert_non_null(strstr(resp, "\r\nAllow: POST\r\n"));
	/* a body over 64 KiB is refused by evhttp itself */
	snprintf(big, sizeof(big), "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n"
				   "Connection: close\r\n\r\n");
	memset(big + strlen(big), 'x', 70000);
	assert_int_equal(request(s.port, NULL, big, resp, sizeof(resp)), 413);
	/* the other paths are as before */
	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 200);
	wait_no_connections(&s);
	server_stop(&s);
}

static void test_readyz(void **state)
{
	char resp[4096];
	struct server s;
	(void)state;

	server_start(&s, 256, 10, 0);
	atomic_store(&ready_flag, false);
	assert_int_equal(get(s.port, "/readyz", resp, sizeof(resp)), 503);
	atomic_store(&ready_flag, true);
	assert_int_equal(get(s.port, "/readyz", resp, sizeof(resp)), 200);
	assert_string_equal(body(resp), "ready\n");
	atomic_store(&ready_flag, false);
	assert_int_equal(get(s.port, "/readyz", resp, sizeof(resp)), 503);
	/* /healthz does not care. */
	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 200);
	wait_no_connections(&s);
	server_stop(&s);
}

/* A 100 kB header and an oversized body are refused; the endpoint keeps answering. */
static void test_hostile_requests(void **state)
{
	size_t big = 100 * 1024;
	char *raw = malloc(big + 256), resp[4096];
	struct server s;
	int st;
	(void)state;

	assert_non_null(raw);
	server_start(&s, 256, 10, 0);
	strcpy(raw, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(raw + strlen(raw), 'a', big);
	strcpy(raw + strlen("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ") + big,
	       "\r\nConnection: close\r\n\r\n");
	st = request(s.port, NULL, raw, resp, sizeof(resp));
	assert_true(st == 0 || (st >= 400 && st < 500));
	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 200);

	snprintf(raw, big, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
			   "Connection: close\r\n\r\n%5000d", 0);
	st = request(s.port, NULL, raw, resp, sizeof(resp));
	assert_true(st == 0 || (st >= 400 && st < 500));
	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 200);

	assert_int_equal(request(s.port, NULL, "NONSENSE\r\n\r\n", resp, sizeof(resp)), 400);
	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 200);
	wait_no_connections(&s);
	server_stop(&s);
	free(raw);
}

/* 200 clients that connect and say nothing do not stall anyone else. */
static void test_idle_connections(void **state)
{
	int fds[200];
	char resp[4096];
	struct server s;
	double t0;
	(void)state;

	server_start(&s, 256, 10, 0);
	for (int i = 0; i < 200; i++)
		fds[i] = connect_to(s.port);
	t0 = now();
	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 200);
	assert_true(now() - t0 < 5);
	for (int i = 0; i < 200; i++)
		close(fds[i]);
	wait_no_connections(&s);
	server_stop(&s);
}

/*
 * At stats.max_connections the endpoint stops accepting; a waiting client
 * is served once the idle ones time out (stats.timeout_s), not before.
 */
static void test_connection_cap(void **state)
{
	int fds[4];
	char resp[4096], c;
	struct server s;
	double t0, took;
	(void)state;

	server_start(&s, 4, 1, 0);
	for (int i = 0; i < 4; i++)
		fds[i] = connect_to(s.port);
	usleep(100000);
	t0 = now();
	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 200);
	took = now() - t0;
	assert_true(took > 0.5);
	assert_true(took < 10);
	/* The idle ones were closed by the server. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(recv(fds[i], &c, 1, 0), 0);
		close(fds[i]);
	}
	wait_no_connections(&s);
	server_stop(&s);
}

/*
 * A client that trickles its headers (one line every 0.3 s, never idle for
 * the 1 s timeout) is still closed after 6 x stats.timeout_s.
 */
static void test_slow_client(void **state)
{
	struct server s;
	double t0, took;
	char c;
	int fd;
	(void)state;

	server_start(&s, 256, 1, 0);
	fd = connect_to(s.port);
	t0 = now();
	assert_int_equal(send(fd, "GET /healthz HTTP/1.1\r\n", 23, MSG_NOSIGNAL), 23);
	for (;;) {
		usleep(300000);
		if (recv(fd, &c, 1, MSG_DONTWAIT) == 0 ||
		    send(fd, "X-A: b\r\n", 8, MSG_NOSIGNAL) < 0 || now() - t0 > 30)
			break;
	}
	took = now() - t0;
	close(fd);
	assert_true(took > 4);
	assert_true(took < 15);
	wait_no_connections(&s);
	server_stop(&s);
}

static void test_tls(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char resp[4096];
	struct server s;
	(void)state;

	assert_non_null(ctx);
	/* Verify the server against the very certificate it was given. */
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, tls_cert, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	server_start(&s, 256, 10, 1);
	assert_int_equal(request(s.port, ctx,
				 "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 resp, sizeof(resp)),
			 200);
	assert_string_equal(body(resp), "ok\n");
	assert_int_equal(request(s.port, ctx,
				 "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 resp, sizeof(resp)),
			 200);
	/* Plain HTTP to the TLS port gets no HTTP answer. */
	assert_int_equal(get(s.port, "/healthz", resp, sizeof(resp)), 0);
	wait_no_connections(&s);
	server_stop(&s);
	SSL_CTX_free(ctx);
}

static void test_disabled_and_errors(void **state)
{
	struct event_base *base = event_base_new();
	struct alertd_cfg *c = alertd_cfg_load(NULL, 0, stderr);
	char empty[] = "", bad[] = "/nonexistent/cert.pem";
	char busy[32];
	struct server s;
	struct httpd *h;
	(void)state;

	assert_non_null(base);
	assert_non_null(c);
	c->stats.listen = empty;
	h = httpd_start(base, &c->stats, NULL, NULL);
	assert_non_null(h);
	assert_int_equal(httpd_port(h), 0);
	httpd_stop(h);

	/* A port in use. */
	server_start(&s, 256, 10, 0);
	snprintf(busy, sizeof(busy), "127.0.0.1:%d", s.port);
	c->stats.listen = busy;
	assert_null(httpd_start(base, &c->stats, NULL, NULL));
	server_stop(&s);

	/* A certificate that is not there. */
	c->stats.listen = busy;
	c->stats.tls_cert = bad;
	c->stats.tls_key = bad;
	assert_null(httpd_start(base, &c->stats, NULL, NULL));
	alertd_cfg_free(c);
	event_base_free(base);
}

/* A self-signed P-256 certificate for CN=localhost in tls_dir. */
static int make_cert(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *f;
	int ok = 0;

	if (!key || !x)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost",
				   -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (!X509_sign(x, key, EVP_sha256()))
		goto out;
	f = fopen(tls_cert, "w");
	if (!f || !PEM_write_X509(f, x))
		goto out;
	fclose(f);
	f = fopen(tls_key, "w");
	if (!f || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL))
		goto out;
	fclose(f);
	ok = 1;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_readyz),
		cmocka_unit_test(test_post_route),
		cmocka_unit_test(test_hostile_requests),
		cmocka_unit_test(test_idle_connections),
		cmocka_unit_test(test_connection_cap),
		cmocka_unit_test(test_slow_client),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_disabled_and_errors),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() < 0 || !mkdtemp(tls_dir))
		return 1;
	snprintf(tls_cert, sizeof(tls_cert), "%s/cert.pem", tls_dir);
	snprintf(tls_key, sizeof(tls_key), "%s/key.pem", tls_dir);
	if (make_cert() < 0) {
		fprintf(stderr, "cannot make a test certificate\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(tls_cert);
	unlink(tls_key);
	rmdir(tls_dir);
	return rc;
}
