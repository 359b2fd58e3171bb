/*
 * dstore.h — the sender's side of the database: the schema's functions of
 * schema/46_deliver.sql, each called in one transaction under one tenant's
 * app.current_tenant_id (RLS is never bypassed).
 *
 * A struct dstore is one connection and belongs to one thread (the loop's,
 * or the stats thread's for receipts).  Calls block for one round trip.
 * A call that fails on a broken connection drops it; the next call
 * connects again (the caller paces retries with pool_backoff_ms).
 */
#ifndef LEO_DSTORE_H
#define LEO_DSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "ids.h"

struct cJSON;
struct pool;
struct dstore;

/* One claimed delivery; strings owned by it (dstore_claims_free). */
struct dclaim {
	char tenant[TENANT_ID_SIZE];
	long long delivery_id;
	int channel;			/* enum deliver_channel_id */
	char *idempotency_key;
	int attempt;			/* the number of the attempt about to be made */
	double age_s;
	bool consent_ok;
	char *address;			/* NULL: none */
	char *template_id;		/* NULL: the built-in text */
	int template_version;
	char *template_engine;
	char *subject_template;		/* NULL when none */
	char *body_template;
	struct cJSON *context;		/* the template context (SPEC 7) */
};

struct dstore *dstore_new(struct pool *p) __attribute__((warn_unused_result));
void dstore_free(struct dstore *d);

/* Whether the last call found the connection working. */
bool dstore_up(const struct dstore *d);

/* The active tenants (leo_active_tenants()); *ids malloc'd. 0 or -1. */
int dstore_tenants(struct dstore *d, char (**ids)[TENANT_ID_SIZE], int *n)
	__attribute__((warn_unused_result));

/* Claim up to limit due deliveries of tenant on channel (a leo_channel name)
 * for owner; *out malloc'd (dstore_claims_free).  0 or -1. */
int dstore_claim(struct dstore *d, const char *tenant, const char *owner, int lease_s, int limit,
		 const char *channel, struct dclaim **out, int *n) __attribute__((warn_unused_result));
void dstore_claims_free(struct dclaim *c, int n);

/* Attempts' records and their status moves, n of one tenant in one
 * statement (leo_deliver_record_many over arrays: one call and one commit
 * for all).  attempt 0: no attempt
 * row (a failure without a send).  kept[k]: false when record k's claim had
 * been lost (nothing written for it).  0, or -1: nothing written at all. */
struct drecord {
	long long delivery_id;
	int attempt;
	int64_t started_us, ended_us;	/* unix microseconds */
	const char *outcome;		/* sent | delivered | retry | failed */
	long status_code;		/* 0: none */
	const char *error;		/* NULL: none */
	const char *response;		/* NULL: none */
	int64_t next_us;		/* retry: when due */
	const char *provider_response;	/* JSON text, NULL: none */
};
int dstore_record(struct dstore *d, const char *tenant, const char *owner,
		  const struct drecord *r, int n, bool *kept) __attribute__((warn_unused_result));

/* Give claims back untouched; 0 or -1. */
int dstore_release(struct dstore *d, const char *tenant, const char *owner,
		   const long long *ids, int n) __attribute__((warn_unused_result));

/* Queued deliveries of tenant per channel and the oldest one's age. */
int dstore_backlog(struct dstore *d, const char *tenant, double queued[], int nchannels,
		   double *oldest_s) __attribute__((warn_unused_result));

/* A receipt (leo_deliver_receipt): *result "ok", "unknown" or "conflict"
 * (a static string).  0 or -1 (database error). */
int dstore_receipt(struct dstore *d, const char *tenant, long long delivery_id,
		   const char *status, const char *provider_response, const char **result)
	__attribute__((warn_unused_result));

#endif
