/* Turning what an operator has (a directory, a tarball, an ISO, a few
 * files) into a published build. */
#ifndef MIDWIFE_IMAGES_IMPORT_H
#define MIDWIFE_IMAGES_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "images/bootcfg.h"
#include "store/store_build.h"

#define IMPORT_MAX_INITRDS 64
#define IMPORT_MAX_FILES (BOOTCFG_MAX_MODULES + 4)

struct import_opts {
    const char *name;
    const char *path;        /* the source; may be NULL for sanboot and local */
    bool kind_set;           /* --kind given */
    enum build_kind kind;
    const char *kernel;      /* --kernel, relative to the source */
    const char *chain;       /* --chain, relative to the source */
    const char *initrds[IMPORT_MAX_INITRDS]; /* --initrd, in order */
    size_t n_initrds;
    const char *cmdline;     /* --cmdline; NULL = what the layout implies */
    const char *san_uri;     /* --san-uri */
    bool no_agent;
};

/* Recognises the source (explicit options first, then an ESXi boot.cfg,
 * then Debian/Ubuntu netboot or live layouts), stores its files as blobs
 * and publishes the next version of o->name into *out (caller frees with
 * build_clear). On failure err says what was wrong or what was looked for. */
int image_import(const char *state_dir, struct store *st, const struct import_opts *o, struct build *out, char *err,
                 size_t errlen);

/* Publishes a new version of name: the latest version's files with each
 * archive file appended, in order, as an extra module (layered = true),
 * after the existing modules. Only linux and esxi builds take modules. */
int image_layer(const char *state_dir, struct store *st, const char *name, const char *const *archives, size_t n,
                struct build *out, char *err, size_t errlen);

#endif
