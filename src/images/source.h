/* Where a build is imported from: a directory, or anything libarchive
 * reads (tar, compressed tar, ISO 9660 with Rock Ridge/Joliet, cpio, zip).
 *
 * Opening lists every entry once (paths normalised: no leading "/" or
 * "./", no "." components; entries with ".." are dropped). Lookups are
 * case-insensitive, since ESXi ISOs name files B.B00 and boot.cfg says
 * b.b00, and follow symbolic and hard links inside the source. Archives
 * cannot seek, so reading files is one more pass over the archive. */
#ifndef MIDWIFE_IMAGES_SOURCE_H
#define MIDWIFE_IMAGES_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_build.h"

#define SOURCE_MAX_ENTRIES 200000
#define SOURCE_MAX_DEPTH 32

struct source;

int source_open(const char *path, struct source **out, char *err, size_t errlen);
void source_close(struct source *s);
bool source_is_archive(const struct source *s);

/* The canonical path of the regular file at path (case-insensitive, links
 * followed), or NULL. */
const char *source_find(const struct source *s, const char *path);
/* Canonical paths of regular files whose path matches an fnmatch pattern
 * (case-insensitive; '*' does not cross '/'), sorted; at most max. */
size_t source_glob(const struct source *s, const char *pattern, const char **out, size_t max);
/* Reads a file found by source_find (at most max bytes, else -EFBIG) into
 * a malloc'd buffer. */
int source_read(struct source *s, const char *canonical, char **out, size_t *len, size_t max);
/* Imports files found by source_find into the blob store, in one pass:
 * sha256[i] and size[i] for paths[i]. */
int source_import(struct source *s, const char *state_dir, struct store *st, const char *const *paths, size_t n,
                  char (*sha256)[SHA256_HEX_LEN + 1], uint64_t *size, char *err, size_t errlen);

/* Opens rel (read-only, O_CLOEXEC) so that it resolves beneath dirfd:
 * no "..", no absolute symlinks out (openat2 RESOLVE_BENEATH); with
 * no_symlinks, no symlinks at all. Only regular files are returned
 * (-EISDIR / -EINVAL otherwise). */
int images_open_beneath(int dirfd, const char *rel, bool no_symlinks);

#endif
