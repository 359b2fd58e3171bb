/*
 * secret.h — read a secret (password, API key, signing secret) from the file
 * a config key names.  Any thread; no state.
 */
#ifndef LEO_SECRET_H
#define LEO_SECRET_H

/*
 * The first line of file path, without its line end; malloc'd.  NULL
 * (logged as "KEY PATH: why", never the secret) when the file cannot be
 * read or its first line is empty.
 */
char *secret_read(const char *key, const char *path) __attribute__((warn_unused_result));

#endif
