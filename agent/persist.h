/* What a stateless host keeps across boots: the document's "persist"
 * paths. Saving archives them into a gzip'd cpio (newc), each entry
 * under "midwife-state/" + its path, and PUTs it to the document's
 * state_url. At the next boot midwife hands the archive to the kernel as
 * the last initrd module, so the kernel unpacks it into the initramfs
 * (/midwife-state/, or /run/midwife-state/ where a full distribution's
 * init hook copies it) and restoring is a copy from there, of the listed
 * paths only. */
#ifndef MIDWIFE_AGENT_PERSIST_H
#define MIDWIFE_AGENT_PERSIST_H

#include <jansson.h>
#include <stddef.h>

#define PERSIST_PREFIX "midwife-state"
#define PERSIST_MAX_BYTES (64 * 1024 * 1024) /* compressed archive */
#define PERSIST_PATHS_MAX 256

/* The document's persist list (checked by doc_check) as C strings
 * pointing into doc; returns how many (at most max). */
size_t persist_paths(const json_t *doc, const char **paths, size_t max);

/* Archives every listed path that exists: regular files, directories
 * and symlinks (stored as links, never followed; other types skipped),
 * with the directories above each path so the kernel can unpack it.
 * *out (malloc'd) and *out_len; *entries counts the listed paths' own
 * entries. 0, or a negative errno with err (-E2BIG over
 * PERSIST_MAX_BYTES). */
int persist_archive(const char *const *paths, size_t n, unsigned char **out, size_t *out_len, unsigned *entries,
                    char *err, size_t errlen);

/* PUT state_url with the boot token. 0, or -1 with err. */
int persist_upload(const char *state_url, const char *token, const void *data, size_t len, char *err,
                   size_t errlen);

/* persist_archive + persist_upload; a message for people in msg (entries
 * and bytes) on success. 1 when there is nothing to save (no path). */
int persist_save(const char *state_url, const char *token, const char *const *paths, size_t n, char *msg,
                 size_t msglen);

/* Where the kernel left the saved state: ROOT/midwife-state or
 * ROOT/run/midwife-state, the first that is a directory; NULL when
 * neither. */
const char *persist_state_dir(const char *root, char *buf, size_t buflen);

/* Copies STATE_DIR/PATH to DEST_ROOT/PATH for each listed path (nothing
 * else in STATE_DIR), preserving mode, owner and mtime; symlinks are
 * made as symlinks, never followed, and nothing below a listed path is
 * reached through one. dest_root: "" for "/". *count: entries copied.
 * 0, or -1 with the first error in err (the other entries are still
 * copied). */
int persist_restore(const char *state_dir, const char *dest_root, const char *const *paths, size_t n,
                    unsigned *count, char *err, size_t errlen);

#endif
