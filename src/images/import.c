/* build import / build layer: recognise a layout, store its files, publish. */
#include "images/import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/template.h"
#include "images/blobs.h"
#include "images/bootcfg.h"
#include "images/source.h"

/* What a build will be made of, before any byte is stored. */
struct plan_file {
    const char *src; /* canonical path in the source */
    char name[BUILD_FILE_NAME_MAX];
    enum build_file_role role;
    char args[256];
};

struct plan {
    enum build_kind kind;
    char cmdline[BUILD_CMDLINE_MAX];
    char what[160]; /* the layout recognised, for the source note */
    struct plan_file files[IMPORT_MAX_FILES];
    size_t n;
};

static const char looked_for[] =
    "looked for: boot.cfg or efi/boot/boot.cfg (ESXi); *-installer/ARCH/linux + initrd.gz (Debian/Ubuntu netboot); "
    "install.*/vmlinuz + initrd.gz (Debian installer media); casper/vmlinuz + casper/initrd* (Ubuntu live); "
    "live/vmlinuz* + live/initrd* (Debian live). Or say what to boot: --kernel PATH [--initrd PATH]... "
    "[--cmdline STR], --chain PATH, --kind sanboot --san-uri URI, or --kind local";

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Adds src under the stored name (the last component of as_named). */
static int plan_add(struct plan *p, const char *src, const char *as_named, enum build_file_role role,
                    const char *args, char *err, size_t errlen)
{
    if (p->n == IMPORT_MAX_FILES) {
        snprintf(err, errlen, "too many files (at most %d)", IMPORT_MAX_FILES);
        return -E2BIG;
    }
    struct plan_file *f = &p->files[p->n];
    const char *name = base_name(as_named);
    if (!build_file_name_valid(name)) {
        snprintf(err, errlen,
                 "file name '%.*s' is not allowed (letters, digits, '-', '_', '.', '+', '~'; not starting with '.')",
                 100, name);
        return -EINVAL;
    }
    if (args && !build_text_valid(args)) {
        snprintf(err, errlen, "arguments of %s contain control bytes", name);
        return -EINVAL;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->files[i].name, name) == 0) {
            snprintf(err, errlen, "two files would both be named '%s' (%s and %s)", name, p->files[i].src, src);
            return -EINVAL;
        }
    }
    f->src = src;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->role = role;
    snprintf(f->args, sizeof f->args, "%s", args ? args : "");
    p->n++;
    return 0;
}

static int find_or_fail(const struct source *s, const char *path, const char **out, char *err, size_t errlen)
{
    *out = source_find(s, path);
    if (!*out) {
        snprintf(err, errlen, "no file %s in the source", path);
        return -ENOENT;
    }
    return 0;
}

/* An ESXi module path as boot.cfg writes it, found in the source: with
 * the prefix (unless it is a URL or the path is absolute), as written, or
 * next to boot.cfg. */
static const char *esxi_find(const struct source *s, const struct bootcfg *cfg, const char *cfg_path,
                             const char *path)
{
    char p[PATH_MAX];
    const char *found = NULL;
    if (cfg->prefix[0] && path[0] != '/' && !strstr(cfg->prefix, "://")) {
        snprintf(p, sizeof p, "%s/%s", cfg->prefix, path);
        found = source_find(s, p);
    }
    if (!found)
        found = source_find(s, path);
    const char *slash = strrchr(cfg_path, '/');
    if (!found && slash) {
        snprintf(p, sizeof p, "%.*s/%s", (int)(slash - cfg_path), cfg_path, path);
        found = source_find(s, p);
    }
    return found;
}

static int plan_esxi(struct source *s, const char *cfg_path, struct plan *p, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len;
    int r = source_read(s, cfg_path, &text, &len, BOOTCFG_MAX_BYTES);
    if (r < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", cfg_path, r == -EFBIG ? "too large" : strerror(-r));
        return r;
    }
    struct bootcfg *cfg = malloc(sizeof *cfg);
    if (!cfg) {
        free(text);
        return -ENOMEM;
    }
    char perr[256];
    if ((r = bootcfg_parse(text, len, cfg, perr, sizeof perr)) < 0) {
        snprintf(err, errlen, "%s: %s", cfg_path, perr);
        goto out;
    }
    p->kind = BUILD_ESXI;
    snprintf(p->cmdline, sizeof p->cmdline, "%s", cfg->kernelopt);
    snprintf(p->what, sizeof p->what, "ESXi %.80s%s%.60s", cfg_path, cfg->title[0] ? ": " : "", cfg->title);
    const char *k = esxi_find(s, cfg, cfg_path, cfg->kernel);
    if (!k) {
        snprintf(err, errlen, "%s names kernel %s but the image has no such file", cfg_path, cfg->kernel);
        r = -ENOENT;
        goto out;
    }
    if ((r = plan_add(p, k, cfg->kernel, BUILD_FILE_KERNEL, NULL, err, errlen)) < 0)
        goto out;
    for (size_t i = 0; i < cfg->n_modules; i++) {
        const char *m = esxi_find(s, cfg, cfg_path, cfg->modules[i].path);
        if (!m) {
            snprintf(err, errlen, "%s names module %s but the image has no such file", cfg_path,
                     cfg->modules[i].path);
            r = -ENOENT;
            goto out;
        }
        if ((r = plan_add(p, m, cfg->modules[i].path, BUILD_FILE_MODULE, cfg->modules[i].args, err, errlen)) < 0)
            goto out;
    }
    /* ESXi's own loaders, so a script can chain to them: mboot.c32 for
     * BIOS, the EFI loader for UEFI. Optional: PXE layouts may lack them. */
    static const char *const loaders[] = {"mboot.c32", "efi/boot/bootx64.efi"};
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++) {
        const char *l = source_find(s, loaders[i]);
        bool named = false;
        for (size_t j = 0; l && j < p->n; j++)
            named |= strcmp(p->files[j].src, l) == 0;
        if (l && !named && (r = plan_add(p, l, loaders[i], BUILD_FILE_LOADER, NULL, err, errlen)) < 0)
            goto out;
    }
out:
    free(cfg);
    free(text);
    return r;
}

/* kernel + initrd in one directory; prefers an amd64 directory. */
static int plan_pair(struct source *s, const char *kernel_glob, const char *initrd_name, const char *cmdline,
                     const char *what, struct plan *p, char *err, size_t errlen, bool *matched)
{
    const char *k[64];
    size_t n = source_glob(s, kernel_glob, k, 64);
    const char *kernel = NULL, *initrd = NULL;
    for (int pass = 0; pass < 2 && !initrd; pass++) {
        for (size_t i = 0; i < n && !initrd; i++) {
            if (pass == 0 && !strstr(k[i], "amd64") && !strstr(k[i], ".amd/"))
                continue;
            char ip[PATH_MAX];
            const char *slash = strrchr(k[i], '/');
            snprintf(ip, sizeof ip, "%.*s/%s", slash ? (int)(slash - k[i]) : 0, k[i], initrd_name);
            if ((initrd = source_find(s, ip)))
                kernel = k[i];
        }
    }
    if (!kernel)
        return 0;
    *matched = true;
    p->kind = BUILD_LINUX;
    snprintf(p->cmdline, sizeof p->cmdline, "%s", cmdline);
    snprintf(p->what, sizeof p->what, "%s %.100s", what, kernel);
    int r = plan_add(p, kernel, kernel, BUILD_FILE_KERNEL, NULL, err, errlen);
    return r < 0 ? r : plan_add(p, initrd, initrd, BUILD_FILE_MODULE, NULL, err, errlen);
}

/* live/vmlinuz-VERSION + live/initrd.img-VERSION: pairs by suffix, else the first of each. */
static int plan_live(struct source *s, const char *dir, const char *cmdline, const char *what, struct plan *p,
                     char *err, size_t errlen, bool *matched)
{
    char kg[64], ig[64];
    snprintf(kg, sizeof kg, "%s/vmlinuz*", dir);
    snprintf(ig, sizeof ig, "%s/initrd*", dir);
    const char *k[32], *in[32];
    size_t nk = source_glob(s, kg, k, 32), ni = source_glob(s, ig, in, 32);
    if (nk == 0 || ni == 0)
        return 0;
    const char *kernel = k[0], *initrd = in[0];
    for (size_t i = 0; i < nk; i++) {
        const char *ksuf = strchr(base_name(k[i]), '-');
        for (size_t j = 0; ksuf && j < ni; j++) {
            const char *isuf = strchr(base_name(in[j]), '-');
            if (isuf && strcmp(ksuf, isuf) == 0) {
                kernel = k[i];
                initrd = in[j];
                goto found;
            }
        }
    }
found:
    *matched = true;
    p->kind = BUILD_LINUX;
    snprintf(p->cmdline, sizeof p->cmdline, "%s", cmdline);
    snprintf(p->what, sizeof p->what, "%s %.100s", what, kernel);
    int r = plan_add(p, kernel, kernel, BUILD_FILE_KERNEL, NULL, err, errlen);
    return r < 0 ? r : plan_add(p, initrd, initrd, BUILD_FILE_MODULE, NULL, err, errlen);
}

static int plan_recognise(struct source *s, struct plan *p, char *err, size_t errlen)
{
    const char *cfg = source_find(s, "boot.cfg");
    if (!cfg)
        cfg = source_find(s, "efi/boot/boot.cfg");
    if (cfg)
        return plan_esxi(s, cfg, p, err, errlen);
    bool m = false;
    int r = plan_pair(s, "*-installer/*/linux", "initrd.gz", "", "Debian/Ubuntu netboot", p, err, errlen, &m);
    if (r < 0 || m)
        return r;
    if ((r = plan_pair(s, "install.*/vmlinuz", "initrd.gz", "", "Debian installer", p, err, errlen, &m)) < 0 || m)
        return r;
    if ((r = plan_live(s, "casper", "boot=casper", "Ubuntu live", p, err, errlen, &m)) < 0 || m)
        return r;
    if ((r = plan_live(s, "live", "boot=live", "Debian live", p, err, errlen, &m)) < 0 || m)
        return r;
    snprintf(err, errlen, "nothing bootable recognised; %s", looked_for);
    return -ENOENT;
}

static int plan_explicit(struct source *s, const struct import_opts *o, enum build_kind kind, struct plan *p,
                         char *err, size_t errlen)
{
    p->kind = kind;
    snprintf(p->what, sizeof p->what, "explicit %s", build_kind_name(kind));
    const char *f;
    int r;
    switch (kind) {
    case BUILD_LINUX:
    case BUILD_ESXI:
        if (!o->kernel) {
            snprintf(err, errlen, "--kind %s needs --kernel PATH", build_kind_name(kind));
            return -EINVAL;
        }
        if ((r = find_or_fail(s, o->kernel, &f, err, errlen)) < 0 ||
            (r = plan_add(p, f, f, BUILD_FILE_KERNEL, NULL, err, errlen)) < 0)
            return r;
        for (size_t i = 0; i < o->n_initrds; i++) {
            if ((r = find_or_fail(s, o->initrds[i], &f, err, errlen)) < 0 ||
                (r = plan_add(p, f, f, BUILD_FILE_MODULE, NULL, err, errlen)) < 0)
                return r;
        }
        return 0;
    case BUILD_CHAIN: {
        const char *c = o->chain ? o->chain : o->kernel;
        if (!c) {
            snprintf(err, errlen, "--kind chain needs --chain PATH");
            return -EINVAL;
        }
        if (o->n_initrds) {
            snprintf(err, errlen, "--kind chain takes no --initrd");
            return -EINVAL;
        }
        if ((r = find_or_fail(s, c, &f, err, errlen)) < 0)
            return r;
        return plan_add(p, f, f, BUILD_FILE_KERNEL, NULL, err, errlen);
    }
    case BUILD_SANBOOT:
    case BUILD_LOCAL:
        return 0;
    }
    return -EINVAL;
}

/* The explicit kind implied by the options, or -1 to recognise the layout. */
static int explicit_kind(const struct import_opts *o, enum build_kind *kind, char *err, size_t errlen)
{
    int implied = o->san_uri ? BUILD_SANBOOT : o->chain ? BUILD_CHAIN : o->kernel ? BUILD_LINUX : -1;
    if (o->kind_set) {
        if (implied == BUILD_SANBOOT && o->kind != BUILD_SANBOOT) {
            snprintf(err, errlen, "--san-uri goes with --kind sanboot");
            return -EINVAL;
        }
        if (implied == BUILD_CHAIN && o->kind != BUILD_CHAIN) {
            snprintf(err, errlen, "--chain goes with --kind chain");
            return -EINVAL;
        }
        if (o->kind == BUILD_SANBOOT && !o->san_uri) {
            snprintf(err, errlen, "--kind sanboot needs --san-uri URI");
            return -EINVAL;
        }
        /* --kind linux/esxi without --kernel: recognise, then check the kind. */
        if ((o->kind == BUILD_LINUX || o->kind == BUILD_ESXI) && !o->kernel)
            return -1;
        *kind = o->kind;
        return 0;
    }
    if (implied < 0) {
        if (o->n_initrds) {
            snprintf(err, errlen, "--initrd needs --kernel");
            return -EINVAL;
        }
        return -1;
    }
    *kind = (enum build_kind)implied;
    return 0;
}

/* Printable copy of a path for the build's source note. */
static void source_note(char *dst, size_t cap, const char *path, const char *what)
{
    char abs[PATH_MAX];
    const char *p = path && realpath(path, abs) ? abs : path ? path : "-";
    snprintf(dst, cap, "%.300s (%.160s)", p, what);
    for (char *c = dst; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    }
}

int image_import(const char *state_dir, struct store *st, const struct import_opts *o, struct build *out, char *err,
                 size_t errlen)
{
    struct plan *p = calloc(1, sizeof *p);
    struct source *s = NULL;
    char (*sha)[SHA256_HEX_LEN + 1] = NULL;
    uint64_t *size = NULL;
    const char **paths = NULL;
    int r;
    memset(out, 0, sizeof *out);
    if (!p)
        return -ENOMEM;
    if (!build_name_valid(o->name)) {
        snprintf(err, errlen, "build name '%.64s' is not allowed (letters, digits, '-', '_', '.'; not starting with '.')",
                 o->name);
        r = -EINVAL;
        goto out;
    }
    if (o->cmdline && (!build_text_valid(o->cmdline) || strlen(o->cmdline) >= BUILD_CMDLINE_MAX)) {
        snprintf(err, errlen, "--cmdline must be printable text without control bytes, under %d bytes",
                 BUILD_CMDLINE_MAX);
        r = -EINVAL;
        goto out;
    }
    if (o->san_uri && (!build_text_valid(o->san_uri) || strchr(o->san_uri, ' ') || !o->san_uri[0] ||
                       strlen(o->san_uri) >= BUILD_URI_MAX)) {
        snprintf(err, errlen, "--san-uri must be printable text without spaces, under %d bytes", BUILD_URI_MAX);
        r = -EINVAL;
        goto out;
    }
    enum build_kind kind = BUILD_LINUX;
    int ex = explicit_kind(o, &kind, err, errlen);
    if (ex < -1) {
        r = ex;
        goto out;
    }
    bool needs_source = ex < 0 || kind == BUILD_LINUX || kind == BUILD_ESXI || kind == BUILD_CHAIN;
    if (needs_source) {
        if (!o->path) {
            snprintf(err, errlen, "a source PATH is needed (a directory, tarball or ISO image)");
            r = -EINVAL;
            goto out;
        }
        char serr[512];
        if ((r = source_open(o->path, &s, serr, sizeof serr)) < 0) {
            snprintf(err, errlen, "%s", serr);
            goto out;
        }
    }
    if (ex < 0) {
        if ((r = plan_recognise(s, p, err, errlen)) < 0)
            goto out;
        if (o->kind_set && o->kind != p->kind) {
            snprintf(err, errlen, "--kind %s, but the source is %s", build_kind_name(o->kind), p->what);
            r = -EINVAL;
            goto out;
        }
    } else if ((r = plan_explicit(s, o, kind, p, err, errlen)) < 0) {
        goto out;
    }
    if (o->cmdline)
        snprintf(p->cmdline, sizeof p->cmdline, "%s", o->cmdline);
    /* Refuse now what the script renderer would refuse at boot time: a
     * build that imports must be bootable. */
    char why[160];
    if (p->cmdline[0] && !tmpl_value_ok(TMPL_CMDLINE, p->cmdline, why, sizeof why)) {
        snprintf(err, errlen, "command line refused: %s", why);
        r = -EINVAL;
        goto out;
    }

    sha = calloc(p->n ? p->n : 1, sizeof *sha);
    size = calloc(p->n ? p->n : 1, sizeof *size);
    paths = calloc(p->n ? p->n : 1, sizeof *paths);
    out->files = calloc(p->n ? p->n : 1, sizeof *out->files);
    if (!sha || !size || !paths || !out->files) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < p->n; i++)
        paths[i] = p->files[i].src;
    if (p->n && (r = source_import(s, state_dir, st, paths, p->n, sha, size, err, errlen)) < 0)
        goto out;

    snprintf(out->name, sizeof out->name, "%s", o->name);
    out->kind = p->kind;
    snprintf(out->cmdline, sizeof out->cmdline, "%s", p->cmdline);
    snprintf(out->san_uri, sizeof out->san_uri, "%s", o->san_uri ? o->san_uri : "");
    source_note(out->source, sizeof out->source, o->path, p->what);
    out->no_agent = o->no_agent;
    for (size_t i = 0; i < p->n; i++) {
        struct build_file *f = &out->files[i];
        f->role = p->files[i].role;
        snprintf(f->name, sizeof f->name, "%s", p->files[i].name);
        memcpy(f->sha256, sha[i], sizeof f->sha256);
        f->size = size[i];
        snprintf(f->args, sizeof f->args, "%s", p->files[i].args);
    }
    out->n_files = p->n;
    if ((r = store_build_publish(st, out)) < 0)
        snprintf(err, errlen, "publishing %s: %s", o->name, r == -EINVAL ? "the build is not valid" : strerror(-r));
out:
    if (r < 0)
        build_clear(out);
    free(paths);
    free(size);
    free(sha);
    source_close(s);
    free(p);
    return r;
}

int image_layer(const char *state_dir, struct store *st, const char *name, const char *const *archives, size_t n,
                struct build *out, char *err, size_t errlen)
{
    struct build base;
    memset(out, 0, sizeof *out);
    int r = store_build_get(st, name, 0, &base);
    if (r < 0) {
        snprintf(err, errlen, "build %.64s: %s", name, r == -ENOENT ? "no such build" : strerror(-r));
        return r;
    }
    if (base.kind != BUILD_LINUX && base.kind != BUILD_ESXI) {
        snprintf(err, errlen, "build %s@%d is a %s build; only linux and esxi builds take modules", name,
                 base.version, build_kind_name(base.kind));
        r = -EINVAL;
        goto out;
    }
    if (n == 0 || base.n_files + n > IMPORT_MAX_FILES) {
        snprintf(err, errlen, n ? "too many files" : "no archive given");
        r = -EINVAL;
        goto out;
    }
    *out = base;
    out->files = calloc(base.n_files + n, sizeof *out->files);
    if (!out->files) {
        r = -ENOMEM;
        goto out;
    }
    /* Layered modules go after the last module (loaders stay last). */
    size_t at = 0;
    for (size_t i = 0; i < base.n_files; i++) {
        if (base.files[i].role != BUILD_FILE_LOADER)
            at = i + 1;
    }
    memcpy(out->files, base.files, at * sizeof *out->files);
    memcpy(out->files + at + n, base.files + at, (base.n_files - at) * sizeof *out->files);
    out->n_files = base.n_files + n;
    int len = snprintf(out->source, sizeof out->source, "%s@%d +", name, base.version);
    for (size_t i = 0; i < n; i++) {
        struct build_file *f = &out->files[at + i];
        const char *bn = base_name(archives[i]);
        if (!build_file_name_valid(bn)) {
            snprintf(err, errlen, "%s: file name '%.100s' is not allowed", archives[i], bn);
            r = -EINVAL;
            goto out;
        }
        for (size_t j = 0; j < out->n_files; j++) {
            if ((j < at + i || j >= at + n) && strcmp(out->files[j].name, bn) == 0) {
                snprintf(err, errlen, "%s: build %s@%d already has a file named %s", archives[i], name,
                         base.version, bn);
                r = -EEXIST;
                goto out;
            }
        }
        int fd = open(archives[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
            r = fd < 0 ? -errno : -EINVAL;
            snprintf(err, errlen, "%s: %s", archives[i], fd < 0 ? strerror(errno) : "not a regular file");
            if (fd >= 0)
                close(fd);
            goto out;
        }
        r = blob_import_fd(state_dir, st, fd, f->sha256, &f->size);
        close(fd);
        if (r < 0) {
            snprintf(err, errlen, "%s: storing: %s", archives[i], strerror(-r));
            goto out;
        }
        f->role = BUILD_FILE_MODULE;
        snprintf(f->name, sizeof f->name, "%s", bn);
        f->layered = true;
        if (len > 0 && (size_t)len < sizeof out->source)
            len += snprintf(out->source + len, sizeof out->source - (size_t)len, " %s", bn);
    }
    if ((r = store_build_publish(st, out)) < 0)
        snprintf(err, errlen, "publishing %s: %s", name, r == -EINVAL ? "the build is not valid" : strerror(-r));
out:
    build_clear(&base);
    if (r < 0)
        build_clear(out);
    return r;
}
