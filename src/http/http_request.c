#include "http/http_request.h"

#include <errno.h>
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
    /* methods are case-sensitive (RFC 9110 §9.1) */
    static const struct {
        const char *name;
        enum http_method method;
    } methods[] = {{"GET", HTTP_GET},   {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
                   {"PUT", HTTP_PUT},   {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE}};
    r->method = HTTP_OTHER;
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++)
        if (strlen(methods[m].name) == i && memcmp(p, methods[m].name, i) == 0)
            r->method = methods[m].method;
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

/* Accept = #( media-range [ weight ] ): true when a member's media range
 * is text/event-stream, parameters and weight aside. */
static bool accepts_event_stream(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ';' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (span_is(v + s, i - s, "text/event-stream"))
            return true;
        while (i < n && v[i] != ',')
            i++;
    }
    return false;
}

/* Expect = #expectation; only 100-continue is defined (RFC 9110 §10.1.1).
 * Other expectations are ignored: a server "MAY respond with a 417", and
 * answering as if nothing were expected is what older servers do. */
static bool expects_continue(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (span_is(v + s, i - s, "100-continue"))
            return true;
    }
    return false;
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
    } else if (span_is(name, nlen, "Authorization")) {
        /* Two credentials leave it open which one counts: refuse. */
        if (r->authorization.p)
            return HTTP_PARSE_BAD;
        r->authorization = (struct http_span){v, vlen};
    } else if (span_is(name, nlen, "Content-Type")) {
        if (r->content_type.p)
            return HTTP_PARSE_BAD;
        r->content_type = (struct http_span){v, vlen};
    } else if (span_is(name, nlen, "Last-Event-ID")) {
        r->last_event_id = (struct http_span){v, vlen};
    } else if (span_is(name, nlen, "Accept")) {
        r->accept_event_stream = r->accept_event_stream || accepts_event_stream(v, vlen);
    } else if (span_is(name, nlen, "Expect")) {
        r->expect_continue = r->expect_continue || expects_continue(v, vlen);
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

bool http_bearer_token(struct http_span auth, struct http_span *token)
{
    /* credentials = auth-scheme [ 1*SP token68 ] (RFC 9110 §11.4);
     * token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
    const char *p = auth.p;
    size_t n = auth.len, i = 6;
    if (!p || n < 7 || strncasecmp(p, "Bearer", 6) != 0 || p[6] != ' ')
        return false;
    while (i < n && p[i] == ' ')
        i++;
    size_t s = i;
    while (i < n && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z') ||
                     (p[i] >= 'A' && p[i] <= 'Z') || (p[i] && strchr("-._~+/", p[i]))))
        i++;
    if (i == s)
        return false;
    while (i < n && p[i] == '=')
        i++;
    if (i != n)
        return false;
    *token = (struct http_span){p + s, n - s};
    return true;
}

bool http_field_value_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

int http_header_lines_check(const char *s, size_t len, const char **why)
{
    /* The server writes these itself; a second copy from a handler would
     * contradict the framing or smuggle a second message. */
    static const char *const reserved[] = {"Content-Length", "Transfer-Encoding", "Connection",
                                           "Keep-Alive",     "Upgrade",           "TE",
                                           "Trailer",        "Content-Type",      "Date",
                                           "Server"};
    size_t i = 0;
    while (i < len) {
        size_t name = i;
        while (i < len && is_tchar((unsigned char)s[i]))
            i++;
        if (i == name || i >= len || s[i] != ':') {
            *why = "a header line without a field name and colon";
            return -EINVAL;
        }
        for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
            if (span_is(s + name, i - name, reserved[k])) {
                *why = "a header field the server sets itself";
                return -EINVAL;
            }
        size_t value = ++i;
        const char *cr = memchr(s + value, '\r', len - value);
        if (!cr || (size_t)(cr - s) + 1 >= len || cr[1] != '\n') {
            *why = "a header line not ended by CRLF";
            return -EINVAL;
        }
        /* a bare LF inside the value is a line break too: refused with
         * the other controls */
        if (!http_field_value_ok(s + value, (size_t)(cr - s) - value)) {
            *why = "a control byte in a header value";
            return -EINVAL;
        }
        i = (size_t)(cr - s) + 2;
    }
    return 0;
}
