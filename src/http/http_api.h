/* How the HTTP service hands /api/v1/... requests to the API room, and how
 * the API answers: at once with a buffered body, or by opening a stream
 * (Server-Sent Events) it writes to over time.
 *
 * The HTTP room owns the bytes (framing, caps, timeouts, keep-alive); the
 * API room owns the meaning (routes, JSON, auth). Neither includes the
 * other's internals. */
#ifndef MIDWIFE_HTTP_HTTP_API_H
#define MIDWIFE_HTTP_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_api_method { API_GET, API_HEAD, API_POST, API_PUT, API_PATCH, API_DELETE, API_OTHER };

struct http_api_request {
    enum http_api_method method;
    const char *path;       /* decoded, NUL-terminated, starting "/api/v1/" */
    const char *query;      /* raw query (after '?'), not decoded; "" if none */
    size_t query_len;
    const char *body;       /* the whole request body (Content-Length framed), NUL-terminated; "" if none */
    size_t body_len;
    const char *bearer;     /* the token of "Authorization: Bearer TOKEN", NUL-terminated, or NULL */
    const char *content_type; /* NUL-terminated, or NULL */
    bool accepts_event_stream; /* Accept names text/event-stream */
    const char *last_event_id; /* Last-Event-ID, NUL-terminated, or NULL */
    uint32_t peer_addr;     /* IPv4, host byte order */
    uint16_t peer_port;
    uint32_t local_addr;    /* the address the request arrived on, host byte order */
};

struct http_stream; /* an open text/event-stream response */

struct http_api_response {
    int status;
    const char *content_type; /* NULL = "application/json" */
    char *body;               /* malloc'd, taken over by the HTTP room; NULL = empty */
    size_t body_len;
    /* Extra header lines, each "Name: value\r\n", NUL-terminated; NULL = none. */
    char extra_headers[256];
    /* Set instead of a body to answer 200 text/event-stream and keep the
     * connection: stream_open(stream, arg) runs once the head is out. */
    void (*stream_open)(struct http_stream *s, void *arg);
    void *stream_arg;
};

typedef void (*http_api_fn)(void *arg, const struct http_api_request *req, struct http_api_response *resp);

struct http_service;
/* Routes /api/v1/... to fn (NULL: 404 as before). */
void http_service_set_api(struct http_service *svc, http_api_fn fn, void *arg);

/* Queues bytes on a stream. -EPIPE when the stream is gone or its client
 * reads too slowly (more than HTTP_STREAM_QUEUE_MAX unsent bytes: it is
 * closed rather than let memory grow). */
#define HTTP_STREAM_QUEUE_MAX (1u << 20)
int http_stream_write(struct http_stream *s, const char *data, size_t len);
/* Called once when the stream ends for any reason (client closed, queue
 * overflow, server stop, http_stream_close); the stream is freed after. */
void http_stream_on_close(struct http_stream *s, void (*fn)(void *arg), void *arg);
void http_stream_close(struct http_stream *s);

#endif
