/* Shared between the store's own files (store.c, store_build.c) and nothing
 * else: SQL stays inside store/. */
#ifndef MIDWIFE_STORE_STORE_INTERNAL_H
#define MIDWIFE_STORE_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* Slots for statements other files of the store prepare once and reuse. */
#define STORE_STMT_SLOTS 48

sqlite3 *store_db(struct store *st);
/* The statement in slot, prepared from sql on first use and kept until
 * store_close(). Returns NULL (and logs) if sql does not prepare. The
 * caller resets it after use. */
sqlite3_stmt *store_stmt(struct store *st, unsigned slot, const char *sql);

#endif
