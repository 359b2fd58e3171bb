/*
 * slurp.h — the whole of a file as a NUL-terminated string, for tests that
 * compare files (configs, README tables, error lists).  Test code only.
 */
#ifndef LEO_TESTS_SLURP_H
#define LEO_TESTS_SLURP_H

#include <stdio.h>
#include <stdlib.h>

/* NULL when the file cannot be opened; the caller frees the string. */
static inline char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	if (!m) {
		fclose(f);
		return NULL;
	}
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

#endif
