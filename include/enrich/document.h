/*
 * document.h — the text leo-enrich embeds for a profile (SPEC section 8),
 * built from the fields leo_enrich_fields() returns as json.  Deterministic:
 * the same fields give the same text, byte for byte.  Pure; any thread.
 *
 * The text, one line per part, parts with nothing in them left out:
 *
 *   job titles: Portfolio manager; Analyst
 *   segments: high value; active trader
 *   location: Hanoi
 *   symbols: AAPL, VNM
 *   events:
 *   convert campaign: Summer savers
 *   click alert: AAPL
 *   view news: Apple beats estimates
 *
 * The fields (leo_enrich_fields_of, schema/47_enrich.sql) hold the
 * profile's job_titles, segments, living_location and portfolio_snapshot as
 * they are, and its newest events.  Of job_titles and segments: a string is
 * itself; an array gives its strings, its numbers and the "name", "title"
 * or "symbol" of its objects; anything else nothing; blank ones dropped.
 * symbols: of the portfolio's "positions" (or "holdings") the strings as
 * above, or the keys when it is an object; sorted bytewise, each once.
 * Events as the fields list them (newest first), at most max_events; one
 * whose entity is gone has no ": text".  Control characters in a value
 * become spaces and runs of spaces one space, so a value stays on its line.
 * A field holds at most 256 items.
 */
#ifndef LEO_DOCUMENT_H
#define LEO_DOCUMENT_H

#include <cjson/cJSON.h>

/* The document of a profile; malloc'd, NULL when out of memory.  A field
 * missing or of the wrong type counts as empty. */
char *document_profile(const cJSON *fields, int max_events) __attribute__((warn_unused_result));

/* The document of a news row: the headline, a blank line, the body (NULL:
 * none).  malloc'd, NULL when out of memory. */
char *document_news(const char *headline, const char *body) __attribute__((warn_unused_result));

#endif
