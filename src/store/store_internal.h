/* Shared between the store's own files (store.c, store_build.c,
 * store_inventory.c, store_events.c) and nothing else: SQL stays inside
 * store/. */
#ifndef MIDWIFE_STORE_STORE_INTERNAL_H
#define MIDWIFE_STORE_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>

#include "store/store.h"

/* Slots for statements the store's files prepare once and reuse. Each
 * file owns a range and names every slot of it. */
#define STORE_SLOTS_BUILD 0      /* store_build.c */
#define STORE_SLOTS_INVENTORY 32 /* store_inventory.c */
#define STORE_SLOTS_EVENTS 112   /* store_events.c */
#define STORE_STMT_SLOTS 160

sqlite3 *store_db(struct store *st);
/* The statement in slot, prepared from sql on first use and kept until
 * store_close(). Returns NULL (and logs) if sql does not prepare. The
 * caller resets it after use. */
sqlite3_stmt *store_stmt(struct store *st, unsigned slot, const char *sql);

/* The statement in slot as s, or return -EIO from the calling function. */
#define STMT(st, slot, sql)                            \
    sqlite3_stmt *s = store_stmt((st), (slot), (sql)); \
    if (!s)                                            \
    return -EIO
/* Resets a cached statement after use and drops its bindings, so none
 * outlives the (SQLITE_STATIC) buffers bound to it. */
void store_stmt_done(sqlite3_stmt *s);
/* A text column into dst, cut to max bytes; "" when NULL. */
void store_col_text(sqlite3_stmt *s, int col, char *dst, size_t max);

/* A write of several statements that is all or nothing: a savepoint
 * inside the caller's transaction (store_begin), or BEGIN IMMEDIATE on its
 * own, so a read followed by a write cannot race another writer. */
struct store_txn {
    bool outer;
};
int store_txn_begin(struct store *st, struct store_txn *t);
int store_txn_commit(struct store *st, struct store_txn *t);
void store_txn_rollback(struct store *st, struct store_txn *t);

/* The errno for a failed sqlite3_step() (call before resetting it):
 * -EEXIST for a UNIQUE or PRIMARY KEY conflict, -ENOENT for a missing
 * FOREIGN KEY parent, -EINVAL for a CHECK or NOT NULL refusal, else -EIO
 * (logged). */
int store_step_errno(struct store *st, int rc);

/* Wall clock in milliseconds, for created/updated stamps. */
int64_t store_now_ms(void);

/* The lease columns in the order store_row_to_lease reads them. */
#define STORE_LEASE_COLS                                                                                      \
    "address, hwtype, hwaddr, client_id, hostname, subnet, state, starts, expires, giaddr, relay_info, arch," \
    " vendor_class, user_class, uuid"
void store_row_to_lease(sqlite3_stmt *s, struct store_lease *l);

/* store_build.c's cache of build files, kept in the store and freed by
 * store_close() (store_build_cache_free). */
struct store_build_cache;
struct store_build_cache **store_build_cache(struct store *st);
void store_build_cache_free(struct store *st);

/* Host writes bump the in-process generation (store_watch.h). */
void store_hosts_touch(struct store *st);

#endif
