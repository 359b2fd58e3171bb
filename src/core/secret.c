/*
 * secret.c — a secret from a file: its first line.  Any thread.
 */
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "log.h"

char *secret_read(const char *key, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		log_error("%s %s: cannot open: %m", key, path);
		return NULL;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0) {
		free(line);
		log_error("%s %s: empty", key, path);
		return NULL;
	}
	return line;
}
