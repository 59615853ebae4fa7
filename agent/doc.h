/* Checks a configuration document from the network before anything acts
 * on it. midwife validates what it sends, but the agent trusts nothing on
 * the wire: a hostile or broken answer (oversized, wrong JSON types, names
 * with '/' or "..", relative paths, control characters) is refused with a
 * message naming the field, and nothing is applied. */
#ifndef MIDWIFE_AGENT_DOC_H
#define MIDWIFE_AGENT_DOC_H

#include <jansson.h>
#include <stddef.h>

/* Largest answer the agent reads (the document is at most 1 MiB). */
#define DOC_MAX_BYTES (1024 * 1024)

/* 0 when doc has the shape docs/profiles.md gives the configuration
 * document (version 1; every list within its count; interface names
 * [A-Za-z0-9_.:-]{1,15} and not "." or ".."; absolute clean paths;
 * addresses a.b.c.d[/prefix]; VLAN ids 1..4094; no control characters in
 * any string), else -1 and "field: what is wrong" in err. Unknown keys are
 * ignored (a newer server may send more). */
int doc_check(const json_t *doc, char *err, size_t errlen);

#endif
