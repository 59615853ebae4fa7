/* Rules: how an unknown host that powers on gets a build and a profile.
 * Pure: a rule's match (JSON) and what is known about the host in, a
 * verdict with the reason out, so `midwife rule test` and the boot path
 * give the same answer.
 *
 * A match is a JSON object; every key present must hold (AND), and each
 * key's list is a choice (OR). "{}" matches every host (a default rule).
 *   "mac":        ["52:54:00:12:34:56", "52:54:00:*", "52:54:00:00:00:10-52:54:00:00:00:1f"]
 *                 exact, prefix (whole octets then "*"), or an inclusive range
 *   "uuid":       ["4c4c4544-0042-...", ...]            exact, case-insensitive
 *   "serial", "vendor", "model", "circuit_id", "remote_id":
 *                 ["exact", "prefix*"]                   case-sensitive; "*" only at the end
 *   "arch":       [0, 7, 16]                             RFC 4578 / IANA client architecture
 *   "subnet":     ["lab", "rack-12"]                     [subnet NAME] of the config
 *   "labels":     {"rack": "r12", "role": "*"}           host labels (when the host has a record)
 * Anything else (an unknown key, a wrong type, an empty list, a malformed
 * MAC, a range whose ends are reversed) is refused by rule_match_validate
 * with the field named: "match.mac[1]: not a MAC, MAC prefix or MAC range". */
#ifndef MIDWIFE_INVENTORY_RULES_H
#define MIDWIFE_INVENTORY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_inventory.h"

#define RULE_WHY_MAX 512

/* What is known about the host being matched. NULL / has_ = false /
 * arch -1 when unknown; an unknown value never satisfies a key. */
struct rule_subject {
    bool has_mac;
    uint8_t mac[6];
    const char *uuid;
    const char *serial;
    const char *vendor;
    const char *model;
    int32_t arch;
    const char *subnet;
    const uint8_t *circuit_id; /* option 82 sub-option 1, raw */
    size_t circuit_id_len;
    const uint8_t *remote_id;  /* option 82 sub-option 2, raw */
    size_t remote_id_len;
    const char *labels;        /* JSON object text, NULL = none */
};

/* 0, or -EINVAL with "match.FIELD...: what" in err. */
int rule_match_validate(const char *match_json, char *err, size_t errlen);

/* Whether rule r matches s. why gets one line either way:
 * "mac 52:54:00:12:34:56 matches 52:54:00:*, arch 7 matches [7]" or
 * "serial: 'XYZ' matches none of [ABC*]". An invalid match never matches. */
bool rule_matches(const struct rule *r, const struct rule_subject *s, char *why, size_t whylen);

/* One line per rule tried, for `midwife rule test`. */
struct rule_trace {
    const char *rule; /* name */
    bool matched;
    char why[RULE_WHY_MAX];
};

/* First match wins: rules in rank order (as store_rule_list gives them).
 * Returns the index of the first matching rule or -1. trace (may be NULL)
 * gets one entry per rule tried, up to and including the match, at most
 * max_trace; *n_trace how many were written. */
int rules_first_match(const struct rule *rules, size_t n_rules, const struct rule_subject *s,
                      struct rule_trace *trace, size_t max_trace, size_t *n_trace);

/* Parses "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff" (any case). */
int mac_parse(const char *s, uint8_t mac[6]);
/* Formats as "aa:bb:cc:dd:ee:ff" into out[18]. */
char *mac_format(const uint8_t mac[6], char out[18]);

#endif
