/* The flight recorder's SQL. Appends are on the DHCP path (one per
 * exchange), so they are one cached INSERT and nothing else; queries are
 * cached per combination of filters, so each uses the index that fits it
 * (host_id+id, mac+id, kind+id) instead of one catch-all plan. */
#include "store/store_events.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* A query's shape: which filters it has and its order. */
enum {
    QF_HOST = 1 << 0,
    QF_MAC = 1 << 1,
    QF_KIND = 1 << 2,
    QF_SINCE = 1 << 3,
    QF_DESC = 1 << 4,
    QF_SHAPES = 1 << 5,
};

/* Statement slots in the store's cache (store_stmt()). */
enum {
    Q_EVENT_APPEND = STORE_SLOTS_EVENTS,
    Q_EVENT_PRUNE_AGE,
    Q_EVENT_SEEK,
    Q_EVENT_BOUNDS,
    Q_EVENT_QUERY, /* first of QF_SHAPES slots, one per shape */
    Q_END = Q_EVENT_QUERY + QF_SHAPES
};
_Static_assert(Q_END <= STORE_STMT_SLOTS, "raise STORE_STMT_SLOTS");

/* MACs are kept and compared in lowercase, whatever the caller wrote. */
static void lower_mac(const char *in, char out[EVENT_MAC_LEN + 1])
{
    size_t i = 0;
    for (; in && in[i] && i < EVENT_MAC_LEN; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

int store_event_append(struct store *st, struct event *ev)
{
    if (!memchr(ev->kind, '\0', sizeof ev->kind) || !ev->kind[0] || !memchr(ev->host, '\0', sizeof ev->host) ||
        !memchr(ev->message, '\0', sizeof ev->message) || (unsigned)ev->status > EVENT_FAIL)
        return -EINVAL;
    sqlite3_stmt *s = store_stmt(st, Q_EVENT_APPEND,
                                 "INSERT INTO events (ts, host_id, host, mac, boot_id, kind, status, message, data)"
                                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!s)
        return -EIO;
    char mac[EVENT_MAC_LEN + 1];
    lower_mac(memchr(ev->mac, '\0', sizeof ev->mac) ? ev->mac : "", mac);
    sqlite3_bind_int64(s, 1, ev->ts_ms);
    sqlite3_bind_int64(s, 2, ev->host_id);
    sqlite3_bind_text(s, 3, ev->host, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, mac, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, ev->boot_id);
    sqlite3_bind_text(s, 6, ev->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, (int)ev->status);
    sqlite3_bind_text(s, 8, ev->message, -1, SQLITE_STATIC);
    if (ev->data)
        sqlite3_bind_text(s, 9, ev->data, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 9);
    int rc = sqlite3_step(s);
    int r = rc == SQLITE_DONE ? 0 : store_step_errno(st, rc);
    sqlite3_reset(s);
    if (r == 0)
        ev->id = sqlite3_last_insert_rowid(store_db(st));
    return r;
}

/* The SQL of one shape. Parameters keep their numbers in every shape:
 * ?1 after, ?2 before, ?3 host_id, ?4 mac, ?5 kind, ?6 since, ?7 limit. */
static void query_sql(unsigned shape, char *sql, size_t len)
{
    snprintf(sql, len,
             "SELECT id, ts, host_id, host, mac, boot_id, kind, status, message, data FROM events"
             " WHERE id > ?1 AND id < ?2%s%s%s%s ORDER BY id %s LIMIT ?7",
             shape & QF_HOST ? " AND host_id = ?3" : "", shape & QF_MAC ? " AND mac = ?4" : "",
             /* "dhcp" is the room: itself and every "dhcp.*"; '/' is the
              * byte after '.', so the range is exactly the dotted ones. */
             shape & QF_KIND ? " AND (kind = ?5 OR (kind >= ?5 || '.' AND kind < ?5 || '/'))" : "",
             shape & QF_SINCE ? " AND ts >= ?6" : "", shape & QF_DESC ? "DESC" : "ASC");
}

int store_event_query(struct store *st, const struct event_filter *f, int (*cb)(const struct event *, void *),
                      void *arg)
{
    static const struct event_filter all = {0};
    if (!f)
        f = &all;
    unsigned shape = (f->host_id ? QF_HOST : 0) | (f->mac ? QF_MAC : 0) | (f->kind ? QF_KIND : 0) |
                     (f->since_ms ? QF_SINCE : 0) | (f->newest_first ? QF_DESC : 0);
    char sql[512];
    query_sql(shape, sql, sizeof sql);
    sqlite3_stmt *s = store_stmt(st, Q_EVENT_QUERY + shape, sql);
    if (!s)
        return -EIO;
    char mac[EVENT_MAC_LEN + 1];
    lower_mac(f->mac, mac);
    sqlite3_bind_int64(s, 1, f->after_id);
    sqlite3_bind_int64(s, 2, f->before_id ? f->before_id : INT64_MAX);
    if (shape & QF_HOST)
        sqlite3_bind_int64(s, 3, f->host_id);
    if (shape & QF_MAC)
        sqlite3_bind_text(s, 4, mac, -1, SQLITE_STATIC);
    if (shape & QF_KIND)
        sqlite3_bind_text(s, 5, f->kind, -1, SQLITE_STATIC);
    if (shape & QF_SINCE)
        sqlite3_bind_int64(s, 6, f->since_ms);
    sqlite3_bind_int64(s, 7, f->limit ? (int64_t)f->limit : -1);
    struct event *ev = malloc(sizeof *ev);
    if (!ev) {
        store_stmt_done(s);
        return -ENOMEM;
    }
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        memset(ev, 0, sizeof *ev);
        ev->id = sqlite3_column_int64(s, 0);
        ev->ts_ms = sqlite3_column_int64(s, 1);
        ev->host_id = sqlite3_column_int64(s, 2);
        store_col_text(s, 3, ev->host, sizeof ev->host);
        store_col_text(s, 4, ev->mac, sizeof ev->mac);
        ev->boot_id = sqlite3_column_int64(s, 5);
        store_col_text(s, 6, ev->kind, sizeof ev->kind);
        int status = sqlite3_column_int(s, 7);
        ev->status = status == EVENT_OK || status == EVENT_FAIL ? (enum event_status)status : EVENT_INFO;
        store_col_text(s, 8, ev->message, sizeof ev->message);
        /* Valid until the next step: the callback copies what it keeps. */
        ev->data = (char *)sqlite3_column_text(s, 9);
        if ((r = cb(ev, arg)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_step_errno(st, rc);
    store_stmt_done(s);
    free(ev);
    return r;
}

static int prune_step(struct store *st, sqlite3_stmt *s, uint64_t *n)
{
    int rc = sqlite3_step(s);
    int r = rc == SQLITE_DONE ? 0 : store_step_errno(st, rc);
    store_stmt_done(s);
    if (r == 0)
        *n += (uint64_t)sqlite3_changes(store_db(st));
    return r;
}

/* The id and ts of the first event with id >= id, or -ENOENT. */
static int event_at_or_after(struct store *st, int64_t id, int64_t *got_id, int64_t *ts)
{
    sqlite3_stmt *s = store_stmt(st, Q_EVENT_SEEK, "SELECT id, ts FROM events WHERE id >= ? ORDER BY id LIMIT 1");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    int r = -ENOENT;
    if (rc == SQLITE_ROW) {
        *got_id = sqlite3_column_int64(s, 0);
        *ts = sqlite3_column_int64(s, 1);
        r = 0;
    } else if (rc != SQLITE_DONE) {
        r = store_step_errno(st, rc);
    }
    store_stmt_done(s);
    return r;
}

/* *cut = the id of the first event with ts >= ms (everything below it is
 * older), 0 when there is nothing older, past the newest when all is. */
static int first_id_at_or_after(struct store *st, int64_t ms, int64_t *cut)
{
    int64_t lo_id = 0, lo_ts = 0, hi = INT64_MAX;
    int r = event_at_or_after(st, 0, &lo_id, &lo_ts);
    if (r == -ENOENT || (r == 0 && lo_ts >= ms)) {
        *cut = 0;
        return 0;
    }
    if (r < 0)
        return r;
    /* Invariant: the event at lo_id is older than ms; every id >= hi is not. */
    int64_t lo = lo_id;
    for (int guard = 0; guard < 80 && hi - lo > 1; guard++) {
        int64_t mid = lo + (hi - lo) / 2, id = 0, ts = 0;
        r = event_at_or_after(st, mid, &id, &ts);
        if (r == -ENOENT || (r == 0 && id >= hi)) {
            hi = mid;
            continue;
        }
        if (r < 0)
            return r;
        if (ts < ms)
            lo = id;
        else
            hi = id;
    }
    *cut = hi;
    return 0;
}

/* Events only ever leave from the oldest end and ids are never reused
 * (AUTOINCREMENT, and a rolled-back append gives its id back with the
 * sequence), so the ids in the table are one run from min to max: the
 * count and the id below which to cut are arithmetic, not a scan. */
static int id_bounds(struct store *st, int64_t *lo, int64_t *hi)
{
    /* Two subqueries: SQLite answers a lone min() or max() of the key
     * from the b-tree's ends, but both in one SELECT scan the table. */
    sqlite3_stmt *s = store_stmt(st, Q_EVENT_BOUNDS, "SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)");
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    int r = rc == SQLITE_ROW ? 0 : store_step_errno(st, rc);
    if (r == 0) {
        *lo = sqlite3_column_int64(s, 0);
        *hi = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    return r;
}

int store_event_prune_some(struct store *st, uint64_t keep, int64_t older_than_ms, uint64_t max_rows, uint64_t *n,
                           bool *more)
{
    uint64_t deleted = 0;
    if (more)
        *more = false;
    int64_t lo = 0, hi = 0;
    int r = id_bounds(st, &lo, &hi);
    if (r < 0 || hi == 0)
        goto out;
    /* Everything below cut goes: the oldest beyond keep, and the old. */
    int64_t cut = 0;
    if ((uint64_t)(hi - lo + 1) > keep)
        cut = hi - (int64_t)(keep > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)keep) + 1;
    if (older_than_ms) {
        int64_t age_cut = 0;
        if ((r = first_id_at_or_after(st, older_than_ms, &age_cut)) < 0)
            goto out;
        if (age_cut > cut)
            cut = age_cut;
    }
    if (cut <= lo)
        goto out;
    if (max_rows && (uint64_t)(cut - lo) > max_rows) {
        cut = lo + (int64_t)max_rows;
        if (more)
            *more = true;
    }
    sqlite3_stmt *s = store_stmt(st, Q_EVENT_PRUNE_AGE, "DELETE FROM events WHERE id < ?");
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, cut);
    r = prune_step(st, s, &deleted);
out:
    if (r == 0 && n)
        *n = deleted;
    return r;
}

int store_event_prune(struct store *st, uint64_t keep, int64_t older_than_ms, uint64_t *n)
{
    return store_event_prune_some(st, keep, older_than_ms, 0, n, NULL);
}
