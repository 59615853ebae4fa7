/* How the HTTP service hands /api/v1/... requests to the API room, and how
 * the API answers: at once with a buffered body, later (a deferred answer),
 * or by opening a stream (Server-Sent Events) it writes to over time.
 *
 * The HTTP room owns the bytes (framing, caps, timeouts, keep-alive); the
 * API room owns the meaning (routes, JSON, auth). Neither includes the
 * other's internals.
 *
 * Threading: everything here runs on the server's event loop thread. No
 * callback below (on_gone, stream_open, on_close) ever runs inside a call
 * the API makes into this file (http_pending_finish, http_stream_write,
 * http_stream_close): they run from the event loop, or from
 * http_service_stop. So the API may iterate its own lists while writing to
 * streams. Stop the HTTP service before the API: stopping it runs the
 * API's on_gone and on_close callbacks. */
#ifndef MIDWIFE_HTTP_HTTP_API_H
#define MIDWIFE_HTTP_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_api_method { API_GET, API_HEAD, API_POST, API_PUT, API_PATCH, API_DELETE, API_OTHER };

struct http_pending; /* a request the API answers later */

/* Valid during the handler call only, and so is everything it points to:
 * copy what a deferred answer needs. */
struct http_api_request {
    enum http_api_method method;
    const char *path;       /* decoded, NUL-terminated, starting "/api/v1/" */
    const char *query;      /* raw query (after '?'), not decoded; "" if none */
    size_t query_len;
    const char *body;       /* the whole request body (Content-Length framed), NUL-terminated; "" if none */
    size_t body_len;
    const char *bearer;     /* the token of "Authorization: Bearer TOKEN", NUL-terminated, or NULL */
    const char *content_type; /* NUL-terminated, or NULL */
    const char *last_event_id; /* the Last-Event-ID header, NUL-terminated, or NULL */
    bool accepts_event_stream; /* Accept names text/event-stream */
    uint32_t peer_addr;     /* IPv4, host byte order */
    uint16_t peer_port;
    uint32_t local_addr;    /* the address the request arrived on, host byte order */
    uint16_t local_port;
    /* This request, should the handler answer it later (resp->defer). */
    struct http_pending *pending;
};

struct http_stream; /* an open text/event-stream response */

/* The handler fills it in (it arrives zeroed). Any status 200-599; 204 and
 * 304 and answers to HEAD go out without a body. Keep-alive goes on after
 * any answer unless the client asked to close. */
struct http_api_response {
    int status;
    const char *content_type; /* NULL = "application/json"; no control bytes */
    char *body;               /* malloc'd, taken over by the HTTP room (also on error); NULL = empty */
    size_t body_len;
    /* Extra header lines, each "Name: value\r\n", NUL-terminated; "" = none.
     * Checked before sending: a bare CR or LF, a malformed line, or a
     * field the server sets (Content-Length, Content-Type, Connection,
     * Transfer-Encoding, Date, Server, ...) turns the answer into a 500. */
    char extra_headers[256];
    /* Set instead of a body to answer 200 text/event-stream and keep the
     * connection: stream_open(stream, arg) runs once, from the event loop
     * right after the handler returns, with the head queued; what it
     * writes follows the head. It runs with stream == NULL when the stream
     * could not be opened (HTTP_STREAM_MAX streams already open: the
     * client got a 503; a HEAD request; out of memory): arg is then the
     * API's to free, and nothing else happens. status, content_type and
     * body are ignored; extra_headers are sent. */
    void (*stream_open)(struct http_stream *s, void *arg);
    void *stream_arg;
    /* Answer later: the connection waits (no read timeout) until
     * http_pending_finish(req->pending, ...). Everything else in this
     * response is ignored (a body is freed). */
    bool defer;
};

typedef void (*http_api_fn)(void *arg, const struct http_api_request *req, struct http_api_response *resp);

struct http_service;
/* Routes /api/v1/... to fn (NULL: 404 as before). Request bodies are read
 * into memory first, up to [http] max_body_bytes (PUT /api/v1/state:
 * state_max_bytes); more is refused with 413 before any of it is read. */
void http_service_set_api(struct http_service *svc, http_api_fn fn, void *arg);

/* ---- deferred answers ----
 *
 * Who owns a pending: req->pending is valid during the handler call. If
 * the handler sets resp->defer, the API holds the pending from then on and
 * MUST call http_pending_finish exactly once, whatever happens (also after
 * on_gone, also after the HTTP service stopped): that call is what frees
 * it, and the pending must not be touched after it. If the handler does
 * not defer, the pending is freed when the handler returns and must not
 * be kept. (Finishing from inside the handler itself works too: that is
 * an answer given at once.) */

/* Sends resp as the answer (same rules as a direct answer; a stream may be
 * opened) and frees the pending. resp->body is taken over in every case.
 * When the client has gone, only frees. Never calls back into the API. */
void http_pending_finish(struct http_pending *p, struct http_api_response *resp);
/* fn(arg) runs once if the client goes away (or the server stops) before
 * the answer: what the answer would have been can be abandoned, but the
 * pending still has to be finished (a finish after on_gone only frees). */
void http_pending_on_gone(struct http_pending *p, void (*fn)(void *arg), void *arg);

/* ---- event streams ----
 *
 * Who may touch a stream: the API, from stream_open(s, ...) until its
 * on_close callback returns; never after. on_close runs exactly once,
 * whatever ends the stream (the client closed, its queue overflowed, a
 * write failed, the server stopped, http_stream_close), from the event
 * loop or from http_service_stop, never from inside http_stream_write or
 * http_stream_close; the stream is freed when it returns. Register it in
 * stream_open. Between the end and on_close, writes fail with -EPIPE.
 *
 * A stream is a connection: it counts toward [http] max_connections, and
 * at most HTTP_STREAM_MAX are open at once (503 beyond). A comment line
 * ":" goes out right after the head (a client may wait for body bytes
 * before it reports the stream open) and every HTTP_STREAM_HEARTBEAT_S
 * seconds after, so proxies keep the connection and a dead peer is found
 * by TCP. */
#define HTTP_STREAM_MAX 64
#define HTTP_STREAM_HEARTBEAT_S 15

/* Queues bytes on a stream (kept in memory, written as the socket allows).
 * -EPIPE when the stream has ended or its client reads too slowly (more
 * than HTTP_STREAM_QUEUE_MAX unsent bytes: it is closed rather than let
 * memory grow). -ENOMEM when out of memory. */
#define HTTP_STREAM_QUEUE_MAX (1u << 20)
int http_stream_write(struct http_stream *s, const char *data, size_t len);
/* fn(arg) runs once when the stream ends (see above); a later call
 * replaces an earlier one. */
void http_stream_on_close(struct http_stream *s, void (*fn)(void *arg), void *arg);
/* Ends the stream: no more writes; what is queued is still sent, then the
 * connection closes. on_close follows from the event loop. */
void http_stream_close(struct http_stream *s);

#endif
