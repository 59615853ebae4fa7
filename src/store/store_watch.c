/* A cheap change stamp over the hosts and builds tables, so rooms that
 * keep a copy of the inventory in memory (DHCP's known clients, static
 * addresses and SAN root paths, which come from a host's build's newest
 * version) can poll for changes made by anyone — the API, `midwife apply`,
 * an import running in a child process, a CLI writing to the store
 * directly — without a notification path. */
#include <errno.h>
#include <sqlite3.h>

#include "store/store_internal.h"
#include "store/store_watch.h"

int store_hosts_stamp(struct store *st, uint64_t *stamp)
{
    sqlite3_stmt *s = NULL;
    /* Every write to a host sets its updated time: the count catches
     * deletions, the sum any insert or update. Builds are immutable once
     * published: a new version has a larger id, a removal lowers the
     * count. */
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT count(*), coalesce(sum(updated), 0),"
                           " (SELECT count(*) FROM builds), (SELECT coalesce(max(id), 0) FROM builds) FROM hosts",
                           -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    int r = -EIO;
    if (sqlite3_step(s) == SQLITE_ROW) {
        uint64_t h = (uint64_t)sqlite3_column_int64(s, 0) * 0x9e3779b97f4a7c15ull ^ (uint64_t)sqlite3_column_int64(s, 1);
        uint64_t b = (uint64_t)sqlite3_column_int64(s, 2) * 0xc2b2ae3d27d4eb4full ^ (uint64_t)sqlite3_column_int64(s, 3);
        *stamp = h ^ (b << 1 | b >> 63);
        r = 0;
    }
    sqlite3_finalize(s);
    return r;
}
