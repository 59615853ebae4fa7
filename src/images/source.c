/* Import sources: a directory tree or an archive, listed once, read by path. */
#include "images/source.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "images/blobs.h"

#define LINK_HOPS 8
#define READ_BLOCK (256 * 1024)

struct entry {
    char *path;
    char *link; /* root-relative target of a symbolic or hard link, or NULL */
    uint64_t size;
    bool regular;
};

struct source {
    char path[PATH_MAX];
    int dirfd; /* directory sources; -1 for archives */
    struct entry *e;
    size_t n, cap;
};

int images_open_beneath(int dirfd, const char *rel, bool no_symlinks)
{
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0),
    };
    int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) {
        /* Kernels before 5.6: refuse what RESOLVE_BENEATH would have. */
        if (rel[0] == '/' || strstr(rel, ".."))
            return -EXDEV;
        fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    }
    if (fd < 0)
        return -errno;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
    }
    /* Back to blocking reads for a regular file. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* Normalises p into out: no leading "/" or "./", no empty or "."
 * components, no trailing "/". -EINVAL for ".." or an empty result. */
static int normalise(const char *p, char *out, size_t outlen)
{
    size_t o = 0;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            break;
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -EINVAL;
        if (!(n == 1 && p[0] == '.')) {
            if (o + n + 2 > outlen)
                return -ENAMETOOLONG;
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    if (o == 0)
        return -EINVAL;
    out[o] = '\0';
    return 0;
}

/* A link target relative to the directory of the entry at from. */
static int resolve_link(const char *from, const char *target, char *out, size_t outlen)
{
    char joined[PATH_MAX * 2];
    if (target[0] == '/') {
        snprintf(joined, sizeof joined, "%s", target);
    } else {
        const char *slash = strrchr(from, '/');
        int dl = slash ? (int)(slash - from) : 0;
        snprintf(joined, sizeof joined, "%.*s/%s", dl, from, target);
    }
    /* Collapse "dir/.." pairs first; normalise() refuses any ".." left,
     * which would point outside the source. */
    char parts[PATH_MAX * 2];
    size_t o = 0;
    for (const char *p = joined; *p;) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0)
            break;
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (o == 0)
                return -EINVAL;
            while (o > 0 && parts[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (!(n == 1 && p[0] == '.')) {
            if (o + n + 2 > sizeof parts)
                return -ENAMETOOLONG;
            if (o)
                parts[o++] = '/';
            memcpy(parts + o, p, n);
            o += n;
        }
        p += n;
    }
    parts[o] = '\0';
    return normalise(parts, out, outlen);
}

static int add_entry(struct source *s, const char *path, uint64_t size, bool regular, const char *link)
{
    if (s->n == SOURCE_MAX_ENTRIES)
        return -E2BIG;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        struct entry *ne = realloc(s->e, ncap * sizeof *ne);
        if (!ne)
            return -ENOMEM;
        s->e = ne;
        s->cap = ncap;
    }
    struct entry *e = &s->e[s->n];
    e->path = strdup(path);
    e->link = link ? strdup(link) : NULL;
    e->size = size;
    e->regular = regular;
    if (!e->path || (link && !e->link)) {
        free(e->path);
        free(e->link);
        return -ENOMEM;
    }
    s->n++;
    return 0;
}

static int walk_dir(struct source *s, int dfd, const char *prefix, int depth)
{
    if (depth > SOURCE_MAX_DEPTH)
        return 0;
    int fd = openat(dfd, prefix[0] ? prefix : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char rel[PATH_MAX];
        if ((size_t)snprintf(rel, sizeof rel, "%s%s%s", prefix, prefix[0] ? "/" : "", de->d_name) >= sizeof rel)
            continue;
        struct stat lsb, sb;
        if (fstatat(dfd, rel, &lsb, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(lsb.st_mode)) {
            r = walk_dir(s, dfd, rel, depth + 1);
        } else if (S_ISREG(lsb.st_mode)) {
            r = add_entry(s, rel, (uint64_t)lsb.st_size, true, NULL);
        } else if (S_ISLNK(lsb.st_mode) && fstatat(dfd, rel, &sb, 0) == 0 && S_ISREG(sb.st_mode)) {
            /* Opened through images_open_beneath(), so a link out of the
             * tree fails when read. */
            r = add_entry(s, rel, (uint64_t)sb.st_size, true, NULL);
        }
    }
    closedir(d);
    return r;
}

static struct archive *archive_open(const char *path, char *err, size_t errlen)
{
    struct archive *a = archive_read_new();
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_filename(a, path, READ_BLOCK) != ARCHIVE_OK) {
        snprintf(err, errlen, "%.120s: not a directory or a readable archive (%.80s)", path, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static int list_archive(struct source *s, char *err, size_t errlen)
{
    struct archive *a = archive_open(s->path, err, errlen);
    if (!a)
        return -EINVAL;
    struct archive_entry *ae;
    int rc, r = 0;
    while (r == 0 && (rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(ae);
        char norm[PATH_MAX], target[PATH_MAX];
        if (!name || normalise(name, norm, sizeof norm) < 0)
            continue;
        const char *hard = archive_entry_hardlink(ae), *sym = archive_entry_symlink(ae);
        if (hard) {
            if (normalise(hard, target, sizeof target) == 0)
                r = add_entry(s, norm, 0, true, target);
        } else if (archive_entry_filetype(ae) == AE_IFLNK && sym) {
            if (resolve_link(norm, sym, target, sizeof target) == 0)
                r = add_entry(s, norm, 0, true, target);
        } else if (archive_entry_filetype(ae) == AE_IFREG) {
            int64_t sz = archive_entry_size(ae);
            r = add_entry(s, norm, sz > 0 ? (uint64_t)sz : 0, true, NULL);
        }
    }
    if (r == 0 && rc != ARCHIVE_EOF) {
        snprintf(err, errlen, "%s: %s", s->path, archive_error_string(a));
        r = -EIO;
    } else if (r < 0) {
        snprintf(err, errlen, "%s: %s", s->path, r == -E2BIG ? "too many entries" : strerror(-r));
    } else if (s->n == 0) {
        snprintf(err, errlen, "%s: no files in archive", s->path);
        r = -EINVAL;
    }
    archive_read_free(a);
    return r;
}

int source_open(const char *path, struct source **out, char *err, size_t errlen)
{
    struct source *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->dirfd = -1;
    snprintf(s->path, sizeof s->path, "%s", path);
    struct stat sb;
    int r;
    if (stat(path, &sb) < 0) {
        r = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
            r = -errno;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        if ((r = walk_dir(s, s->dirfd, "", 0)) < 0) {
            snprintf(err, errlen, "%s: %s", path, r == -E2BIG ? "too many files" : strerror(-r));
            goto fail;
        }
    } else if ((r = list_archive(s, err, errlen)) < 0) {
        goto fail;
    }
    *out = s;
    return 0;
fail:
    source_close(s);
    return r;
}

void source_close(struct source *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].path);
        free(s->e[i].link);
    }
    free(s->e);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s);
}

bool source_is_archive(const struct source *s)
{
    return s->dirfd < 0;
}

static const struct entry *lookup(const struct source *s, const char *norm)
{
    const struct entry *ci = NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->e[i].path, norm) == 0)
            return &s->e[i];
        if (!ci && strcasecmp(s->e[i].path, norm) == 0)
            ci = &s->e[i];
    }
    return ci;
}

const char *source_find(const struct source *s, const char *path)
{
    char norm[PATH_MAX];
    if (normalise(path, norm, sizeof norm) < 0)
        return NULL;
    const struct entry *e = lookup(s, norm);
    for (int hops = 0; e && e->link; hops++) {
        if (hops == LINK_HOPS)
            return NULL;
        e = lookup(s, e->link);
    }
    return e && e->regular ? e->path : NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t source_glob(const struct source *s, const char *pattern, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n && n < max; i++) {
        if (fnmatch(pattern, s->e[i].path, FNM_PATHNAME | FNM_CASEFOLD) == 0) {
            const char *c = source_find(s, s->e[i].path);
            if (c)
                out[n++] = c;
        }
    }
    qsort(out, n, sizeof *out, cmp_str);
    return n;
}

int source_read(struct source *s, const char *canonical, char **out, size_t *len, size_t max)
{
    char *buf = malloc(max + 1);
    if (!buf)
        return -ENOMEM;
    size_t n = 0;
    int r = -ENOENT;
    if (s->dirfd >= 0) {
        int fd = images_open_beneath(s->dirfd, canonical, false);
        if (fd < 0) {
            free(buf);
            return fd;
        }
        r = 0;
        for (;;) {
            ssize_t k = read(fd, buf + n, max + 1 - n);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                r = -errno;
                break;
            }
            if (k == 0)
                break;
            n += (size_t)k;
            if (n > max) {
                r = -EFBIG;
                break;
            }
        }
        close(fd);
    } else {
        char err[256];
        struct archive *a = archive_open(s->path, err, sizeof err);
        struct archive_entry *ae;
        if (!a) {
            free(buf);
            return -EIO;
        }
        while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
            char norm[PATH_MAX];
            const char *name = archive_entry_pathname(ae);
            if (!name || normalise(name, norm, sizeof norm) < 0 || strcmp(norm, canonical) != 0)
                continue;
            r = 0;
            for (;;) {
                la_ssize_t k = archive_read_data(a, buf + n, max + 1 - n);
                if (k < 0) {
                    r = -EIO;
                    break;
                }
                if (k == 0)
                    break;
                n += (size_t)k;
                if (n > max) {
                    r = -EFBIG;
                    break;
                }
            }
            break;
        }
        archive_read_free(a);
    }
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int import_dir(struct source *s, const char *state_dir, struct store *st, const char *const *paths, size_t n,
                      char (*sha256)[SHA256_HEX_LEN + 1], uint64_t *size, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        int fd = images_open_beneath(s->dirfd, paths[i], false);
        if (fd < 0) {
            snprintf(err, errlen, "%s/%s: %s", s->path, paths[i], strerror(-fd));
            return fd;
        }
        int r = blob_import_fd(state_dir, st, fd, sha256[i], &size[i]);
        close(fd);
        if (r < 0) {
            snprintf(err, errlen, "%s/%s: storing: %s", s->path, paths[i], strerror(-r));
            return r;
        }
    }
    return 0;
}

static int import_archive(struct source *s, const char *state_dir, struct store *st, const char *const *paths,
                          size_t n, char (*sha256)[SHA256_HEX_LEN + 1], uint64_t *size, char *err, size_t errlen)
{
    struct archive *a = archive_open(s->path, err, errlen);
    if (!a)
        return -EIO;
    bool *got = calloc(n ? n : 1, sizeof *got);
    if (!got) {
        archive_read_free(a);
        return -ENOMEM;
    }
    size_t remaining = n;
    int r = 0;
    struct archive_entry *ae;
    while (r == 0 && remaining && archive_read_next_header(a, &ae) == ARCHIVE_OK) {
        char norm[PATH_MAX];
        const char *name = archive_entry_pathname(ae);
        if (!name || archive_entry_hardlink(ae) || archive_entry_filetype(ae) != AE_IFREG ||
            normalise(name, norm, sizeof norm) < 0)
            continue;
        size_t first = n;
        for (size_t i = 0; i < n; i++) {
            if (!got[i] && strcmp(paths[i], norm) == 0) {
                first = i;
                break;
            }
        }
        if (first == n)
            continue;
        struct blob_writer *w;
        if ((r = blob_writer_open(state_dir, &w)) < 0) {
            snprintf(err, errlen, "blob store: %s", strerror(-r));
            break;
        }
        const void *block;
        size_t blen;
        la_int64_t off;
        int rc;
        while ((rc = archive_read_data_block(a, &block, &blen, &off)) == ARCHIVE_OK) {
            /* Sparse entries (holes) would need zero fill; boot images have none. */
            if ((r = blob_writer_write(w, block, blen)) < 0)
                break;
        }
        if (r == 0 && rc != ARCHIVE_EOF) {
            snprintf(err, errlen, "%s: %s: %s", s->path, norm, archive_error_string(a));
            r = -EIO;
        }
        if (r < 0) {
            if (!err[0])
                snprintf(err, errlen, "%s: %s: storing: %s", s->path, norm, strerror(-r));
            blob_writer_abort(w);
            break;
        }
        if ((r = blob_writer_commit(w, st, sha256[first], &size[first])) < 0) {
            snprintf(err, errlen, "%s: %s: storing: %s", s->path, norm, strerror(-r));
            break;
        }
        for (size_t i = first; i < n; i++) {
            if (!got[i] && strcmp(paths[i], norm) == 0) {
                if (i != first) {
                    memcpy(sha256[i], sha256[first], SHA256_HEX_LEN + 1);
                    size[i] = size[first];
                }
                got[i] = true;
                remaining--;
            }
        }
    }
    if (r == 0 && remaining) {
        for (size_t i = 0; i < n; i++) {
            if (!got[i]) {
                snprintf(err, errlen, "%s: %s: not found on the second pass (%s)", s->path, paths[i],
                         archive_error_string(a) ? archive_error_string(a) : "archive changed?");
                break;
            }
        }
        r = -EIO;
    }
    free(got);
    archive_read_free(a);
    return r;
}

int source_import(struct source *s, const char *state_dir, struct store *st, const char *const *paths, size_t n,
                  char (*sha256)[SHA256_HEX_LEN + 1], uint64_t *size, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (s->dirfd >= 0)
        return import_dir(s, state_dir, st, paths, n, sha256, size, err, errlen);
    return import_archive(s, state_dir, st, paths, n, sha256, size, err, errlen);
}
