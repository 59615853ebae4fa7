/* The inventory: hosts with their identities, profiles, rules, boot
 * tokens, saved state archives, per-boot operations and the admin token.
 * SQL lives in store_inventory.c; callers see only these structs.
 *
 * Free-form parts (labels, variables, facts, a profile's document, a
 * rule's match) are JSON text, validated by inventory/ before they are
 * stored; the store keeps them as given. Strings marked "malloc'd" are
 * owned by the struct and freed by its *_clear(); the store never returns
 * NULL for them ("{}" when empty).
 *
 * Getters (store_host_get, store_profile_get, ...) overwrite *out without
 * freeing what it held: pass a cleared or fresh struct. On failure *out
 * holds no allocation, so *_clear() is always safe after a getter.
 * Writes run inside the caller's store_begin() transaction when one is
 * open, else each is a transaction of its own. */
#ifndef MIDWIFE_STORE_STORE_INVENTORY_H
#define MIDWIFE_STORE_STORE_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_build.h"

#define HOST_NAME_MAX_LEN 64 /* with the NUL */
#define HOST_MAX_MACS 8
#define HOST_UUID_LEN 36     /* canonical lowercase 8-4-4-4-12 */
#define HOST_SERIAL_MAX 65
#define HOST_REASON_MAX 256
#define PROFILE_NAME_MAX 64
#define RULE_NAME_MAX 64

/* The lifecycle (docs/ARCHITECTURE.md draws the transitions). */
enum host_state {
    HOST_UNKNOWN = 0,     /* never seen (only for hosts created by hand before any boot) */
    HOST_DISCOVERED,      /* powered on, matched by a rule, record created */
    HOST_BOOTING,         /* a boot token was issued: its script is out */
    HOST_BORN,            /* the birth message was accepted */
    HOST_CONFIGURING,     /* the agent is applying the configuration */
    HOST_READY,
    HOST_FAILED,
    HOST_RETIRED,         /* forgotten by the operator: never booted again */
};
#define HOST_STATE_COUNT 8

enum host_mode { HOST_MODE_STATELESS = 0, HOST_MODE_STATEFUL, HOST_MODE_SANBOOT, HOST_MODE_LOCAL };

const char *host_state_name(enum host_state s);   /* "ready" */
int host_state_parse(const char *s, enum host_state *out); /* 0 / -EINVAL */
const char *host_mode_name(enum host_mode m);
int host_mode_parse(const char *s, enum host_mode *out);

struct host {
    int64_t id;
    char name[HOST_NAME_MAX_LEN];
    uint8_t macs[HOST_MAX_MACS][6]; /* [0] is the primary (boot) MAC */
    size_t n_macs;                  /* 0..HOST_MAX_MACS */
    char uuid[HOST_UUID_LEN + 1];   /* SMBIOS UUID, "" = unknown */
    char serial[HOST_SERIAL_MAX];   /* "" = unknown */
    char build[BUILD_NAME_MAX];     /* "" = the configured default build */
    int build_version;              /* 0 = latest */
    char profile[PROFILE_NAME_MAX]; /* "" = none */
    enum host_mode mode;
    uint32_t address;               /* static address (host order), 0 = DHCP */
    int vlan;                       /* 0 = none, else 1..4094 */
    char *labels;                   /* malloc'd JSON object of strings */
    char *vars;                     /* malloc'd JSON object of strings */
    char *facts;                    /* malloc'd JSON object: last facts the host sent */
    enum host_state state;
    char state_reason[HOST_REASON_MAX];
    int64_t state_since;            /* wall clock, ms */
    int64_t last_seen;              /* wall clock, ms; 0 = never */
    int64_t created, updated;       /* wall clock, ms */
    int64_t boot_id;                /* the current boot's number; 0 = never booted */
};

/* Zeroes h and sets labels/vars/facts to malloc'd "{}". -ENOMEM. */
int host_init(struct host *h);
void host_clear(struct host *h); /* frees the JSON strings */

/* Checked by store_host_put(); usable for early, clear messages.
 * Host, profile and rule names follow build_name_valid(). */
bool host_uuid_valid(const char *s);   /* canonical lowercase form */
bool host_serial_valid(const char *s); /* 1..64 of [A-Za-z0-9._:/+-] and space */

/* Insert (h->id == 0) or update (by id; -ENOENT if gone). Sets id,
 * created, updated (and state_since on insert when it is 0). -EINVAL for
 * an invalid field or a MAC listed twice; -EEXIST when the name, a MAC,
 * the UUID or the serial belongs to another host (where names the
 * conflicting field: "name", "mac", "uuid", "serial"; where may be NULL).
 * An update writes the writable fields only (name, macs, uuid, serial,
 * build, profile, mode, address, vlan, labels, vars): state, facts,
 * last_seen and boot_id belong to the calls below. Does not require the
 * build or profile to exist (the API checks). */
int store_host_put(struct store *st, struct host *h, const char **where);
int store_host_get(struct store *st, int64_t id, struct host *out);               /* -ENOENT */
int store_host_by_name(struct store *st, const char *name, struct host *out);     /* -ENOENT */
int store_host_by_mac(struct store *st, const uint8_t mac[6], struct host *out);  /* -ENOENT */
int store_host_by_uuid(struct store *st, const char *uuid, struct host *out);     /* -ENOENT */
int store_host_by_serial(struct store *st, const char *serial, struct host *out); /* -ENOENT */
/* Deletes the host and everything bound to it (MACs, tokens, state
 * archive, operations). Events stay (the flight recorder keeps history). */
int store_host_delete(struct store *st, int64_t id); /* -ENOENT */

/* Every filter given must hold (AND); search is case-insensitive. */
struct host_filter {
    const char *state;   /* NULL = any; else a state name */
    const char *build;   /* NULL = any */
    const char *label;   /* NULL = any; "key=value" or "key" */
    const char *search;  /* NULL = any; substring of name, a MAC (aa:bb:..), uuid or serial */
    const char *after;   /* NULL = from the start; else names > after (pagination) */
    size_t limit;        /* 0 = no limit */
};
/* Hosts ordered by name (f NULL = all; an unknown state name is -EINVAL).
 * The host passed to cb is valid during the call only. cb returning
 * non-zero stops the walk and is returned; cb must not list hosts itself. */
int store_host_list(struct store *st, const struct host_filter *f, int (*cb)(const struct host *, void *),
                    void *arg);
/* Hosts per state, counts[HOST_STATE_COUNT]. */
int store_host_count_by_state(struct store *st, uint64_t counts[HOST_STATE_COUNT]);

/* Sets state, reason and state_since (and updated) of one host, nothing
 * else: the lifecycle's only way to move a host. state_since moves only
 * when the state changes (a new reason in the same state keeps it).
 * -ENOENT. */
int store_host_set_state(struct store *st, int64_t id, enum host_state s, const char *reason, int64_t now_ms);
/* Replaces facts (JSON text) and sets last_seen. -ENOENT. */
int store_host_set_facts(struct store *st, int64_t id, const char *facts, int64_t now_ms);
/* Increments boot_id and returns the new number in *boot_id. -ENOENT. */
int store_host_next_boot(struct store *st, int64_t id, int64_t *boot_id);

/* ---- profiles: the configuration document handed over at birth ---- */

struct profile {
    char name[PROFILE_NAME_MAX];
    char *doc; /* malloc'd JSON object (inventory/profile.h describes it) */
    int64_t created, updated;
};
void profile_clear(struct profile *p);

/* Insert or replace by name; sets created (kept on replace) and updated. */
int store_profile_put(struct store *st, struct profile *p);
int store_profile_get(struct store *st, const char *name, struct profile *out); /* -ENOENT */
/* -EBUSY while a host or a rule names it; -ENOENT. */
int store_profile_delete(struct store *st, const char *name);
int store_profile_list(struct store *st, const char *after, size_t limit,
                       int (*cb)(const struct profile *, void *), void *arg);

/* ---- rules: what an unknown host that powers on gets ---- */

struct rule {
    char name[RULE_NAME_MAX];
    int rank;          /* ascending: lower ranks are tried first; unique */
    char *match;       /* malloc'd JSON object (inventory/rules.h); "{}" matches every host */
    char build[BUILD_NAME_MAX];
    int build_version;
    char profile[PROFILE_NAME_MAX];
    int mode;          /* enum host_mode, or -1: leave the default */
    char *labels;      /* malloc'd JSON object given to hosts it creates */
    int64_t created, updated;
};
int rule_init(struct rule *r); /* zeroes, match/labels = "{}", mode = -1 */
void rule_clear(struct rule *r);

/* Insert or replace by name; sets created (kept on replace) and updated.
 * -EEXIST (where = "rank") when another rule has the rank. */
int store_rule_put(struct store *st, struct rule *r, const char **where);
int store_rule_get(struct store *st, const char *name, struct rule *out); /* -ENOENT */
int store_rule_delete(struct store *st, const char *name);                /* -ENOENT */
/* Rules ordered by rank. */
int store_rule_list(struct store *st, int (*cb)(const struct rule *, void *), void *arg);

/* ---- boot tokens: one per boot, stored hashed ---- */

struct boot_token {
    char hash[SHA256_HEX_LEN + 1]; /* SHA-256 of the token, hex */
    int64_t host_id;
    int64_t boot_id;
    int64_t created, expires; /* wall clock, ms */
    bool birth_used;          /* the birth message was accepted with it */
    bool revoked;             /* a later boot, a cleanup or the operator ended it */
};
/* -EEXIST for a hash already stored, -ENOENT if host_id is no host. */
int store_token_put(struct store *st, const struct boot_token *t);
int store_token_get(struct store *st, const char *hash, struct boot_token *out); /* -ENOENT */
/* Marks birth_used; -EALREADY if it already was (single use), -ENOENT.
 * Expiry and revocation are the caller's to check (store_token_get). */
int store_token_use_birth(struct store *st, const char *hash);
/* Revokes every token of host_id except those of keep_boot_id (0 = all).
 * *n gets how many were revoked (may be NULL). */
int store_token_revoke_host(struct store *st, int64_t host_id, int64_t keep_boot_id, unsigned *n);
/* Deletes tokens expired before now_ms (housekeeping). */
int store_token_prune(struct store *st, int64_t now_ms);

/* ---- stateless state archives: one per host, the blob in images/blobs ---- */

struct state_archive {
    int64_t host_id;
    char sha256[SHA256_HEX_LEN + 1];
    uint64_t size;
    int64_t boot_id;  /* the boot that uploaded it */
    int64_t updated;  /* wall clock, ms */
};
/* Replaces the host's archive; updated 0 = now. -ENOENT if host_id is no
 * host or the blob is not known (store_blob_put; blob_writer_commit does
 * it): the blobs table is how a later gc knows the blob is referenced. */
int store_state_put(struct store *st, const struct state_archive *a);
int store_state_get(struct store *st, int64_t host_id, struct state_archive *out); /* -ENOENT */
int store_state_delete(struct store *st, int64_t host_id); /* 0 also when there was none */

/* ---- operations: work in flight for one boot of a host (hook runs,
 * operator actions such as reinstall). A birth abandons the ones left
 * from earlier boots. ---- */

struct operation {
    int64_t id;
    int64_t host_id;
    int64_t boot_id;
    char kind[32];    /* "hook:born", "reinstall", ... */
    char status[16];  /* "pending", "running", "done", "failed", "abandoned" */
    char detail[256];
    int64_t created, updated;
};
/* Sets id, and created/updated (created 0 = now). -EINVAL for an empty
 * kind or an unknown status; -ENOENT if host_id is no host. */
int store_op_add(struct store *st, struct operation *op);
/* detail NULL keeps the old one. -EINVAL, -ENOENT. */
int store_op_set_status(struct store *st, int64_t id, const char *status, const char *detail, int64_t now_ms);
/* Marks pending/running operations of host_id from boots other than
 * boot_id "abandoned"; *n gets how many. */
int store_op_abandon_stale(struct store *st, int64_t host_id, int64_t boot_id, int64_t now_ms, unsigned *n);
/* Oldest first. */
int store_op_list(struct store *st, int64_t host_id, int (*cb)(const struct operation *, void *), void *arg);

/* ---- leases by hardware address (the birth's cleanup) ---- */

/* Deletes every lease whose hardware address is mac except the one at
 * keep_address (0 = none kept); *n gets how many were deleted. */
int store_lease_delete_mac_except(struct store *st, const uint8_t mac[6], uint32_t keep_address, unsigned *n);
/* The bound lease of mac, if any (-ENOENT). */
int store_lease_by_mac(struct store *st, const uint8_t mac[6], struct store_lease *out);

/* ---- the admin token (its hash; the token itself is never stored) ---- */

int store_admin_token_set(struct store *st, const char *hash, int64_t now_ms); /* replaces */
int store_admin_token_get(struct store *st, char hash[SHA256_HEX_LEN + 1]);   /* -ENOENT */

#endif
