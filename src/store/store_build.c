/* Builds, build files and blobs: their SQL. */
#include "store/store_build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/clock.h"
#include "util/log.h"

/* Statement slots in the store's cache (store_stmt()). */
enum {
    Q_BLOB_PUT = STORE_SLOTS_BUILD,
    Q_BLOB_GET,
    Q_NAME_NEXT,
    Q_NAME_BUMP,
    Q_BUILD_INSERT,
    Q_FILE_INSERT,
    Q_BUILD_GET,
    Q_BUILD_LATEST,
    Q_FILES_GET,
    Q_BUILD_ALL,
    Q_BUILD_COUNT,
    Q_BUILD_USED,
    Q_BUILD_DELETE,
    Q_FILE_BY_SHA,
    Q_END
};
_Static_assert(Q_END <= STORE_SLOTS_INVENTORY, "store_build.c needs more statement slots");

#define BUILD_COLS "id, name, version, kind, cmdline, san_uri, source, created, no_agent"

static const char *const kind_names[] = {
    [BUILD_LINUX] = "linux", [BUILD_ESXI] = "esxi", [BUILD_CHAIN] = "chain",
    [BUILD_SANBOOT] = "sanboot", [BUILD_LOCAL] = "local",
};
static const char *const role_names[] = {
    [BUILD_FILE_KERNEL] = "kernel", [BUILD_FILE_MODULE] = "module", [BUILD_FILE_LOADER] = "loader",
};

const char *build_kind_name(enum build_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

int build_kind_parse(const char *s, enum build_kind *out)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (enum build_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *build_file_role_name(enum build_file_role r)
{
    return (unsigned)r < sizeof role_names / sizeof role_names[0] ? role_names[r] : "?";
}

static int role_parse(const char *s, enum build_file_role *out)
{
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum build_file_role)i;
            return 0;
        }
    }
    return -EINVAL;
}

void build_clear(struct build *b)
{
    free(b->files);
    b->files = NULL;
    b->n_files = 0;
}

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool charset_valid(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && !strchr(extra, c))
            return false;
    }
    return true;
}

bool build_name_valid(const char *s)
{
    return charset_valid(s, BUILD_NAME_MAX, "-_.");
}

bool build_file_name_valid(const char *s)
{
    return charset_valid(s, BUILD_FILE_NAME_MAX, "-_.+~");
}

bool build_text_valid(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    }
    return true;
}

bool sha256_hex_valid(const char *s)
{
    size_t n = strlen(s);
    if (n != SHA256_HEX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* Runs a statement that returns no rows; resets it. */
static int step_done(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    int ext = sqlite3_extended_errcode(store_db(st));
    store_stmt_done(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SQLITE_CONSTRAINT || (ext & 0xff) == SQLITE_CONSTRAINT)
        return -EEXIST;
    log_error("store", "%s", store_errmsg(st));
    return -EIO;
}

/* Blobs */

int store_blob_put(struct store *st, const char *sha256, uint64_t size)
{
    if (!sha256_hex_valid(sha256) || size > INT64_MAX)
        return -EINVAL;
    STMT(st, Q_BLOB_PUT, "INSERT OR IGNORE INTO blobs (sha256, size, created) VALUES (?,?,?)");
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)size);
    sqlite3_bind_int64(s, 3, clock_wall_s());
    return step_done(st, s);
}

bool store_blob_known(struct store *st, const char *sha256, uint64_t *size)
{
    sqlite3_stmt *s = store_stmt(st, Q_BLOB_GET, "SELECT size FROM blobs WHERE sha256 = ?");
    if (!s)
        return false;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_STATIC);
    bool known = sqlite3_step(s) == SQLITE_ROW;
    if (known && size)
        *size = (uint64_t)sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return known;
}

/* Builds */

static int build_check(struct store *st, const struct build *b)
{
    if (!build_name_valid(b->name) || build_kind_name(b->kind)[0] == '?' || !build_text_valid(b->cmdline) ||
        !build_text_valid(b->san_uri) || strchr(b->san_uri, ' ') || !build_text_valid(b->source))
        return -EINVAL;
    size_t kernels = 0, modules = 0;
    for (size_t i = 0; i < b->n_files; i++) {
        const struct build_file *f = &b->files[i];
        if (!build_file_name_valid(f->name) || !build_text_valid(f->args) || !sha256_hex_valid(f->sha256) ||
            build_file_role_name(f->role)[0] == '?')
            return -EINVAL;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(b->files[j].name, f->name) == 0)
                return -EINVAL;
        }
        if (f->role == BUILD_FILE_KERNEL && i != 0)
            return -EINVAL;
        kernels += f->role == BUILD_FILE_KERNEL;
        modules += f->role == BUILD_FILE_MODULE;
        uint64_t size;
        if (!store_blob_known(st, f->sha256, &size))
            return -ENOENT;
        if (size != f->size)
            return -EINVAL;
    }
    switch (b->kind) {
    case BUILD_LINUX:
    case BUILD_ESXI:
        return kernels == 1 && !b->san_uri[0] ? 0 : -EINVAL;
    case BUILD_CHAIN:
        return kernels == 1 && modules == 0 && !b->san_uri[0] ? 0 : -EINVAL;
    case BUILD_SANBOOT:
        return b->n_files == 0 && b->san_uri[0] ? 0 : -EINVAL;
    case BUILD_LOCAL:
        return b->n_files == 0 && !b->san_uri[0] ? 0 : -EINVAL;
    }
    return -EINVAL;
}

static int next_version(struct store *st, const char *name, int *version)
{
    STMT(st, Q_NAME_NEXT,
         "SELECT max(coalesce((SELECT last_version FROM build_names WHERE name = ?1), 0),"
         "           coalesce((SELECT max(version) FROM builds WHERE name = ?1), 0)) + 1");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    store_stmt_done(s);
    if (rc != SQLITE_ROW)
        return -EIO;
    s = store_stmt(st, Q_NAME_BUMP,
                   "INSERT INTO build_names (name, last_version) VALUES (?1, ?2)"
                   " ON CONFLICT(name) DO UPDATE SET last_version = excluded.last_version");
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, *version);
    return step_done(st, s);
}

static int insert_files(struct store *st, const struct build *b)
{
    STMT(st, Q_FILE_INSERT,
         "INSERT INTO build_files (build_id, position, role, name, sha256, size, args, layered)"
         " VALUES (?,?,?,?,?,?,?,?)");
    for (size_t i = 0; i < b->n_files; i++) {
        const struct build_file *f = &b->files[i];
        sqlite3_bind_int64(s, 1, b->id);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        sqlite3_bind_text(s, 3, build_file_role_name(f->role), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, f->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, f->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, (int64_t)f->size);
        sqlite3_bind_text(s, 7, f->args, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 8, f->layered);
        int r = step_done(st, s);
        if (r < 0)
            return r;
    }
    return 0;
}

int store_build_publish(struct store *st, struct build *b)
{
    struct store_txn t;
    int r = store_txn_begin(st, &t);
    if (r < 0)
        return r;
    if ((r = build_check(st, b)) < 0)
        goto fail;
    int version;
    if ((r = next_version(st, b->name, &version)) < 0)
        goto fail;
    int64_t now = clock_wall_s();
    sqlite3_stmt *s = store_stmt(st, Q_BUILD_INSERT,
                                 "INSERT INTO builds (name, version, kind, cmdline, san_uri, source, created, no_agent)"
                                 " VALUES (?,?,?,?,?,?,?,?)");
    if (!s) {
        r = -EIO;
        goto fail;
    }
    sqlite3_bind_text(s, 1, b->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    sqlite3_bind_text(s, 3, build_kind_name(b->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, b->cmdline, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, b->san_uri, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, b->source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int(s, 8, b->no_agent);
    if ((r = step_done(st, s)) < 0)
        goto fail;
    b->id = sqlite3_last_insert_rowid(store_db(st));
    if ((r = insert_files(st, b)) < 0)
        goto fail;
    if ((r = store_txn_commit(st, &t)) < 0)
        goto fail;
    b->version = version;
    b->created = now;
    store_hosts_touch(st); /* a sanboot host's root path follows its build */
    return 0;
fail:
    store_txn_rollback(st, &t);
    return r == -EEXIST ? -EIO : r;
}

static int row_to_build(sqlite3_stmt *s, struct build *b)
{
    memset(b, 0, sizeof *b);
    b->id = sqlite3_column_int64(s, 0);
    store_col_text(s, 1, b->name, sizeof b->name);
    b->version = sqlite3_column_int(s, 2);
    const unsigned char *kind = sqlite3_column_text(s, 3);
    if (!kind || build_kind_parse((const char *)kind, &b->kind) < 0)
        return -EIO;
    store_col_text(s, 4, b->cmdline, sizeof b->cmdline);
    store_col_text(s, 5, b->san_uri, sizeof b->san_uri);
    store_col_text(s, 6, b->source, sizeof b->source);
    b->created = sqlite3_column_int64(s, 7);
    b->no_agent = sqlite3_column_int(s, 8) != 0;
    return 0;
}

static int load_files(struct store *st, struct build *b)
{
    STMT(st, Q_FILES_GET,
         "SELECT role, name, sha256, size, args, layered FROM build_files WHERE build_id = ? ORDER BY position");
    sqlite3_bind_int64(s, 1, b->id);
    size_t cap = 0;
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (b->n_files == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct build_file *nf = realloc(b->files, ncap * sizeof *nf);
            if (!nf) {
                r = -ENOMEM;
                break;
            }
            b->files = nf;
            cap = ncap;
        }
        struct build_file *f = &b->files[b->n_files];
        memset(f, 0, sizeof *f);
        const unsigned char *role = sqlite3_column_text(s, 0);
        if (!role || role_parse((const char *)role, &f->role) < 0) {
            r = -EIO;
            break;
        }
        store_col_text(s, 1, f->name, sizeof f->name);
        store_col_text(s, 2, f->sha256, sizeof f->sha256);
        f->size = (uint64_t)sqlite3_column_int64(s, 3);
        store_col_text(s, 4, f->args, sizeof f->args);
        f->layered = sqlite3_column_int(s, 5) != 0;
        b->n_files++;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = -EIO;
    store_stmt_done(s);
    if (r < 0)
        build_clear(b);
    return r;
}

/* Every script request reads its host's build, and a build's file list
 * costs more to read than the rest of it. A version's files never change
 * (a trigger refuses updates, and build_names keeps a version number from
 * ever being given to other content), so a copy kept by name, version and
 * row id is never stale; a deletion through this connection drops it all
 * the same. Direct-mapped, a fixed number of entries. */
#define FILES_CACHE_SLOTS 64

struct files_cached {
    int64_t id;
    int version;
    char name[BUILD_NAME_MAX];
    struct build_file *files;
    size_t n_files;
};

struct store_build_cache {
    struct files_cached slot[FILES_CACHE_SLOTS];
};

static struct files_cached *files_slot(struct store *st, const struct build *b)
{
    struct store_build_cache **c = store_build_cache(st);
    if (!*c && !(*c = calloc(1, sizeof **c)))
        return NULL;
    uint32_t h = 2166136261u;
    for (const char *p = b->name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ (uint32_t)b->version) * 16777619u;
    return &(*c)->slot[h % FILES_CACHE_SLOTS];
}

void store_build_cache_free(struct store *st)
{
    struct store_build_cache **c = store_build_cache(st);
    if (!*c)
        return;
    for (size_t i = 0; i < FILES_CACHE_SLOTS; i++)
        free((*c)->slot[i].files);
    free(*c);
    *c = NULL;
}

/* b's files from the cache: 1 when found, 0 when not, -ENOMEM. */
static int files_from_cache(struct store *st, struct build *b)
{
    struct files_cached *e = files_slot(st, b);
    if (!e || !e->files || e->id != b->id || e->version != b->version || strcmp(e->name, b->name) != 0)
        return 0;
    if (!(b->files = malloc(e->n_files * sizeof *b->files)))
        return -ENOMEM;
    memcpy(b->files, e->files, e->n_files * sizeof *b->files);
    b->n_files = e->n_files;
    return 1;
}

static void files_to_cache(struct store *st, const struct build *b)
{
    struct files_cached *e = files_slot(st, b);
    if (!e || !b->n_files)
        return;
    struct build_file *copy = malloc(b->n_files * sizeof *copy);
    if (!copy)
        return; /* a miss next time, nothing worse */
    memcpy(copy, b->files, b->n_files * sizeof *copy);
    free(e->files);
    *e = (struct files_cached){.id = b->id, .version = b->version, .files = copy, .n_files = b->n_files};
    snprintf(e->name, sizeof e->name, "%s", b->name);
}

int store_build_get(struct store *st, const char *name, int version, struct build *out)
{
    if (version < 0)
        return -EINVAL;
    sqlite3_stmt *s = version == 0
                          ? store_stmt(st, Q_BUILD_LATEST,
                                       "SELECT " BUILD_COLS " FROM builds WHERE name = ? ORDER BY version DESC LIMIT 1")
                          : store_stmt(st, Q_BUILD_GET, "SELECT " BUILD_COLS " FROM builds WHERE name = ? AND version = ?");
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_int(s, 2, version);
    int rc = sqlite3_step(s), r;
    if (rc == SQLITE_ROW)
        r = row_to_build(s, out);
    else
        r = rc == SQLITE_DONE ? -ENOENT : -EIO;
    store_stmt_done(s);
    if (r < 0)
        return r;
    if ((r = files_from_cache(st, out)) != 0)
        return r < 0 ? r : 0;
    if ((r = load_files(st, out)) == 0)
        files_to_cache(st, out);
    return r;
}

int store_build_foreach(struct store *st, int (*cb)(const struct build *, void *), void *arg)
{
    STMT(st, Q_BUILD_ALL, "SELECT " BUILD_COLS " FROM builds ORDER BY name, version");
    struct build *b = malloc(sizeof *b);
    if (!b)
        return -ENOMEM;
    int rc, r = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((r = row_to_build(s, b)) < 0 || (r = cb(b, arg)) != 0)
            break;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = -EIO;
    sqlite3_reset(s);
    free(b);
    return r;
}

int store_build_delete(struct store *st, const char *name, int version)
{
    if (version < 0)
        return -EINVAL;
    struct store_txn t;
    int r = store_txn_begin(st, &t);
    if (r < 0)
        return r;
    sqlite3_stmt *s = store_stmt(st, Q_BUILD_COUNT,
                                 "SELECT count(*) FROM builds WHERE name = ?1 AND (?2 = 0 OR version = ?2)");
    if (!s) {
        r = -EIO;
        goto fail;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    store_stmt_done(s);
    if (n <= 0) {
        r = n < 0 ? -EIO : -ENOENT;
        goto fail;
    }
    /* The rule in store_build.h: a host or rule following the latest
     * blocks every version; a pinned one blocks its version; deleting all
     * is blocked by any host or rule naming NAME. */
    s = store_stmt(st, Q_BUILD_USED,
                   "SELECT (SELECT count(*) FROM hosts WHERE build = ?1"
                   "        AND (?2 = 0 OR build_version = 0 OR build_version = ?2))"
                   "     + (SELECT count(*) FROM rules WHERE build = ?1"
                   "        AND (?2 = 0 OR build_version = 0 OR build_version = ?2))");
    if (!s) {
        r = -EIO;
        goto fail;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    store_stmt_done(s);
    if (n != 0) {
        r = n < 0 ? -EIO : -EBUSY;
        goto fail;
    }
    store_build_cache_free(st); /* not needed for correctness (see the cache's comment), but nothing is kept of it */
    s = store_stmt(st, Q_BUILD_DELETE, "DELETE FROM builds WHERE name = ?1 AND (?2 = 0 OR version = ?2)");
    if (!s) {
        r = -EIO;
        goto fail;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, version);
    if ((r = step_done(st, s)) < 0 || (r = store_txn_commit(st, &t)) < 0)
        goto fail;
    store_hosts_touch(st);
    return 0;
fail:
    store_txn_rollback(st, &t);
    return r;
}

int store_build_file_by_sha(struct store *st, const char *sha256, struct build_file_ref *out)
{
    STMT(st, Q_FILE_BY_SHA,
         "SELECT f.role, b.name, b.version FROM build_files f JOIN builds b ON b.id = f.build_id"
         " WHERE f.sha256 = ? ORDER BY b.version DESC LIMIT 1");
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    int ret = -ENOENT;
    if (r == SQLITE_ROW) {
        const char *role = (const char *)sqlite3_column_text(s, 0);
        if (role_parse(role ? role : "", &out->role) < 0)
            out->role = BUILD_FILE_MODULE;
        snprintf(out->build, sizeof out->build, "%s", (const char *)sqlite3_column_text(s, 1));
        out->version = sqlite3_column_int(s, 2);
        ret = 0;
    } else if (r != SQLITE_DONE) {
        ret = -EIO;
    }
    sqlite3_reset(s);
    return ret;
}
