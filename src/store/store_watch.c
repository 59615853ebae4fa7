/* A cheap change stamp over the hosts table, so rooms that keep a copy of
 * the inventory in memory (DHCP's known clients and static addresses) can
 * poll for changes made by anyone — the API, `midwife apply`, a CLI
 * writing to the store directly — without a notification path. */
#include <errno.h>
#include <sqlite3.h>

#include "store/store_internal.h"
#include "store/store_watch.h"

int store_hosts_stamp(struct store *st, uint64_t *stamp)
{
    sqlite3_stmt *s = NULL;
    /* Every write to a host sets its updated time: the count catches
     * deletions, the sum any insert or update. */
    if (sqlite3_prepare_v2(store_db(st), "SELECT count(*), coalesce(sum(updated), 0) FROM hosts", -1, &s, NULL) !=
        SQLITE_OK)
        return -EIO;
    int r = -EIO;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *stamp = (uint64_t)sqlite3_column_int64(s, 0) * 0x9e3779b97f4a7c15ull ^ (uint64_t)sqlite3_column_int64(s, 1);
        r = 0;
    }
    sqlite3_finalize(s);
    return r;
}
