/*
 * transport_file.h — the `file` transport: each message appended to a file
 * as one line, the delivery document (msgdoc.h).  The demo's default, and
 * a way to hand messages to another system through a spool file.  Loop
 * thread; a send is one write(2) and one fdatasync(2), done when it returns.
 */
#ifndef LEO_TRANSPORT_FILE_H
#define LEO_TRANSPORT_FILE_H

#include <stddef.h>

#include "transport.h"

struct tfile;

/* Open path for appending (created 0640 when missing); NULL with why. */
struct tfile *tfile_new(const char *path, char *why, size_t cap) __attribute__((warn_unused_result));

/* Append m's line; res says TR_OK, or TR_RETRY (disk full, I/O error) / TR_FAIL with why. */
void tfile_send(struct tfile *f, const struct tr_msg *m, struct tr_result *res);

void tfile_free(struct tfile *f);

#endif
