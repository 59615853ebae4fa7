/* Fuzzes the request head parser, the target splitter, the path decoder,
 * the query lookup, the bearer token extraction and the response header
 * line checker on whatever a client sends, with the properties the
 * file-serving and API code rely on checked. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_cond.h"
#include "http/http_path.h"
#include "http/http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(struct http_span s, const char *buf, size_t size)
{
    return !s.p || (s.p >= buf && s.p + s.len <= buf + size);
}

/* Header lines the checker lets by cannot end a head early or carry a
 * second message: no CR or LF except as whole CRLF line ends, no empty
 * line, no framing field. */
static void check_lines(const char *s, size_t len)
{
    const char *why;
    if (http_header_lines_check(s, len, &why) < 0)
        return;
    if (len > 0 && (len < 2 || s[len - 2] != '\r' || s[len - 1] != '\n'))
        abort();
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r' && (i + 1 >= len || s[i + 1] != '\n'))
            abort();
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            abort();
        if (s[i] == '\n' && i + 1 < len && s[i + 1] == '\r')
            abort(); /* an empty line */
        if (s[i] == '\0')
            abort();
    }
    if (strncasecmp(s, "Content-Length:", 15) == 0 || strncasecmp(s, "Transfer-Encoding:", 18) == 0)
        abort();
}

static void check_decoded(const char *out)
{
    /* a decoded path never carries what could change its meaning later */
    if (out[0] != '/')
        abort();
    for (const char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
            abort();
    if (strstr(out, "/../") || strstr(out, "//") || strstr(out, "/./"))
        abort();
    size_t n = strlen(out);
    if ((n >= 3 && strcmp(out + n - 3, "/..") == 0) || (n >= 2 && strcmp(out + n - 2, "/.") == 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    struct http_request r;
    if (http_request_parse(buf, size, &r) == HTTP_PARSE_DONE) {
        if (r.head_len > size || r.target.p < buf || r.target.p + r.target.len > buf + size)
            abort();
        const char *path, *query;
        size_t pl, ql;
        if (http_target_split(r.target.p, r.target.len, &path, &pl, &query, &ql) == 0) {
            char out[HTTP_TARGET_MAX + 1];
            const char *why;
            if (pl <= HTTP_TARGET_MAX && http_path_decode(path, pl, out, sizeof out, &why) == 0)
                check_decoded(out);
            char v[32];
            if (http_query_get(query, ql, "mac", v, sizeof v) == 0 && strlen(v) >= sizeof v)
                abort();
        }
        if (r.if_none_match.p)
            (void)http_etag_list_match(r.if_none_match.p, r.if_none_match.len, "\"abc\"");
        if (r.if_range.p)
            (void)http_if_range_holds(r.if_range.p, r.if_range.len, "\"abc\"", 0);
        int64_t t;
        if (r.if_modified_since.p)
            (void)http_date_parse(r.if_modified_since.p, r.if_modified_since.len, &t);
        if (!inside(r.authorization, buf, size) || !inside(r.content_type, buf, size) ||
            !inside(r.last_event_id, buf, size))
            abort();
        struct http_span tok;
        if (http_bearer_token(r.authorization, &tok)) {
            if (tok.len == 0 || tok.p < r.authorization.p ||
                tok.p + tok.len != r.authorization.p + r.authorization.len)
                abort();
            for (size_t i = 0; i < tok.len; i++)
                if (tok.p[i] <= ' ' || tok.p[i] >= 0x7f)
                    abort();
        }
    }
    check_lines(buf, size);
    /* the path decoder on raw input too, not only what the parser let by */
    char out[256];
    const char *why;
    if (size > 0 && http_path_decode(buf, size, out, sizeof out, &why) == 0)
        check_decoded(out);
    free(buf);
    return 0;
}
