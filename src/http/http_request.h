/* The request head (RFC 9112 §2-§3, §5): request line and header fields,
 * parsed from a bounded buffer. Pure: bytes in, a view of the fields a
 * boot server acts on out; nothing is copied, every span points into the
 * caller's buffer. */
#ifndef MIDWIFE_HTTP_HTTP_REQUEST_H
#define MIDWIFE_HTTP_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADER_FIELDS 64

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

struct http_span {
    const char *p; /* NULL: field absent */
    size_t len;
};

struct http_request {
    enum http_method method;
    struct http_span method_name, target;
    unsigned version_minor;    /* HTTP/1.x */
    bool keep_alive;           /* after the version default and Connection */
    bool has_host;
    bool has_body_coding;      /* Transfer-Encoding present: we do not decode bodies */
    bool has_content_length;
    uint64_t content_length;
    bool range_repeated;       /* several Range fields: a multi-range, ignored */
    struct http_span range, if_none_match, if_modified_since, if_range;
    unsigned n_fields;
    size_t head_len;           /* bytes up to and including the empty line */
};

enum http_parse_result {
    HTTP_PARSE_DONE = 0,
    HTTP_PARSE_AGAIN,          /* no complete head yet */
    HTTP_PARSE_BAD,            /* 400 */
    HTTP_PARSE_TOO_MANY_FIELDS,/* 431 */
    HTTP_PARSE_BAD_VERSION,    /* 505 */
};

/* Parses the head at the start of buf[0..len). Leading empty lines are
 * skipped (RFC 9112 §2.2 robustness). */
enum http_parse_result http_request_parse(const char *buf, size_t len, struct http_request *req);

#endif
