/* A small HTTP/1.1 client for talking to midwife: plain http:// URLs, one
 * request per connection (Connection: close), every wait bounded by poll
 * and every body capped. Hand-written because libcurl cannot be linked
 * statically on Debian; the response parser is pure so it is unit-tested
 * and fuzzed on its own (tests/fuzz/fuzz_agent_http.c). */
#ifndef MIDWIFE_AGENT_HTTP_H
#define MIDWIFE_AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEAD_MAX (16 * 1024) /* status line and headers of a response */

struct http_url {
    char host[256]; /* an IPv4 literal or a name */
    char port[6];   /* "80" when not given */
    char path[2048];/* "/" when not given; with the query */
};

/* Splits http://HOST[:PORT][/PATH]. -EINVAL with the reason in err. */
int http_url_parse(const char *url, struct http_url *u, char *err, size_t errlen);

/* ---- the pure response parser ---- */

enum http_framing { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED, HTTP_BODY_CLOSE };

struct http_parsed {
    int status;                /* 200..599 (interim 1xx answers are skipped) */
    enum http_framing framing;
    size_t body_off;           /* where the body (or its first chunk) starts */
    size_t body_len;           /* the body's length once decoded */
    size_t end;                /* bytes of buf the response takes */
    const char *error;         /* why, for a negative return */
};

/* Parses the response in buf[0..len). at_eof: the peer closed, nothing
 * more comes. Returns 0 when the response is complete, 1 when more bytes
 * are needed, -EPROTO for a malformed or truncated one, -E2BIG when the
 * head is over HTTP_HEAD_MAX or the body over max_body. */
int http_response_parse(const char *buf, size_t len, bool at_eof, size_t max_body, struct http_parsed *p);

/* Copies the decoded body of a complete response (chunks joined) into
 * out, which holds p->body_len + 1 bytes; NUL-terminates it. Returns the
 * number of body bytes written. */
size_t http_body_copy(const char *buf, const struct http_parsed *p, char *out);

/* ---- the client ---- */

struct http_request {
    const char *method;       /* "GET", "POST", "PUT" */
    const char *url;
    const char *token;        /* Authorization: Bearer; NULL: none */
    const char *content_type; /* NULL: none */
    const void *body;
    size_t body_len;
    size_t max_body;          /* 0: DOC_MAX_BYTES */
    unsigned io_timeout_ms;   /* connect, and each wait to send or receive (0: 10 s) */
    unsigned total_timeout_ms;/* the whole exchange (0: 60 s) */
};

struct http_response {
    int status;
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
};

/* Sends req and reads the answer. 0 with resp filled for any status;
 * a negative errno for a transport failure (-ETIMEDOUT, -ECONNREFUSED,
 * -EHOSTUNREACH, ...), -EPROTO for a malformed answer, -E2BIG for one
 * over the cap, -EINVAL for a bad URL; err says what happened. */
int http_request(const struct http_request *req, struct http_response *resp, char *err, size_t errlen);
void http_response_free(struct http_response *resp);

#endif
