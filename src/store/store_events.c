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
    Q_EVENT_PRUNE_COUNT,
    Q_EVENT_PRUNE_AGE,
    Q_EVENT_QUERY, /* first of QF_SHAPES slots, one per shape */
    Q_END = Q_EVENT_QUERY + QF_SHAPES
};
_Static_assert(Q_END <= STORE_STMT_SLOTS, "raise STORE_STMT_SLOTS");

static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static void col_text(sqlite3_stmt *s, int col, char *dst, size_t max)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, max, "%s", t ? (const char *)t : "");
}

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
        done(s);
        return -ENOMEM;
    }
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        memset(ev, 0, sizeof *ev);
        ev->id = sqlite3_column_int64(s, 0);
        ev->ts_ms = sqlite3_column_int64(s, 1);
        ev->host_id = sqlite3_column_int64(s, 2);
        col_text(s, 3, ev->host, sizeof ev->host);
        col_text(s, 4, ev->mac, sizeof ev->mac);
        ev->boot_id = sqlite3_column_int64(s, 5);
        col_text(s, 6, ev->kind, sizeof ev->kind);
        int status = sqlite3_column_int(s, 7);
        ev->status = status == EVENT_OK || status == EVENT_FAIL ? (enum event_status)status : EVENT_INFO;
        col_text(s, 8, ev->message, sizeof ev->message);
        /* Valid until the next step: the callback copies what it keeps. */
        ev->data = (char *)sqlite3_column_text(s, 9);
        if ((r = cb(ev, arg)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_step_errno(st, rc);
    done(s);
    free(ev);
    return r;
}

static int prune_step(struct store *st, sqlite3_stmt *s, uint64_t *n)
{
    int rc = sqlite3_step(s);
    int r = rc == SQLITE_DONE ? 0 : store_step_errno(st, rc);
    done(s);
    if (r == 0)
        *n += (uint64_t)sqlite3_changes(store_db(st));
    return r;
}

int store_event_prune(struct store *st, uint64_t keep, int64_t older_than_ms, uint64_t *n)
{
    uint64_t deleted = 0;
    int r = 0;
    if (older_than_ms) {
        sqlite3_stmt *s = store_stmt(st, Q_EVENT_PRUNE_AGE, "DELETE FROM events WHERE ts < ?");
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, older_than_ms);
        r = prune_step(st, s, &deleted);
    }
    if (r == 0) {
        /* Everything up to the newest event past the first keep. */
        sqlite3_stmt *s = store_stmt(st, Q_EVENT_PRUNE_COUNT,
                                     "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC"
                                     " LIMIT 1 OFFSET ?)");
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, keep > INT64_MAX ? INT64_MAX : (int64_t)keep);
        r = prune_step(st, s, &deleted);
    }
    if (r == 0 && n)
        *n = deleted;
    return r;
}
