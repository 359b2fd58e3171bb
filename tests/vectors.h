/*
 * vectors.h — the shared condition vectors of tests/data/cond/, read for
 * the tests that replay them (test_cond, cond_agree).  Test code only.
 *
 * vectors_each(dir, fn, arg) calls fn once per *.json file of dir, in
 * directory order, with its path and its text (NUL-terminated; one
 * trailing newline is not part of a vector), and returns how many files it
 * read; 0 when dir does not exist.  A file that cannot be read fails the
 * test.
 */
#ifndef LEO_TESTS_VECTORS_H
#define LEO_TESTS_VECTORS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*vectors_fn)(const char *path, const char *text, size_t len, void *arg);

static inline int vectors_each(const char *dir, vectors_fn fn, void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t nl = strlen(e->d_name);
		char path[1024];
		FILE *f;
		char *buf;
		long len;

		/* Vectors are *.json; a README or the like is not one. */
		if (e->d_name[0] == '.' || nl < 5 || strcmp(e->d_name + nl - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)len + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		if (len > 0 && buf[len - 1] == '\n')
			len--;
		buf[len] = '\0';
		fn(path, buf, (size_t)len, arg);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

#endif
