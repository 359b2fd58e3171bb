/*
 * channel.c — a channel's transport from its config section (channel.h).
 * Loop thread.
 *
 * Secrets (the SMTP password, header values from header_files, the signing
 * secret) are read here, once, and live only in the transport.
 */
#include "channel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "transport_file.h"
#include "transport_http.h"
#include "transport_smtp.h"

/* "Name: value" lines of headers and header_files (values read), NULL-ended. */
static char **channel_headers(const struct deliver_channel *c, char *why, size_t cap)
{
	const char *p, *name, *value;
	char **h;
	size_t n = 1, i = 0;

	for (p = c->headers; cfg_map_next(&p, &name, &value);)
		n++;
	for (p = c->header_files; cfg_map_next(&p, &name, &value);)
		n++;
	h = calloc(n, sizeof(*h));
	if (!h)
		goto oom;
	for (p = c->headers; cfg_map_next(&p, &name, &value); i++)
		if (asprintf(&h[i], "%s: %s", name, value) < 0)
			goto oom;
	for (p = c->header_files; cfg_map_next(&p, &name, &value); i++) {
		char *v = secret_read(name, value);

		if (!v || strchr(v, '\r')) {
			snprintf(why, cap, "header_files %s: %s %s", name, value,
				 v ? "holds a carriage return in its first line" : "cannot be read");
			free(v);
			goto fail;
		}
		if (asprintf(&h[i], "%s: %s", name, v) < 0)
			h[i] = NULL;
		memset(v, 0, strlen(v));
		free(v);
		if (!h[i])
			goto oom;
	}
	return h;
oom:
	snprintf(why, cap, "out of memory");
fail:
	for (i = 0; h && h[i]; i++)
		free(h[i]);
	free(h);
	return NULL;
}

static void channel_free_headers(char **h)
{
	for (size_t i = 0; h && h[i]; i++) {
		memset(h[i], 0, strlen(h[i]));
		free(h[i]);
	}
	free(h);
}

/* The secret of key at path, or "" when path is empty; NULL (why) when unreadable. */
static char *channel_secret(const char *key, const char *path, char *why, size_t cap)
{
	char *s = path[0] ? secret_read(key, path) : strdup("");

	if (!s)
		snprintf(why, cap, "%s %s cannot be read", key, path);
	return s;
}

static void channel_wipe(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

static int channel_open_http(struct channel *ch, const struct deliver_channel *c,
			     struct curlev *cv, char *why, size_t cap)
{
	static const enum thttp_body bodies[] = { [DB_JSON] = THTTP_JSON, [DB_FORM] = THTTP_FORM,
						  [DB_TEMPLATE] = THTTP_TEMPLATE };
	char **headers = channel_headers(c, why, cap);
	char *secret = headers ? channel_secret("signing_secret_file", c->signing_secret_file,
						why, cap) : NULL;
	struct thttp_cfg hc = { .url = c->url, .method = c->method == DM_PUT ? "PUT" : "POST",
				.headers = (const char *const *)headers, .body = bodies[c->body],
				.signing_secret = secret, .ca_file = c->ca_file,
				.timeout_ms = c->timeout_ms };

	if (secret && !(ch->http = thttp_new(&hc, cv)))
		snprintf(why, cap, "out of memory");
	ch->body_template = c->body == DB_TEMPLATE;
	channel_free_headers(headers);
	channel_wipe(secret);
	return ch->http ? 0 : -1;
}

static int channel_open_smtp(struct channel *ch, const struct deliver_channel *c,
			     struct curlev *cv, char *why, size_t cap)
{
	char *password = channel_secret("password_file", c->password_file, why, cap);
	struct tsmtp_cfg sc = { .url = c->url, .starttls_required = c->starttls == DS_REQUIRED,
				.username = c->username, .password = password, .from = c->from,
				.ca_file = c->ca_file, .timeout_ms = c->timeout_ms };

	if (password && !(ch->smtp = tsmtp_new(&sc, cv)))
		snprintf(why, cap, "out of memory");
	channel_wipe(password);
	return ch->smtp ? 0 : -1;
}

int channel_open(struct channel *ch, int id, const struct deliver_channel *c, struct curlev *cv,
		 int64_t now_us, char *why, size_t cap)
{
	memset(ch, 0, sizeof(*ch));
	ch->id = id;
	ch->kind = c->kind;
	ch->concurrency = c->kind == DK_FILE ? 1 : c->concurrency;
	if (ch->concurrency < 1)
		ch->concurrency = 1;
	ratelimit_init(&ch->rate, c->rate_per_second, now_us);
	switch (c->kind) {
	case DK_NONE:
		return 0;
	case DK_FILE:
		ch->file = tfile_new(c->path, why, cap);
		return ch->file ? 0 : -1;
	case DK_HTTP:
		return channel_open_http(ch, c, cv, why, cap);
	case DK_SMTP:
		return channel_open_smtp(ch, c, cv, why, cap);
	}
	return -1;
}

void channel_send(struct channel *ch, const struct tr_msg *m, tr_done_fn *done, void *arg)
{
	struct tr_result res;

	switch (ch->kind) {
	case DK_HTTP:
		thttp_send(ch->http, m, done, arg);
		return;
	case DK_SMTP:
		tsmtp_send(ch->smtp, m, done, arg);
		return;
	case DK_FILE:
		tfile_send(ch->file, m, &res);
		done(&res, arg);
		return;
	case DK_NONE:
		break;
	}
	memset(&res, 0, sizeof(res));
	res.cls = TR_RETRY;
	res.retry_after_s = -1;
	snprintf(res.error, sizeof(res.error), "channel has no transport");
	done(&res, arg);
}

void channel_close(struct channel *ch)
{
	if (ch->http)
		thttp_free(ch->http);
	if (ch->smtp)
		tsmtp_free(ch->smtp);
	if (ch->file)
		tfile_free(ch->file);
	memset(ch, 0, sizeof(*ch));
}
