/*
 * cond.h — compile condition_logic (SPEC section 3) into an immutable,
 * compact condition that eval.c evaluates.
 *
 * The compiler reads the JSON text itself (never through double) so that
 * numbers compare exactly; it accepts exactly the grammar of SPEC section 3
 * and nothing else.  Pure; any thread.  A compiled condition is read-only and
 * may be shared between threads.
 */
#ifndef LEO_COND_H
#define LEO_COND_H

#include <stdbool.h>
#include <stddef.h>

struct cond;

/*
 * Compile `len` bytes of JSON.  Returns the condition, or NULL with a message
 * in err that says which part of the rule is wrong (e.g.
 * "all[1].value: more than 8 fractional digits").
 */
struct cond *cond_compile(const char *json, size_t len, char *err,
			  size_t errlen) __attribute__((warn_unused_result));
void cond_free(struct cond *c);

/* An edge condition has a crossing, enters/exits or windowed-move leaf. */
bool cond_is_edge(const struct cond *c);

#endif
