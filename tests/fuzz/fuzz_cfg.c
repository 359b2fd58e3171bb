/*
 * fuzz_cfg.c — the three programs' config loaders (alertd_cfg_load,
 * deliver_cfg_load with its channel maps, enrich_cfg_load) on arbitrary file
 * contents.
 *
 * Each input is written to one temporary file and loaded from there, as a
 * program loads its --config.  What leo-alertd loads is also passed through
 * cfg_keep_static against the defaults, as a SIGHUP reload would.
 * Beside the sanitizers it checks that every rejection prints at least one
 * "FILE:LINE: KEY: reason" line, that a loaded config keeps its bounds, and
 * that a loaded channel's header maps walk to their end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertd_cfg.h"
#include "cfg.h"
#include "deliver_cfg.h"
#include "enrich_cfg.h"
#include "fuzz.h"

static char fuzz_path[] = "/tmp/fuzz_cfg.XXXXXX";
static int fuzz_fd = -1;
static struct alertd_cfg *fuzz_defaults;

static void fuzz_cfg_cleanup(void)
{
	unlink(fuzz_path);
	alertd_cfg_free(fuzz_defaults);
}

/* A rejection names the file and a line. */
static void fuzz_cfg_rejected(FILE *ef, char **errs)
{
	fclose(ef);
	if (!*errs || !strstr(*errs, fuzz_path) || !strchr(*errs, '\n'))
		abort();
	free(*errs);
	*errs = NULL;
}

/* leo-deliver's and leo-enrich's loaders on the same file. */
static void fuzz_cfg_siblings(void)
{
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&errs, &errlen);
	struct deliver_cfg *d;
	struct enrich_cfg *e;

	if (!ef)
		abort();
	d = deliver_cfg_load(fuzz_path, 0, ef);
	if (d) {
		for (int i = 0; i < DC_COUNT; i++) {
			const char *p = d->channel[i].headers, *name, *value;

			while (cfg_map_next(&p, &name, &value))
				if (!*name || strpbrk(value, "\r\n"))
					abort();
			p = d->channel[i].header_files;
			while (cfg_map_next(&p, &name, &value))
				if (!*name)
					abort();
		}
		deliver_cfg_free(d);
		fclose(ef);
		free(errs);
	} else {
		fuzz_cfg_rejected(ef, &errs);
	}
	ef = open_memstream(&errs, &errlen);
	if (!ef)
		abort();
	e = enrich_cfg_load(fuzz_path, 0, ef);
	if (e) {
		enrich_cfg_free(e);
		fclose(ef);
		free(errs);
	} else {
		fuzz_cfg_rejected(ef, &errs);
	}
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
		cfg_keep_static(&alertd_cfg_schema, fuzz_defaults, c, ef);
		alertd_cfg_free(c);
	}
	if (c) {
		fclose(ef);
		free(errs);
	} else {
		fuzz_cfg_rejected(ef, &errs);
	}
	fuzz_cfg_siblings();
	return 0;
}
