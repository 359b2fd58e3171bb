/*
 * ckpt.h — per symbol, the last price whose firings are all committed: the
 * checkpoint the writer records in leo_checkpoint (schema/44_checkpoint.sql)
 * and start-up replays from (load.c).
 *
 * Any thread: workers report ticks and firings, writers report firings
 * done and take what to write; one mutex guards the table.  The owner
 * (main) creates it before the workers and frees it after the writers.
 */
#ifndef LEO_CKPT_H
#define LEO_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dec.h"

struct ckpt;

/* One checkpoint to write. */
struct ckpt_row {
	char *symbol;			/* malloc'd; ckpt_rows_free */
	dec_t price, chg;
	bool has_chg;
	int64_t observed_us;
};

struct ckpt_rows {
	size_t n, cap;
	struct ckpt_row *r;
};

struct ckpt *ckpt_new(void) __attribute__((warn_unused_result));
void ckpt_free(struct ckpt *c);

/* Worker: an event of symbol goes to the writer (before the push). */
void ckpt_fired(struct ckpt *c, const char *symbol);

/* Worker: symbol's tick, observed at observed_us, is evaluated and its
 * events pushed. */
void ckpt_ticked(struct ckpt *c, const char *symbol, dec_t price, bool has_chg, dec_t chg,
		 int64_t observed_us);

/* Writer: n events of symbol are done (committed, or dropped for good). */
void ckpt_done(struct ckpt *c, const char *symbol, size_t n);

/*
 * Writer: move every checkpoint that advanced since it was last taken into
 * out (appended).  0, or -1 when out of memory (nothing lost: they stay).
 * ckpt_untake gives them back after a failed write.
 */
int ckpt_take(struct ckpt *c, struct ckpt_rows *out) __attribute__((warn_unused_result));
void ckpt_untake(struct ckpt *c, const struct ckpt_rows *rows);
bool ckpt_dirty(struct ckpt *c);
void ckpt_rows_free(struct ckpt_rows *rows);

#endif
