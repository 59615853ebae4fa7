/* Saving and restoring the persist paths (see persist.h). Both walk
 * directories through file descriptors with O_NOFOLLOW, so a symlink
 * inside a persisted tree is carried as a link and never leads the walk
 * (or a copy) outside it. */
#include "persist.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "path.h"
#include "util/log.h"
#include "util/errmsg.h"

#define WALK_DEPTH_MAX 64
#define WALK_ENTRIES_MAX 100000

size_t persist_paths(const json_t *doc, const char **paths, size_t max)
{
    const json_t *list = json_object_get(doc, "persist");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(list) && n < max; i++) {
        const char *p = json_string_value(json_array_get(list, i));
        if (p)
            paths[n++] = p;
    }
    return n;
}

/* The document's persist-path rule (path.h), checked again here because
 * this is the code that touches the disk; short enough for the names
 * built from it. */
static bool persist_path_ok(const char *p)
{
    return strlen(p) < PATH_MAX - 64 && path_clean(p);
}

/* ---- saving ---- */

struct membuf {
    unsigned char *data;
    size_t len, cap;
    bool too_big;
};

static la_ssize_t mem_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
    struct membuf *m = ctx;
    if (n > PERSIST_MAX_BYTES - m->len) {
        m->too_big = true;
        archive_set_error(a, E2BIG, "archive over %d MiB", PERSIST_MAX_BYTES >> 20);
        return -1;
    }
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + n)
            cap *= 2;
        unsigned char *d = realloc(m->data, cap);
        if (!d) {
            archive_set_error(a, ENOMEM, "out of memory");
            return -1;
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, buf, n);
    m->len += n;
    return (la_ssize_t)n;
}

struct saver {
    struct archive *a;
    struct archive_entry *e;
    unsigned entries, total;
    unsigned ino;
    char *err;
    size_t errlen;
    /* directories above the listed paths already written */
    char **dirs;
    size_t n_dirs, cap_dirs;
};

static int put_header(struct saver *s, const char *name, const struct stat *st, const char *link)
{
    archive_entry_clear(s->e);
    archive_entry_copy_pathname(s->e, name);
    archive_entry_copy_stat(s->e, st);
    /* Every entry its own inode: the kernel's unpacker would otherwise
     * take two entries with one inode for hard links. */
    archive_entry_set_ino(s->e, ++s->ino);
    archive_entry_set_dev(s->e, 0);
    archive_entry_set_nlink(s->e, S_ISDIR(st->st_mode) ? 2 : 1);
    if (!S_ISREG(st->st_mode))
        archive_entry_set_size(s->e, 0);
    if (link)
        archive_entry_copy_symlink(s->e, link);
    if (archive_write_header(s->a, s->e) != ARCHIVE_OK)
        return errf(s->err, s->errlen, -EIO, "%s: %s", name, archive_error_string(s->a));
    if (++s->total > WALK_ENTRIES_MAX)
        return errf(s->err, s->errlen, -E2BIG, "more than %d entries", WALK_ENTRIES_MAX);
    return 0;
}

static int put_file_data(struct saver *s, int fd, off_t size, const char *name)
{
    char buf[65536];
    off_t left = size;
    while (left > 0) {
        ssize_t n = read(fd, buf, (size_t)(left < (off_t)sizeof buf ? left : (off_t)sizeof buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errf(s->err, s->errlen, -errno, "%s: %s", name, strerror(errno));
        if (n == 0)
            break; /* shrunk while read: libarchive pads the entry */
        if (archive_write_data(s->a, buf, (size_t)n) < 0)
            return errf(s->err, s->errlen, -EIO, "%s: %s", name, archive_error_string(s->a));
        left -= n;
    }
    return 0;
}

/* Writes the entry NAME (archive name) for dirfd/leaf and, for a
 * directory, everything below it. */
static int save_walk(struct saver *s, int parent, const char *leaf, char *name, size_t name_len, int depth)
{
    struct stat st;
    if (fstatat(parent, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : errf(s->err, s->errlen, -errno, "%s: %s", name, strerror(errno));
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(parent, leaf, target, sizeof target - 1);
        if (n < 0)
            return errf(s->err, s->errlen, -errno, "%s: %s", name, strerror(errno));
        target[n] = '\0';
        s->entries++;
        return put_header(s, name, &st, target);
    }
    if (S_ISREG(st.st_mode)) {
        int fd = openat(parent, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return errf(s->err, s->errlen, -errno, "%s: %s", name, strerror(errno));
        struct stat fst;
        int r = 0;
        if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode)) {
            close(fd); /* replaced between the two looks: not ours to take */
            return 0;
        }
        s->entries++;
        r = put_header(s, name, &fst, NULL);
        if (r == 0)
            r = put_file_data(s, fd, fst.st_size, name);
        close(fd);
        return r;
    }
    if (!S_ISDIR(st.st_mode))
        return 0; /* devices, sockets, FIFOs: nothing to carry */
    if (depth >= WALK_DEPTH_MAX)
        return errf(s->err, s->errlen, -ELOOP, "%s: deeper than %d levels", name, WALK_DEPTH_MAX);
    int fd = openat(parent, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errf(s->err, s->errlen, -errno, "%s: %s", name, strerror(errno));
    s->entries++;
    int r = put_header(s, name, &st, NULL);
    DIR *d = r == 0 ? fdopendir(fd) : NULL;
    if (!d) {
        close(fd);
        return r;
    }
    /* Sorted, so one tree always makes one archive. */
    char **kids = NULL;
    size_t n_kids = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n_kids == cap) {
            cap = cap ? cap * 2 : 16;
            char **nk = realloc(kids, cap * sizeof *kids);
            if (!nk)
                break;
            kids = nk;
        }
        if (!(kids[n_kids] = strdup(de->d_name)))
            break;
        n_kids++;
    }
    qsort(kids, n_kids, sizeof *kids, (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < n_kids; i++) {
        size_t kl = strlen(kids[i]);
        if (r == 0 && name_len + 1 + kl < PATH_MAX) {
            name[name_len] = '/';
            memcpy(name + name_len + 1, kids[i], kl + 1);
            r = save_walk(s, dirfd(d), kids[i], name, name_len + 1 + kl, depth + 1);
            name[name_len] = '\0';
        }
        free(kids[i]);
    }
    free(kids);
    closedir(d);
    return r;
}

static int ancestor_seen(struct saver *s, const char *name)
{
    for (size_t i = 0; i < s->n_dirs; i++)
        if (strcmp(s->dirs[i], name) == 0)
            return 1;
    if (s->n_dirs == s->cap_dirs) {
        size_t cap = s->cap_dirs ? s->cap_dirs * 2 : 16;
        char **nd = realloc(s->dirs, cap * sizeof *nd);
        if (!nd)
            return -1;
        s->dirs = nd;
        s->cap_dirs = cap;
    }
    if (!(s->dirs[s->n_dirs] = strdup(name)))
        return -1;
    s->n_dirs++;
    return 0;
}

/* "midwife-state" and the directories between it and path, each once,
 * with the metadata of the real directory ("midwife-state": 0700). */
static int put_ancestors(struct saver *s, const char *path)
{
    char name[PATH_MAX + 32];
    struct stat st = {.st_mode = S_IFDIR | 0700};
    snprintf(name, sizeof name, "%s", PERSIST_PREFIX);
    int seen = ancestor_seen(s, name);
    if (seen < 0)
        return errf(s->err, s->errlen, -ENOMEM, "out of memory");
    if (!seen) {
        st.st_mtime = time(NULL);
        int r = put_header(s, name, &st, NULL);
        if (r < 0)
            return r;
    }
    for (const char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        char real[PATH_MAX];
        snprintf(real, sizeof real, "%.*s", (int)(slash - path), path);
        snprintf(name, sizeof name, "%s%s", PERSIST_PREFIX, real);
        if ((seen = ancestor_seen(s, name)) < 0)
            return errf(s->err, s->errlen, -ENOMEM, "out of memory");
        if (seen)
            continue;
        if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
            return errf(s->err, s->errlen, -ENOTDIR, "%s: not a directory", real);
        int r = put_header(s, name, &st, NULL);
        if (r < 0)
            return r;
    }
    return 0;
}

static bool path_exists_nofollow(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int persist_archive(const char *const *paths, size_t n, unsigned char **out, size_t *out_len, unsigned *entries,
                    char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    *entries = 0;
    struct membuf m = {0};
    struct saver s = {.err = err, .errlen = errlen};
    s.a = archive_write_new();
    s.e = archive_entry_new();
    int r = 0;
    if (!s.a || !s.e) {
        r = errf(err, errlen, -ENOMEM, "out of memory");
        goto done;
    }
    /* No blocking: padding after the gzip stream is not for the kernel. */
    if (archive_write_add_filter_gzip(s.a) != ARCHIVE_OK || archive_write_set_format_cpio_newc(s.a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(s.a, 0) != ARCHIVE_OK ||
        archive_write_open(s.a, &m, NULL, mem_write, NULL) != ARCHIVE_OK) {
        r = errf(err, errlen, -EIO, "archive: %s", archive_error_string(s.a));
        goto done;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        const char *p = paths[i];
        if (!persist_path_ok(p)) {
            char esc[128];
            r = errf(err, errlen, -EINVAL, "persist path '%s' is not clean", log_escape(esc, sizeof esc, p, strlen(p)));
            break;
        }
        if (!path_exists_nofollow(p))
            continue;
        if ((r = put_ancestors(&s, p)) < 0)
            break;
        /* The listed path's parent is the system's (its symlinks are
         * followed, /var/run → /run); from the path down nothing is. */
        const char *slash = strrchr(p, '/');
        char parent[PATH_MAX], name[PATH_MAX];
        snprintf(parent, sizeof parent, "%.*s", slash == p ? 1 : (int)(slash - p), p);
        int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0) {
            r = errf(err, errlen, -errno, "%s: %s", parent, strerror(errno));
            break;
        }
        int len = snprintf(name, sizeof name, "%s%s", PERSIST_PREFIX, p);
        r = save_walk(&s, pfd, slash + 1, name, (size_t)len, 0);
        close(pfd);
    }
    if (r == 0 && archive_write_close(s.a) != ARCHIVE_OK)
        r = errf(err, errlen, m.too_big ? -E2BIG : -EIO, "archive: %s", archive_error_string(s.a));
    if (r < 0 && m.too_big)
        r = errf(err, errlen, -E2BIG, "the saved state is over %d MiB", PERSIST_MAX_BYTES >> 20);
done:
    if (s.a)
        archive_write_free(s.a);
    if (s.e)
        archive_entry_free(s.e);
    for (size_t i = 0; i < s.n_dirs; i++)
        free(s.dirs[i]);
    free(s.dirs);
    if (r < 0) {
        free(m.data);
        return r;
    }
    *out = m.data;
    *out_len = m.len;
    *entries = s.entries;
    return 0;
}

int persist_upload(const char *state_url, const char *token, const void *data, size_t len, char *err, size_t errlen)
{
    struct http_request req = {
        .method = "PUT",
        .url = state_url,
        .token = token,
        .content_type = "application/octet-stream",
        .body = data,
        .body_len = len,
        .max_body = 64 * 1024,
        .io_timeout_ms = 30000,
        .total_timeout_ms = 300000,
    };
    struct http_response resp;
    int r = http_request(&req, &resp, err, errlen);
    if (r < 0)
        return -1;
    int st = resp.status;
    if (st < 200 || st > 299) {
        json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
        const char *e = json_string_value(json_object_get(j, "error"));
        char esc[256];
        snprintf(err, errlen, "midwife answered %d: %s", st,
                 e ? log_escape(esc, sizeof esc, e, strlen(e)) : "(no error text)");
        json_decref(j);
    }
    http_response_free(&resp);
    return st >= 200 && st <= 299 ? 0 : -1;
}

int persist_save(const char *state_url, const char *token, const char *const *paths, size_t n, char *msg,
                 size_t msglen)
{
    if (n == 0) {
        snprintf(msg, msglen, "nothing to save (no persist paths)");
        return 1;
    }
    unsigned char *data;
    size_t len;
    unsigned entries;
    char err[512];
    if (persist_archive(paths, n, &data, &len, &entries, err, sizeof err) < 0) {
        snprintf(msg, msglen, "%s", err);
        return -1;
    }
    int r = persist_upload(state_url, token, data, len, err, sizeof err);
    free(data);
    if (r < 0)
        snprintf(msg, msglen, "%s", err);
    else
        snprintf(msg, msglen, "%u entries, %zu bytes uploaded", entries, len);
    return r;
}

/* ---- restoring ---- */

const char *persist_state_dir(const char *root, char *buf, size_t buflen)
{
    static const char *const where[] = {"/" PERSIST_PREFIX, "/run/" PERSIST_PREFIX};
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        snprintf(buf, buflen, "%s%s", root ? root : "", where[i]);
        if (lstat(buf, &st) == 0 && S_ISDIR(st.st_mode))
            return buf;
    }
    return NULL;
}

struct restorer {
    unsigned count;
    int first_error;
    char *err;
    size_t errlen;
};

static void restore_error(struct restorer *rs, const char *path, int e)
{
    if (rs->first_error == 0) {
        rs->first_error = e ? e : EIO;
        char esc[256];
        snprintf(rs->err, rs->errlen, "%s: %s", log_escape(esc, sizeof esc, path, strlen(path)), strerror(e));
    }
}

/* Owner, mode, times on an open file or directory. Owners are kept when
 * we may set them (as root); a user's test run keeps its own. These are
 * best effort: the content is what matters. */
static void set_meta_fd(int fd, const struct stat *st)
{
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM) {
        /* kept as it is */
    }
    if (fchmod(fd, st->st_mode & 07777) < 0) {
        /* kept as it is */
    }
    futimens(fd, times);
}

/* The same for a symlink at/leaf (its mode means nothing). */
static void set_meta_link(int at, const char *leaf, const struct stat *st)
{
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    if (fchownat(at, leaf, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM) {
        /* kept as it is */
    }
    utimensat(at, leaf, times, AT_SYMLINK_NOFOLLOW);
}

/* Makes room for a new non-directory at dst/leaf. */
static int clear_slot(int dst, const char *leaf)
{
    if (unlinkat(dst, leaf, 0) == 0 || errno == ENOENT)
        return 0;
    return -errno;
}

static int copy_data(int in, int out)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return -errno;
            w += k;
        }
    }
}

static void restore_walk(struct restorer *rs, int src, int dst, const char *leaf, const char *path, int depth)
{
    struct stat st;
    if (fstatat(src, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            restore_error(rs, path, errno);
        return;
    }
    int r;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(src, leaf, target, sizeof target - 1);
        if (n < 0) {
            restore_error(rs, path, errno);
            return;
        }
        target[n] = '\0';
        if ((r = clear_slot(dst, leaf)) < 0 || symlinkat(target, dst, leaf) < 0) {
            restore_error(rs, path, r < 0 ? -r : errno);
            return;
        }
        set_meta_link(dst, leaf, &st);
        rs->count++;
        return;
    }
    if (S_ISREG(st.st_mode)) {
        int in = openat(src, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (in < 0) {
            restore_error(rs, path, errno);
            return;
        }
        int out = -1;
        if ((r = clear_slot(dst, leaf)) == 0) {
            out = openat(dst, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            r = out < 0 ? -errno : copy_data(in, out);
        }
        if (r == 0) {
            set_meta_fd(out, &st);
            rs->count++;
        } else {
            restore_error(rs, path, -r);
        }
        if (out >= 0)
            close(out);
        close(in);
        return;
    }
    if (!S_ISDIR(st.st_mode))
        return;
    if (depth >= WALK_DEPTH_MAX) {
        restore_error(rs, path, ELOOP);
        return;
    }
    int sfd = openat(src, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0) {
        restore_error(rs, path, errno);
        return;
    }
    /* Whatever is in the way of the directory (a file, a symlink that
     * would lead the copy elsewhere) is replaced by it. */
    int dfd = openat(dst, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 && (errno == ENOTDIR || errno == ELOOP) && clear_slot(dst, leaf) == 0)
        errno = ENOENT;
    if (dfd < 0 && errno == ENOENT && mkdirat(dst, leaf, 0700) == 0)
        dfd = openat(dst, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        restore_error(rs, path, errno);
        close(sfd);
        return;
    }
    DIR *d = fdopendir(sfd);
    if (!d) {
        restore_error(rs, path, errno);
        close(sfd);
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= (int)sizeof sub) {
            restore_error(rs, path, ENAMETOOLONG);
            continue;
        }
        restore_walk(rs, dirfd(d), dfd, de->d_name, sub, depth + 1);
    }
    closedir(d);
    set_meta_fd(dfd, &st);
    close(dfd);
    rs->count++;
}

/* Opens dir of root+rel, each component without following a symlink
 * (the saved tree is not trusted); -1 when absent or not a directory. */
static int open_saved_parent(const char *state_dir, const char *path)
{
    int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *c = path + 1;
    for (const char *e; fd >= 0 && (e = strchr(c, '/')) != NULL; c = e + 1) {
        char comp[NAME_MAX + 1];
        size_t len = (size_t)(e - c);
        if (len > NAME_MAX) {
            close(fd);
            return -1;
        }
        memcpy(comp, c, len);
        comp[len] = '\0';
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
    }
    return fd;
}

/* mkdir -p of the live system's directories above a listed path (these
 * are the system's own: their symlinks are followed). */
static int open_live_parent(const char *dest_root, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int n = snprintf(dir, sizeof dir, "%s%.*s", dest_root, (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return -1;
    if (dir[0] == '\0')
        snprintf(dir, sizeof dir, "/");
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int persist_restore(const char *state_dir, const char *dest_root, const char *const *paths, size_t n,
                    unsigned *count, char *err, size_t errlen)
{
    struct restorer rs = {.err = err, .errlen = errlen};
    if (errlen)
        err[0] = '\0';
    if (!dest_root)
        dest_root = "";
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        if (!persist_path_ok(p)) {
            restore_error(&rs, p, EINVAL);
            continue;
        }
        int src = open_saved_parent(state_dir, p);
        if (src < 0)
            continue; /* nothing saved under this path */
        const char *leaf = strrchr(p, '/') + 1;
        struct stat st;
        if (fstatat(src, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            close(src);
            continue;
        }
        int dst = open_live_parent(dest_root, p);
        if (dst < 0) {
            restore_error(&rs, p, errno);
            close(src);
            continue;
        }
        restore_walk(&rs, src, dst, leaf, p, 0);
        close(src);
        close(dst);
    }
    *count = rs.count;
    return rs.first_error ? -1 : 0;
}
