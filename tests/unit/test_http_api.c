/* The API hand-off over real sockets on 127.0.0.1: request bodies and
 * their caps and timeouts, 100-continue, the fields the handler sees, the
 * answers it gives (at once, later, as an event stream) and what happens
 * when clients go away or the server stops. A test handler on the loop
 * thread records what it saw; the test thread is a blocking client. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/stat.h>

#include <event2/thread.h>

#include "http/http_api.h"
#include "util/log.h"

#include "test_http_helpers.h"

static char tmp[64], state[128];
static struct store *store;
static struct server main_srv;

/* ---- what the handler saw (written on the loop thread) ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

struct seen {
    int calls;
    enum http_api_method method;
    char path[256], query[256], bearer[128], ctype[128], leid[128];
    bool has_bearer, has_ctype, has_leid, accepts_es, has_pending;
    char body[8192];
    size_t body_len;
    uint32_t peer_addr, local_addr;
    uint16_t peer_port, local_port;
};
static struct seen seen;

static void copy_opt(char *dst, size_t n, const char *src, bool *has)
{
    *has = src != NULL;
    snprintf(dst, n, "%s", src ? src : "");
}

static void record(const struct http_api_request *req)
{
    pthread_mutex_lock(&mu);
    seen.calls++;
    seen.method = req->method;
    snprintf(seen.path, sizeof seen.path, "%s", req->path);
    snprintf(seen.query, sizeof seen.query, "%.*s", (int)req->query_len, req->query);
    copy_opt(seen.bearer, sizeof seen.bearer, req->bearer, &seen.has_bearer);
    copy_opt(seen.ctype, sizeof seen.ctype, req->content_type, &seen.has_ctype);
    copy_opt(seen.leid, sizeof seen.leid, req->last_event_id, &seen.has_leid);
    seen.accepts_es = req->accepts_event_stream;
    seen.has_pending = req->pending != NULL;
    seen.body_len = req->body_len < sizeof seen.body ? req->body_len : sizeof seen.body;
    memcpy(seen.body, req->body, seen.body_len);
    if (req->body[req->body_len] != '\0') /* must be NUL-terminated */
        seen.body_len = (size_t)-1;
    seen.peer_addr = req->peer_addr;
    seen.peer_port = req->peer_port;
    seen.local_addr = req->local_addr;
    seen.local_port = req->local_port;
    pthread_mutex_unlock(&mu);
}

static int calls(void)
{
    pthread_mutex_lock(&mu);
    int n = seen.calls;
    pthread_mutex_unlock(&mu);
    return n;
}

static char *dup_body(const char *s, size_t *len)
{
    *len = strlen(s);
    char *b = malloc(*len + 1);
    if (!b)
        abort();
    memcpy(b, s, *len + 1);
    return b;
}

/* ---- deferred answers ---- */

struct deferred {
    struct server *srv;
    struct http_pending *p;
    struct event *timer;
    int started, gone, finished;
};
static struct deferred dfr;

static void deferred_gone(void *arg)
{
    struct deferred *d = arg;
    pthread_mutex_lock(&mu);
    d->gone++;
    pthread_mutex_unlock(&mu);
}

static void deferred_finish(struct deferred *d)
{
    struct http_api_response r = {.status = 200};
    r.body = dup_body("{\"late\": true}", &r.body_len);
    http_pending_finish(d->p, &r);
    d->p = NULL;
    pthread_mutex_lock(&mu);
    d->finished++;
    pthread_mutex_unlock(&mu);
}

static void deferred_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct deferred *d = arg;
    deferred_finish(d);
    event_free(d->timer);
    d->timer = NULL;
}

/* ---- streams ---- */

struct stream_rec {
    struct http_stream *s;
    int opened, opened_null, closed;
};
static struct stream_rec srec;

static void stream_closed(void *arg)
{
    struct stream_rec *r = arg;
    pthread_mutex_lock(&mu);
    r->closed++;
    r->s = NULL;
    pthread_mutex_unlock(&mu);
}

static void stream_opened(struct http_stream *s, void *arg)
{
    struct stream_rec *r = arg;
    pthread_mutex_lock(&mu);
    if (!s) {
        r->opened_null++;
        pthread_mutex_unlock(&mu);
        return;
    }
    r->opened++;
    r->s = s;
    pthread_mutex_unlock(&mu);
    http_stream_on_close(s, stream_closed, r);
    assert_int_equal(http_stream_write(s, "data: hello\n\n", 13), 0);
}

/* A producer far faster than its reader. */
struct flood {
    struct http_stream *s;
    struct event *timer;
    size_t accepted;
    int epipe, closed;
};
static struct flood fl;

static void flood_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct flood *f = arg;
    static char chunk[64 << 10];
    memset(chunk, 'x', sizeof chunk);
    int rc = http_stream_write(f->s, chunk, sizeof chunk);
    pthread_mutex_lock(&mu);
    if (rc == 0)
        f->accepted += sizeof chunk;
    else
        f->epipe++;
    pthread_mutex_unlock(&mu);
    if (rc < 0)
        event_del(f->timer);
}

static void flood_closed(void *arg)
{
    struct flood *f = arg;
    event_free(f->timer);
    f->timer = NULL;
    pthread_mutex_lock(&mu);
    f->closed++;
    pthread_mutex_unlock(&mu);
}

static void flood_opened(struct http_stream *s, void *arg)
{
    struct flood *f = arg;
    struct server *srv = &main_srv;
    f->s = s;
    http_stream_on_close(s, flood_closed, f);
    f->timer = event_new(srv->base, -1, EV_PERSIST, flood_tick, f);
    struct timeval tv = {0, 1000};
    event_add(f->timer, &tv);
}

/* ---- the test API ---- */

static void test_api(void *arg, const struct http_api_request *req, struct http_api_response *resp)
{
    struct server *srv = arg;
    const char *p = req->path;
    resp->status = 200;
    if (strncmp(p, "/api/v1/echo", 12) == 0 || strcmp(p, "/api/v1/state") == 0) {
        record(req);
        resp->body = malloc(req->body_len + 1);
        memcpy(resp->body, req->body, req->body_len + 1);
        resp->body_len = req->body_len;
    } else if (strncmp(p, "/api/v1/status/", 15) == 0) {
        resp->status = atoi(p + 15);
        resp->body = dup_body("{\"s\": 1}", &resp->body_len);
    } else if (strcmp(p, "/api/v1/headers/good") == 0) {
        snprintf(resp->extra_headers, sizeof resp->extra_headers, "X-One: 1\r\nX-Two: two words\r\n");
        resp->content_type = "text/plain; charset=utf-8";
        resp->body = dup_body("hi", &resp->body_len);
    } else if (strcmp(p, "/api/v1/headers/lf") == 0) {
        snprintf(resp->extra_headers, sizeof resp->extra_headers, "X-One: 1\nX-Evil: yes\r\n");
    } else if (strcmp(p, "/api/v1/headers/cr") == 0) {
        snprintf(resp->extra_headers, sizeof resp->extra_headers, "X-One: 1\rX-Evil: yes\r\n");
    } else if (strcmp(p, "/api/v1/headers/unterminated") == 0) {
        snprintf(resp->extra_headers, sizeof resp->extra_headers, "X-One: 1");
    } else if (strcmp(p, "/api/v1/headers/length") == 0) {
        snprintf(resp->extra_headers, sizeof resp->extra_headers, "Content-Length: 0\r\n");
    } else if (strcmp(p, "/api/v1/headers/ctype") == 0) {
        resp->content_type = "text/plain\r\nX-Evil: yes";
    } else if (strcmp(p, "/api/v1/defer") == 0) {
        record(req);
        int ms = atoi(req->query + 3); /* ms=N */
        http_pending_on_gone(req->pending, deferred_gone, &dfr);
        pthread_mutex_lock(&mu);
        dfr.srv = srv;
        dfr.p = req->pending;
        dfr.timer = evtimer_new(srv->base, deferred_timer, &dfr);
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(dfr.timer, &tv);
        dfr.started++;
        pthread_mutex_unlock(&mu);
        resp->defer = true;
        resp->body = dup_body("ignored", &resp->body_len);
    } else if (strcmp(p, "/api/v1/defer-inside") == 0) {
        struct http_api_response r = {.status = 202};
        r.body = dup_body("{\"inside\": true}", &r.body_len);
        http_pending_finish(req->pending, &r);
        resp->body = dup_body("ignored", &resp->body_len);
    } else if (strcmp(p, "/api/v1/stream") == 0) {
        record(req);
        resp->stream_open = stream_opened;
        resp->stream_arg = &srec;
        snprintf(resp->extra_headers, sizeof resp->extra_headers, "X-Stream: yes\r\n");
    } else if (strcmp(p, "/api/v1/flood") == 0) {
        resp->stream_open = flood_opened;
        resp->stream_arg = &fl;
    } else {
        resp->status = 404;
        resp->body = dup_body("{\"error\": \"no such route\"}", &resp->body_len);
    }
}

/* ---- fixtures ---- */

static struct conf *test_conf(void)
{
    struct conf *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    snprintf(c->state_dir, sizeof c->state_dir, "%s", state);
    c->http_enabled = true;
    c->http_address = 0x7f000001;
    c->http_port = free_port();
    c->http_max_header_bytes = 2048;
    c->http_max_body_bytes = 1024;
    c->state_max_bytes = 4096;
    c->http_idle_timeout = 1;
    c->http_max_connections = 128;
    return c;
}

/* A server with the test API; changes to its conf before it starts. */
static void api_server_start(struct server *s, struct conf *c)
{
    s->store = store;
    assert_int_equal(server_start(s, c, false), 0);
    http_service_set_api(s->svc, test_api, s);
    assert_int_equal(pthread_create(&s->thread, NULL, loop_thread, s), 0);
    s->running = true;
}

static int setup(void **st)
{
    (void)st;
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    snprintf(tmp, sizeof tmp, "/tmp/mw-http-api-test.XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    snprintf(state, sizeof state, "%s/state", tmp);
    mkdir(state, 0755);
    char err[256];
    if (store_open(state, STORE_SYNC_NORMAL, &store, err, sizeof err) < 0) {
        fprintf(stderr, "store: %s\n", err);
        return -1;
    }
    api_server_start(&main_srv, test_conf());
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    server_stop(&main_srv);
    store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* One request on a fresh connection to the main server. */
static struct response request(const char *req, size_t len)
{
    struct response r;
    int s = dial(main_srv.port);
    assert_true(s >= 0);
    assert_true(send_all(s, req, len));
    if (read_response(s, &r, strncmp(req, "HEAD ", 5) == 0) < 0)
        fail_msg("no response to %s", req);
    close(s);
    return r;
}

static struct response request_str(const char *req)
{
    return request(req, strlen(req));
}

/* Waits up to ms for *counter (under mu) to reach want. */
static bool wait_for(const int *counter, int want, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        pthread_mutex_lock(&mu);
        int v = *counter;
        pthread_mutex_unlock(&mu);
        if (v >= want)
            return true;
        usleep(10 * 1000);
    }
    return false;
}

static int read_int(const int *counter)
{
    pthread_mutex_lock(&mu);
    int v = *counter;
    pthread_mutex_unlock(&mu);
    return v;
}

/* ---- bodies and fields ---- */

static void methods_with_bodies_reach_the_handler_exactly(void **st)
{
    (void)st;
    static const struct {
        const char *name;
        enum http_api_method method;
    } methods[] = {{"POST", API_POST}, {"PUT", API_PUT}, {"PATCH", API_PATCH}, {"DELETE", API_DELETE}};
    /* binary body with a NUL and CRLFs in it: framed by length, not text */
    static const char body[] = "{\"a\":1}\r\n\0\xff\r\n\r\nGET / HTTP/1.1\r\n";
    size_t blen = sizeof body - 1;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        int s = dial(main_srv.port);
        struct sockaddr_in me;
        socklen_t ml = sizeof me;
        assert_int_equal(getsockname(s, (struct sockaddr *)&me, &ml), 0);
        char head[1024];
        int n = snprintf(head, sizeof head,
                         "%s /api/v1/echo/a%%20b?x=1&y=%%41 HTTP/1.1\r\nHost: t\r\n"
                         "Authorization: bearer  tok.en-123~_+/==\r\nContent-Type: application/json\r\n"
                         "Accept: text/html, text/event-stream;q=0.9\r\nLast-Event-ID: 42\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         methods[i].name, blen);
        assert_true(send_all(s, head, (size_t)n));
        assert_true(send_all(s, body, blen));
        struct response r;
        assert_int_equal(read_response(s, &r, false), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(header(&r, "Content-Type"), "application/json");
        assert_int_equal(r.body_len, blen);
        assert_memory_equal(r.body, body, blen);
        response_free(&r);
        close(s);
        pthread_mutex_lock(&mu);
        assert_int_equal(seen.method, methods[i].method);
        assert_string_equal(seen.path, "/api/v1/echo/a b");
        assert_string_equal(seen.query, "x=1&y=%41");
        assert_true(seen.has_bearer);
        assert_string_equal(seen.bearer, "tok.en-123~_+/==");
        assert_string_equal(seen.ctype, "application/json");
        assert_true(seen.has_leid);
        assert_string_equal(seen.leid, "42");
        assert_true(seen.accepts_es);
        assert_true(seen.has_pending);
        assert_int_equal(seen.body_len, blen);
        assert_memory_equal(seen.body, body, blen);
        assert_int_equal(seen.peer_addr, 0x7f000001);
        assert_int_equal(seen.peer_port, ntohs(me.sin_port));
        assert_int_equal(seen.local_addr, 0x7f000001);
        assert_int_equal(seen.local_port, main_srv.port);
        pthread_mutex_unlock(&mu);
    }
}

static void absent_fields_are_null_and_an_empty_body_is_empty(void **st)
{
    (void)st;
    struct response r = request_str("GET /api/v1/echo HTTP/1.1\r\nHost: t\r\n"
                                    "Authorization: Basic dXNlcjpwdw==\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    response_free(&r);
    pthread_mutex_lock(&mu);
    assert_int_equal(seen.method, API_GET);
    assert_false(seen.has_bearer); /* another scheme is no bearer */
    assert_false(seen.has_ctype);
    assert_false(seen.has_leid);
    assert_false(seen.accepts_es);
    assert_string_equal(seen.query, "");
    assert_int_equal(seen.body_len, 0);
    pthread_mutex_unlock(&mu);
}

static void keep_alive_goes_on_after_a_body(void **st)
{
    (void)st;
    int s = dial(main_srv.port);
    struct response r;
    const char *a = "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst";
    assert_true(send_all(s, a, strlen(a)));
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body, "first");
    assert_null(header(&r, "Connection"));
    response_free(&r);
    /* pipelined: a body split over sends, a file route, another body */
    const char *b = "PUT /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsec";
    const char *c = "ond" "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                    "PATCH /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                    "Connection: close\r\n\r\nthird";
    assert_true(send_all(s, b, strlen(b)));
    usleep(50 * 1000);
    assert_true(send_all(s, c, strlen(c)));
    assert_int_equal(read_response(s, &r, false), 0);
    assert_string_equal((char *)r.body, "second");
    response_free(&r);
    assert_int_equal(read_response(s, &r, false), 0);
    assert_string_equal((char *)r.body, "ok\n");
    response_free(&r);
    assert_int_equal(read_response(s, &r, false), 0);
    assert_string_equal((char *)r.body, "third");
    assert_string_equal(header(&r, "Connection"), "close");
    response_free(&r);
    assert_true(closed_within(s, 2000));
    close(s);
}

static void expect_100_continue_is_answered_before_the_body(void **st)
{
    (void)st;
    int s = dial(main_srv.port);
    const char *h = "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                    "Content-Length: 7\r\n\r\n";
    assert_true(send_all(s, h, strlen(h)));
    char interim[26] = "";
    assert_true(recv_exact(s, interim, 25));
    assert_string_equal(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    assert_true(send_all(s, "payload", 7));
    struct response r;
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body, "payload");
    response_free(&r);
    close(s);

    /* over the cap: the 413 instead of the 100, the handler never called */
    int before = calls();
    s = dial(main_srv.port);
    h = "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n";
    assert_true(send_all(s, h, strlen(h)));
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 413);
    assert_string_equal(header(&r, "Connection"), "close");
    response_free(&r);
    assert_true(closed_within(s, 3000));
    close(s);
    assert_int_equal(calls(), before);
}

static void bodies_over_the_cap_get_413_without_the_handler(void **st)
{
    (void)st;
    int before = calls();
    /* max_body_bytes is 1024; the state upload has 4096 */
    struct {
        const char *req;
        int status;
    } cases[] = {
        {"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n", 413},
        {"PUT /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
        {"PUT /api/v1/state HTTP/1.1\r\nHost: t\r\nContent-Length: 4097\r\n\r\n", 413},
        {"POST /api/v1/state HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n", 413},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct response r = request_str(cases[i].req);
        if (r.status != cases[i].status)
            fail_msg("%s: %d", cases[i].req, r.status);
        assert_non_null(strstr((char *)r.body, "\"error\""));
        response_free(&r);
    }
    assert_int_equal(calls(), before);

    /* under its own cap, the state upload arrives whole */
    char req[5000];
    int n = snprintf(req, sizeof req, "PUT /api/v1/state HTTP/1.1\r\nHost: t\r\n"
                                      "Content-Type: application/octet-stream\r\nContent-Length: 4096\r\n\r\n");
    memset(req + n, 'S', 4096);
    struct response r = request(req, (size_t)n + 4096);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 4096);
    response_free(&r);
    pthread_mutex_lock(&mu);
    assert_int_equal(seen.method, API_PUT);
    assert_string_equal(seen.path, "/api/v1/state");
    assert_int_equal(seen.body_len, 4096);
    assert_int_equal(seen.body[4095], 'S');
    pthread_mutex_unlock(&mu);
}

static void an_unset_state_cap_falls_back_to_max_body_bytes(void **st)
{
    (void)st;
    struct server s = {0};
    struct conf *c = test_conf();
    c->state_max_bytes = 0;
    api_server_start(&s, c);
    int fd = dial(s.port);
    const char *h = "PUT /api/v1/state HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n";
    assert_true(send_all(fd, h, strlen(h)));
    struct response r;
    assert_int_equal(read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 413);
    response_free(&r);
    close(fd);
    fd = dial(s.port);
    char req[2048];
    int n = snprintf(req, sizeof req, "PUT /api/v1/state HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n");
    memset(req + n, 'z', 1024);
    assert_true(send_all(fd, req, (size_t)n + 1024));
    assert_int_equal(read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 1024);
    response_free(&r);
    close(fd);
    server_stop(&s);
}

static void a_trickled_body_is_dropped(void **st)
{
    (void)st;
    int before = calls();
    int s = dial(main_srv.port);
    const char *h = "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n";
    assert_true(send_all(s, h, strlen(h)));
    double t0 = now_s();
    bool closed = false;
    for (int i = 0; i < 100 && !closed; i++) {
        if (send(s, "x", 1, MSG_NOSIGNAL) != 1)
            closed = true;
        else
            closed = closed_within(s, 200);
    }
    double secs = now_s() - t0;
    assert_true(closed);
    assert_true(secs < 2.0); /* idle_timeout is 1 s: 20 s of trickle never got through */
    close(s);
    assert_int_equal(calls(), before);
}

static void a_slow_but_steady_upload_is_accepted(void **st)
{
    (void)st;
    /* 256 KiB in 64 KiB steps 600 ms apart: longer than idle_timeout in
     * all, but every step is progress. */
    struct server s = {0};
    struct conf *c = test_conf();
    c->http_max_body_bytes = 1u << 20;
    api_server_start(&s, c);
    int fd = dial(s.port);
    const size_t total = 256u << 10, step = 64u << 10;
    char h[256];
    int n = snprintf(h, sizeof h, "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", total);
    assert_true(send_all(fd, h, (size_t)n));
    char *chunk = malloc(step);
    memset(chunk, 'q', step);
    for (size_t sent = 0; sent < total; sent += step) {
        usleep(600 * 1000);
        assert_true(send_all(fd, chunk, step));
    }
    free(chunk);
    struct response r;
    assert_int_equal(read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, total);
    response_free(&r);
    close(fd);
    server_stop(&s);
}

static void bad_framing_is_refused(void **st)
{
    (void)st;
    int before = calls();
    struct {
        const char *req;
        int status;
    } cases[] = {
        {"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400},
        {"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400},
        {"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1 2\r\n\r\nhello", 400},
        {"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501},
        {"POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer a\r\n"
         "Authorization: Bearer b\r\n\r\n", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int s = dial(main_srv.port);
        assert_true(send_all(s, cases[i].req, strlen(cases[i].req)));
        struct response r;
        assert_int_equal(read_response(s, &r, false), 0);
        if (r.status != cases[i].status)
            fail_msg("%s: %d", cases[i].req, r.status);
        assert_string_equal(header(&r, "Connection"), "close");
        response_free(&r);
        assert_true(closed_within(s, 3000));
        close(s);
    }
    /* a client that closes half-way through its body */
    int s = dial(main_srv.port);
    const char *h = "POST /api/v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhalf";
    assert_true(send_all(s, h, strlen(h)));
    close(s);
    usleep(100 * 1000);
    assert_int_equal(calls(), before);
}

/* ---- answers ---- */

static void statuses_carry_their_reason_phrases(void **st)
{
    (void)st;
    static const struct {
        int status;
        const char *line;
    } cases[] = {
        {200, "HTTP/1.1 200 OK\r\n"},
        {201, "HTTP/1.1 201 Created\r\n"},
        {202, "HTTP/1.1 202 Accepted\r\n"},
        {204, "HTTP/1.1 204 No Content\r\n"},
        {400, "HTTP/1.1 400 Bad Request\r\n"},
        {401, "HTTP/1.1 401 Unauthorized\r\n"},
        {403, "HTTP/1.1 403 Forbidden\r\n"},
        {404, "HTTP/1.1 404 Not Found\r\n"},
        {405, "HTTP/1.1 405 Method Not Allowed\r\n"},
        {409, "HTTP/1.1 409 Conflict\r\n"},
        {413, "HTTP/1.1 413 Content Too Large\r\n"},
        {415, "HTTP/1.1 415 Unsupported Media Type\r\n"},
        {422, "HTTP/1.1 422 Unprocessable Content\r\n"},
        {429, "HTTP/1.1 429 Too Many Requests\r\n"},
        {500, "HTTP/1.1 500 Internal Server Error\r\n"},
        {503, "HTTP/1.1 503 Service Unavailable\r\n"},
    };
    /* all on one connection: a body sent after a 204 would be read as
     * the next status line */
    int s = dial(main_srv.port);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[128];
        int n = snprintf(req, sizeof req, "DELETE /api/v1/status/%d HTTP/1.1\r\nHost: t\r\n\r\n", cases[i].status);
        assert_true(send_all(s, req, (size_t)n));
        struct response r;
        assert_int_equal(read_response(s, &r, false), 0);
        if (strncmp(r.head, cases[i].line, strlen(cases[i].line)) != 0)
            fail_msg("%d: %s", cases[i].status, r.head);
        if (cases[i].status == 204) {
            assert_null(header(&r, "Content-Length"));
        } else {
            assert_string_equal(header(&r, "Content-Length"), "8");
            assert_string_equal((char *)r.body, "{\"s\": 1}");
        }
        response_free(&r);
    }
    close(s);
}

static void head_gets_the_length_and_no_body(void **st)
{
    (void)st;
    int s = dial(main_srv.port);
    const char *req = "HEAD /api/v1/status/200 HTTP/1.1\r\nHost: t\r\n\r\n"
                      "GET /api/v1/status/201 HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(send_all(s, req, strlen(req)));
    struct response r;
    assert_int_equal(read_response(s, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Length"), "8");
    response_free(&r);
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 201);
    response_free(&r);
    close(s);
}

static void extra_headers_go_out_and_injection_is_refused(void **st)
{
    (void)st;
    struct response r = request_str("GET /api/v1/headers/good HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "X-One"), "1");
    assert_string_equal(header(&r, "X-Two"), "two words");
    assert_string_equal(header(&r, "Content-Type"), "text/plain; charset=utf-8");
    assert_string_equal((char *)r.body, "hi");
    response_free(&r);
    const char *bad[] = {"lf", "cr", "unterminated", "length", "ctype"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET /api/v1/headers/%s HTTP/1.1\r\nHost: t\r\n\r\n", bad[i]);
        r = request_str(req);
        if (r.status != 500)
            fail_msg("%s: %d", bad[i], r.status);
        assert_null(strstr(r.head, "X-Evil"));
        assert_null(strstr(r.head, "X-One"));
        response_free(&r);
    }
    /* a status no final answer can have */
    r = request_str("GET /api/v1/status/99 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 500);
    response_free(&r);
    r = request_str("GET /api/v1/status/600 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 500);
    response_free(&r);
}

/* ---- deferred answers ---- */

static void a_deferred_answer_arrives_later(void **st)
{
    (void)st;
    memset(&dfr, 0, sizeof dfr);
    int s = dial(main_srv.port);
    /* 1500 ms: longer than idle_timeout, which a deferred request has not */
    const char *req = "POST /api/v1/defer?ms=1500 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
                      "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    double t0 = now_s();
    assert_true(send_all(s, req, strlen(req)));
    struct response r;
    assert_int_equal(read_response(s, &r, false), 0);
    double secs = now_s() - t0;
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body, "{\"late\": true}");
    assert_true(secs >= 1.4);
    response_free(&r);
    /* the pipelined request behind it, then keep-alive as usual */
    assert_int_equal(read_response(s, &r, false), 0);
    assert_string_equal((char *)r.body, "ok\n");
    response_free(&r);
    const char *again = "GET /api/v1/status/204 HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(send_all(s, again, strlen(again)));
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 204);
    response_free(&r);
    close(s);
    assert_int_equal(read_int(&dfr.gone), 0);
    assert_int_equal(read_int(&dfr.finished), 1);
}

static void a_finish_from_inside_the_handler_is_an_answer(void **st)
{
    (void)st;
    struct response r = request_str("POST /api/v1/defer-inside HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 202);
    assert_string_equal((char *)r.body, "{\"inside\": true}");
    response_free(&r);
}

static void a_client_gone_before_the_answer_is_told_and_finish_is_safe(void **st)
{
    (void)st;
    memset(&dfr, 0, sizeof dfr);
    int s = dial(main_srv.port);
    const char *req = "GET /api/v1/defer?ms=600 HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(send_all(s, req, strlen(req)));
    usleep(150 * 1000);
    close(s);
    assert_true(wait_for(&dfr.gone, 1, 1000));
    assert_int_equal(read_int(&dfr.finished), 0);
    /* the finish after on_gone only frees (ASan watches) */
    assert_true(wait_for(&dfr.finished, 1, 2000));
    assert_int_equal(read_int(&dfr.gone), 1);
    /* and the server carries on */
    struct response r = request_str("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 200);
    response_free(&r);
}

/* ---- event streams ---- */

static void stream_write(void *arg)
{
    pthread_mutex_lock(&mu);
    struct http_stream *s = srec.s;
    pthread_mutex_unlock(&mu);
    assert_non_null(s);
    assert_int_equal(http_stream_write(s, arg, strlen(arg)), 0);
}

static void stream_close(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    struct http_stream *s = srec.s;
    pthread_mutex_unlock(&mu);
    assert_non_null(s);
    assert_int_equal(http_stream_write(s, "data: bye\n\n", 11), 0);
    http_stream_close(s);
    /* ended: writes refused from now on, on_close not yet run */
    assert_int_equal(http_stream_write(s, "x", 1), -EPIPE);
    assert_int_equal(srec.closed, 0);
}

static void expect_bytes(int s, const char *want)
{
    char got[256] = "";
    size_t n = strlen(want);
    assert_true(n < sizeof got);
    assert_true(recv_exact(s, got, n));
    assert_string_equal(got, want);
}

static int open_stream(uint16_t port, struct response *r)
{
    int s = dial(port);
    const char *req = "GET /api/v1/stream HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n"
                      "Last-Event-ID: 7\r\n\r\n";
    assert_true(send_all(s, req, strlen(req)));
    assert_int_equal(read_response(s, r, true), 0);
    /* an open stream: an SSE comment at once, before anything the API writes */
    if (r->status == 200)
        expect_bytes(s, ":\n\n");
    return s;
}

static void a_stream_gets_its_writes_in_order_and_closes_once(void **st)
{
    (void)st;
    memset(&srec, 0, sizeof srec);
    struct response r;
    int s = open_stream(main_srv.port, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "text/event-stream");
    assert_string_equal(header(&r, "Cache-Control"), "no-cache");
    assert_string_equal(header(&r, "X-Stream"), "yes");
    assert_null(header(&r, "Content-Length"));
    response_free(&r);
    pthread_mutex_lock(&mu);
    assert_string_equal(seen.leid, "7");
    assert_true(seen.accepts_es);
    pthread_mutex_unlock(&mu);
    expect_bytes(s, "data: hello\n\n");
    char ev[64];
    for (int i = 0; i < 5; i++) {
        snprintf(ev, sizeof ev, "id: %d\ndata: {\"n\": %d}\n\n", i, i);
        run_in_loop(&main_srv, stream_write, ev);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(ev, sizeof ev, "id: %d\ndata: {\"n\": %d}\n\n", i, i);
        expect_bytes(s, ev);
    }
    /* a stream outlives idle_timeout: nothing times it out */
    sleep(2);
    run_in_loop(&main_srv, stream_write, "data: still here\n\n");
    expect_bytes(s, "data: still here\n\n");
    assert_int_equal(read_int(&srec.closed), 0);
    close(s);
    assert_true(wait_for(&srec.closed, 1, 2000));
    usleep(100 * 1000);
    assert_int_equal(read_int(&srec.closed), 1);
    assert_int_equal(read_int(&srec.opened), 1);
}

static void http_stream_close_flushes_then_ends(void **st)
{
    (void)st;
    memset(&srec, 0, sizeof srec);
    struct response r;
    int s = open_stream(main_srv.port, &r);
    response_free(&r);
    expect_bytes(s, "data: hello\n\n");
    run_in_loop(&main_srv, stream_close, NULL);
    expect_bytes(s, "data: bye\n\n");
    assert_true(closed_within(s, 3000));
    close(s);
    assert_true(wait_for(&srec.closed, 1, 1000));
    usleep(100 * 1000);
    assert_int_equal(read_int(&srec.closed), 1);
}

static void a_reader_too_slow_is_closed_at_the_queue_cap(void **st)
{
    (void)st;
    memset(&fl, 0, sizeof fl);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(main_srv.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof sa), 0);
    const char *req = "GET /api/v1/flood HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(send_all(s, req, strlen(req)));
    /* never read: the producer hears -EPIPE, the stream closes */
    assert_true(wait_for(&fl.closed, 1, 10000));
    pthread_mutex_lock(&mu);
    size_t accepted = fl.accepted;
    int epipe = fl.epipe;
    pthread_mutex_unlock(&mu);
    assert_int_equal(epipe, 1);
    /* The queue held at most HTTP_STREAM_QUEUE_MAX; what the socket took
     * came on top. */
    assert_true(accepted >= HTTP_STREAM_QUEUE_MAX - (64u << 10));
    /* draining now ends in EOF or reset, short of everything accepted */
    size_t total = 0;
    char buf[65536];
    for (;;) {
        ssize_t k = recv(s, buf, sizeof buf, 0);
        if (k <= 0)
            break;
        total += (size_t)k;
    }
    assert_true(total < accepted);
    close(s);
    assert_int_equal(read_int(&fl.closed), 1);
}

static void streams_beyond_the_cap_get_503(void **st)
{
    (void)st;
    memset(&srec, 0, sizeof srec);
    int fds[HTTP_STREAM_MAX];
    struct response r;
    for (int i = 0; i < HTTP_STREAM_MAX; i++) {
        fds[i] = open_stream(main_srv.port, &r);
        if (r.status != 200)
            fail_msg("stream %d: %d", i, r.status);
        response_free(&r);
    }
    int x = open_stream(main_srv.port, &r);
    assert_int_equal(r.status, 503);
    response_free(&r);
    close(x);
    assert_int_equal(read_int(&srec.opened), HTTP_STREAM_MAX);
    assert_int_equal(read_int(&srec.opened_null), 1); /* stream_open(NULL): the arg is the API's */
    close(fds[0]);
    assert_true(wait_for(&srec.closed, 1, 2000));
    x = open_stream(main_srv.port, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
    close(x);
    for (int i = 1; i < HTTP_STREAM_MAX; i++)
        close(fds[i]);
    assert_true(wait_for(&srec.closed, HTTP_STREAM_MAX + 1, 3000));
}

static void server_stop_ends_streams_and_deferred_requests(void **st)
{
    (void)st;
    memset(&srec, 0, sizeof srec);
    memset(&dfr, 0, sizeof dfr);
    struct server srv = {0};
    api_server_start(&srv, test_conf());
    struct response r;
    int a = open_stream(srv.port, &r);
    assert_int_equal(r.status, 200);
    response_free(&r);
    expect_bytes(a, "data: hello\n\n");
    int b = dial(srv.port);
    const char *req = "GET /api/v1/defer?ms=100000 HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(send_all(b, req, strlen(req)));
    assert_true(wait_for(&dfr.started, 1, 2000));
    server_halt_loop(&srv);
    assert_non_null(dfr.p);
    http_service_stop(srv.svc);
    assert_int_equal(srec.closed, 1);
    assert_int_equal(dfr.gone, 1);
    /* the API finishes its pending after the server is gone: a free */
    event_free(dfr.timer);
    deferred_finish(&dfr);
    assert_int_equal(dfr.finished, 1);
    event_base_free(srv.base);
    free(srv.conf);
    assert_true(closed_within(a, 1000));
    assert_true(closed_within(b, 1000));
    close(a);
    close(b);
}

/* ---- what is not the API ---- */

static void other_routes_still_refuse_bodies_with_405(void **st)
{
    (void)st;
    const char *reqs[] = {
        "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
        "PUT /boot/program/x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
        "DELETE /nope HTTP/1.1\r\nHost: t\r\n\r\n",
        "PATCH /api/v1 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
    };
    int before = calls();
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        struct response r = request_str(reqs[i]);
        if (r.status != 405)
            fail_msg("%s: %d", reqs[i], r.status);
        assert_string_equal(header(&r, "Allow"), "GET, HEAD");
        response_free(&r);
    }
    assert_int_equal(calls(), before);
    /* a client waiting for 100 Continue gets the 405 and the close */
    int s = dial(main_srv.port);
    const char *h = "POST /healthz HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    assert_true(send_all(s, h, strlen(h)));
    struct response r;
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(header(&r, "Connection"), "close");
    response_free(&r);
    close(s);
}

static void without_an_api_the_prefix_is_an_ordinary_path(void **st)
{
    (void)st;
    struct server s = {.store = store};
    assert_int_equal(server_start(&s, test_conf(), true), 0);
    int fd = dial(s.port);
    const char *req = "GET /api/v1/status HTTP/1.1\r\nHost: t\r\n\r\n"
                      "POST /api/v1/birth HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}"
                      "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(send_all(fd, req, strlen(req)));
    struct response r;
    assert_int_equal(read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 404);
    response_free(&r);
    assert_int_equal(read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 405);
    response_free(&r);
    assert_int_equal(read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    close(fd);
    server_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(methods_with_bodies_reach_the_handler_exactly),
        cmocka_unit_test(absent_fields_are_null_and_an_empty_body_is_empty),
        cmocka_unit_test(keep_alive_goes_on_after_a_body),
        cmocka_unit_test(expect_100_continue_is_answered_before_the_body),
        cmocka_unit_test(bodies_over_the_cap_get_413_without_the_handler),
        cmocka_unit_test(an_unset_state_cap_falls_back_to_max_body_bytes),
        cmocka_unit_test(a_trickled_body_is_dropped),
        cmocka_unit_test(a_slow_but_steady_upload_is_accepted),
        cmocka_unit_test(bad_framing_is_refused),
        cmocka_unit_test(statuses_carry_their_reason_phrases),
        cmocka_unit_test(head_gets_the_length_and_no_body),
        cmocka_unit_test(extra_headers_go_out_and_injection_is_refused),
        cmocka_unit_test(a_deferred_answer_arrives_later),
        cmocka_unit_test(a_finish_from_inside_the_handler_is_an_answer),
        cmocka_unit_test(a_client_gone_before_the_answer_is_told_and_finish_is_safe),
        cmocka_unit_test(a_stream_gets_its_writes_in_order_and_closes_once),
        cmocka_unit_test(http_stream_close_flushes_then_ends),
        cmocka_unit_test(a_reader_too_slow_is_closed_at_the_queue_cap),
        cmocka_unit_test(streams_beyond_the_cap_get_503),
        cmocka_unit_test(server_stop_ends_streams_and_deferred_requests),
        cmocka_unit_test(other_routes_still_refuse_bodies_with_405),
        cmocka_unit_test(without_an_api_the_prefix_is_an_ordinary_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
