/* Builds, their files and content-addressed blobs. SQL for these lives in
 * store_build.c; callers see only these structs. Hosts and rules, which
 * name builds, are in store_inventory.h. */
#ifndef MIDWIFE_STORE_STORE_BUILD_H
#define MIDWIFE_STORE_STORE_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SHA256_HEX_LEN 64
#define BUILD_NAME_MAX 64
#define BUILD_FILE_NAME_MAX 128
#define BUILD_CMDLINE_MAX 4096
#define BUILD_URI_MAX 1024

enum build_kind { BUILD_LINUX, BUILD_ESXI, BUILD_CHAIN, BUILD_SANBOOT, BUILD_LOCAL };

enum build_file_role {
    BUILD_FILE_KERNEL, /* linux kernel, esxi mboot.c32/efi loader's kernel (b.b00), chain binary */
    BUILD_FILE_MODULE, /* initrd / esxi module, in boot order */
    /* A boot loader shipped with the image that the script may chain to,
     * e.g. ESXi's mboot.c32 (BIOS) or bootx64.efi (UEFI). Not a module:
     * kept after the modules, never passed to the kernel. */
    BUILD_FILE_LOADER,
};

struct build_file {
    enum build_file_role role;
    char name[BUILD_FILE_NAME_MAX]; /* as the booted OS expects it, e.g. "initrd.gz", "s.v00" */
    char sha256[SHA256_HEX_LEN + 1];
    uint64_t size;
    /* Per-module arguments (ESXi module args, rarely used). Validated text. */
    char args[256];
    bool layered; /* added by `build layer`, after the original modules */
};

struct build {
    int64_t id;
    char name[BUILD_NAME_MAX];
    int version; /* 1, 2, ...: each publish of NAME is a new immutable version */
    enum build_kind kind;
    /* linux: kernel command line template; esxi: kernelopt. */
    char cmdline[BUILD_CMDLINE_MAX];
    /* sanboot: RFC 4173 iSCSI URI (iscsi:server:proto:port:lun:target) or http URL. */
    char san_uri[BUILD_URI_MAX];
    char source[512]; /* where it was imported from, for people */
    int64_t created;  /* wall clock */
    bool no_agent;    /* linux: do not append midwife's agent module (later) */
    struct build_file *files; /* [0] = kernel/chain binary where the kind has one */
    size_t n_files;
};

const char *build_kind_name(enum build_kind k);
const char *build_file_role_name(enum build_file_role r);

/* What may be stored, checked by store_build_publish() and store_host_put()
 * and usable by callers for early, clear messages:
 * - names (builds, hosts): 1..63 of letters, digits, '-', '_', '.'; not
 *   starting with '.' (so never "." or "..");
 * - file names: 1..127 of letters, digits, '-', '_', '.', '+', '~'; not
 *   starting with '.'. Stricter than "printable without '/' or spaces" on
 *   purpose: the names go into URLs and iPXE scripts unquoted;
 * - text (cmdline, args, san_uri, source): printable ASCII, no control
 *   bytes; san_uri also no spaces. */
bool build_name_valid(const char *s);
bool build_file_name_valid(const char *s);
bool build_text_valid(const char *s);
/* Exactly 64 lowercase hex digits: the only form a blob name takes. */
bool sha256_hex_valid(const char *s);
int build_kind_parse(const char *s, enum build_kind *out);
void build_clear(struct build *b); /* frees files, keeps the struct */

/* Blobs: the store records which content-addressed files exist. */
int store_blob_put(struct store *st, const char *sha256, uint64_t size);
bool store_blob_known(struct store *st, const char *sha256, uint64_t *size);

/* Publishes b as the next version of b->name (sets b->version, b->id,
 * b->created), all or nothing. Every file's blob must be known (-ENOENT).
 * -EINVAL if a name or text is invalid, file names repeat, or the files do
 * not fit the kind: linux and esxi need files[0] a kernel then modules;
 * chain exactly one kernel (the binary) plus optional loaders; sanboot a
 * san_uri and no files; local no files. Version numbers are never reused,
 * even after a delete. Published builds are immutable (the schema refuses
 * updates). */
int store_build_publish(struct store *st, struct build *b);
/* version 0 = latest. -ENOENT if missing. Caller frees with build_clear. */
int store_build_get(struct store *st, const char *name, int version, struct build *out);
/* Every version of every build, ordered by name then version; files not
 * loaded (n_files = 0). cb returning non-zero stops the walk. */
int store_build_foreach(struct store *st, int (*cb)(const struct build *, void *), void *arg);
/* Deletes version (0 = every version) of name; -ENOENT if none matched.
 * -EBUSY while a host or a rule names it: deleting any version of NAME is
 * refused while a host or rule has build NAME with version 0 (it follows
 * the latest, and deleting would silently move it) or that very version;
 * version 0 is refused while any host or rule names NAME. Blobs stay (a
 * later gc removes unreferenced ones). */
int store_build_delete(struct store *st, const char *name, int version);

/* Which build a blob belongs to, and as what (the newest version that
 * has it), for the flight recorder. -ENOENT when no build has it. */
struct build_file_ref {
    enum build_file_role role;
    char build[BUILD_NAME_MAX];
    int version;
};
int store_build_file_by_sha(struct store *st, const char *sha256, struct build_file_ref *out);

#endif
