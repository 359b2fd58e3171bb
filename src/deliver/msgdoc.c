/*
 * msgdoc.c — a message as the delivery document (SPEC section 7), through
 * cJSON, so every string is escaped as JSON requires.  Pure; any thread.
 */
#include "msgdoc.h"

#include <cjson/cJSON.h>

static void msgdoc_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

char *msgdoc_json(const struct tr_msg *m)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "delivery_id", (double)m->delivery_id);
	msgdoc_str(o, "tenant_id", m->tenant_id);
	msgdoc_str(o, "channel", m->channel);
	msgdoc_str(o, "to", m->to);
	msgdoc_str(o, "subject", m->subject);
	msgdoc_str(o, "body", m->body);
	msgdoc_str(o, "idempotency_key", m->idempotency_key);
	msgdoc_str(o, "rule_id", m->rule_id);
	msgdoc_str(o, "profile_id", m->profile_id);
	msgdoc_str(o, "created_at", m->created_at);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}
