/* Content-addressed file store under STATE_DIR/blobs: every build file is
 * kept once, named by its SHA-256, verified on import, never modified.
 *
 * Layout: blobs/ab/abcdef... (first two hex digits as a fan-out directory),
 * blobs/tmp/ for imports in progress (a crash leaves only temp files). */
#ifndef MIDWIFE_IMAGES_BLOBS_H
#define MIDWIFE_IMAGES_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_build.h"

/* No single build file larger than this (64 GiB). */
#define BLOB_MAX_SIZE (UINT64_C(64) << 30)

/* STATE_DIR/blobs/ab/abcdef... ; -EINVAL unless sha256 is 64 lowercase hex. */
int blob_path(const char *state_dir, const char *sha256, char *out, size_t outlen);

/* A blob being written: bytes go to a temp file and into SHA-256 at once.
 * commit re-reads the synced temp file and checks it hashes the same
 * (verification of what reached the disk), then renames it into place, or
 * drops it if that blob already exists (dedup), and records it in the
 * store. abort (or a failed commit) removes the temp file. Both free w. */
struct blob_writer;
int blob_writer_open(const char *state_dir, struct blob_writer **out);
int blob_writer_write(struct blob_writer *w, const void *data, size_t len); /* -EFBIG over BLOB_MAX_SIZE */
int blob_writer_commit(struct blob_writer *w, struct store *st, char sha256[SHA256_HEX_LEN + 1],
                       uint64_t *size);
void blob_writer_abort(struct blob_writer *w);

/* Copies everything readable from fd into the blob store, hashing as it
 * goes; the blob appears atomically (temp file + rename) and is recorded in
 * the store. */
int blob_import_fd(const char *state_dir, struct store *st, int fd, char sha256[SHA256_HEX_LEN + 1],
                   uint64_t *size);
/* Opens a blob read-only for serving (O_CLOEXEC, no symlinks, opened
 * beneath the blobs directory); *size is its length. -ENOENT if absent. */
int blob_open(const char *state_dir, const char *sha256, int *fd, uint64_t *size);
/* Re-hashes a stored blob: 0 if its content matches its name, -EBADMSG if
 * not, -ENOENT if absent. */
int blob_verify(const char *state_dir, const char *sha256);

#endif
