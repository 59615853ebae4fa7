/* The state store: the only place in midwife that speaks SQL.
 *
 * SQLite in WAL mode under state_dir. The schema is versioned; migrations
 * run in order inside one transaction at open. Callers batch writes with
 * store_begin()/store_commit() so many leases cost one commit. */
#ifndef MIDWIFE_STORE_STORE_H
#define MIDWIFE_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

struct store;

enum lease_state {
    LEASE_BOUND = 1,    /* granted by an ACK */
    LEASE_RELEASED = 2, /* client sent RELEASE; address remembered for it */
    LEASE_DECLINED = 3, /* client found the address in use: quarantined */
    LEASE_EXPIRED = 4,  /* ran out; address remembered for the same client */
};

#define STORE_HWADDR_MAX 16
#define STORE_CLIENT_ID_MAX 255
#define STORE_TEXT_MAX 256
#define STORE_RELAY_MAX 255

struct store_lease {
    uint32_t address; /* host byte order; the key */
    uint8_t hwtype;
    uint8_t hwaddr_len;
    uint8_t hwaddr[STORE_HWADDR_MAX];
    uint16_t client_id_len;
    uint8_t client_id[STORE_CLIENT_ID_MAX];
    char hostname[STORE_TEXT_MAX];   /* as sent by the client, raw */
    char subnet[CONF_NAME_MAX];
    enum lease_state state;
    int64_t starts;   /* wall clock, seconds */
    int64_t expires;  /* wall clock, seconds */
    uint32_t giaddr;  /* relay that forwarded it, 0 if direct */
    uint16_t relay_info_len;
    uint8_t relay_info[STORE_RELAY_MAX]; /* option 82 as received */
    int32_t arch;     /* option 93, -1 if absent */
    char vendor_class[STORE_TEXT_MAX]; /* option 60, raw */
    char user_class[STORE_TEXT_MAX];   /* option 77, raw */
    bool has_uuid;
    uint8_t uuid[16]; /* option 97 client machine identifier (SMBIOS UUID) */
};

int store_open(const char *state_dir, enum store_sync sync, struct store **out, char *err, size_t errlen);
void store_close(struct store *st);

/* The schema version the store is at (after migrations). */
int store_schema_version(struct store *st);

/* Transactions nest (an inner one is a savepoint). store_begin takes the
 * write lock at once (BEGIN IMMEDIATE), so a read followed by a write
 * cannot race another writer. store_begin_read starts one that only
 * reads until its first write (BEGIN DEFERRED), which skips the write
 * lock for the many requests that turn out to write nothing; a write in
 * it may be refused when another connection committed since it began
 * reading, which store_txn_read_only() then tells: run it again under
 * store_begin. */
int store_begin(struct store *st);
int store_begin_read(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
/* Inside a transaction that has not (or could not) become a writer. */
bool store_txn_read_only(struct store *st);

/* Inserts or replaces the lease row for lease->address. */
int store_lease_put(struct store *st, const struct store_lease *lease);
int store_lease_delete(struct store *st, uint32_t address);
/* Calls cb for every lease row; a non-zero return from cb stops the walk
 * and is returned. */
int store_lease_foreach(struct store *st, int (*cb)(const struct store_lease *, void *), void *arg);
int store_lease_get(struct store *st, uint32_t address, struct store_lease *out); /* -ENOENT */

/* The last error message from SQLite, for logs. */
const char *store_errmsg(struct store *st);

#endif
