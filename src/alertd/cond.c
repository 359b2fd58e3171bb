/*
 * cond.c — condition_logic JSON text -> compiled condition (cond_int.h).
 *
 * Pure; any thread.  Called by the workers on rule load and by tests.
 *
 * DESIGN
 * A reader for exactly the grammar of SPEC section 3 over the strict JSON
 * tokens of condjson.c (which keeps numbers exact and errors at their path).
 * It recurses once per object and array, and refuses a composite before
 * descending past the 8-composite limit, so hostile nesting costs at most
 * 2 * 9 stack frames.  It never needs to skip an arbitrary JSON value: an
 * unknown key is an error the moment its name has been read.
 *
 * Every error names the path of the part that is wrong and the problem, as in
 * "all[1].value: more than 8 fractional digits".  The wording follows the
 * database's leo_condition_check() (schema/20_condition.sql), which accepts
 * the same language on the jsonb form.
 */
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond.h"
#include "cond_int.h"
#include "condjson.h"
#include "dec.h"

/* Composites are at most 8 per path and each has a leaf below it. */
#define COND_MAX_NODES (COND_MAX_LEAVES * (COND_MAX_DEPTH + 1) + COND_MAX_DEPTH)

enum {
	K_OPERATOR = 1 << 0, K_FIELD = 1 << 1, K_VALUE = 1 << 2, K_LOW = 1 << 3,
	K_HIGH = 1 << 4, K_WINDOW = 1 << 5, K_ALL = 1 << 6, K_ANY = 1 << 7,
	K_NOT = 1 << 8
};

static const struct {
	const char *name;
	unsigned bit;
} cond_keys[] = {
	{ "operator", K_OPERATOR }, { "field", K_FIELD }, { "value", K_VALUE },
	{ "low", K_LOW }, { "high", K_HIGH }, { "window_seconds", K_WINDOW },
	{ "all", K_ALL }, { "any", K_ANY }, { "not", K_NOT },
};

static const struct {
	const char *name;
	enum cond_op op;
	unsigned operands;	/* keys it requires (and the only ones it allows) */
} cond_ops[] = {
	{ ">", COND_GT, K_VALUE }, { ">=", COND_GE, K_VALUE },
	{ "<", COND_LT, K_VALUE }, { "<=", COND_LE, K_VALUE },
	{ "==", COND_EQ, K_VALUE }, { "!=", COND_NE, K_VALUE },
	{ "crosses_above", COND_CROSSES_ABOVE, K_VALUE },
	{ "crosses_below", COND_CROSSES_BELOW, K_VALUE },
	{ "crosses", COND_CROSSES, K_VALUE },
	{ "between", COND_BETWEEN, K_LOW | K_HIGH },
	{ "outside", COND_OUTSIDE, K_LOW | K_HIGH },
	{ "enters", COND_ENTERS, K_LOW | K_HIGH },
	{ "exits", COND_EXITS, K_LOW | K_HIGH },
	{ "moves_up_pct", COND_MOVES_UP_PCT, K_VALUE | K_WINDOW },
	{ "moves_down_pct", COND_MOVES_DOWN_PCT, K_VALUE | K_WINDOW },
};

struct cond_reader {
	/* cond_read() zeroes everything before `small`. */
	struct condjson j;
	struct cond_node *node;	/* cap nodes: `small` or the heap */
	size_t n, cap;
	int leaves;
	struct cond_node small[8];
};

static int cond_object(struct cond_reader *r, int depth);

/* The array of all/any at r->j.pos; path already ends in the key. */
static int cond_array(struct cond_reader *r, int depth)
{
	size_t i = 0;

	if (condjson_peek(&r->j) != '[')
		return condjson_fail(&r->j, NULL, "must be a JSON array, not %s",
				 condjson_kind_of(condjson_peek(&r->j)));
	r->j.pos++;
	if (condjson_peek(&r->j) == ']')
		return condjson_fail(&r->j, NULL, "must not be empty");
	for (;; i++) {
		size_t saved = r->j.plen;
		int c;

		condjson_path_index(&r->j, i);
		if (cond_object(r, depth))
			return -1;
		condjson_path_restore(&r->j, saved);
		c = condjson_peek(&r->j);
		if (c == ',') {
			r->j.pos++;
			continue;
		}
		if (c == ']') {
			r->j.pos++;
			return 0;
		}
		return condjson_fail(&r->j, NULL, "expected ',' or ']' after element %zu", i);
	}
}

static int cond_window(struct cond_reader *r, uint32_t *out)
{
	const char *tok;
	size_t tl;
	dec_t v;

	if (condjson_number(&r->j, "window_seconds", &v, &tok, &tl))
		return -1;
	if (memchr(tok, '.', tl))
		return condjson_fail(&r->j, "window_seconds", "must be an integer");
	if (v < DEC_ONE || v > (dec_t)COND_MAX_WINDOW_S * DEC_ONE)
		return condjson_fail(&r->j, "window_seconds", "must be between 1 and 86400");
	*out = (uint32_t)(v / DEC_ONE);
	return 0;
}

/*
 * One condition object at r->j.pos.  `depth` counts the composites above it.
 * Appends its node (and its children's) to r->node.
 */
static int cond_object(struct cond_reader *r, int depth)
{
	struct cond_node nd;
	size_t me, saved;
	unsigned seen = 0;
	char kbuf[24], sbuf[24];
	size_t klen, slen;
	const char *opname = NULL;
	int c;

	memset(&nd, 0, sizeof(nd));
	c = condjson_peek(&r->j);
	if (c != '{')
		return condjson_fail(&r->j, NULL, "must be a JSON object, not %s", condjson_kind_of(c));
	r->j.pos++;
	if (r->n >= r->cap) {
		size_t ncap = r->cap * 4 < COND_MAX_NODES ? r->cap * 4 : COND_MAX_NODES;
		struct cond_node *nn;

		if (r->n >= COND_MAX_NODES)
			return condjson_fail(&r->j, NULL, "too many nodes");
		nn = malloc(ncap * sizeof(*nn));
		if (!nn)
			return condjson_fail(&r->j, NULL, "out of memory");
		memcpy(nn, r->node, r->n * sizeof(*nn));
		if (r->node != r->small)
			free(r->node);
		r->node = nn;
		r->cap = ncap;
	}
	me = r->n++;
	memset(&r->node[me], 0, sizeof(r->node[me]));

	c = condjson_peek(&r->j);
	if (c == '}') {
		r->j.pos++;
		return condjson_fail(&r->j, "operator", "missing (expected a leaf with \"operator\" "
				 "or one of \"all\", \"any\", \"not\")");
	}
	for (;;) {
		unsigned bit = 0;
		const char *kname = NULL;

		c = condjson_peek(&r->j);
		if (c != '"')
			return condjson_fail(&r->j, NULL, c == -1 ? "expected a key, found end of text"
						  : "expected a key (a JSON string)");
		if (condjson_string(&r->j, NULL, kbuf, sizeof(kbuf), &klen))
			return -1;
		for (size_t k = 0; k < sizeof(cond_keys) / sizeof(cond_keys[0]); k++)
			if (klen == strlen(cond_keys[k].name) &&
			    memcmp(kbuf, cond_keys[k].name, klen) == 0) {
				bit = cond_keys[k].bit;
				kname = cond_keys[k].name;
			}
		if (!bit) {
			char pk[80];

			condjson_printable(pk, sizeof(pk), kbuf, klen < sizeof(kbuf) - 1 ?
				       klen : sizeof(kbuf) - 1, true);
			return condjson_fail(&r->j, pk, "unknown key");
		}
		if (seen & bit)
			return condjson_fail(&r->j, kname, "duplicate key");
		if (seen & (K_ALL | K_ANY | K_NOT))
			return condjson_fail(&r->j, kname, "unknown key (a composite has exactly one "
					 "key, here \"%s\")", seen & K_ALL ? "all" :
					 seen & K_ANY ? "any" : "not");
		if ((bit & (K_ALL | K_ANY | K_NOT)) && opname)
			return condjson_fail(&r->j, kname, "unknown key for operator \"%s\"", opname);
		if ((bit & (K_ALL | K_ANY | K_NOT)) && seen)
			return condjson_fail(&r->j, kname, "unknown key (a composite has exactly one key)");
		seen |= bit;
		if (condjson_expect(&r->j, kname, ':', "':'"))
			return -1;

		switch (bit) {
		case K_ALL:
		case K_ANY:
		case K_NOT:
			condjson_path_key(&r->j, kname, &saved);
			if (depth + 1 > COND_MAX_DEPTH) {
				condjson_path_restore(&r->j, saved);
				return condjson_fail(&r->j, kname, "more than 8 nested composites");
			}
			if (bit == K_NOT) {
				if (cond_object(r, depth + 1))
					return -1;
			} else if (cond_array(r, depth + 1)) {
				return -1;
			}
			condjson_path_restore(&r->j, saved);
			nd.op = bit == K_ALL ? COND_ALL : bit == K_ANY ? COND_ANY : COND_NOT;
			break;
		case K_OPERATOR:
		case K_FIELD:
			c = condjson_peek(&r->j);
			if (c != '"' && bit == K_FIELD)
				return condjson_fail(&r->j, kname, "must be \"price\" or \"change_percent\"");
			if (c != '"')
				return condjson_fail(&r->j, kname, "must be a JSON string, not %s",
						 condjson_kind_of(c));
			if (condjson_string(&r->j, kname, sbuf, sizeof(sbuf), &slen))
				return -1;
			if (bit == K_FIELD) {
				if (slen == 5 && memcmp(sbuf, "price", 5) == 0)
					nd.field = COND_FIELD_PRICE;
				else if (slen == 14 && memcmp(sbuf, "change_percent", 14) == 0)
					nd.field = COND_FIELD_CHG;
				else
					return condjson_fail(&r->j, kname, "must be \"price\" or \"change_percent\"");
				break;
			}
			for (size_t k = 0; k < sizeof(cond_ops) / sizeof(cond_ops[0]); k++)
				if (slen == strlen(cond_ops[k].name) &&
				    memcmp(sbuf, cond_ops[k].name, slen) == 0) {
					nd.op = (uint8_t)cond_ops[k].op;
					opname = cond_ops[k].name;
				}
			if (!opname) {
				char pv[80];

				condjson_printable(pv, sizeof(pv), sbuf, slen < sizeof(sbuf) - 1 ?
					       slen : sizeof(sbuf) - 1, false);
				return condjson_fail(&r->j, kname, "unknown operator %s", pv);
			}
			break;
		case K_VALUE:
		case K_LOW:
		case K_HIGH: {
			dec_t v;
			const char *tok;
			size_t tl;

			if (condjson_number(&r->j, kname, &v, &tok, &tl))
				return -1;
			if (bit == K_HIGH)
				nd.b = v;
			else
				nd.a = v;
			break;
		}
		case K_WINDOW:
			if (cond_window(r, &nd.window_s))
				return -1;
			break;
		}

		c = condjson_peek(&r->j);
		if (c == ',') {
			r->j.pos++;
			continue;
		}
		if (c == '}') {
			r->j.pos++;
			break;
		}
		return condjson_fail(&r->j, NULL, "expected ',' or '}' after %s", kname);
	}

	if (seen & (K_ALL | K_ANY | K_NOT)) {
		nd.size = (uint16_t)(r->n - me);
		r->node[me] = nd;
		return 0;
	}

	/* A leaf: the operator decides which operands it needs and allows. */
	if (!(seen & K_OPERATOR))
		return condjson_fail(&r->j, "operator", "missing (expected a leaf with \"operator\" "
				 "or one of \"all\", \"any\", \"not\")");
	{
		unsigned want = 0;
		static const unsigned operands = K_VALUE | K_LOW | K_HIGH | K_WINDOW;

		for (size_t k = 0; k < sizeof(cond_ops) / sizeof(cond_ops[0]); k++)
			if (cond_ops[k].op == nd.op)
				want = cond_ops[k].operands;
		for (size_t k = 0; k < sizeof(cond_keys) / sizeof(cond_keys[0]); k++) {
			unsigned b = cond_keys[k].bit;

			if (!(b & operands))
				continue;
			if ((seen & b) && !(want & b))
				return condjson_fail(&r->j, cond_keys[k].name,
						 "unknown key for operator \"%s\"", opname);
			if (!(seen & b) && (want & b))
				return condjson_fail(&r->j, cond_keys[k].name,
						 "missing (operator \"%s\" needs it)", opname);
		}
	}
	if (cond_op_has_range(nd.op) && nd.a > nd.b)
		return condjson_fail(&r->j, "low", "greater than high");
	if (cond_op_is_moves(nd.op)) {
		if (nd.field != COND_FIELD_PRICE)
			return condjson_fail(&r->j, "field", "must be \"price\" for operator \"%s\"", opname);
		if (nd.a <= 0)
			return condjson_fail(&r->j, "value", "must be greater than 0");
	}
	if (++r->leaves > COND_MAX_LEAVES)
		return condjson_fail(&r->j, NULL, "more than 64 leaves");
	nd.size = 1;
	r->node[me] = nd;
	return 0;
}

/* Parse the whole text into r->node; 0 or -1 (message in r->j.err). */
static int cond_read(struct cond_reader *r, const char *json, size_t len,
		     char *err, size_t errlen)
{
	memset(r, 0, offsetof(struct cond_reader, small));
	r->j.s = json;
	r->j.len = len;
	r->j.err = err;
	r->j.errlen = errlen;
	r->node = r->small;
	r->cap = sizeof(r->small) / sizeof(r->small[0]);
	r->j.path[0] = '\0';
	if (err && errlen)
		err[0] = '\0';
	if (!json)
		return condjson_fail(&r->j, NULL, "no text");
	if (condjson_check_utf8(&r->j) || cond_object(r, 0))
		return -1;
	if (condjson_peek(&r->j) != -1) {
		r->j.plen = 0;
		r->j.path[0] = '\0';
		return condjson_fail(&r->j, NULL, "unexpected text after the object");
	}
	return 0;
}

static uint32_t cond_flags_of(const struct cond_node *node, size_t n)
{
	uint32_t flags = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned op = node[i].op;

		if ((op >= COND_CROSSES_ABOVE && op <= COND_CROSSES) ||
		    op == COND_ENTERS || op == COND_EXITS)
			flags |= COND_F_EDGE;
		if (cond_op_is_moves(op))
			flags |= COND_F_EDGE | COND_F_MOVES;
	}
	return flags;
}

static struct cond *cond_alloc(struct cond_reader *r)
{
	struct cond *c = malloc(sizeof(*c) + r->n * sizeof(c->node[0]));

	if (!c) {
		condjson_fail(&r->j, NULL, "out of memory");
		return NULL;
	}
	c->n = (uint32_t)r->n;
	c->flags = cond_flags_of(r->node, r->n);
	memcpy(c->node, r->node, r->n * sizeof(c->node[0]));
	return c;
}

struct cond *cond_compile(const char *json, size_t len, char *err, size_t errlen)
{
	struct cond_reader r;
	struct cond *c = NULL;

	if (cond_read(&r, json, len, err, errlen) == 0)
		c = cond_alloc(&r);
	if (r.node != r.small)
		free(r.node);
	return c;
}

int cond_compile_leaf(const char *json, size_t len, struct cond_node *leaf,
		      uint32_t *flags, struct cond **out, char *err, size_t errlen)
{
	struct cond_reader r;
	int rc = -1;

	*out = NULL;
	if (cond_read(&r, json, len, err, errlen) == 0) {
		if (r.n == 1) {
			*leaf = r.node[0];
			*flags = cond_flags_of(r.node, 1);
			rc = 1;
		} else if ((*out = cond_alloc(&r))) {
			rc = 0;
		}
	}
	if (r.node != r.small)
		free(r.node);
	return rc;
}

void cond_free(struct cond *c)
{
	free(c);
}

bool cond_is_edge(const struct cond *c)
{
	return (c->flags & COND_F_EDGE) != 0;
}
