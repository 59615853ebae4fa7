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

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OTHER };

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
    bool expect_continue;      /* Expect: 100-continue */
    bool accept_event_stream;  /* Accept names text/event-stream */
    struct http_span range, if_none_match, if_modified_since, if_range;
    struct http_span authorization, content_type, last_event_id;
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

/* The token of "Authorization: Bearer TOKEN" (RFC 6750 §2.1: the scheme
 * is case-insensitive, the token is token68). false for another scheme or
 * a malformed credential. */
bool http_bearer_token(struct http_span auth, struct http_span *token);

/* Checks response header lines handed to us ("Name: value\r\n" each):
 * names are tokens, values hold no control bytes, every line ends in CRLF,
 * and none is a field the server frames the message with or sets itself
 * (Content-Length, Transfer-Encoding, Connection, ...). 0, or -EINVAL with
 * *why saying what is wrong. */
int http_header_lines_check(const char *s, size_t len, const char **why);
/* A single field value (Content-Type and the like): no control bytes. */
bool http_field_value_ok(const char *s, size_t len);

#endif
