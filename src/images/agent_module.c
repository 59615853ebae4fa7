#include "images/agent_module.h"

#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "images/blobs.h"
#include "util/file.h"
#include "util/errmsg.h"

/* Reads DIR/name whole (at most AGENT_MAX_BYTES). */
static int read_file(const char *dir, const char *name, char **data, size_t *len, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return errf(err, errlen, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
    int r = file_read_capped(path, AGENT_MAX_BYTES, data, len);
    if (r == -E2BIG)
        return errf(err, errlen, -EINVAL, "%s: larger than %u bytes", path, AGENT_MAX_BYTES);
    if (r < 0)
        return errf(err, errlen, r, "%s: %s", path, strerror(-r));
    return 0;
}

/* The agent runs in initrds that hold no C library: it must be a static
 * 64-bit ELF, one without a program interpreter (PT_INTERP). 0, -EINVAL
 * (not such an ELF) or -ENOEXEC (dynamically linked). */
static int static_elf(const char *data, size_t len)
{
    Elf64_Ehdr eh;
    if (len < sizeof eh)
        return -EINVAL;
    memcpy(&eh, data, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
        (size_t)eh.e_phnum > (len - eh.e_phoff) / sizeof(Elf64_Phdr))
        return -EINVAL;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, data + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_INTERP)
            return -ENOEXEC;
    }
    return 0;
}

struct sink {
    struct blob_writer *w;
    int rc;
};

static la_ssize_t sink_write(struct archive *a, void *arg, const void *buf, size_t len)
{
    (void)a;
    struct sink *s = arg;
    if (s->rc == 0)
        s->rc = blob_writer_write(s->w, buf, len);
    return s->rc < 0 ? -1 : (la_ssize_t)len;
}

/* One entry; fixed owner, time and inode so the archive is reproducible. */
static int add(struct archive *a, const char *name, unsigned type, unsigned perm, const char *data, size_t len,
               const char *link, unsigned ino)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return -ENOMEM;
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_ino(e, ino);
    archive_entry_set_nlink(e, type == AE_IFDIR ? 2 : 1);
    if (link)
        archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
    int rc = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
    if (rc == 0 && type == AE_IFREG && len && archive_write_data(a, data, len) != (la_ssize_t)len)
        rc = -EIO;
    archive_entry_free(e);
    return rc;
}

int agent_module_build(const char *dir, const char *state_dir, struct store *st,
                       char sha256[SHA256_HEX_LEN + 1], uint64_t *size, char *err, size_t errlen)
{
    static const char *const names[] = {"midwife-agent", "midwife-agent.init", "midwife-agent.service"};
    char *data[3] = {0};
    size_t len[3] = {0};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = read_file(dir, names[i], &data[i], &len[i], err, errlen);
    if (rc < 0)
        goto out;
    if ((rc = static_elf(data[0], len[0])) < 0) {
        errf(err, errlen, rc, "%s/midwife-agent: %s", dir,
              rc == -ENOEXEC ? "dynamically linked: a booted host has none of its libraries (build it static)"
                             : "not a 64-bit ELF executable");
        goto out;
    }

    struct blob_writer *w;
    if ((rc = blob_writer_open(state_dir, &w)) < 0) {
        errf(err, errlen, rc, "blob store: %s", strerror(-rc));
        goto out;
    }
    struct sink s = {.w = w};
    struct archive *a = archive_write_new();
    if (!a || archive_write_set_format_cpio_newc(a) != ARCHIVE_OK || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        /* No name or time in the gzip header: same bytes every time. */
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &s, NULL, sink_write, NULL) != ARCHIVE_OK) {
        rc = errf(err, errlen, -EIO, "cannot start the archive: %s", a ? archive_error_string(a) : "out of memory");
        if (a)
            archive_write_free(a);
        blob_writer_abort(w);
        goto out;
    }
    static const char *const dirs[] = {"usr", "usr/sbin", "usr/lib", "usr/lib/systemd", "usr/lib/systemd/system",
                                       "etc", "etc/init.d", "etc/systemd", "etc/systemd/system",
                                       "etc/systemd/system/multi-user.target.wants"};
    unsigned ino = 1;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && rc == 0; i++)
        rc = add(a, dirs[i], AE_IFDIR, 0755, NULL, 0, NULL, ino++);
    if (rc == 0)
        rc = add(a, "usr/sbin/midwife-agent", AE_IFREG, 0755, data[0], len[0], NULL, ino++);
    if (rc == 0)
        rc = add(a, "etc/init.d/midwife-agent", AE_IFREG, 0755, data[1], len[1], NULL, ino++);
    if (rc == 0)
        rc = add(a, "usr/lib/systemd/system/midwife-agent.service", AE_IFREG, 0644, data[2], len[2], NULL, ino++);
    if (rc == 0)
        rc = add(a, "etc/systemd/system/multi-user.target.wants/midwife-agent.service", AE_IFLNK, 0777, NULL, 0,
                 "/usr/lib/systemd/system/midwife-agent.service", ino++);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
        rc = -EIO;
    if (rc == 0 && s.rc < 0)
        rc = s.rc;
    if (rc < 0) {
        errf(err, errlen, rc, "cannot pack the agent: %s", s.rc < 0 ? strerror(-s.rc) : archive_error_string(a));
        archive_write_free(a);
        blob_writer_abort(w);
        goto out;
    }
    archive_write_free(a);
    if ((rc = blob_writer_commit(w, st, sha256, size)) < 0)
        errf(err, errlen, rc, "cannot store the agent module: %s", strerror(-rc));
out:
    for (int i = 0; i < 3; i++)
        free(data[i]);
    return rc;
}
