/* Boots, births and reports: the host side of the lifecycle.
 *
 * A boot starts when a host's script is served to the address midwife
 * leased to its MAC: a one-time token is made (random, only its SHA-256
 * stored), bound to the host and to that boot, and handed to the kernel.
 * The birth message spends it; the boot's reports and state uploads keep
 * using it until it expires or a later boot replaces it. */
#ifndef MIDWIFE_LIFECYCLE_BIRTH_H
#define MIDWIFE_LIFECYCLE_BIRTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lifecycle/lifecycle.h"

#define BOOT_TOKEN_LEN 64 /* 32 random bytes, hex */

/* Starts a new boot of h: next boot_id, earlier tokens revoked, the new
 * token's hash stored with its expiry ([lifecycle] token_ttl), h moved to
 * booting. token gets the text to hand out. */
int lifecycle_boot_begin(struct lifecycle *lc, struct host *h, char token[BOOT_TOKEN_LEN + 1], const char *why);

enum token_verdict {
    TOKEN_OK = 0,
    TOKEN_MISSING,  /* no bearer at all */
    TOKEN_UNKNOWN,  /* never issued (or its host was removed) */
    TOKEN_EXPIRED,
    TOKEN_REVOKED,  /* a later boot, a cleanup or the operator ended it */
    TOKEN_REPLAYED, /* a birth with a token already spent on one */
    TOKEN_UNBORN,   /* a report or state call before the birth */
    TOKEN_FOREIGN,  /* the facts name none of the token's host's MACs */
};
const char *token_verdict_name(enum token_verdict v); /* "expired" */

/* Checks a host call's bearer. for_birth: the token must be unspent;
 * otherwise it must have been spent by a birth. On TOKEN_OK *t and *h
 * (caller host_clear) are filled. Every refusal is recorded
 * (token.refused, or birth.refused for_birth) with the reason. */
enum token_verdict lifecycle_token_check(struct lifecycle *lc, const char *bearer, bool for_birth, uint32_t peer,
                                         struct boot_token *t, struct host *h);

/* A read-only look at a boot token, for the ESXi installer fetching its
 * kickstart (GET /boot/esxi/MAC/TOKEN/ks.cfg) before the birth: 0 when
 * token is issued, not revoked, not expired and not yet spent by a birth,
 * and its host has mac among its MACs; *h is then filled (caller
 * host_clear). -ENOENT otherwise. Nothing is spent, changed or recorded. */
int lifecycle_token_peek(struct lifecycle *lc, const char *token, const uint8_t mac[6], struct host *h);

/* A stateful host's installer started (its kickstart was served): records
 * the `install` operation of this boot and an install.started event, so
 * its next netboot gets the local script instead of the installer again
 * (until birth makes it born, or `reinstall`). what: for people. */
void lifecycle_install_started(struct lifecycle *lc, const struct host *h, const char *what);

/* Largest facts document accepted, in bytes of JSON. */
#define BIRTH_FACTS_MAX (256 * 1024)

struct birth_outcome {
    int status;        /* the HTTP status to answer: 200, 400, 401, 422, 500 */
    char error[256];   /* for non-200 */
    char field[64];    /* for 400: the facts field that is wrong */
    char *doc;         /* 200: the configuration document, malloc'd JSON */
    unsigned leases, duplicates, tokens, operations; /* what the cleanup removed */
};

/* The birth transaction. bearer: the boot token; facts: the request
 * body, a JSON object (docs/api.md); peer: where it came from. In one
 * store transaction: the token is spent, stale leases of the host's MACs
 * on other addresses are removed, duplicate records carrying one of its
 * MACs, its UUID or its serial are folded into it, tokens of earlier
 * boots revoked, operations of earlier boots abandoned, facts stored,
 * the host moved to born; then the born hooks fire. Nothing changes on
 * any refusal. out->doc is the caller's to free. */
void lifecycle_birth(struct lifecycle *lc, const char *bearer, const json_t *facts, uint32_t peer,
                     const char *base_url, struct birth_outcome *out);

struct report_outcome {
    int status;      /* 200, 400, 401 */
    char error[256];
    char field[64];
    char state[16];  /* the host's state after the report */
    char reason[HOST_REASON_MAX];
};

/* POST /api/v1/report: {"step","status","message"?,"log"?} | {"ready": true}
 * | {"failed": "error", "step"?, "log"?}. The first step moves a born host
 * to configuring; ready moves it to ready unless a born hook failed
 * (held in configuring, with the reason) or still runs (ready follows
 * when it succeeds); failed moves it to failed. */
void lifecycle_report(struct lifecycle *lc, const char *bearer, const json_t *body, uint32_t peer,
                      struct report_outcome *out);

/* Lease cleanup at birth is the DHCP service's: it holds the leases in
 * memory too. fn removes every lease of mac except the one at
 * keep_address (0: none) from memory and from the store (inside the open
 * transaction) and returns how many. Unset (no DHCP service): the store's
 * rows are removed directly. */
void lifecycle_set_lease_cleaner(struct lifecycle *lc,
                                 unsigned (*fn)(void *arg, const uint8_t mac[6], uint32_t keep_address), void *arg);

#endif
