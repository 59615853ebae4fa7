#include "http/http_range.h"

#include <stdbool.h>

/* One range-spec after validation. */
struct spec {
    bool has_first, has_last;
    uint64_t first, last; /* last is the suffix length when !has_first */
};

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Digits saturate at UINT64_MAX: a position that large is beyond any file
 * anyway, and the result (unsatisfiable first-pos, clamped last-pos, the
 * whole file for a suffix) is what the exact number would give. */
static size_t parse_digits(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return i;
}

/* range-spec = int-range / suffix-range
 * int-range = first-pos "-" [ last-pos ];  suffix-range = "-" suffix-length */
static bool parse_spec(const char *p, size_t n, struct spec *s)
{
    size_t i = parse_digits(p, n, &s->first);
    s->has_first = i > 0;
    if (i >= n || p[i] != '-')
        return false;
    i++;
    size_t j = parse_digits(p + i, n - i, &s->last);
    s->has_last = j > 0;
    if (i + j != n)
        return false;
    if (!s->has_first && !s->has_last)
        return false;
    /* "A client MUST NOT generate ... an int-range whose last-pos is less
     * than its first-pos" (§14.1.1): invalid, so the header is ignored. */
    if (s->has_first && s->has_last && s->last < s->first)
        return false;
    return true;
}

enum http_range_result http_range_parse(const char *value, size_t len, uint64_t size,
                                        struct http_range *out)
{
    const char *p = value, *end = value + len;
    while (p < end && is_ows(*p))
        p++;
    while (end > p && is_ows(end[-1]))
        end--;
    /* "bytes" is the only unit we know; units are case-insensitive
     * (§14.1). Any other unit: "A server MUST ignore a Range header field
     * received with ... a range unit it does not understand" (§14.2). */
    static const char unit[] = "bytes=";
    if ((size_t)(end - p) < sizeof unit - 1)
        return HTTP_RANGE_NONE;
    for (size_t i = 0; i < sizeof unit - 1; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != unit[i])
            return HTTP_RANGE_NONE;
    }
    p += sizeof unit - 1;

    /* range-set = 1#range-spec. Empty list elements are tolerated, as
     * RFC 9110 §5.6.1.2 asks of recipients ("bytes=0-9,"). */
    struct spec s = {0};
    unsigned n_specs = 0;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != ',')
            q++;
        const char *a = p, *b = q;
        while (a < b && is_ows(*a))
            a++;
        while (b > a && is_ows(b[-1]))
            b--;
        if (a < b) {
            struct spec cur;
            if (!parse_spec(a, (size_t)(b - a), &cur))
                return HTTP_RANGE_NONE;
            if (n_specs++ == 0)
                s = cur;
        }
        p = q < end ? q + 1 : q;
    }
    if (n_specs == 0)
        return HTTP_RANGE_NONE;
    /* Several ranges would need a multipart/byteranges body. "A server MAY
     * ignore the Range header field" (§14.2): boot clients (iPXE, UEFI
     * HTTP Boot, curl resuming) ask for one range, so we send it all. */
    if (n_specs > 1)
        return HTTP_RANGE_MULTI;

    if (!s.has_first) {
        /* suffix-range: the last N bytes. A zero-length suffix is
         * unsatisfiable; an empty file has no bytes to give, and the full
         * (empty) 200 answers a suffix request on it correctly. */
        if (s.last == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        if (size == 0)
            return HTTP_RANGE_NONE;
        out->first = s.last >= size ? 0 : size - s.last;
        out->last = size - 1;
        return HTTP_RANGE_OK;
    }
    /* "An int-range is satisfiable if the first-pos is less than the
     * current length of the selected representation" (§14.1.1). */
    if (s.first >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    out->first = s.first;
    out->last = !s.has_last || s.last >= size ? size - 1 : s.last;
    return HTTP_RANGE_OK;
}
