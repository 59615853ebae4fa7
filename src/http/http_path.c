#include "http/http_path.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes "%XY" at p[0..2] (bounds checked by the caller's n). */
static int pct_decode(const char *p, size_t n)
{
    if (n < 3)
        return -1;
    int hi = hexval(p[1]), lo = hexval(p[2]);
    if (hi < 0 || lo < 0)
        return -1;
    return hi << 4 | lo;
}

int http_target_split(const char *target, size_t len, const char **path, size_t *path_len,
                      const char **query, size_t *query_len)
{
    const char *p = target, *end = target + len;
    /* RFC 9112 §3.2.2: "A server MUST accept the absolute-form in
     * requests". The authority is not ours to check: one listener, one
     * site. */
    static const char scheme[] = "http://";
    if (len >= sizeof scheme - 1 && strncasecmp(p, scheme, sizeof scheme - 1) == 0) {
        p += sizeof scheme - 1;
        while (p < end && *p != '/' && *p != '?')
            p++;
        if (p == end || *p != '/')
            return -EINVAL;
    }
    if (p == end || *p != '/')
        return -EINVAL;
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *pend = q ? q : end;
    /* A fragment never travels in a request; '#' on the wire is garbage. */
    if (memchr(p, '#', (size_t)(end - p)))
        return -EINVAL;
    *path = p;
    *path_len = (size_t)(pend - p);
    *query = q ? q + 1 : end;
    *query_len = q ? (size_t)(end - q - 1) : 0;
    return 0;
}

int http_path_decode(const char *path, size_t len, char *out, size_t outlen, const char **why)
{
    if (len == 0 || path[0] != '/') {
        *why = "not_absolute";
        return -EINVAL;
    }
    if (outlen < 2) {
        *why = "too_long";
        return -EINVAL;
    }
    size_t o = 0;
    out[o++] = '/';
    if (len == 1) {
        out[o] = '\0';
        return 0;
    }
    size_t i = 1;
    /* One segment per turn: decode it, then judge it whole, so "%2e%2e"
     * is refused exactly like "..". */
    for (;;) {
        size_t seg = o;
        while (i < len && path[i] != '/') {
            int c = (unsigned char)path[i];
            if (c == '%') {
                c = pct_decode(path + i, len - i);
                if (c < 0) {
                    *why = "bad_escape";
                    return -EINVAL;
                }
                i += 3;
                if (c == '/') {
                    *why = "encoded_slash";
                    return -EINVAL;
                }
            } else {
                i++;
            }
            if (c == 0) {
                *why = "nul";
                return -EINVAL;
            }
            if (c < 0x20 || c == 0x7f) {
                *why = "control_byte";
                return -EINVAL;
            }
            if (c == '\\') {
                *why = "backslash";
                return -EINVAL;
            }
            if (o + 1 >= outlen) {
                *why = "too_long";
                return -EINVAL;
            }
            out[o++] = (char)c;
        }
        size_t n = o - seg;
        if (n == 0) {
            *why = "empty_segment";
            return -EINVAL;
        }
        if (n == 1 && out[seg] == '.') {
            *why = "dot_segment";
            return -EINVAL;
        }
        if (n == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            *why = "dotdot";
            return -EINVAL;
        }
        if (i >= len)
            break;
        i++; /* the '/' */
        if (o + 1 >= outlen) {
            *why = "too_long";
            return -EINVAL;
        }
        out[o++] = '/';
    }
    out[o] = '\0';
    return 0;
}

int http_query_get(const char *query, size_t len, const char *key, char *out, size_t outlen)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && query[j] != '&')
            j++;
        /* [i, j) is one "name=value" pair */
        if (j - i > klen && memcmp(query + i, key, klen) == 0 && query[i + klen] == '=') {
            size_t o = 0;
            for (size_t k = i + klen + 1; k < j;) {
                int c = (unsigned char)query[k];
                if (c == '%') {
                    c = pct_decode(query + k, j - k);
                    if (c < 0)
                        return -EINVAL;
                    k += 3;
                } else {
                    k++;
                }
                if (c < 0x20 || c == 0x7f)
                    return -EINVAL;
                if (o + 1 >= outlen)
                    return -EINVAL;
                out[o++] = (char)c;
            }
            if (outlen == 0)
                return -EINVAL;
            out[o] = '\0';
            return 0;
        }
        i = j + 1;
    }
    return -ENOENT;
}
