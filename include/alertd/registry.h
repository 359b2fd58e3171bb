/*
 * registry.h — the loop's registry of the rules it has sent to the workers:
 * rule id -> symbol, tenant, load generation (listen.c's `reg`).
 *
 * Compact, because it holds every ACTIVE rule: about 50 bytes a rule.  Loop
 * thread only; nothing locks.
 */
#ifndef LEO_REGISTRY_H
#define LEO_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct registry;

struct registry *registry_new(void) __attribute__((warn_unused_result));
void registry_free(struct registry *r);

/* A rule id the registry (and the engine) takes: 64 lower-case hex digits. */
bool registry_id_ok(const char *rule_id);

/*
 * Add a rule, or update its symbol, tenant and generation.  When the rule
 * was there under another symbol, that symbol is copied to was (waslen
 * bytes; else was is ""), so the caller can drop it there.  0, or -1 when
 * out of memory or rule_id is not registry_id_ok (nothing changed then).
 */
int registry_put(struct registry *r, const char *rule_id, const char *symbol,
		 const char *tenant, uint32_t gen, char *was, size_t waslen)
	__attribute__((warn_unused_result));

/* The symbol a rule was registered with, or NULL.  Valid until the next
 * change to the registry. */
const char *registry_symbol(const struct registry *r, const char *rule_id);

/* Remove one rule; false if it was not there. */
bool registry_del(struct registry *r, const char *rule_id);

/* Remove every rule of a tenant; returns how many. */
size_t registry_drop_tenant(struct registry *r, const char *tenant);

/*
 * Remove every rule whose generation is not gen, calling fn(arg, rule_id,
 * symbol) for each before it goes; returns how many.
 */
typedef void (*registry_drop_fn)(void *arg, const char *rule_id, const char *symbol);
size_t registry_drop_stale(struct registry *r, uint32_t gen, registry_drop_fn fn,
			   void *arg);

size_t registry_count(const struct registry *r);

/* Bytes the registry holds on the heap (for tests and benchmarks). */
size_t registry_bytes(const struct registry *r);

#endif
