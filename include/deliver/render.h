/*
 * render.h — a claimed delivery's message (SPEC section 7, "Message"): the
 * rule's template of its channel, else the built-in text of the channel,
 * rendered over the delivery's context; and for an http channel with
 * `body: template` the request body from the channel's body_template.
 * Templates are compiled once per (tenant, template, version) and kept.
 * Loop thread.
 */
#ifndef LEO_RENDER_H
#define LEO_RENDER_H

#include <stddef.h>

#include "deliver_metrics.h"
#include "dstore.h"

struct render;

struct rendered {
	char *subject;		/* email only, else NULL */
	char *body;
	char *payload;		/* the http request body of `body: template`, else NULL */
};

/* Compile the built-in texts and each channel's body_template; NULL with
 * why when one does not compile (a config error) or out of memory. */
struct render *render_new(const struct deliver_cfg *cfg, char *why, size_t cap)
	__attribute__((warn_unused_result));
void render_free(struct render *r);

/* c's message into *out (rendered_free); 0, or -1 with *reason (DR_TEMPLATE,
 * DR_TEMPLATE_ENGINE_UNSUPPORTED) and why ("body 2:7: undefined name 'x'"). */
int render_message(struct render *r, const struct dclaim *c, const char *to,
		   struct rendered *out, enum deliver_reason *reason, char *why, size_t cap)
	__attribute__((warn_unused_result));
void rendered_free(struct rendered *m);

#endif
