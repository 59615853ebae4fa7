/* Hosts, profiles and rules as the REST API, `midwife apply` and
 * `midwife export` write them: one JSON shape for all three (docs/api.md).
 * Decoding validates every field and names the one that is wrong. */
#ifndef MIDWIFE_INVENTORY_MODEL_JSON_H
#define MIDWIFE_INVENTORY_MODEL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "store/store_inventory.h"

/* host → {"name", "macs": ["aa:bb:.."], "uuid", "serial", "build": "NAME" or
 * "NAME@V" or "", "profile", "mode", "address": "a.b.c.d" or "", "vlan",
 * "labels": {}, "vars": {}, "state", "state_reason", "state_since" (RFC 3339),
 * "last_seen", "boot_id", "facts": {}, "created", "updated"}. New reference. */
json_t *host_to_json(const struct host *h);

/* Applies j onto h (h already initialised: host_init or a stored host).
 * Only the writable fields are read: name, macs, uuid, serial, build,
 * profile, mode, address, vlan, labels, vars. partial (PATCH): absent
 * fields keep h's value; else absent fields take their defaults. Unknown
 * keys, and the read-only ones when they differ, are refused. An absent
 * name keeps h's (a PUT names the host in its path; "name: missing" when
 * h has none). null in a string field means "" (clear it). UUIDs are
 * stored lowercase, MACs any case with ':' or '-'. labels and vars: at
 * most 64 entries, values at most 1024 bytes. On error h is unchanged.
 * 0, or -EINVAL with "FIELD: what" in err ("macs[1]: not a MAC address"). */
int host_from_json(const json_t *j, struct host *h, bool partial, char *err, size_t errlen);

/* profile → {"name", "doc": {...}, "created", "updated"} */
json_t *profile_to_json(const struct profile *p);
/* {"name", "doc": {...}}: doc checked with profile_validate (its errors
 * prefixed "doc."); created/updated only if equal to p's. */
int profile_from_json(const json_t *j, struct profile *p, char *err, size_t errlen);

/* rule → {"name", "rank", "match": {...}, "build", "profile", "mode" (or null),
 * "labels": {}, "created", "updated"} */
json_t *rule_to_json(const struct rule *r);
/* name and rank required; match (default {}) checked with
 * rule_match_validate; mode null or absent = -1. On error r is unchanged. */
int rule_from_json(const json_t *j, struct rule *r, char *err, size_t errlen);

/* RFC 3339 UTC with milliseconds: "2026-12-01T21:30:00.000Z"; 0 → null. */
json_t *json_time_ms(int64_t ms);

#endif
