/* The inventory's SQL: hosts and their MACs, profiles, rules, boot tokens,
 * state archives, operations, leases by MAC and the admin token. Every
 * write of more than one statement runs in a store_txn, so it is all or
 * nothing inside the caller's transaction or on its own. */
#include "store/store_inventory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* Statement slots in the store's cache (store_stmt()). */
enum {
    Q_HOST_CONFLICT = STORE_SLOTS_INVENTORY,
    Q_HOST_INSERT,
    Q_HOST_UPDATE,
    Q_HOST_MACS_DELETE,
    Q_HOST_MAC_INSERT,
    Q_HOST_MACS_GET,
    Q_HOST_GET,
    Q_HOST_BY_NAME,
    Q_HOST_BY_MAC,
    Q_HOST_BY_UUID,
    Q_HOST_BY_SERIAL,
    Q_HOST_DELETE,
    Q_HOST_LIST,
    Q_HOST_COUNT_STATE,
    Q_HOST_SET_STATE,
    Q_HOST_SET_FACTS,
    Q_HOST_NEXT_BOOT,
    Q_PROFILE_PUT,
    Q_PROFILE_GET,
    Q_PROFILE_DELETE,
    Q_PROFILE_USED,
    Q_PROFILE_LIST,
    Q_RULE_PUT,
    Q_RULE_GET,
    Q_RULE_DELETE,
    Q_RULE_LIST,
    Q_TOKEN_PUT,
    Q_TOKEN_GET,
    Q_TOKEN_USE,
    Q_TOKEN_REVOKE,
    Q_TOKEN_PRUNE,
    Q_STATE_PUT,
    Q_STATE_GET,
    Q_STATE_DELETE,
    Q_OP_ADD,
    Q_OP_SET,
    Q_OP_ABANDON,
    Q_OP_LIST,
    Q_LEASE_DELETE_MAC,
    Q_LEASE_BY_MAC,
    Q_ADMIN_SET,
    Q_ADMIN_GET,
    Q_END
};
_Static_assert(Q_END <= STORE_SLOTS_EVENTS, "store_inventory.c needs more statement slots");

/* Runs a statement that returns no rows; resets it. */
static int step_done(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    int r = rc == SQLITE_DONE ? 0 : store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

/* Steps s once: 1 = a row is ready (finish with step_rest), 0 = no row,
 * < 0 = an error. s is reset unless a row is ready. */
static int step_first(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    int r = rc == SQLITE_DONE ? 0 : store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

static int step_rest(struct store *st, sqlite3_stmt *s)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ;
    int r = rc == SQLITE_DONE ? 0 : store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

/* Runs a write that ends in RETURNING one integer (b NULL) or two: 0 with
 * them in *a and *b, no_row when it returned no row (an UPDATE whose row
 * is missing: -ENOENT; an INSERT: -EIO), or the step's error. Nothing is
 * written to *a or *b unless the statement ran to its end. */
static int step_returning(struct store *st, sqlite3_stmt *s, int no_row, int64_t *a, int64_t *b)
{
    int r = step_first(st, s);
    if (r <= 0)
        return r == 0 ? no_row : r;
    int64_t va = sqlite3_column_int64(s, 0), vb = b ? sqlite3_column_int64(s, 1) : 0;
    if ((r = step_rest(st, s)) < 0)
        return r;
    *a = va;
    if (b)
        *b = vb;
    return 0;
}

/* Like step_done, -ENOENT when the statement changed no row. */
static int step_changed(struct store *st, sqlite3_stmt *s)
{
    int r = step_done(st, s);
    if (r == 0 && sqlite3_changes(store_db(st)) == 0)
        r = -ENOENT;
    return r;
}

/* A malloc'd copy of a JSON text column; "{}" when NULL. */
static int col_json(sqlite3_stmt *s, int col, char **out)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    *out = strdup(t ? (const char *)t : "{}");
    return *out ? 0 : -ENOMEM;
}

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool optional_name_valid(const char *s, size_t size)
{
    return terminated(s, size) && (!s[0] || build_name_valid(s));
}

static const char *json_or_empty(const char *s)
{
    return s ? s : "{}";
}

/* ---- hosts ---- */

#define HOST_COLS                                                                                             \
    "id, name, uuid, serial, build, build_version, profile, mode, address, vlan, labels, vars, facts, state," \
    " state_reason, state_since, last_seen, created, updated, boot_id"

static int host_check(const struct host *h)
{
    if (!terminated(h->name, sizeof h->name) || !build_name_valid(h->name) || h->n_macs > HOST_MAX_MACS ||
        !terminated(h->uuid, sizeof h->uuid) || (h->uuid[0] && !host_uuid_valid(h->uuid)) ||
        !terminated(h->serial, sizeof h->serial) || (h->serial[0] && !host_serial_valid(h->serial)) ||
        !optional_name_valid(h->build, sizeof h->build) || h->build_version < 0 ||
        !optional_name_valid(h->profile, sizeof h->profile) || (unsigned)h->mode > HOST_MODE_LOCAL ||
        h->vlan < 0 || h->vlan > 4094 || (unsigned)h->state >= HOST_STATE_COUNT ||
        !terminated(h->state_reason, sizeof h->state_reason))
        return -EINVAL;
    for (size_t i = 0; i < h->n_macs; i++)
        for (size_t j = 0; j < i; j++)
            if (memcmp(h->macs[i], h->macs[j], 6) == 0)
                return -EINVAL;
    return 0;
}

/* Which unique field of h another host already has: "name", "uuid",
 * "serial", or NULL. MACs are checked by their primary key on insert. */
static int host_conflict(struct store *st, const struct host *h, const char **where)
{
    STMT(st, Q_HOST_CONFLICT,
         "SELECT 1 FROM hosts WHERE name = ?2 AND id <> ?1"
         " UNION ALL SELECT 2 FROM hosts WHERE uuid = ?3 AND uuid <> '' AND id <> ?1"
         " UNION ALL SELECT 3 FROM hosts WHERE serial = ?4 AND serial <> '' AND id <> ?1"
         " LIMIT 1");
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_text(s, 2, h->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, h->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, h->serial, -1, SQLITE_STATIC);
    int r = step_first(st, s);
    if (r <= 0)
        return r;
    static const char *const fields[] = {"name", "uuid", "serial"};
    int which = sqlite3_column_int(s, 0);
    *where = which >= 1 && which <= 3 ? fields[which - 1] : "name";
    store_stmt_done(s);
    return -EEXIST;
}

/* The writable fields, as ?2..?12, and the stamp as ?13. */
static void bind_writable(sqlite3_stmt *s, const struct host *h, int64_t now)
{
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_text(s, 2, h->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, h->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, h->serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, h->build, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, h->build_version);
    sqlite3_bind_text(s, 7, h->profile, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, host_mode_name(h->mode), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, h->address);
    sqlite3_bind_int(s, 10, h->vlan);
    sqlite3_bind_text(s, 11, json_or_empty(h->labels), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 12, json_or_empty(h->vars), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 13, now);
}

static int host_insert(struct store *st, struct host *h, int64_t now)
{
    STMT(st, Q_HOST_INSERT,
         "INSERT INTO hosts (name, uuid, serial, build, build_version, profile, mode, address, vlan, labels, vars,"
         " created, updated, facts, state, state_reason, state_since, last_seen, boot_id)"
         " VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
         " RETURNING id");
    int64_t since = h->state_since ? h->state_since : now;
    bind_writable(s, h, now);
    sqlite3_bind_text(s, 14, json_or_empty(h->facts), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 15, host_state_name(h->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 16, h->state_reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 17, since);
    sqlite3_bind_int64(s, 18, h->last_seen);
    sqlite3_bind_int64(s, 19, h->boot_id);
    int r = step_returning(st, s, -EIO, &h->id, NULL);
    if (r < 0)
        return r;
    h->created = h->updated = now;
    h->state_since = since;
    return 0;
}

static int host_update(struct store *st, struct host *h, int64_t now)
{
    STMT(st, Q_HOST_UPDATE,
         "UPDATE hosts SET name = ?2, uuid = ?3, serial = ?4, build = ?5, build_version = ?6, profile = ?7,"
         " mode = ?8, address = ?9, vlan = ?10, labels = ?11, vars = ?12, updated = ?13"
         " WHERE id = ?1 RETURNING created");
    bind_writable(s, h, now);
    int r = step_returning(st, s, -ENOENT, &h->created, NULL);
    if (r < 0)
        return r;
    h->updated = now;
    return 0;
}

static int host_write_macs(struct store *st, const struct host *h, const char **where)
{
    STMT(st, Q_HOST_MACS_DELETE, "DELETE FROM host_macs WHERE host_id = ?");
    sqlite3_bind_int64(s, 1, h->id);
    int r = step_done(st, s);
    if (r < 0)
        return r;
    s = store_stmt(st, Q_HOST_MAC_INSERT, "INSERT INTO host_macs (mac, host_id, position) VALUES (?, ?, ?)");
    if (!s)
        return -EIO;
    for (size_t i = 0; i < h->n_macs; i++) {
        sqlite3_bind_blob(s, 1, h->macs[i], 6, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, h->id);
        sqlite3_bind_int64(s, 3, (int64_t)i);
        if ((r = step_done(st, s)) < 0) {
            if (r == -EEXIST)
                *where = "mac";
            return r;
        }
    }
    return 0;
}

int store_host_put(struct store *st, struct host *h, const char **where)
{
    store_hosts_touch(st);
    const char *ignored;
    if (!where)
        where = &ignored;
    *where = NULL;
    int r = host_check(h);
    if (r < 0)
        return r;
    struct store_txn t;
    if ((r = store_txn_begin(st, &t)) < 0)
        return r;
    struct host saved = *h; /* id and stamps, restored if the write fails */
    int64_t now = store_now_ms();
    if ((r = host_conflict(st, h, where)) < 0)
        goto fail;
    if ((r = h->id ? host_update(st, h, now) : host_insert(st, h, now)) < 0) {
        if (r == -EEXIST && !*where)
            *where = "name";
        goto fail;
    }
    if ((r = host_write_macs(st, h, where)) < 0 || (r = store_txn_commit(st, &t)) < 0)
        goto fail;
    return 0;
fail:
    store_txn_rollback(st, &t);
    h->id = saved.id;
    h->created = saved.created;
    h->updated = saved.updated;
    h->state_since = saved.state_since;
    if (r != -EEXIST)
        *where = NULL;
    return r;
}

static int load_macs(struct store *st, struct host *h)
{
    STMT(st, Q_HOST_MACS_GET, "SELECT mac FROM host_macs WHERE host_id = ? ORDER BY position");
    sqlite3_bind_int64(s, 1, h->id);
    int rc;
    h->n_macs = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && h->n_macs < HOST_MAX_MACS) {
        const void *mac = sqlite3_column_blob(s, 0);
        if (mac && sqlite3_column_bytes(s, 0) == 6)
            memcpy(h->macs[h->n_macs++], mac, 6);
    }
    int r = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

/* Fills h (its previous contents are not freed) from the row s is on. */
static int row_to_host(sqlite3_stmt *s, struct host *h)
{
    memset(h, 0, sizeof *h);
    h->id = sqlite3_column_int64(s, 0);
    store_col_text(s, 1, h->name, sizeof h->name);
    store_col_text(s, 2, h->uuid, sizeof h->uuid);
    store_col_text(s, 3, h->serial, sizeof h->serial);
    store_col_text(s, 4, h->build, sizeof h->build);
    h->build_version = sqlite3_column_int(s, 5);
    store_col_text(s, 6, h->profile, sizeof h->profile);
    if (host_mode_parse((const char *)sqlite3_column_text(s, 7), &h->mode) < 0)
        h->mode = HOST_MODE_STATELESS;
    h->address = (uint32_t)sqlite3_column_int64(s, 8);
    h->vlan = sqlite3_column_int(s, 9);
    if (col_json(s, 10, &h->labels) < 0 || col_json(s, 11, &h->vars) < 0 || col_json(s, 12, &h->facts) < 0) {
        host_clear(h);
        return -ENOMEM;
    }
    if (host_state_parse((const char *)sqlite3_column_text(s, 13), &h->state) < 0)
        h->state = HOST_UNKNOWN;
    store_col_text(s, 14, h->state_reason, sizeof h->state_reason);
    h->state_since = sqlite3_column_int64(s, 15);
    h->last_seen = sqlite3_column_int64(s, 16);
    h->created = sqlite3_column_int64(s, 17);
    h->updated = sqlite3_column_int64(s, 18);
    h->boot_id = sqlite3_column_int64(s, 19);
    return 0;
}

/* One host from a bound statement; out is overwritten (NULL strings on
 * failure, so host_clear is always safe). */
static int host_fetch(struct store *st, sqlite3_stmt *s, struct host *out)
{
    int r = step_first(st, s);
    if (r <= 0) {
        memset(out, 0, sizeof *out);
        return r == 0 ? -ENOENT : r;
    }
    r = row_to_host(s, out);
    store_stmt_done(s);
    if (r == 0 && (r = load_macs(st, out)) < 0)
        host_clear(out);
    return r;
}

int store_host_get(struct store *st, int64_t id, struct host *out)
{
    STMT(st, Q_HOST_GET, "SELECT " HOST_COLS " FROM hosts WHERE id = ?");
    sqlite3_bind_int64(s, 1, id);
    return host_fetch(st, s, out);
}

int store_host_by_name(struct store *st, const char *name, struct host *out)
{
    STMT(st, Q_HOST_BY_NAME, "SELECT " HOST_COLS " FROM hosts WHERE name = ?");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    return host_fetch(st, s, out);
}

int store_host_by_mac(struct store *st, const uint8_t mac[6], struct host *out)
{
    STMT(st, Q_HOST_BY_MAC,
         "SELECT " HOST_COLS " FROM hosts WHERE id = (SELECT host_id FROM host_macs WHERE mac = ?)");
    sqlite3_bind_blob(s, 1, mac, 6, SQLITE_STATIC);
    return host_fetch(st, s, out);
}

/* Empty UUIDs and serials mean "unknown": they find nobody. */
int store_host_by_uuid(struct store *st, const char *uuid, struct host *out)
{
    STMT(st, Q_HOST_BY_UUID, "SELECT " HOST_COLS " FROM hosts WHERE uuid = ? AND uuid <> ''");
    sqlite3_bind_text(s, 1, uuid ? uuid : "", -1, SQLITE_STATIC);
    return host_fetch(st, s, out);
}

int store_host_by_serial(struct store *st, const char *serial, struct host *out)
{
    STMT(st, Q_HOST_BY_SERIAL, "SELECT " HOST_COLS " FROM hosts WHERE serial = ? AND serial <> ''");
    sqlite3_bind_text(s, 1, serial ? serial : "", -1, SQLITE_STATIC);
    return host_fetch(st, s, out);
}

int store_host_delete(struct store *st, int64_t id)
{
    /* MACs, tokens, the state archive and operations go by cascade
     * (foreign_keys is on for every connection: store_open). */
    store_hosts_touch(st);
    STMT(st, Q_HOST_DELETE, "DELETE FROM hosts WHERE id = ?");
    sqlite3_bind_int64(s, 1, id);
    return step_changed(st, s);
}

/* A MAC in the colon form people search with, from its 12 hex digits. */
#define MAC_TEXT(h)                                                                                       \
    "substr(" h ",1,2)||':'||substr(" h ",3,2)||':'||substr(" h ",5,2)||':'||substr(" h ",7,2)||':'||" \
    "substr(" h ",9,2)||':'||substr(" h ",11,2)"

int store_host_list(struct store *st, const struct host_filter *f, int (*cb)(const struct host *, void *),
                    void *arg)
{
    static const struct host_filter all = {0};
    if (!f)
        f = &all;
    enum host_state state;
    if (f->state && host_state_parse(f->state, &state) < 0)
        return -EINVAL;
    STMT(st, Q_HOST_LIST,
         "SELECT " HOST_COLS " FROM hosts"
         " WHERE (?1 IS NULL OR state = ?1)"
         " AND (?2 IS NULL OR build = ?2)"
         " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(hosts.labels)"
         "                            WHERE key = ?3 AND (?4 IS NULL OR value = ?4)))"
         " AND (?5 IS NULL OR instr(lower(name), lower(?5)) OR instr(uuid, lower(?5))"
         "      OR instr(lower(serial), lower(?5))"
         "      OR EXISTS (SELECT 1 FROM (SELECT lower(hex(mac)) AS x FROM host_macs WHERE host_id = hosts.id)"
         "                 WHERE instr(" MAC_TEXT("x") ", lower(?5))))"
         " AND (?6 IS NULL OR name > ?6)"
         " ORDER BY name LIMIT ?7");
    if (f->state)
        sqlite3_bind_text(s, 1, f->state, -1, SQLITE_STATIC);
    if (f->build)
        sqlite3_bind_text(s, 2, f->build, -1, SQLITE_STATIC);
    if (f->label) {
        /* "key=value" or "key": the first '=' splits. */
        const char *eq = strchr(f->label, '=');
        sqlite3_bind_text(s, 3, f->label, eq ? (int)(eq - f->label) : -1, SQLITE_STATIC);
        if (eq)
            sqlite3_bind_text(s, 4, eq + 1, -1, SQLITE_STATIC);
    }
    if (f->search)
        sqlite3_bind_text(s, 5, f->search, -1, SQLITE_STATIC);
    if (f->after)
        sqlite3_bind_text(s, 6, f->after, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, f->limit ? (int64_t)f->limit : -1);
    struct host h;
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((r = row_to_host(s, &h)) < 0)
            break;
        if ((r = load_macs(st, &h)) == 0)
            r = cb(&h, arg);
        host_clear(&h);
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

int store_host_count_by_state(struct store *st, uint64_t counts[HOST_STATE_COUNT])
{
    STMT(st, Q_HOST_COUNT_STATE, "SELECT state, count(*) FROM hosts GROUP BY state");
    memset(counts, 0, HOST_STATE_COUNT * sizeof counts[0]);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        enum host_state hs;
        if (host_state_parse((const char *)sqlite3_column_text(s, 0), &hs) == 0)
            counts[hs] = (uint64_t)sqlite3_column_int64(s, 1);
    }
    int r = rc == SQLITE_DONE ? 0 : store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

int store_host_set_state(struct store *st, int64_t id, enum host_state hs, const char *reason, int64_t now_ms)
{
    if ((unsigned)hs >= HOST_STATE_COUNT)
        return -EINVAL;
    /* state_since is when the host entered the state: a refresh of the
     * reason in the same state keeps it. */
    STMT(st, Q_HOST_SET_STATE,
         "UPDATE hosts SET state_since = CASE WHEN state = ?2 THEN state_since ELSE ?4 END,"
         " state = ?2, state_reason = substr(?3, 1, ?5), updated = ?4 WHERE id = ?1");
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, host_state_name(hs), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    sqlite3_bind_int(s, 5, HOST_REASON_MAX - 1);
    return step_changed(st, s);
}

int store_host_set_facts(struct store *st, int64_t id, const char *facts, int64_t now_ms)
{
    STMT(st, Q_HOST_SET_FACTS, "UPDATE hosts SET facts = ?2, last_seen = ?3 WHERE id = ?1");
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, json_or_empty(facts), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms);
    return step_changed(st, s);
}

int store_host_next_boot(struct store *st, int64_t id, int64_t *boot_id)
{
    STMT(st, Q_HOST_NEXT_BOOT, "UPDATE hosts SET boot_id = boot_id + 1 WHERE id = ? RETURNING boot_id");
    sqlite3_bind_int64(s, 1, id);
    int64_t n;
    int r = step_returning(st, s, -ENOENT, &n, NULL);
    if (r == 0 && boot_id)
        *boot_id = n;
    return r;
}

/* ---- profiles ---- */

int store_profile_put(struct store *st, struct profile *p)
{
    if (!terminated(p->name, sizeof p->name) || !build_name_valid(p->name) || !p->doc)
        return -EINVAL;
    STMT(st, Q_PROFILE_PUT,
         "INSERT INTO profiles (name, doc, created, updated) VALUES (?1, ?2, ?3, ?3)"
         " ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, updated = excluded.updated"
         " RETURNING created, updated");
    sqlite3_bind_text(s, 1, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, p->doc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, store_now_ms());
    return step_returning(st, s, -EIO, &p->created, &p->updated);
}

static int row_to_profile(sqlite3_stmt *s, struct profile *p)
{
    memset(p, 0, sizeof *p);
    store_col_text(s, 0, p->name, sizeof p->name);
    p->created = sqlite3_column_int64(s, 2);
    p->updated = sqlite3_column_int64(s, 3);
    return col_json(s, 1, &p->doc);
}

int store_profile_get(struct store *st, const char *name, struct profile *out)
{
    STMT(st, Q_PROFILE_GET, "SELECT name, doc, created, updated FROM profiles WHERE name = ?");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int r = step_first(st, s);
    if (r <= 0) {
        memset(out, 0, sizeof *out);
        return r == 0 ? -ENOENT : r;
    }
    r = row_to_profile(s, out);
    store_stmt_done(s);
    return r;
}

int store_profile_delete(struct store *st, const char *name)
{
    struct store_txn t;
    int r = store_txn_begin(st, &t);
    if (r < 0)
        return r;
    sqlite3_stmt *s = store_stmt(st, Q_PROFILE_DELETE, "DELETE FROM profiles WHERE name = ?");
    if (!s) {
        r = -EIO;
        goto fail;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if ((r = step_changed(st, s)) < 0)
        goto fail;
    s = store_stmt(st, Q_PROFILE_USED,
                   "SELECT EXISTS (SELECT 1 FROM hosts WHERE profile = ?1)"
                   " OR EXISTS (SELECT 1 FROM rules WHERE profile = ?1)");
    if (!s) {
        r = -EIO;
        goto fail;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if ((r = step_first(st, s)) <= 0) {
        r = r == 0 ? -EIO : r;
        goto fail;
    }
    bool used = sqlite3_column_int(s, 0) != 0;
    store_stmt_done(s);
    if (used) {
        r = -EBUSY;
        goto fail;
    }
    if ((r = store_txn_commit(st, &t)) < 0)
        goto fail;
    return 0;
fail:
    store_txn_rollback(st, &t);
    return r;
}

int store_profile_list(struct store *st, const char *after, size_t limit, int (*cb)(const struct profile *, void *),
                       void *arg)
{
    STMT(st, Q_PROFILE_LIST,
         "SELECT name, doc, created, updated FROM profiles WHERE (?1 IS NULL OR name > ?1) ORDER BY name LIMIT ?2");
    if (after)
        sqlite3_bind_text(s, 1, after, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, limit ? (int64_t)limit : -1);
    struct profile p;
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((r = row_to_profile(s, &p)) == 0)
            r = cb(&p, arg);
        profile_clear(&p);
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

/* ---- rules ---- */

#define RULE_COLS "name, rank, match, build, build_version, profile, mode, labels, created, updated"

int store_rule_put(struct store *st, struct rule *ru, const char **where)
{
    const char *ignored;
    if (!where)
        where = &ignored;
    *where = NULL;
    if (!terminated(ru->name, sizeof ru->name) || !build_name_valid(ru->name) ||
        !optional_name_valid(ru->build, sizeof ru->build) || ru->build_version < 0 ||
        !optional_name_valid(ru->profile, sizeof ru->profile) || ru->mode < -1 || ru->mode > HOST_MODE_LOCAL)
        return -EINVAL;
    STMT(st, Q_RULE_PUT,
         "INSERT INTO rules (" RULE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
         " ON CONFLICT(name) DO UPDATE SET rank = excluded.rank, match = excluded.match, build = excluded.build,"
         " build_version = excluded.build_version, profile = excluded.profile, mode = excluded.mode,"
         " labels = excluded.labels, updated = excluded.updated"
         " RETURNING created, updated");
    sqlite3_bind_text(s, 1, ru->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, ru->rank);
    sqlite3_bind_text(s, 3, json_or_empty(ru->match), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, ru->build, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, ru->build_version);
    sqlite3_bind_text(s, 6, ru->profile, -1, SQLITE_STATIC);
    if (ru->mode >= 0)
        sqlite3_bind_text(s, 7, host_mode_name((enum host_mode)ru->mode), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, json_or_empty(ru->labels), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, store_now_ms());
    int r = step_returning(st, s, -EIO, &ru->created, &ru->updated);
    /* The name conflict is the upsert; the only other unique key is the
     * rank. */
    if (r == -EEXIST)
        *where = "rank";
    return r;
}

static int row_to_rule(sqlite3_stmt *s, struct rule *ru)
{
    memset(ru, 0, sizeof *ru);
    store_col_text(s, 0, ru->name, sizeof ru->name);
    ru->rank = sqlite3_column_int(s, 1);
    store_col_text(s, 3, ru->build, sizeof ru->build);
    ru->build_version = sqlite3_column_int(s, 4);
    store_col_text(s, 5, ru->profile, sizeof ru->profile);
    enum host_mode m;
    ru->mode = sqlite3_column_type(s, 6) != SQLITE_NULL &&
                       host_mode_parse((const char *)sqlite3_column_text(s, 6), &m) == 0
                   ? (int)m
                   : -1;
    ru->created = sqlite3_column_int64(s, 8);
    ru->updated = sqlite3_column_int64(s, 9);
    if (col_json(s, 2, &ru->match) < 0 || col_json(s, 7, &ru->labels) < 0) {
        rule_clear(ru);
        return -ENOMEM;
    }
    return 0;
}

int store_rule_get(struct store *st, const char *name, struct rule *out)
{
    STMT(st, Q_RULE_GET, "SELECT " RULE_COLS " FROM rules WHERE name = ?");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int r = step_first(st, s);
    if (r <= 0) {
        memset(out, 0, sizeof *out);
        return r == 0 ? -ENOENT : r;
    }
    r = row_to_rule(s, out);
    store_stmt_done(s);
    return r;
}

int store_rule_delete(struct store *st, const char *name)
{
    STMT(st, Q_RULE_DELETE, "DELETE FROM rules WHERE name = ?");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    return step_changed(st, s);
}

int store_rule_list(struct store *st, int (*cb)(const struct rule *, void *), void *arg)
{
    STMT(st, Q_RULE_LIST, "SELECT " RULE_COLS " FROM rules ORDER BY rank");
    struct rule ru;
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((r = row_to_rule(s, &ru)) == 0)
            r = cb(&ru, arg);
        rule_clear(&ru);
        if (r != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

/* ---- boot tokens ---- */

int store_token_put(struct store *st, const struct boot_token *t)
{
    if (!terminated(t->hash, sizeof t->hash) || !sha256_hex_valid(t->hash))
        return -EINVAL;
    STMT(st, Q_TOKEN_PUT,
         "INSERT INTO boot_tokens (hash, host_id, boot_id, created, expires, birth_used, revoked)"
         " VALUES (?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(s, 1, t->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, t->host_id);
    sqlite3_bind_int64(s, 3, t->boot_id);
    sqlite3_bind_int64(s, 4, t->created);
    sqlite3_bind_int64(s, 5, t->expires);
    sqlite3_bind_int(s, 6, t->birth_used);
    sqlite3_bind_int(s, 7, t->revoked);
    return step_done(st, s); /* -EEXIST: the hash; -ENOENT: no such host */
}

int store_token_get(struct store *st, const char *hash, struct boot_token *out)
{
    STMT(st, Q_TOKEN_GET,
         "SELECT hash, host_id, boot_id, created, expires, birth_used, revoked FROM boot_tokens WHERE hash = ?");
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    int r = step_first(st, s);
    if (r <= 0)
        return r == 0 ? -ENOENT : r;
    if (out) {
        memset(out, 0, sizeof *out);
        store_col_text(s, 0, out->hash, sizeof out->hash);
        out->host_id = sqlite3_column_int64(s, 1);
        out->boot_id = sqlite3_column_int64(s, 2);
        out->created = sqlite3_column_int64(s, 3);
        out->expires = sqlite3_column_int64(s, 4);
        out->birth_used = sqlite3_column_int(s, 5) != 0;
        out->revoked = sqlite3_column_int(s, 6) != 0;
    }
    store_stmt_done(s);
    return 0;
}

int store_token_use_birth(struct store *st, const char *hash)
{
    STMT(st, Q_TOKEN_USE, "UPDATE boot_tokens SET birth_used = 1 WHERE hash = ? AND birth_used = 0");
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    int r = step_changed(st, s);
    if (r != -ENOENT)
        return r;
    /* Nothing changed: used already, or no such token. */
    r = store_token_get(st, hash, NULL);
    return r == 0 ? -EALREADY : r;
}

int store_token_revoke_host(struct store *st, int64_t host_id, int64_t keep_boot_id, unsigned *n)
{
    STMT(st, Q_TOKEN_REVOKE,
         "UPDATE boot_tokens SET revoked = 1 WHERE host_id = ?1 AND revoked = 0 AND (?2 = 0 OR boot_id <> ?2)");
    sqlite3_bind_int64(s, 1, host_id);
    sqlite3_bind_int64(s, 2, keep_boot_id);
    int r = step_done(st, s);
    if (r == 0 && n)
        *n = (unsigned)sqlite3_changes(store_db(st));
    return r;
}

int store_token_prune(struct store *st, int64_t now_ms)
{
    STMT(st, Q_TOKEN_PRUNE, "DELETE FROM boot_tokens WHERE expires < ?");
    sqlite3_bind_int64(s, 1, now_ms);
    return step_done(st, s);
}

/* ---- state archives ---- */

int store_state_put(struct store *st, const struct state_archive *a)
{
    if (!terminated(a->sha256, sizeof a->sha256) || !sha256_hex_valid(a->sha256) || a->size > INT64_MAX)
        return -EINVAL;
    STMT(st, Q_STATE_PUT,
         "INSERT INTO state_archives (host_id, sha256, size, boot_id, updated) VALUES (?1, ?2, ?3, ?4, ?5)"
         " ON CONFLICT(host_id) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,"
         " boot_id = excluded.boot_id, updated = excluded.updated");
    sqlite3_bind_int64(s, 1, a->host_id);
    sqlite3_bind_text(s, 2, a->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)a->size);
    sqlite3_bind_int64(s, 4, a->boot_id);
    sqlite3_bind_int64(s, 5, a->updated ? a->updated : store_now_ms());
    return step_done(st, s); /* -ENOENT: no such host, or the blob is not known */
}

int store_state_get(struct store *st, int64_t host_id, struct state_archive *out)
{
    STMT(st, Q_STATE_GET, "SELECT host_id, sha256, size, boot_id, updated FROM state_archives WHERE host_id = ?");
    sqlite3_bind_int64(s, 1, host_id);
    int r = step_first(st, s);
    if (r <= 0)
        return r == 0 ? -ENOENT : r;
    memset(out, 0, sizeof *out);
    out->host_id = sqlite3_column_int64(s, 0);
    store_col_text(s, 1, out->sha256, sizeof out->sha256);
    out->size = (uint64_t)sqlite3_column_int64(s, 2);
    out->boot_id = sqlite3_column_int64(s, 3);
    out->updated = sqlite3_column_int64(s, 4);
    store_stmt_done(s);
    return 0;
}

int store_state_delete(struct store *st, int64_t host_id)
{
    STMT(st, Q_STATE_DELETE, "DELETE FROM state_archives WHERE host_id = ?");
    sqlite3_bind_int64(s, 1, host_id);
    return step_done(st, s);
}

/* ---- operations ---- */

static bool op_status_valid(const char *s)
{
    static const char *const names[] = {"pending", "running", "done", "failed", "abandoned"};
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

int store_op_add(struct store *st, struct operation *op)
{
    if (!terminated(op->kind, sizeof op->kind) || !op->kind[0] || !terminated(op->status, sizeof op->status) ||
        !op_status_valid(op->status) || !terminated(op->detail, sizeof op->detail))
        return -EINVAL;
    STMT(st, Q_OP_ADD,
         "INSERT INTO operations (host_id, boot_id, kind, status, detail, created, updated)"
         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id");
    int64_t created = op->created ? op->created : store_now_ms();
    sqlite3_bind_int64(s, 1, op->host_id);
    sqlite3_bind_int64(s, 2, op->boot_id);
    sqlite3_bind_text(s, 3, op->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, op->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, op->detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, created);
    int r = step_returning(st, s, -EIO, &op->id, NULL); /* -ENOENT: no such host */
    if (r < 0)
        return r;
    op->created = op->updated = created;
    return 0;
}

int store_op_set_status(struct store *st, int64_t id, const char *status, const char *detail, int64_t now_ms)
{
    if (!op_status_valid(status))
        return -EINVAL;
    STMT(st, Q_OP_SET,
         "UPDATE operations SET status = ?2, detail = coalesce(substr(?3, 1, ?5), detail), updated = ?4"
         " WHERE id = ?1");
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
    if (detail)
        sqlite3_bind_text(s, 3, detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, now_ms);
    sqlite3_bind_int(s, 5, (int)sizeof ((struct operation *)0)->detail - 1);
    return step_changed(st, s);
}

int store_op_abandon_stale(struct store *st, int64_t host_id, int64_t boot_id, int64_t now_ms, unsigned *n)
{
    STMT(st, Q_OP_ABANDON,
         "UPDATE operations SET status = 'abandoned', updated = ?3"
         " WHERE host_id = ?1 AND boot_id <> ?2 AND status IN ('pending', 'running')");
    sqlite3_bind_int64(s, 1, host_id);
    sqlite3_bind_int64(s, 2, boot_id);
    sqlite3_bind_int64(s, 3, now_ms);
    int r = step_done(st, s);
    if (r == 0 && n)
        *n = (unsigned)sqlite3_changes(store_db(st));
    return r;
}

int store_op_list(struct store *st, int64_t host_id, int (*cb)(const struct operation *, void *), void *arg)
{
    STMT(st, Q_OP_LIST,
         "SELECT id, host_id, boot_id, kind, status, detail, created, updated FROM operations"
         " WHERE host_id = ? ORDER BY id");
    sqlite3_bind_int64(s, 1, host_id);
    struct operation op;
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&op, 0, sizeof op);
        op.id = sqlite3_column_int64(s, 0);
        op.host_id = sqlite3_column_int64(s, 1);
        op.boot_id = sqlite3_column_int64(s, 2);
        store_col_text(s, 3, op.kind, sizeof op.kind);
        store_col_text(s, 4, op.status, sizeof op.status);
        store_col_text(s, 5, op.detail, sizeof op.detail);
        op.created = sqlite3_column_int64(s, 6);
        op.updated = sqlite3_column_int64(s, 7);
        if ((r = cb(&op, arg)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = store_step_errno(st, rc);
    store_stmt_done(s);
    return r;
}

/* ---- leases by hardware address ---- */

int store_lease_delete_mac_except(struct store *st, const uint8_t mac[6], uint32_t keep_address, unsigned *n)
{
    /* Address 0 is never leased, so keep_address 0 keeps none. */
    STMT(st, Q_LEASE_DELETE_MAC, "DELETE FROM leases WHERE hwaddr = ? AND address <> ?");
    sqlite3_bind_blob(s, 1, mac, 6, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, keep_address);
    int r = step_done(st, s);
    if (r == 0 && n)
        *n = (unsigned)sqlite3_changes(store_db(st));
    return r;
}

int store_lease_by_mac(struct store *st, const uint8_t mac[6], struct store_lease *out)
{
    /* The latest-expiring one, should a client hold two (two subnets). */
    STMT(st, Q_LEASE_BY_MAC,
         "SELECT " STORE_LEASE_COLS " FROM leases WHERE hwaddr = ? AND state = ? ORDER BY expires DESC LIMIT 1");
    sqlite3_bind_blob(s, 1, mac, 6, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, LEASE_BOUND);
    int r = step_first(st, s);
    if (r <= 0)
        return r == 0 ? -ENOENT : r;
    store_row_to_lease(s, out);
    store_stmt_done(s);
    return 0;
}

/* ---- the admin token ---- */

int store_admin_token_set(struct store *st, const char *hash, int64_t now_ms)
{
    if (!hash || !sha256_hex_valid(hash))
        return -EINVAL;
    STMT(st, Q_ADMIN_SET,
         "INSERT INTO admin_token (id, hash, created) VALUES (1, ?1, ?2)"
         " ON CONFLICT(id) DO UPDATE SET hash = excluded.hash, created = excluded.created");
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_ms);
    return step_done(st, s);
}

int store_admin_token_get(struct store *st, char hash[SHA256_HEX_LEN + 1])
{
    STMT(st, Q_ADMIN_GET, "SELECT hash FROM admin_token WHERE id = 1");
    int r = step_first(st, s);
    if (r <= 0)
        return r == 0 ? -ENOENT : r;
    store_col_text(s, 0, hash, SHA256_HEX_LEN + 1);
    store_stmt_done(s);
    return 0;
}
