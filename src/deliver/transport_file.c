/*
 * transport_file.c — messages appended to a file, one JSON line each.
 * Loop thread.
 *
 * The line goes out in one write(2) on an O_APPEND descriptor, so lines of
 * one sender never interleave (several processes appending to one file may,
 * for lines longer than the file system writes at once: give each sender
 * its own file).  Each line is flushed with fdatasync(2) before the send
 * counts as done: a delivery recorded `sent` is on disk.
 */
#include "transport_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgdoc.h"

struct tfile {
	int fd;
	char *path;
};

struct tfile *tfile_new(const char *path, char *why, size_t cap)
{
	struct tfile *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = strdup(path))) {
		free(f);
		snprintf(why, cap, "out of memory");
		return NULL;
	}
	f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (f->fd < 0) {
		snprintf(why, cap, "%s: cannot open for appending: %s", path, strerror(errno));
		free(f->path);
		free(f);
		return NULL;
	}
	return f;
}

static void tfile_error(struct tr_result *res, int err, const char *what, const char *path)
{
	res->cls = (err == ENOSPC || err == EIO || err == EDQUOT || err == EINTR || err == EAGAIN) ?
			   TR_RETRY : TR_FAIL;
	snprintf(res->error, sizeof(res->error), "%s %s: %s", what, path, strerror(err));
}

void tfile_send(struct tfile *f, const struct tr_msg *m, struct tr_result *res)
{
	char *doc = msgdoc_json(m), *line;
	size_t len, done = 0;

	memset(res, 0, sizeof(*res));
	res->retry_after_s = -1;
	if (!doc) {
		res->cls = TR_RETRY;
		snprintf(res->error, sizeof(res->error), "out of memory");
		return;
	}
	len = strlen(doc);
	line = realloc(doc, len + 2);
	if (!line) {
		free(doc);
		res->cls = TR_RETRY;
		snprintf(res->error, sizeof(res->error), "out of memory");
		return;
	}
	line[len++] = '\n';
	line[len] = '\0';
	while (done < len) {
		ssize_t n = write(f->fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			tfile_error(res, n < 0 ? errno : EIO, "write", f->path);
			free(line);
			return;
		}
		done += (size_t)n;
	}
	free(line);
	if (fdatasync(f->fd) != 0) {
		tfile_error(res, errno, "fdatasync", f->path);
		return;
	}
	res->cls = TR_OK;
}

void tfile_free(struct tfile *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f->path);
	free(f);
}
