/* The blob store: SHA-256 while copying, fsync, verify, rename into place. */
#include "images/blobs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/source.h"
#include "util/log.h"

#define COPY_CHUNK (256 * 1024)

struct blob_writer {
    int blobs_fd;             /* STATE_DIR/blobs */
    int fd;                   /* the temp file */
    char tmp_name[64];        /* relative to blobs_fd */
    EVP_MD_CTX *md;
    uint64_t size;
};

static void to_hex(const unsigned char *d, char out[SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[SHA256_HEX_LEN] = '\0';
}

int blob_path(const char *state_dir, const char *sha256, char *out, size_t outlen)
{
    if (!sha256_hex_valid(sha256))
        return -EINVAL;
    if ((size_t)snprintf(out, outlen, "%s/blobs/%.2s/%s", state_dir, sha256, sha256) >= outlen)
        return -ENAMETOOLONG;
    return 0;
}

/* Opens (creating) STATE_DIR/blobs and its tmp/ directory. */
static int open_blobs_dir(const char *state_dir, bool create)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s/blobs", state_dir) >= sizeof p)
        return -ENAMETOOLONG;
    if (create && mkdir(p, 0750) < 0 && errno != EEXIST)
        return -errno;
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (create && mkdirat(fd, "tmp", 0750) < 0 && errno != EEXIST) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

int blob_writer_open(const char *state_dir, struct blob_writer **out)
{
    struct blob_writer *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->fd = -1;
    int r = w->blobs_fd = open_blobs_dir(state_dir, true);
    if (r < 0)
        goto fail;
    unsigned char rnd[8];
    if (getentropy(rnd, sizeof rnd) < 0) {
        r = -errno;
        goto fail;
    }
    for (int attempt = 0; attempt < 8 && w->fd < 0; attempt++) {
        snprintf(w->tmp_name, sizeof w->tmp_name, "tmp/import-%d-%02x%02x%02x%02x%02x%02x%02x%02x-%d",
                 (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], attempt);
        w->fd = openat(w->blobs_fd, w->tmp_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (w->fd < 0 && errno != EEXIST) {
            r = -errno;
            goto fail;
        }
    }
    if (w->fd < 0) {
        r = -EEXIST;
        goto fail;
    }
    if (!(w->md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
        r = -ENOMEM;
        goto fail;
    }
    *out = w;
    return 0;
fail:
    blob_writer_abort(w);
    return r;
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int blob_writer_write(struct blob_writer *w, const void *data, size_t len)
{
    if (len > BLOB_MAX_SIZE - w->size)
        return -EFBIG;
    if (EVP_DigestUpdate(w->md, data, len) != 1)
        return -EIO;
    int r = write_all(w->fd, data, len);
    if (r == 0)
        w->size += len;
    return r;
}

void blob_writer_abort(struct blob_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        unlinkat(w->blobs_fd, w->tmp_name, 0);
    }
    if (w->blobs_fd >= 0)
        close(w->blobs_fd);
    EVP_MD_CTX_free(w->md);
    free(w);
}

/* Hashes fd from offset 0 to its end. */
static int hash_fd(int fd, char hex[SHA256_HEX_LEN + 1], uint64_t *size)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *buf = malloc(COPY_CHUNK);
    int r = 0;
    uint64_t total = 0;
    if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        r = -ENOMEM;
        goto out;
    }
    for (off_t off = 0;;) {
        ssize_t n = pread(fd, buf, COPY_CHUNK, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
            r = -EIO;
            goto out;
        }
        off += n;
        total += (uint64_t)n;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (EVP_DigestFinal_ex(md, d, &dl) != 1 || dl != 32) {
        r = -EIO;
        goto out;
    }
    to_hex(d, hex);
    *size = total;
out:
    EVP_MD_CTX_free(md);
    free(buf);
    return r;
}

int blob_writer_commit(struct blob_writer *w, struct store *st, char sha256[SHA256_HEX_LEN + 1],
                       uint64_t *size)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    char hex[SHA256_HEX_LEN + 1], again[SHA256_HEX_LEN + 1], final[8 + SHA256_HEX_LEN];
    uint64_t written;
    int r;
    if (EVP_DigestFinal_ex(w->md, d, &dl) != 1 || dl != 32) {
        r = -EIO;
        goto fail;
    }
    to_hex(d, hex);
    if (fsync(w->fd) < 0) {
        r = -errno;
        goto fail;
    }
    /* Verify what reached the file, not what we meant to write. */
    if ((r = hash_fd(w->fd, again, &written)) < 0)
        goto fail;
    if (written != w->size || strcmp(hex, again) != 0) {
        log_error("images", "blob verification failed: wrote %s (%llu bytes), read back %s (%llu bytes)", hex,
                  (unsigned long long)w->size, again, (unsigned long long)written);
        r = -EBADMSG;
        goto fail;
    }
    char fan[3] = {hex[0], hex[1], '\0'};
    if (mkdirat(w->blobs_fd, fan, 0750) < 0 && errno != EEXIST) {
        r = -errno;
        goto fail;
    }
    snprintf(final, sizeof final, "%s/%s", fan, hex);
    struct stat sb;
    if (fstatat(w->blobs_fd, final, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
        (uint64_t)sb.st_size == w->size) {
        /* Dedup: the same content is already stored. */
        unlinkat(w->blobs_fd, w->tmp_name, 0);
    } else {
        if (renameat(w->blobs_fd, w->tmp_name, w->blobs_fd, final) < 0) {
            r = -errno;
            goto fail;
        }
        int dfd = openat(w->blobs_fd, fan, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    close(w->fd);
    w->fd = -1;
    if ((r = store_blob_put(st, hex, w->size)) < 0)
        goto fail;
    memcpy(sha256, hex, sizeof hex);
    *size = w->size;
    blob_writer_abort(w);
    return 0;
fail:
    blob_writer_abort(w);
    return r;
}

int blob_import_fd(const char *state_dir, struct store *st, int fd, char sha256[SHA256_HEX_LEN + 1],
                   uint64_t *size)
{
    struct blob_writer *w;
    int r = blob_writer_open(state_dir, &w);
    if (r < 0)
        return r;
    uint8_t *buf = malloc(COPY_CHUNK);
    if (!buf) {
        blob_writer_abort(w);
        return -ENOMEM;
    }
    for (;;) {
        ssize_t n = read(fd, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        if ((r = blob_writer_write(w, buf, (size_t)n)) < 0)
            break;
    }
    free(buf);
    if (r < 0) {
        blob_writer_abort(w);
        return r;
    }
    return blob_writer_commit(w, st, sha256, size);
}

static int open_blob(const char *state_dir, const char *sha256)
{
    if (!sha256_hex_valid(sha256))
        return -EINVAL;
    int dfd = open_blobs_dir(state_dir, false);
    if (dfd < 0)
        return dfd == -ENOENT ? -ENOENT : dfd;
    char rel[4 + SHA256_HEX_LEN];
    snprintf(rel, sizeof rel, "%.2s/%s", sha256, sha256);
    int fd = images_open_beneath(dfd, rel, true);
    close(dfd);
    return fd;
}

int blob_open(const char *state_dir, const char *sha256, int *fd, uint64_t *size)
{
    int f = open_blob(state_dir, sha256);
    if (f < 0)
        return f;
    struct stat sb;
    if (fstat(f, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(f);
        return -EIO;
    }
    *fd = f;
    *size = (uint64_t)sb.st_size;
    return 0;
}

int blob_verify(const char *state_dir, const char *sha256)
{
    int f = open_blob(state_dir, sha256);
    if (f < 0)
        return f;
    char hex[SHA256_HEX_LEN + 1];
    uint64_t size;
    int r = hash_fd(f, hex, &size);
    close(f);
    if (r < 0)
        return r;
    return strcmp(hex, sha256) == 0 ? 0 : -EBADMSG;
}
