/* The API's pure parsing: query strings, ?limit=, path segments, the field
 * named by an inventory error. No I/O, so the unit tests call them as is. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/strnum.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes src[0..len) into out (NUL-terminated). application/x-www-form-
 * urlencoded spells a space '+', so a literal '+' must come as %2B. */
static int percent_decode(const char *src, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (len - i < 3)
                return -EINVAL;
            int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
            if (hi < 0 || lo < 0)
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            if (c == '\0')
                return -EINVAL; /* a NUL would cut the value short unseen */
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= outlen)
            return -ENAMETOOLONG;
        out[o++] = c;
    }
    if (outlen == 0)
        return -ENAMETOOLONG;
    out[o] = '\0';
    return 0;
}

int api_query_decode(const char *query, size_t query_len, const char *key, char *out, size_t outlen)
{
    char name[64];
    const char *p = query, *end = query + query_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        const char *key_end = eq ? eq : pair_end;
        /* A key we cannot decode is not the one asked for. */
        if (percent_decode(p, (size_t)(key_end - p), name, sizeof name) == 0 && strcmp(name, key) == 0) {
            if (!eq)
                return percent_decode("", 0, out, outlen);
            return percent_decode(eq + 1, (size_t)(pair_end - eq - 1), out, outlen);
        }
        p = amp ? amp + 1 : end;
    }
    return -ENOENT;
}

int api_limit_parse(const char *s, size_t *limit)
{
    if (!s) {
        *limit = API_LIST_DEFAULT;
        return 0;
    }
    uint64_t v;
    const char *errstr;
    if (parse_u64(s, 1, API_LIST_MAX, &v, &errstr) < 0)
        return -EINVAL;
    *limit = (size_t)v;
    return 0;
}

int api_path_split(const char *rest, char (*seg)[128], size_t max)
{
    size_t n = 0;
    const char *p = rest;
    if (*p == '\0')
        return 0;
    if (*p != '/')
        return -EINVAL;
    p++;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= sizeof seg[0] || n == max)
            return -EINVAL;
        memcpy(seg[n], p, len);
        seg[n][len] = '\0';
        n++;
        if (!slash)
            break;
        p = slash + 1; /* a trailing '/' ends the loop on the NUL */
    }
    return (int)n;
}

const char *api_err_field(const char *err, char *out, size_t outlen)
{
    out[0] = '\0';
    const char *colon = strstr(err, ": ");
    if (!colon || colon == err || (size_t)(colon - err) >= outlen)
        return out;
    /* Field paths are words, dots and [N]: anything else is prose. */
    for (const char *c = err; c < colon; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '.' || *c == '[' || *c == ']' || *c == '-'))
            return out;
    memcpy(out, err, (size_t)(colon - err));
    out[colon - err] = '\0';
    return out;
}
