/*
 * ids.h — the text sizes of the schema's identifiers, NUL included.
 *
 * A tenant id is a UUID in its canonical text form (36 characters); a rule
 * id is 64 lower-case hex digits (the schema's SHA-256 of the rule).
 */
#ifndef LEO_IDS_H
#define LEO_IDS_H

#define TENANT_ID_SIZE 37
#define RULE_ID_SIZE 65

#endif
