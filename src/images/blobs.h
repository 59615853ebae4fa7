/* Content-addressed file store under STATE_DIR/blobs: every build file is
 * kept once, named by its SHA-256, verified on import, never modified. */
#ifndef MIDWIFE_IMAGES_BLOBS_H
#define MIDWIFE_IMAGES_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_build.h"

/* STATE_DIR/blobs/ab/abcdef... ; -EINVAL unless sha256 is 64 lowercase hex. */
int blob_path(const char *state_dir, const char *sha256, char *out, size_t outlen);
/* Copies everything readable from fd into the blob store, hashing as it
 * goes; the blob appears atomically (temp file + rename) and is recorded in
 * the store. */
int blob_import_fd(const char *state_dir, struct store *st, int fd, char sha256[SHA256_HEX_LEN + 1],
                   uint64_t *size);
/* Opens a blob read-only for serving (O_CLOEXEC); *size is its length. */
int blob_open(const char *state_dir, const char *sha256, int *fd, uint64_t *size);

#endif
