/*
 * fuzz_cfg.c — the config loader (alertd_cfg_load) on arbitrary file contents.
 *
 * Each input is written to one temporary file and loaded from there, as the
 * daemon loads its --config.  What loads is also passed through
 * alertd_cfg_keep_static against the defaults, as a SIGHUP reload would.  Beside
 * the sanitizers it checks that a rejection prints at least one
 * "FILE:LINE: KEY: reason" line, and that a loaded config keeps its bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertd_cfg.h"
#include "fuzz.h"

static char fuzz_path[] = "/tmp/fuzz_cfg.XXXXXX";
static int fuzz_fd = -1;
static struct alertd_cfg *fuzz_defaults;

static void fuzz_cfg_cleanup(void)
{
	unlink(fuzz_path);
	alertd_cfg_free(fuzz_defaults);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alertd_cfg *c;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef;

	if (fuzz_fd < 0) {
		fuzz_fd = mkstemp(fuzz_path);
		fuzz_defaults = alertd_cfg_load(NULL, 0, stderr);
		if (fuzz_fd < 0 || !fuzz_defaults)
			abort();
		atexit(fuzz_cfg_cleanup);
	}
	if (ftruncate(fuzz_fd, 0) < 0 ||
	    (size && pwrite(fuzz_fd, data, size, 0) != (ssize_t)size))
		abort();
	ef = open_memstream(&errs, &errlen);
	if (!ef)
		abort();
	c = alertd_cfg_load(fuzz_path, 0, ef);
	if (c) {
		if (c->database.pool_size < 1 || c->engine.worker_threads < 1 ||
		    c->writer.batch_max_rows < 1 || c->stats.max_connections < 1 ||
		    !c->database.conninfo || !c->listen.market_channel || !c->stats.listen)
			abort();
		alertd_cfg_keep_static(fuzz_defaults, c, ef);
		alertd_cfg_free(c);
	}
	fclose(ef);
	/* a rejection names the file and a line */
	if (!c && (!errs || !strstr(errs, fuzz_path) || !strchr(errs, '\n')))
		abort();
	free(errs);
	return 0;
}
