/* Request targets: strict percent-decoding of the path (RFC 3986 §2.1)
 * and query lookup. Pure; nothing here touches the filesystem. The rule
 * is that a decoded path never holds a byte that could change how it is
 * split or resolved later: no NUL, no control bytes, no backslash, no
 * '/' that was not a '/' on the wire, no "." or ".." segment, no empty
 * segment. */
#ifndef MIDWIFE_HTTP_HTTP_PATH_H
#define MIDWIFE_HTTP_HTTP_PATH_H

#include <stddef.h>

#define HTTP_TARGET_MAX 2048 /* longer targets get 414 */

/* Splits a request target (origin-form "/a/b?q", or absolute-form
 * "http://host/a/b?q") into its path and query (query may be empty).
 * Returns 0 or -EINVAL (not a target we serve: asterisk-form, garbage). */
int http_target_split(const char *target, size_t len, const char **path, size_t *path_len,
                      const char **query, size_t *query_len);

/* Decodes the path into out (outlen >= len + 1 always suffices). "/" alone
 * is valid. On refusal returns -EINVAL with *why a short reason:
 * "not_absolute", "bad_escape", "nul", "control_byte", "backslash",
 * "encoded_slash", "empty_segment", "dot_segment", "dotdot". */
int http_path_decode(const char *path, size_t len, char *out, size_t outlen, const char **why);

/* Looks key up in a query string "a=1&b=2" and percent-decodes its value
 * into out ('+' stays '+': these are not form submissions). Returns 0,
 * -ENOENT if absent, -EINVAL for a bad escape, a NUL or control byte, or
 * a value longer than outlen - 1. */
int http_query_get(const char *query, size_t len, const char *key, char *out, size_t outlen);

#endif
