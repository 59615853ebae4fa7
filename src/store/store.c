#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/store_internal.h"
#include "store/store_watch.h"
#include "util/log.h"

struct store {
    sqlite3 *db;
    sqlite3_stmt *lease_put;
    sqlite3_stmt *lease_delete;
    sqlite3_stmt *lease_all;
    sqlite3_stmt *lease_get;
    sqlite3_stmt *begin, *begin_read, *commit, *rollback;
    sqlite3_stmt *savepoint, *release, *rollback_to; /* nested store_begin() */
    unsigned depth; /* store_begin() calls not yet committed or rolled back */
    uint64_t hosts_gen; /* bumped by every host write through this connection */
    struct store_build_cache *build_cache; /* store_build.c's */
    sqlite3_stmt *cached[STORE_STMT_SLOTS]; /* see store_stmt() */
};

/* Migrations: append only. Entry i brings the schema from version i to i+1.
 * Never edit a released entry; add a new one. */
static const char *const migrations[] = {
    /* 1: DHCP leases. Addresses and times as integers so ordering and range
     * queries stay cheap; client-supplied strings kept raw, as received. */
    "CREATE TABLE leases ("
    "  address INTEGER PRIMARY KEY,"
    "  hwtype INTEGER NOT NULL,"
    "  hwaddr BLOB NOT NULL,"
    "  client_id BLOB,"
    "  hostname TEXT,"
    "  subnet TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  starts INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  giaddr INTEGER NOT NULL DEFAULT 0,"
    "  relay_info BLOB,"
    "  arch INTEGER NOT NULL DEFAULT -1,"
    "  vendor_class TEXT,"
    "  user_class TEXT"
    ");"
    "CREATE INDEX leases_hwaddr ON leases(hwaddr);",
    /* 2: the PXE client's machine UUID (option 97), the identity a host
     * keeps across NIC swaps. */
    "ALTER TABLE leases ADD COLUMN uuid BLOB;",
    /* 3: builds and what they are made of. Blobs are content-addressed
     * files under state_dir/blobs; a build is an immutable, versioned list
     * of them (triggers refuse updates: publishing makes a new version).
     * build_names remembers the last version ever given to a name, so a
     * deleted version number is never reused for different content. Hosts
     * are the minimal MAC -> build records the inventory replaces later. */
    "CREATE TABLE blobs ("
    "  sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),"
    "  size INTEGER NOT NULL,"
    "  created INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE build_names ("
    "  name TEXT PRIMARY KEY,"
    "  last_version INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE builds ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL CHECK (version > 0),"
    "  kind TEXT NOT NULL CHECK (kind IN ('linux','esxi','chain','sanboot','local')),"
    "  cmdline TEXT NOT NULL DEFAULT '',"
    "  san_uri TEXT NOT NULL DEFAULT '',"
    "  source TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  no_agent INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (name, version)"
    ");"
    "CREATE TABLE build_files ("
    "  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('kernel','module','loader')),"
    "  name TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL REFERENCES blobs(sha256),"
    "  size INTEGER NOT NULL,"
    "  args TEXT NOT NULL DEFAULT '',"
    "  layered INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (build_id, position),"
    "  UNIQUE (build_id, name)"
    ");"
    "CREATE INDEX build_files_sha256 ON build_files(sha256);"
    "CREATE TRIGGER builds_immutable BEFORE UPDATE ON builds"
    "  BEGIN SELECT RAISE(ABORT, 'published builds are immutable'); END;"
    "CREATE TRIGGER build_files_immutable BEFORE UPDATE ON build_files"
    "  BEGIN SELECT RAISE(ABORT, 'published builds are immutable'); END;"
    "CREATE TABLE hosts ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  mac BLOB NOT NULL UNIQUE CHECK (length(mac) = 6),"
    "  build TEXT NOT NULL DEFAULT '',"
    "  build_version INTEGER NOT NULL DEFAULT 0,"
    "  vlan INTEGER NOT NULL DEFAULT 0 CHECK (vlan BETWEEN 0 AND 4094),"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"
    "CREATE INDEX hosts_build ON hosts(build);",
    /* 4: the inventory and the flight recorder. Hosts get every identity
     * (several MACs, SMBIOS UUID, serial), a profile, a mode, labels and
     * variables (JSON text, validated by inventory/ before they get here),
     * and the lifecycle's state. A MAC, a non-empty UUID and a non-empty
     * serial each belong to one host. Everything bound to a host goes with
     * it (cascade); events do not: the recorder keeps history. Times are
     * wall-clock milliseconds from here on; the v3 rows' seconds are
     * converted. The v3 hosts keep their ids. leases(hwaddr), which the
     * birth's cleanup by MAC needs, has been indexed since version 1. */
    "ALTER TABLE hosts RENAME TO hosts_v3;"
    "DROP INDEX hosts_build;"
    "CREATE TABLE hosts ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  uuid TEXT NOT NULL DEFAULT '' CHECK (uuid = '' OR length(uuid) = 36),"
    "  serial TEXT NOT NULL DEFAULT '',"
    "  build TEXT NOT NULL DEFAULT '',"
    "  build_version INTEGER NOT NULL DEFAULT 0 CHECK (build_version >= 0),"
    "  profile TEXT NOT NULL DEFAULT '',"
    "  mode TEXT NOT NULL DEFAULT 'stateless' CHECK (mode IN ('stateless','stateful','sanboot','local')),"
    "  address INTEGER NOT NULL DEFAULT 0,"
    "  vlan INTEGER NOT NULL DEFAULT 0 CHECK (vlan BETWEEN 0 AND 4094),"
    "  labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),"
    "  vars TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(vars)),"
    "  facts TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(facts)),"
    "  state TEXT NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown','discovered','booting','born',"
    "    'configuring','ready','failed','retired')),"
    "  state_reason TEXT NOT NULL DEFAULT '',"
    "  state_since INTEGER NOT NULL DEFAULT 0,"
    "  last_seen INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  boot_id INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE UNIQUE INDEX hosts_uuid ON hosts(uuid) WHERE uuid <> '';"
    "CREATE UNIQUE INDEX hosts_serial ON hosts(serial) WHERE serial <> '';"
    "CREATE INDEX hosts_build ON hosts(build);"
    "CREATE INDEX hosts_profile ON hosts(profile);"
    "CREATE INDEX hosts_state ON hosts(state);"
    "CREATE TABLE host_macs ("
    "  mac BLOB PRIMARY KEY CHECK (length(mac) = 6),"
    "  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL CHECK (position >= 0),"
    "  UNIQUE (host_id, position)"
    ") WITHOUT ROWID;"
    "INSERT INTO hosts (id, name, build, build_version, vlan, state_since, created, updated)"
    "  SELECT id, name, build, build_version, vlan, created * 1000, created * 1000, updated * 1000"
    "  FROM hosts_v3;"
    "INSERT INTO host_macs (mac, host_id, position) SELECT mac, id, 0 FROM hosts_v3;"
    "DROP TABLE hosts_v3;"
    "CREATE TABLE profiles ("
    "  name TEXT PRIMARY KEY,"
    "  doc TEXT NOT NULL CHECK (json_valid(doc)),"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE rules ("
    "  name TEXT PRIMARY KEY,"
    "  rank INTEGER NOT NULL UNIQUE,"
    "  match TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(match)),"
    "  build TEXT NOT NULL DEFAULT '',"
    "  build_version INTEGER NOT NULL DEFAULT 0 CHECK (build_version >= 0),"
    "  profile TEXT NOT NULL DEFAULT '',"
    "  mode TEXT CHECK (mode IS NULL OR mode IN ('stateless','stateful','sanboot','local')),"
    "  labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX rules_build ON rules(build);"
    "CREATE INDEX rules_profile ON rules(profile);"
    "CREATE TABLE boot_tokens ("
    "  hash TEXT PRIMARY KEY CHECK (length(hash) = 64),"
    "  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    "  boot_id INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  birth_used INTEGER NOT NULL DEFAULT 0,"
    "  revoked INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;"
    "CREATE INDEX boot_tokens_host ON boot_tokens(host_id, boot_id);"
    "CREATE INDEX boot_tokens_expires ON boot_tokens(expires);"
    "CREATE TABLE state_archives ("
    "  host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
    "  sha256 TEXT NOT NULL REFERENCES blobs(sha256),"
    "  size INTEGER NOT NULL,"
    "  boot_id INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"
    "CREATE INDEX state_archives_sha256 ON state_archives(sha256);"
    "CREATE TABLE operations ("
    "  id INTEGER PRIMARY KEY,"
    "  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    "  boot_id INTEGER NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind <> ''),"
    "  status TEXT NOT NULL CHECK (status IN ('pending','running','done','failed','abandoned')),"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL"
    ");"
    "CREATE INDEX operations_host ON operations(host_id, boot_id);"
    "CREATE TABLE admin_token ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  hash TEXT NOT NULL CHECK (length(hash) = 64),"
    "  created INTEGER NOT NULL"
    ");"
    /* AUTOINCREMENT: an id is never handed out twice, even once pruning
     * has emptied the table, so a follower resuming after an id misses
     * nothing. host_id is no foreign key: events outlive their host. */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  ts INTEGER NOT NULL,"
    "  host_id INTEGER NOT NULL DEFAULT 0,"
    "  host TEXT NOT NULL DEFAULT '',"
    "  mac TEXT NOT NULL DEFAULT '',"
    "  boot_id INTEGER NOT NULL DEFAULT 0,"
    "  kind TEXT NOT NULL CHECK (kind <> ''),"
    "  status INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 2),"
    "  message TEXT NOT NULL DEFAULT '',"
    "  data TEXT"
    ");"
    "CREATE INDEX events_host ON events(host_id, id);"
    "CREATE INDEX events_mac ON events(mac, id);",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

const char *store_errmsg(struct store *st)
{
    return st && st->db ? sqlite3_errmsg(st->db) : "no database";
}

static int exec(struct store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("store", "%s", msg ? msg : "unknown error");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int user_version(struct store *st)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

int store_schema_version(struct store *st)
{
    return user_version(st);
}

static int migrate(struct store *st, char *err, size_t errlen)
{
    int v = user_version(st);
    if (v < 0) {
        snprintf(err, errlen, "cannot read schema version: %s", store_errmsg(st));
        return -EIO;
    }
    if (v > N_MIGRATIONS) {
        snprintf(err, errlen, "store schema version %d is newer than this midwife knows (%d)", v,
                 N_MIGRATIONS);
        return -EPROTO;
    }
    if (v == N_MIGRATIONS)
        return 0;
    if (exec(st, "BEGIN IMMEDIATE") < 0)
        goto fail;
    for (int i = v; i < N_MIGRATIONS; i++) {
        if (exec(st, migrations[i]) < 0)
            goto fail_rollback;
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", i + 1);
        if (exec(st, sql) < 0)
            goto fail_rollback;
    }
    if (exec(st, "COMMIT") < 0)
        goto fail_rollback;
    log_info("store", "schema migrated from version %d to %d", v, N_MIGRATIONS);
    return 0;
fail_rollback:
    exec(st, "ROLLBACK");
fail:
    snprintf(err, errlen, "migration failed: %s", store_errmsg(st));
    return -EIO;
}

sqlite3 *store_db(struct store *st)
{
    return st->db;
}

sqlite3_stmt *store_stmt(struct store *st, unsigned slot, const char *sql)
{
    if (slot >= STORE_STMT_SLOTS)
        return NULL;
    if (!st->cached[slot] &&
        sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->cached[slot], NULL) != SQLITE_OK) {
        log_error("store", "cannot prepare statement %u: %s", slot, store_errmsg(st));
        return NULL;
    }
    return st->cached[slot];
}

static int prepare(struct store *st, sqlite3_stmt **s, const char *sql)
{
    return sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) == SQLITE_OK ? 0 : -EIO;
}

int store_open(const char *state_dir, enum store_sync sync, struct store **out, char *err, size_t errlen)
{
    char path[4096];
    if (mkdir(state_dir, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create state_dir %s: %s", state_dir, strerror(errno));
        return -errno;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/midwife.db", state_dir) >= sizeof path) {
        snprintf(err, errlen, "state_dir path too long");
        return -ENAMETOOLONG;
    }
    struct store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    /* SQLite's memory statistics take a global mutex around every
     * allocation; nothing here reads them. Process-wide, and only possible
     * before SQLite initializes: a second store_open() leaves it as it is. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, store_errmsg(st));
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    /* WAL: readers (CLI, backups) never block the server. synchronous=NORMAL
     * keeps every commit across a process crash or kill; FULL also across a
     * power loss, at the price of an fsync per commit. */
    if (exec(st, "PRAGMA journal_mode=WAL") < 0 ||
        exec(st, sync == STORE_SYNC_FULL ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") < 0 ||
        exec(st, "PRAGMA foreign_keys=ON") < 0 ||
        /* Pages kept in memory, up to 64 MiB (the default is 2 MiB): a boot
         * storm reads host, lease and build rows all over the file, and
         * the flight recorder makes the file large. */
        exec(st, "PRAGMA cache_size=-65536") < 0) {
        snprintf(err, errlen, "cannot configure %s: %s", path, store_errmsg(st));
        goto fail;
    }
    if (migrate(st, err, errlen) < 0)
        goto fail;
    if (prepare(st, &st->lease_put,
                "INSERT OR REPLACE INTO leases (address, hwtype, hwaddr, client_id, hostname, subnet, state,"
                " starts, expires, giaddr, relay_info, arch, vendor_class, user_class, uuid)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") < 0 ||
        prepare(st, &st->lease_delete, "DELETE FROM leases WHERE address = ?") < 0 ||
        prepare(st, &st->lease_all,
                "SELECT " STORE_LEASE_COLS " FROM leases ORDER BY address") < 0 ||
        prepare(st, &st->lease_get,
                "SELECT " STORE_LEASE_COLS " FROM leases WHERE address = ?") < 0 ||
        prepare(st, &st->begin, "BEGIN IMMEDIATE") < 0 || prepare(st, &st->begin_read, "BEGIN DEFERRED") < 0 ||
        prepare(st, &st->commit, "COMMIT") < 0 ||
        prepare(st, &st->rollback, "ROLLBACK") < 0 || prepare(st, &st->savepoint, "SAVEPOINT store_txn") < 0 ||
        prepare(st, &st->release, "RELEASE store_txn") < 0 ||
        prepare(st, &st->rollback_to, "ROLLBACK TO store_txn") < 0) {
        snprintf(err, errlen, "cannot prepare statements: %s", store_errmsg(st));
        goto fail;
    }
    *out = st;
    return 0;
fail:
    store_close(st);
    return -EIO;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->lease_put);
    sqlite3_finalize(st->lease_delete);
    sqlite3_finalize(st->lease_all);
    sqlite3_finalize(st->lease_get);
    sqlite3_finalize(st->begin);
    sqlite3_finalize(st->begin_read);
    sqlite3_finalize(st->commit);
    sqlite3_finalize(st->rollback);
    sqlite3_finalize(st->savepoint);
    sqlite3_finalize(st->release);
    sqlite3_finalize(st->rollback_to);
    for (unsigned i = 0; i < STORE_STMT_SLOTS; i++)
        sqlite3_finalize(st->cached[i]);
    store_build_cache_free(st);
    sqlite3_close(st->db);
    free(st);
}

void store_stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

void store_col_text(sqlite3_stmt *s, int col, char *dst, size_t max)
{
    if (!max)
        return;
    /* Not snprintf: this copies most columns of every row read, and a
     * format parse per column showed in the profile of script requests. */
    const unsigned char *t = sqlite3_column_text(s, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(s, col) : 0;
    if (n > max - 1)
        n = max - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

static int step_done(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    store_stmt_done(s);
    if (rc != SQLITE_DONE) {
        log_error("store", "%s", store_errmsg(st));
        return -EIO;
    }
    return 0;
}

/* Transactions nest: the outermost store_begin() is a BEGIN, inner ones
 * are savepoints, so a function that needs a transaction can open one
 * whether or not its caller has (a script request reads the host, its
 * lease, its build and its state in one snapshot and may start a boot in
 * the middle: one lock taken instead of one per statement). A failed
 * outermost COMMIT leaves the transaction open for store_rollback(). */
int store_begin(struct store *st)
{
    int r = step_done(st, st->depth == 0 ? st->begin : st->savepoint);
    if (r == 0)
        st->depth++;
    return r;
}

int store_begin_read(struct store *st)
{
    int r = step_done(st, st->depth == 0 ? st->begin_read : st->savepoint);
    if (r == 0)
        st->depth++;
    return r;
}

bool store_txn_read_only(struct store *st)
{
    return st->depth > 0 && sqlite3_txn_state(st->db, "main") != SQLITE_TXN_WRITE;
}

int store_commit(struct store *st)
{
    if (st->depth == 0)
        return -EINVAL;
    int r = step_done(st, st->depth == 1 ? st->commit : st->release);
    if (r == 0)
        st->depth--;
    return r;
}

void store_rollback(struct store *st)
{
    /* A failed COMMIT may already have ended the transaction. */
    if (sqlite3_get_autocommit(st->db)) {
        st->depth = 0;
        return;
    }
    if (st->depth <= 1) {
        step_done(st, st->rollback);
        st->depth = 0;
        return;
    }
    step_done(st, st->rollback_to);
    step_done(st, st->release);
    st->depth--;
}

/* The store's own files use these; they are store_begin() and friends,
 * which nest. */
int store_txn_begin(struct store *st, struct store_txn *t)
{
    t->outer = st->depth == 0;
    return store_begin(st);
}

int store_txn_commit(struct store *st, struct store_txn *t)
{
    (void)t;
    return store_commit(st);
}

void store_txn_rollback(struct store *st, struct store_txn *t)
{
    (void)t;
    store_rollback(st);
}

int store_step_errno(struct store *st, int rc)
{
    int ext = sqlite3_extended_errcode(st->db);
    if ((rc & 0xff) == SQLITE_CONSTRAINT || (ext & 0xff) == SQLITE_CONSTRAINT) {
        switch (ext) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            return -EEXIST;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            return -ENOENT;
        default:
            return -EINVAL;
        }
    }
    log_error("store", "%s", store_errmsg(st));
    return -EIO;
}

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_lease_put(struct store *st, const struct store_lease *l)
{
    sqlite3_stmt *s = st->lease_put;
    sqlite3_bind_int64(s, 1, l->address);
    sqlite3_bind_int(s, 2, l->hwtype);
    sqlite3_bind_blob(s, 3, l->hwaddr, l->hwaddr_len, SQLITE_STATIC);
    if (l->client_id_len)
        sqlite3_bind_blob(s, 4, l->client_id, l->client_id_len, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, l->hostname, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, l->subnet, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, l->state);
    sqlite3_bind_int64(s, 8, l->starts);
    sqlite3_bind_int64(s, 9, l->expires);
    sqlite3_bind_int64(s, 10, l->giaddr);
    if (l->relay_info_len)
        sqlite3_bind_blob(s, 11, l->relay_info, l->relay_info_len, SQLITE_STATIC);
    sqlite3_bind_int(s, 12, l->arch);
    sqlite3_bind_text(s, 13, l->vendor_class, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 14, l->user_class, -1, SQLITE_STATIC);
    if (l->has_uuid)
        sqlite3_bind_blob(s, 15, l->uuid, sizeof l->uuid, SQLITE_STATIC);
    return step_done(st, s);
}

int store_lease_delete(struct store *st, uint32_t address)
{
    sqlite3_bind_int64(st->lease_delete, 1, address);
    return step_done(st, st->lease_delete);
}

static void copy_blob(sqlite3_stmt *s, int col, void *dst, size_t max, size_t *len)
{
    const void *b = sqlite3_column_blob(s, col);
    size_t n = (size_t)sqlite3_column_bytes(s, col);
    if (n > max)
        n = max;
    if (b && n)
        memcpy(dst, b, n);
    *len = b ? n : 0;
}

void store_row_to_lease(sqlite3_stmt *s, struct store_lease *l)
{
    size_t n;
    memset(l, 0, sizeof *l);
    l->address = (uint32_t)sqlite3_column_int64(s, 0);
    l->hwtype = (uint8_t)sqlite3_column_int(s, 1);
    copy_blob(s, 2, l->hwaddr, sizeof l->hwaddr, &n);
    l->hwaddr_len = (uint8_t)n;
    copy_blob(s, 3, l->client_id, sizeof l->client_id, &n);
    l->client_id_len = (uint16_t)n;
    store_col_text(s, 4, l->hostname, sizeof l->hostname);
    store_col_text(s, 5, l->subnet, sizeof l->subnet);
    l->state = (enum lease_state)sqlite3_column_int(s, 6);
    l->starts = sqlite3_column_int64(s, 7);
    l->expires = sqlite3_column_int64(s, 8);
    l->giaddr = (uint32_t)sqlite3_column_int64(s, 9);
    copy_blob(s, 10, l->relay_info, sizeof l->relay_info, &n);
    l->relay_info_len = (uint16_t)n;
    l->arch = sqlite3_column_int(s, 11);
    store_col_text(s, 12, l->vendor_class, sizeof l->vendor_class);
    store_col_text(s, 13, l->user_class, sizeof l->user_class);
    copy_blob(s, 14, l->uuid, sizeof l->uuid, &n);
    l->has_uuid = n == sizeof l->uuid;
}

int store_lease_foreach(struct store *st, int (*cb)(const struct store_lease *, void *), void *arg)
{
    sqlite3_stmt *s = st->lease_all;
    struct store_lease *l = malloc(sizeof *l);
    if (!l)
        return -ENOMEM;
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_row_to_lease(s, l);
        if ((r = cb(l, arg)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE) {
        log_error("store", "reading leases: %s", store_errmsg(st));
        r = -EIO;
    }
    sqlite3_reset(s);
    free(l);
    return r;
}

int store_lease_get(struct store *st, uint32_t address, struct store_lease *out)
{
    sqlite3_stmt *s = st->lease_get;
    sqlite3_bind_int64(s, 1, address);
    int rc = sqlite3_step(s), r;
    if (rc == SQLITE_ROW) {
        store_row_to_lease(s, out);
        r = 0;
    } else {
        r = rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    store_stmt_done(s);
    return r;
}

struct store_build_cache **store_build_cache(struct store *st)
{
    return &st->build_cache;
}

void store_hosts_touch(struct store *st)
{
    st->hosts_gen++;
}

uint64_t store_hosts_generation(const struct store *st)
{
    return st->hosts_gen;
}
