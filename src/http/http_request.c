#include "http/http_request.h"

#include <string.h>
#include <strings.h>

/* tchar (RFC 9110 §5.6.2) */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool span_is(const char *p, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/* Finds the end of the line starting at p: returns the length of the line
 * content and sets *next past its terminator, or returns -1 if no LF yet.
 * "Although the line terminator for the start-line and fields is the
 * sequence CRLF, a recipient MAY recognize a single LF as a line
 * terminator and ignore any preceding CR" (RFC 9112 §2.2). */
static long line_end(const char *p, const char *end, const char **next)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    if (!lf)
        return -1;
    *next = lf + 1;
    if (lf > p && lf[-1] == '\r')
        lf--;
    return (long)(lf - p);
}

static enum http_parse_result parse_request_line(const char *p, size_t n, struct http_request *r)
{
    /* request-line = method SP request-target SP HTTP-version */
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return HTTP_PARSE_BAD;
    r->method_name = (struct http_span){p, i};
    if (i == 3 && memcmp(p, "GET", 3) == 0) /* methods are case-sensitive */
        r->method = HTTP_GET;
    else if (i == 4 && memcmp(p, "HEAD", 4) == 0)
        r->method = HTTP_HEAD;
    else
        r->method = HTTP_OTHER;
    size_t t = ++i;
    /* The target is visible ASCII only; raw bytes >= 0x80 or controls are
     * not a valid URI and get a 400, not a guess. */
    while (i < n && p[i] > 0x20 && p[i] < 0x7f)
        i++;
    if (i == t || i >= n || p[i] != ' ')
        return HTTP_PARSE_BAD;
    r->target = (struct http_span){p + t, i - t};
    i++;
    /* HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive */
    if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 6] != '.' || p[i + 5] < '0' ||
        p[i + 5] > '9' || p[i + 7] < '0' || p[i + 7] > '9')
        return HTTP_PARSE_BAD;
    if (p[i + 5] != '1')
        return HTTP_PARSE_BAD_VERSION;
    r->version_minor = (unsigned)(p[i + 7] - '0');
    return HTTP_PARSE_DONE;
}

/* Connection = #connection-option; only "close" and "keep-alive" matter. */
static void parse_connection(const char *v, size_t n, bool *close, bool *keep)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (span_is(v + s, i - s, "close"))
            *close = true;
        else if (span_is(v + s, i - s, "keep-alive"))
            *keep = true;
    }
}

static bool parse_content_length(const char *v, size_t n, uint64_t *out)
{
    /* Content-Length = 1*DIGIT. Saturates: anything huge is over the cap. */
    if (n == 0)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        unsigned d = (unsigned)(v[i] - '0');
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
    }
    *out = x;
    return true;
}

static enum http_parse_result parse_field(const char *p, size_t n, struct http_request *r,
                                          bool *conn_close, bool *conn_keep)
{
    /* "A recipient MUST ... reject a message that contains whitespace
     * between a header field name and colon with a response status code of
     * 400" (RFC 9112 §5.1). obs-fold (a line starting with whitespace) is
     * refused the same way, as §5.2 allows. */
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ':')
        return HTTP_PARSE_BAD;
    const char *name = p;
    size_t nlen = i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t e = n;
    while (e > i && (p[e - 1] == ' ' || p[e - 1] == '\t'))
        e--;
    /* field-value: VCHAR, obs-text, SP and HTAB. NUL, bare CR and other
     * controls are invalid (RFC 9110 §5.5) and refused, never passed on. */
    for (size_t k = i; k < e; k++) {
        unsigned char c = (unsigned char)p[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return HTTP_PARSE_BAD;
    }
    const char *v = p + i;
    size_t vlen = e - i;

    if (span_is(name, nlen, "Host")) {
        /* "A server MUST respond with a 400 ... to any HTTP/1.1 request
         * message that lacks a Host header field and to any request
         * message that contains more than one Host header field" (§3.2). */
        if (r->has_host)
            return HTTP_PARSE_BAD;
        r->has_host = true;
    } else if (span_is(name, nlen, "Content-Length")) {
        uint64_t x;
        if (!parse_content_length(v, vlen, &x))
            return HTTP_PARSE_BAD;
        if (r->has_content_length && x != r->content_length)
            return HTTP_PARSE_BAD;
        r->has_content_length = true;
        r->content_length = x;
    } else if (span_is(name, nlen, "Transfer-Encoding")) {
        r->has_body_coding = true;
    } else if (span_is(name, nlen, "Connection")) {
        parse_connection(v, vlen, conn_close, conn_keep);
    } else if (span_is(name, nlen, "Range")) {
        if (r->range.p)
            r->range_repeated = true;
        r->range = (struct http_span){v, vlen};
    } else if (span_is(name, nlen, "If-None-Match")) {
        r->if_none_match = (struct http_span){v, vlen};
    } else if (span_is(name, nlen, "If-Modified-Since")) {
        r->if_modified_since = (struct http_span){v, vlen};
    } else if (span_is(name, nlen, "If-Range")) {
        r->if_range = (struct http_span){v, vlen};
    }
    return HTTP_PARSE_DONE;
}

enum http_parse_result http_request_parse(const char *buf, size_t len, struct http_request *r)
{
    memset(r, 0, sizeof *r);
    const char *p = buf, *end = buf + len, *next;
    long n;
    /* "a server that is expecting to receive and parse a request-line
     * SHOULD ignore at least one empty line (CRLF) received prior to the
     * request-line" (RFC 9112 §2.2). */
    while ((n = line_end(p, end, &next)) == 0)
        p = next;
    if (n < 0)
        return HTTP_PARSE_AGAIN;
    enum http_parse_result res = parse_request_line(p, (size_t)n, r);
    if (res != HTTP_PARSE_DONE)
        return res;
    p = next;
    bool conn_close = false, conn_keep = false;
    for (;;) {
        n = line_end(p, end, &next);
        if (n < 0)
            return HTTP_PARSE_AGAIN;
        if (n == 0)
            break;
        if (++r->n_fields > HTTP_MAX_HEADER_FIELDS)
            return HTTP_PARSE_TOO_MANY_FIELDS;
        res = parse_field(p, (size_t)n, r, &conn_close, &conn_keep);
        if (res != HTTP_PARSE_DONE)
            return res;
        p = next;
    }
    if (r->version_minor >= 1 && !r->has_host)
        return HTTP_PARSE_BAD;
    /* HTTP/1.1 stays open unless told otherwise; HTTP/1.0 only when it
     * asks (RFC 9112 §9.3). */
    r->keep_alive = !conn_close && (r->version_minor >= 1 || conn_keep);
    r->head_len = (size_t)(next - buf);
    return HTTP_PARSE_DONE;
}
