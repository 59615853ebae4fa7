/* The API side of a connection (http_api.h): request bodies read into
 * memory, the hand-off to the API handler, answers given later, and
 * Server-Sent Events streams. http_service.c routes a head here when its
 * path is under /api/v1/ and an API is set; the three states this file
 * adds are
 *   BODY     reading the Content-Length framed body. "100 Continue" goes
 *            out first when the client waits for it. The timer restarts
 *            only when BODY_PROGRESS_MIN more bytes have arrived (or the
 *            body is complete): a trickle cannot hold the connection, a
 *            slow but honest upload can.
 *   PENDING  the handler deferred its answer. No timer: the API decides
 *            how long the work takes. Reading goes on, only to see the
 *            client leave (and to keep pipelined requests for later).
 *   STREAM   an event stream: a comment at once (so the client sees it
 *            open), then bytes the API queues go out as the socket
 *            takes them; a heartbeat comment keeps proxies and TCP's
 *            dead-peer detection busy; EOF from the client ends it.
 *
 * Safety rules, so nothing is used after it is freed:
 *  - The API never runs inside a call it made into this file: finishing a
 *    pending, writing to or closing a stream only record and wake the
 *    connection's write event; the work happens from the event loop.
 *  - A pending is held by the API until http_pending_finish; the
 *    connection only points at it, and drops that pointer (after on_gone)
 *    when it goes first. So a finish after the client left is a free.
 *  - A stream is freed right after its on_close, which runs exactly once,
 *    whoever ends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "http/http_conn.h"
#include "util/log.h"
#include "util/metrics.h"

#define API_PREFIX "/api/v1/"
#define STATE_PATH "/api/v1/state"
#define BODY_PROGRESS_MIN (64u << 10)
#define CONTINUE_LINE "HTTP/1.1 100 Continue\r\n\r\n"
#define STREAM_IOV 16

struct http_pending {
    struct conn *conn; /* NULL once the answer is handed over or the client is gone */
    bool in_handler;   /* the handler that received it has not returned */
    bool finished;
    void (*on_gone)(void *arg);
    void *gone_arg;
};

struct http_stream {
    struct conn *conn; /* NULL while its on_close runs from the connection's end */
    bool ended;        /* http_stream_close: no more writes, flush and close */
    bool overflow;     /* its reader fell HTTP_STREAM_QUEUE_MAX behind */
    void (*on_close)(void *arg);
    void *close_arg;
};

/* One API request on a connection, from its head to its answer (or for a
 * stream, to the connection's end). */
struct api_exchange {
    struct http_api_request req;
    char *strings;   /* what req's strings point into */
    char *body;
    size_t body_len, body_got, body_mark;
    bool expect_continue, is_head;
    unsigned version_minor;
    struct http_pending *pending;   /* deferred, not yet answered */
    bool answer_ready;              /* http_pending_finish delivered answer */
    struct http_api_response answer;
    struct http_stream *stream;
    struct evbuffer *out;           /* a stream's unsent bytes */
};

static struct metric m_streams = {.name = "midwife_http_streams_open",
                                  .help = "HTTP event streams open", .type = METRIC_GAUGE};
static struct metric m_deferred = {.name = "midwife_http_api_deferred",
                                   .help = "API requests waiting for a deferred answer",
                                   .type = METRIC_GAUGE};

void http_api_metrics_setup(void)
{
    metrics_register(&m_streams);
    metrics_register(&m_deferred);
}

bool http_api_is_path(const char *path)
{
    return strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0;
}

uint64_t http_api_body_cap(const struct http_service *svc, const struct http_request *req, const char *path)
{
    /* A saved state archive is far bigger than any JSON document. */
    if (req->method == HTTP_PUT && strcmp(path, STATE_PATH) == 0)
        return svc->state_max_bytes;
    return svc->max_body_bytes;
}

static enum http_api_method api_method(enum http_method m)
{
    switch (m) {
    case HTTP_GET: return API_GET;
    case HTTP_HEAD: return API_HEAD;
    case HTTP_POST: return API_POST;
    case HTTP_PUT: return API_PUT;
    case HTTP_PATCH: return API_PATCH;
    case HTTP_DELETE: return API_DELETE;
    default: return API_OTHER;
    }
}

static const char *method_name(enum http_api_method m)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER"};
    return names[m];
}

static void exchange_free(struct conn *c)
{
    struct api_exchange *x = c->api;
    if (!x)
        return;
    free(x->strings);
    free(x->body);
    if (x->answer_ready)
        free(x->answer.body);
    if (x->out)
        evbuffer_free(x->out);
    free(x);
    c->api = NULL;
}

/* After a response is built: write it, and go on with pipelined requests
 * when it is out. */
static void write_and_continue(struct conn *c)
{
    if (http_conn_write(c) == 0 && c->state == C_READ)
        http_conn_process(c);
}

/* A short JSON error the HTTP side gives on its own (the API's errors are
 * the API's). */
static void respond_error(struct conn *c, unsigned version_minor, bool is_head, int status,
                          const char *json)
{
    struct resp r = {.status = status, .content_type = "application/json", .length = strlen(json)};
    c->state = C_WRITE;
    http_build_head(c, &r, version_minor);
    if (!is_head) {
        c->body_static = json;
        c->body_len = strlen(json);
    }
}

static void respond_exchange_error(struct conn *c, int status, const char *json)
{
    respond_error(c, c->api->version_minor, c->api->is_head, status, json);
    exchange_free(c);
}

/* ---- BODY ---- */

static const char *put_string(char **cur, const char *p, size_t n)
{
    char *s = *cur;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    *cur += n + 1;
    return s;
}

void http_api_begin(struct conn *c, const struct http_request *req, const char *path, const char *query,
                    size_t query_len)
{
    struct http_service *svc = c->svc;
    uint64_t blen = req->has_content_length ? req->content_length : 0; /* under the cap */
    struct http_span token = {NULL, 0};
    bool bearer = http_bearer_token(req->authorization, &token);
    size_t plen = strlen(path);
    size_t need = plen + query_len + token.len + req->content_type.len + req->last_event_id.len + 5;
    struct api_exchange *x = calloc(1, sizeof *x);
    char *strings = malloc(need);
    /* The whole declared length at once: large blocks are mapped lazily,
     * so memory follows the bytes that actually arrive. */
    char *body = blen < SIZE_MAX ? malloc((size_t)blen + 1) : NULL;
    if (!x || !strings || !body) {
        free(x);
        free(strings);
        free(body);
        http_count_error("internal");
        c->keep_alive = false; /* the body was not read */
        respond_error(c, req->version_minor, req->method == HTTP_HEAD, 503,
                      "{\"error\": \"out of memory\"}\n");
        return;
    }
    char *cur = strings;
    x->strings = strings;
    x->body = body;
    x->body_len = (size_t)blen;
    x->req.method = api_method(req->method);
    x->req.path = put_string(&cur, path, plen);
    x->req.query = put_string(&cur, query, query_len);
    x->req.query_len = query_len;
    const char *tok = put_string(&cur, token.p, token.len);
    x->req.bearer = bearer ? tok : NULL;
    const char *ct = put_string(&cur, req->content_type.p, req->content_type.len);
    x->req.content_type = req->content_type.p ? ct : NULL;
    const char *leid = put_string(&cur, req->last_event_id.p, req->last_event_id.len);
    x->req.last_event_id = req->last_event_id.p ? leid : NULL;
    x->req.accepts_event_stream = req->accept_event_stream;
    x->req.peer_addr = c->peer_addr;
    x->req.peer_port = c->peer_port;
    struct sockaddr_in local;
    socklen_t sl = sizeof local;
    if (getsockname(c->fd, (struct sockaddr *)&local, &sl) == 0 && local.sin_family == AF_INET) {
        x->req.local_addr = ntohl(local.sin_addr.s_addr);
        x->req.local_port = ntohs(local.sin_port);
    }
    /* "A server that receives a 100-continue expectation in an HTTP/1.0
     * request MUST ignore that expectation" (RFC 9110 §10.1.1). */
    x->expect_continue = req->expect_continue && req->version_minor >= 1;
    x->is_head = req->method == HTTP_HEAD;
    x->version_minor = req->version_minor;
    c->api = x;
    c->state = C_BODY;
    http_conn_arm_timer(c, (uint64_t)svc->idle_timeout * 1000);
}

/* Sends the 100 Continue held in c->head. 0 when out, 1 when the socket
 * is full (ev_wr armed), -1 when the connection is gone. */
static int flush_interim(struct conn *c)
{
    while (c->head_off < c->head_len) {
        ssize_t n = send(c->fd, c->head + c->head_off, c->head_len - c->head_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                event_add(c->ev_wr, NULL);
                return 1;
            }
            http_count_error("io");
            http_conn_free(c);
            return -1;
        }
        c->head_off += (size_t)n;
    }
    c->head_len = c->head_off = 0;
    event_del(c->ev_wr);
    return 0;
}

static int apply(struct conn *c, struct http_api_response *resp);

/* The body is complete: the handler answers. 1 when a response is ready to
 * write, 0 when the connection waits (deferred, stream). */
static int dispatch(struct conn *c)
{
    struct http_service *svc = c->svc;
    struct api_exchange *x = c->api;
    if (!svc->api_fn) /* the API went away while the body arrived */
        return respond_exchange_error(c, 404, "{\"error\": \"not found\"}\n"), 1;
    struct http_pending *p = calloc(1, sizeof *p);
    if (!p) {
        http_count_error("internal");
        return respond_exchange_error(c, 503, "{\"error\": \"out of memory\"}\n"), 1;
    }
    x->body[x->body_len] = '\0';
    x->req.body = x->body;
    x->req.body_len = x->body_len;
    p->conn = c;
    p->in_handler = true;
    x->pending = p;
    x->req.pending = p;
    struct http_api_response resp;
    memset(&resp, 0, sizeof resp);
    svc->api_fn(svc->api_arg, &x->req, &resp);
    p->in_handler = false;
    if (log_enabled(LOG_DEBUG)) {
        char e[LOG_ESCAPED_SIZE(64)];
        log_debug("http", "%s \"%s %s\" %d%s", c->peer, method_name(x->req.method),
                  log_escape(e, sizeof e, x->req.path, strlen(x->req.path)),
                  resp.defer ? 0 : resp.status, resp.defer ? " (deferred)" : "");
    }
    /* What the request pointed to lived for the handler call only. */
    free(x->strings);
    free(x->body);
    x->strings = x->body = NULL;
    memset(&x->req, 0, sizeof x->req);
    if (p->finished) {
        /* Answered through the pending from inside the handler: that is
         * the answer, whatever resp says. */
        free(resp.body);
        free(p);
        resp = x->answer;
        x->answer_ready = false;
        return apply(c, &resp);
    }
    if (resp.defer) {
        free(resp.body);
        c->state = C_PENDING;
        m_deferred.value++;
        event_del(c->timer);
        event_del(c->ev_wr);
        event_add(c->ev_rd, NULL); /* to see the client leave */
        return 0;
    }
    x->pending = NULL;
    free(p);
    return apply(c, &resp);
}

static int body_complete(struct conn *c)
{
    /* The final answer must not overtake the 100 Continue still queued. */
    if (c->head_off < c->head_len) {
        event_del(c->ev_rd);
        return 0;
    }
    return dispatch(c);
}

int http_api_after_head(struct conn *c)
{
    struct api_exchange *x = c->api;
    size_t take = x->body_len - x->body_got;
    if (take > c->in_len)
        take = c->in_len;
    memcpy(x->body + x->body_got, c->in, take);
    memmove(c->in, c->in + take, c->in_len - take);
    c->in_len -= take;
    x->body_got += take;
    if (x->body_got == x->body_len)
        return body_complete(c);
    /* "A server MAY omit sending a 100 (Continue) response if it has
     * already received some or all of the content" (RFC 9110 §10.1.1). */
    if (x->expect_continue && x->body_got == 0) {
        memcpy(c->head, CONTINUE_LINE, strlen(CONTINUE_LINE));
        c->head_len = strlen(CONTINUE_LINE);
        c->head_off = 0;
        if (flush_interim(c) < 0)
            return -1;
    }
    return 0;
}

static void body_read(struct conn *c)
{
    struct api_exchange *x = c->api;
    size_t want = x->body_len - x->body_got;
    if (want == 0) { /* complete, the 100 Continue still going out */
        event_del(c->ev_rd);
        return;
    }
    ssize_t n = recv(c->fd, x->body + x->body_got, want, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        /* The client closed or failed; a half-sent body is dropped. */
        http_conn_free(c);
        return;
    }
    x->body_got += (size_t)n;
    if (x->body_got - x->body_mark >= BODY_PROGRESS_MIN) {
        x->body_mark = x->body_got;
        http_conn_arm_timer(c, (uint64_t)c->svc->idle_timeout * 1000);
    }
    if (x->body_got == x->body_len && body_complete(c) == 1)
        write_and_continue(c);
}

/* ---- answers ---- */

static void log_refused_answer(struct conn *c, const char *why)
{
    http_count_error("internal");
    if (http_may_log_bad())
        log_warn("http", "%s: the API's answer cannot be sent: %s", c->peer, why);
}

/* Checks what the API put in resp that goes on the wire unchanged. */
static const char *answer_problem(const struct http_api_response *resp, const char *ctype, size_t *extra_len)
{
    const char *why = NULL;
    *extra_len = strnlen(resp->extra_headers, sizeof resp->extra_headers);
    if (*extra_len == sizeof resp->extra_headers)
        return "extra headers not NUL-terminated";
    if (http_header_lines_check(resp->extra_headers, *extra_len, &why) < 0)
        return why;
    if (!ctype[0] || !http_field_value_ok(ctype, strlen(ctype)))
        return "a bad content type";
    return NULL;
}

static int open_stream(struct conn *c, struct http_api_response *resp)
{
    struct http_service *svc = c->svc;
    struct api_exchange *x = c->api;
    void (*open)(struct http_stream *, void *) = resp->stream_open;
    void *arg = resp->stream_arg;
    free(resp->body);
    size_t extra_len;
    const char *why = answer_problem(resp, "text/event-stream", &extra_len);
    if (why) {
        log_refused_answer(c, why);
        respond_exchange_error(c, 500, "{\"error\": \"internal error\"}\n");
        open(NULL, arg);
        return 1;
    }
    if (svc->n_streams >= HTTP_STREAM_MAX && !x->is_head) {
        http_count_error("too_many_streams");
        if (http_may_log_bad())
            log_warn("http", "%s: event stream limit (%d) reached", c->peer, HTTP_STREAM_MAX);
        respond_exchange_error(c, 503, "{\"error\": \"too many event streams open\"}\n");
        open(NULL, arg);
        return 1;
    }
    struct http_stream *s = x->is_head ? NULL : calloc(1, sizeof *s);
    x->out = x->is_head ? NULL : evbuffer_new();
    if (!x->is_head && (!s || !x->out)) {
        free(s);
        http_count_error("internal");
        respond_exchange_error(c, 503, "{\"error\": \"out of memory\"}\n");
        open(NULL, arg);
        return 1;
    }
    /* No Content-Length: the stream ends with the connection (RFC 9112
     * §6.3), so this connection serves nothing after it. */
    c->keep_alive = false;
    struct resp r = {.status = 200, .content_type = "text/event-stream", .no_length = true,
                     .cache = "no-cache", .extra = extra_len ? resp->extra_headers : NULL};
    c->state = C_WRITE;
    if (!http_build_head(c, &r, x->version_minor)) {
        free(s);
        log_refused_answer(c, "response head too long");
        respond_exchange_error(c, 500, "{\"error\": \"internal error\"}\n");
        open(NULL, arg);
        return 1;
    }
    if (x->is_head) { /* the head a GET would get, then the end */
        exchange_free(c);
        open(NULL, arg);
        return 1;
    }
    /* A comment right after the head: some clients (Firefox's fetch())
     * hand a response over only once its body has begun, and a quiet
     * stream would otherwise say nothing until the first heartbeat. */
    if (evbuffer_add(x->out, c->head, c->head_len) < 0 || evbuffer_add(x->out, ":\n\n", 3) < 0) {
        free(s);
        http_count_error("internal");
        respond_exchange_error(c, 503, "{\"error\": \"out of memory\"}\n");
        open(NULL, arg);
        return 1;
    }
    c->head_len = c->head_off = 0;
    s->conn = c;
    x->stream = s;
    svc->n_streams++;
    m_streams.value++;
    c->state = C_STREAM;
    event_add(c->ev_rd, NULL);
    event_add(c->ev_wr, NULL);
    http_conn_arm_timer(c, HTTP_STREAM_HEARTBEAT_S * 1000);
    open(s, arg);
    return 0;
}

/* Turns the API's answer into the response in flight; takes resp->body.
 * 1 when it is ready to write, 0 for a stream. */
static int apply(struct conn *c, struct http_api_response *resp)
{
    struct api_exchange *x = c->api;
    if (resp->stream_open)
        return open_stream(c, resp);
    const char *ctype = resp->content_type ? resp->content_type : "application/json";
    size_t extra_len;
    const char *why = answer_problem(resp, ctype, &extra_len);
    if (!why && (resp->status < 200 || resp->status > 599))
        why = "a status outside 200-599";
    if (why) {
        free(resp->body);
        log_refused_answer(c, why);
        respond_exchange_error(c, 500, "{\"error\": \"internal error\"}\n");
        return 1;
    }
    size_t len = resp->body ? resp->body_len : 0;
    struct resp r = {.status = resp->status, .content_type = ctype, .length = len,
                     .extra = extra_len ? resp->extra_headers : NULL};
    c->state = C_WRITE;
    if (!http_build_head(c, &r, x->version_minor)) {
        free(resp->body);
        log_refused_answer(c, "response head too long");
        respond_exchange_error(c, 500, "{\"error\": \"internal error\"}\n");
        return 1;
    }
    if (x->is_head || resp->status == 204 || resp->status == 304) {
        free(resp->body);
    } else {
        c->body = resp->body;
        c->body_owned = true;
        c->body_len = len;
    }
    resp->body = NULL;
    exchange_free(c);
    return 1;
}

/* ---- deferred answers ---- */

void http_pending_finish(struct http_pending *p, struct http_api_response *resp)
{
    if (!p) {
        free(resp->body);
        resp->body = NULL;
        return;
    }
    struct conn *c = p->conn;
    if (!c) { /* the client is gone: only the freeing is left */
        free(resp->body);
        resp->body = NULL;
        free(p);
        return;
    }
    struct api_exchange *x = c->api;
    x->answer = *resp;
    x->answer.defer = false;
    x->answer_ready = true;
    resp->body = NULL;
    x->pending = NULL;
    p->conn = NULL;
    p->finished = true;
    if (p->in_handler) /* dispatch() takes it from here */
        return;
    free(p);
    m_deferred.value--;
    /* The answer goes out from the loop, not inside the API's call. */
    event_active(c->ev_wr, EV_WRITE, 1);
}

void http_pending_on_gone(struct http_pending *p, void (*fn)(void *arg), void *arg)
{
    if (!p)
        return;
    p->on_gone = fn;
    p->gone_arg = arg;
}

static void pending_write(struct conn *c)
{
    struct api_exchange *x = c->api;
    if (!x->answer_ready)
        return;
    struct http_api_response resp = x->answer;
    x->answer_ready = false;
    if (apply(c, &resp) == 1)
        write_and_continue(c);
}

/* ---- STREAM ---- */

static int stream_flush(struct conn *c)
{
    struct evbuffer *out = c->api->out;
    while (evbuffer_get_length(out) > 0) {
        struct evbuffer_iovec v[STREAM_IOV];
        int n = evbuffer_peek(out, -1, NULL, v, STREAM_IOV);
        if (n > STREAM_IOV)
            n = STREAM_IOV;
        struct iovec iov[STREAM_IOV];
        for (int i = 0; i < n; i++)
            iov[i] = (struct iovec){v[i].iov_base, v[i].iov_len};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t k = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                event_add(c->ev_wr, NULL);
                return 1;
            }
            http_count_error("io");
            http_conn_free(c);
            return -1;
        }
        http_count_sent((uint64_t)k);
        evbuffer_drain(out, (size_t)k);
    }
    event_del(c->ev_wr);
    return 0;
}

/* Detaches the stream from its connection and tells the API. */
static void stream_end(struct conn *c)
{
    struct http_stream *s = c->api->stream;
    c->api->stream = NULL;
    c->svc->n_streams--;
    m_streams.value--;
    s->conn = NULL;
    s->ended = true;
    if (s->on_close)
        s->on_close(s->close_arg);
    free(s);
}

/* http_stream_close: the API is told now; what it queued still goes out
 * as an ordinary memory body, then the connection closes (WRITE, LINGER). */
static void stream_close_gracefully(struct conn *c)
{
    stream_end(c);
    struct evbuffer *out = c->api->out;
    size_t len = evbuffer_get_length(out);
    char *rest = malloc(len ? len : 1);
    if (!rest) {
        http_count_error("internal");
        http_conn_free(c);
        return;
    }
    evbuffer_remove(out, rest, len);
    exchange_free(c);
    event_del(c->ev_wr);
    c->body = rest;
    c->body_owned = true;
    c->body_len = len;
    c->body_off = 0;
    c->state = C_WRITE;
    c->keep_alive = false;
    write_and_continue(c);
}

static void stream_write_ready(struct conn *c)
{
    struct http_stream *s = c->api->stream;
    if (s->overflow) {
        http_count_error("stream_overflow");
        if (http_may_log_bad())
            log_warn("http", "%s: event stream reader too slow (%u bytes unsent), closing", c->peer,
                     HTTP_STREAM_QUEUE_MAX);
        http_conn_free(c);
        return;
    }
    if (stream_flush(c) < 0)
        return;
    if (s->ended)
        stream_close_gracefully(c);
}

static int stream_queue(struct http_stream *s, const char *data, size_t len)
{
    struct conn *c = s->conn;
    struct evbuffer *out = c->api->out;
    if (evbuffer_get_length(out) + len > HTTP_STREAM_QUEUE_MAX) {
        s->overflow = true;
        event_active(c->ev_wr, EV_WRITE, 1);
        return -EPIPE;
    }
    if (evbuffer_add(out, data, len) < 0)
        return -ENOMEM;
    event_add(c->ev_wr, NULL);
    return 0;
}

int http_stream_write(struct http_stream *s, const char *data, size_t len)
{
    if (!s || !s->conn || s->ended || s->overflow)
        return -EPIPE;
    if (len == 0)
        return 0;
    return stream_queue(s, data, len);
}

void http_stream_on_close(struct http_stream *s, void (*fn)(void *arg), void *arg)
{
    if (!s)
        return;
    s->on_close = fn;
    s->close_arg = arg;
}

void http_stream_close(struct http_stream *s)
{
    if (!s || !s->conn || s->ended)
        return;
    s->ended = true;
    event_active(s->conn->ev_wr, EV_WRITE, 1);
}

/* ---- events from http_service.c ---- */

void http_api_on_read(struct conn *c)
{
    if (c->state == C_BODY) {
        body_read(c);
        return;
    }
    /* STREAM: the client has nothing to say; EOF is its goodbye. */
    char sink[512];
    ssize_t n = recv(c->fd, sink, sizeof sink, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        http_conn_free(c);
}

void http_api_on_write(struct conn *c)
{
    switch (c->state) {
    case C_BODY:
        if (flush_interim(c) != 0)
            return;
        event_add(c->ev_rd, NULL);
        if (c->api->body_got == c->api->body_len && dispatch(c) == 1)
            write_and_continue(c);
        return;
    case C_PENDING:
        pending_write(c);
        return;
    case C_STREAM:
        stream_write_ready(c);
        return;
    default:
        return;
    }
}

void http_api_on_timer(struct conn *c)
{
    struct api_exchange *x = c->api;
    if (c->state == C_BODY) {
        http_count_error("timeout");
        if (http_may_log_bad())
            log_warn("http", "%s: timed out reading a request body (%zu of %zu bytes)", c->peer,
                     x->body_got, x->body_len);
        http_conn_free(c);
        return;
    }
    if (c->state == C_STREAM) {
        /* An SSE comment line: ignored by clients, enough to keep a proxy
         * from timing the connection out and TCP retransmitting to a
         * vanished peer until it gives up. */
        if (stream_queue(x->stream, ":\n\n", 3) == -EPIPE)
            return; /* overflow: the write event closes it */
        http_conn_arm_timer(c, HTTP_STREAM_HEARTBEAT_S * 1000);
    }
}

void http_api_conn_gone(struct conn *c)
{
    struct api_exchange *x = c->api;
    if (x->pending) {
        struct http_pending *p = x->pending;
        x->pending = NULL;
        p->conn = NULL; /* the API still holds it: its finish frees it */
        m_deferred.value--;
        if (p->on_gone)
            p->on_gone(p->gone_arg);
    }
    if (x->stream)
        stream_end(c);
    /* A deferred answer that would have opened a stream: stream_open
     * runs once in every case, here with nothing to open. */
    if (x->answer_ready && x->answer.stream_open) {
        x->answer_ready = false;
        free(x->answer.body);
        x->answer.stream_open(NULL, x->answer.stream_arg);
    }
    exchange_free(c);
}
