/*
 * cond_int.h — the compiled form of a condition, shared by cond.c (which
 * builds it), eval.c (which evaluates it), rules.c (which indexes its
 * thresholds) and trigger.c (which re-arms past them).  Private to the
 * engine.
 *
 * A condition is a flat array of nodes in prefix order: a composite is
 * followed by its children, and every node records the size of its subtree,
 * so a child list is walked with `c += c->size`.  Nodes are position
 * independent (no pointers), so two compiled conditions mean the same thing
 * when their node arrays are byte-equal (cond.c zeroes every unused byte).
 */
#ifndef LEO_COND_INT_H
#define LEO_COND_INT_H

#include <stdint.h>
#include <string.h>

#include "cond.h"
#include "dec.h"

enum cond_op {
	COND_GT = 1, COND_GE, COND_LT, COND_LE, COND_EQ, COND_NE,
	COND_CROSSES_ABOVE, COND_CROSSES_BELOW, COND_CROSSES,
	COND_BETWEEN, COND_OUTSIDE, COND_ENTERS, COND_EXITS,
	COND_MOVES_UP_PCT, COND_MOVES_DOWN_PCT,
	COND_ALL, COND_ANY, COND_NOT
};

enum cond_field { COND_FIELD_PRICE = 0, COND_FIELD_CHG = 1 };

#define COND_MAX_DEPTH 8	/* composites on a root-to-leaf path */
#define COND_MAX_LEAVES 64
#define COND_MAX_WINDOW_S 86400

/* A dec_t stored at 8-byte alignment, so a node is 40 bytes, not 48. */
__extension__ typedef __int128 cond_dec __attribute__((aligned(8)));

struct cond_node {
	uint8_t op;		/* enum cond_op */
	uint8_t field;		/* enum cond_field (leaves) */
	uint16_t size;		/* nodes in this subtree, itself included */
	uint32_t window_s;	/* moves_*: window_seconds */
	cond_dec a;		/* value, or low */
	cond_dec b;		/* high (between/outside/enters/exits) */
};

#define COND_F_EDGE 1u		/* crossing, enters/exits or moves leaf */
#define COND_F_MOVES 2u		/* a moves_* leaf: needs the price window */

struct cond {
	uint32_t n;		/* nodes */
	uint32_t flags;		/* COND_F_* */
	struct cond_node node[];
};

/*
 * cond_compile() for a caller that can hold one node itself (rules.c keeps a
 * single leaf inline): returns 1 with a one-leaf condition in *leaf and its
 * COND_F_* in *flags, 0 with anything bigger compiled into *out, or -1 with
 * the message in err.  Saves the allocation for the common case.
 */
int cond_compile_leaf(const char *json, size_t len, struct cond_node *leaf,
		      uint32_t *flags, struct cond **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

static inline int cond_node_is_leaf(const struct cond_node *n)
{
	return n->op < COND_ALL;
}

static inline int cond_op_has_range(unsigned op)
{
	return op >= COND_BETWEEN && op <= COND_EXITS;
}

static inline int cond_op_is_moves(unsigned op)
{
	return op == COND_MOVES_UP_PCT || op == COND_MOVES_DOWN_PCT;
}

#endif
