/* Fuzzes the API's pure parsing (api_parse.c): the query decoder, the
 * ?limit= check, the path splitter and the error field extractor, with
 * the properties the route files rely on checked.
 *
 * Input: byte 0 is the decode buffer's size, byte 1 picks the number of
 * path segments allowed and the round trip's spelling, byte 2 the field
 * buffer's size; the rest is "KEY\nTEXT" (KEY = "mac" when there is no
 * newline). TEXT is the query, the ?limit= value, the path rest and the
 * error message all at once; KEY and TEXT also go through a round trip:
 * percent-encoded into a query of their own, they must decode back. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Exact-size heap copies, so ASan sees a read or write one byte past. */
static char *copy_z(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static void check_decode(const char *q, size_t qlen, const char *key, size_t outlen)
{
    char *out = malloc(outlen ? outlen : 1);
    if (!out)
        return;
    int r = api_query_decode(q, qlen, key, out, outlen);
    if (r != 0 && r != -ENOENT && r != -EINVAL && r != -ENAMETOOLONG)
        abort();
    if (r == 0) {
        /* NUL-terminated inside the buffer, and never longer than what it
         * was decoded from. */
        size_t n = strnlen(out, outlen);
        if (n >= outlen || n > qlen)
            abort();
    }
    free(out);
}

/* form-urlencodes n bytes: unreserved bytes as they are, the rest %XX
 * (upper or lower case hex), a space as '+' or %20. */
static size_t encode(char *dst, const char *src, size_t n, bool plus, bool lower)
{
    const char *hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            dst[o++] = (char)c;
        } else if (c == ' ' && plus) {
            dst[o++] = '+';
        } else {
            dst[o++] = '%';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    return o;
}

/* KEY and VALUE (no NUL in either: a NUL cannot be sent) encoded behind
 * two pairs that are not KEY (one with a key that does not decode) must
 * decode back to VALUE with exactly enough room, and be refused with one
 * byte less. The key is matched after decoding into 64 bytes, so a longer
 * one is not expected to match. */
static void check_round_trip(const char *key, const char *val, size_t vlen, uint8_t how)
{
    size_t klen = strlen(key);
    if (klen >= 64 || memchr(val, '\0', vlen))
        return;
    const char *decoy = strcmp(key, "zz") == 0 ? "yy=1" : "zz=1";
    size_t cap = 16 + 3 * klen + 3 * vlen + 1;
    char *q = malloc(cap);
    if (!q)
        return;
    size_t o = 0;
    if (how & 0x10) {
        memcpy(q, "%zz=2&", 6);
        o += 6;
    }
    if (how & 0x20) {
        memcpy(q + o, decoy, 4);
        q[o + 4] = '&';
        o += 5;
    }
    o += encode(q + o, key, klen, how & 0x40, how & 0x80);
    q[o++] = '=';
    o += encode(q + o, val, vlen, how & 0x80, how & 0x40);

    char *out = malloc(vlen + 1);
    if (!out) {
        free(q);
        return;
    }
    if (api_query_decode(q, o, key, out, vlen + 1) != 0 || memcmp(out, val, vlen) != 0 || out[vlen] != '\0')
        abort();
    if (api_query_decode(q, o, key, out, vlen) != -ENAMETOOLONG)
        abort();
    /* A value with nothing to decode and no '&' needs no encoding. */
    if (!memchr(val, '%', vlen) && !memchr(val, '+', vlen) && !memchr(val, '&', vlen)) {
        o = encode(q, key, klen, false, false);
        q[o++] = '=';
        memcpy(q + o, val, vlen);
        o += vlen;
        if (api_query_decode(q, o, key, out, vlen + 1) != 0 || memcmp(out, val, vlen) != 0)
            abort();
    }
    free(out);
    free(q);
}

/* Accepted exactly when the whole string is decimal digits naming 1..1000. */
static void check_limit(const char *s)
{
    size_t limit = 0;
    int r = api_limit_parse(s, &limit);
    bool digits = s[0] != '\0';
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            digits = false;
    unsigned long long v = 0;
    if (digits) {
        const char *p = s;
        while (*p == '0')
            p++;
        digits = strlen(p) <= 4;
        for (; digits && *p; p++)
            v = v * 10 + (unsigned long long)(*p - '0');
    }
    bool want = digits && v >= 1 && v <= API_LIST_MAX;
    if ((r == 0) != want || (want && limit != v))
        abort();
    if (r != 0 && r != -EINVAL)
        abort();
    if (api_limit_parse(NULL, &limit) != 0 || limit != API_LIST_DEFAULT)
        abort();
}

/* The segments put back together give the rest (less a trailing '/'). */
static void check_split(const char *rest, size_t max)
{
    char(*seg)[128] = malloc(max ? max * sizeof *seg : 1);
    if (!seg)
        return;
    int n = api_path_split(rest, seg, max);
    if (n < 0) {
        if (n != -EINVAL)
            abort();
        free(seg);
        return;
    }
    if ((size_t)n > max)
        abort();
    size_t len = strlen(rest), o = 0;
    char *joined = malloc(len + 2);
    if (!joined)
        abort();
    for (int i = 0; i < n; i++) {
        size_t sl = strnlen(seg[i], sizeof seg[i]);
        if (sl == 0 || sl >= sizeof seg[i] || memchr(seg[i], '/', sl))
            abort();
        joined[o++] = '/';
        memcpy(joined + o, seg[i], sl);
        o += sl;
    }
    joined[o] = '\0';
    size_t want = len > 0 && rest[len - 1] == '/' ? len - 1 : len;
    if (o != want || memcmp(joined, rest, o) != 0)
        abort();
    free(joined);
    free(seg);
}

/* The field is empty, or the message's start up to its first ": ", made
 * of name characters, and fits the buffer. */
static void check_err_field(const char *err, size_t outlen)
{
    char *out = malloc(outlen);
    if (!out)
        return;
    const char *r = api_err_field(err, out, outlen);
    size_t n = strnlen(out, outlen);
    if (r != out || n >= outlen)
        abort();
    if (n > 0) {
        if (strncmp(err, out, n) != 0 || err[n] != ':' || err[n + 1] != ' ' || strstr(out, ": "))
            abort();
        for (size_t i = 0; i < n; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]-", out[i]))
                abort();
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t outlen = data[0];
    uint8_t how = data[1];
    size_t fieldlen = 1 + data[2] % 128;
    data += 3;
    size -= 3;

    const uint8_t *nl = memchr(data, '\n', size);
    char *key = nl ? copy_z(data, (size_t)(nl - data)) : copy_z((const uint8_t *)"mac", 3);
    size_t tlen = nl ? size - (size_t)(nl + 1 - data) : size;
    const uint8_t *tp = nl ? nl + 1 : data;
    char *text = copy_z(tp, tlen);
    if (!key || !text)
        goto out;

    /* The query exactly as long as sent, no NUL after it. */
    char *q = malloc(tlen ? tlen : 1);
    if (q) {
        memcpy(q, tp, tlen);
        check_decode(q, tlen, key, outlen);
        free(q);
    }
    check_round_trip(key, text, tlen, how);
    check_limit(text);
    check_split(text, how & 7);
    check_err_field(text, fieldlen);
out:
    free(key);
    free(text);
    return 0;
}
