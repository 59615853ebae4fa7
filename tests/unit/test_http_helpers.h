/* Helpers for the HTTP unit tests that talk to a real server on
 * 127.0.0.1: a loop thread, a blocking client, a response reader.
 * Header-only, test code. */
#ifndef MIDWIFE_TESTS_TEST_HTTP_HELPERS_H
#define MIDWIFE_TESTS_TEST_HTTP_HELPERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "http/http_service.h"
#include "store/store.h"

struct server {
    struct conf *conf;
    struct event_base *base;
    struct store *store;
    struct http_service *svc;
    pthread_t thread;
    uint16_t port;
    bool running;
};

static inline uint16_t free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(s, (struct sockaddr *)&sa, &sl) < 0)
        abort();
    close(s);
    return ntohs(sa.sin_port);
}

static inline void *loop_thread(void *arg)
{
    struct server *s = arg;
    event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Starts the service; with run, its loop in a thread. */
static inline int server_start(struct server *s, struct conf *c, bool run)
{
    s->conf = c;
    s->port = c->http_port;
    s->base = event_base_new();
    if (!s->base || http_service_start(s->base, c, s->store, &s->svc) < 0)
        return -1;
    if (run) {
        if (pthread_create(&s->thread, NULL, loop_thread, s) != 0)
            abort();
        s->running = true;
    }
    return 0;
}

static inline void server_halt_loop(struct server *s)
{
    if (!s->running)
        return;
    event_base_loopbreak(s->base);
    pthread_join(s->thread, NULL);
    s->running = false;
}

static inline void server_stop(struct server *s)
{
    server_halt_loop(s);
    http_service_stop(s->svc);
    event_base_free(s->base);
    free(s->conf);
}

/* Runs fn(arg) on the loop thread and waits for it: the HTTP room is
 * single-threaded, so the test thread never calls it directly. */
struct loop_call {
    void (*fn)(void *);
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static inline void loop_call_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct loop_call *lc = arg;
    lc->fn(lc->arg);
    pthread_mutex_lock(&lc->mu);
    lc->done = true;
    pthread_cond_signal(&lc->cv);
    pthread_mutex_unlock(&lc->mu);
}

static inline void run_in_loop(struct server *s, void (*fn)(void *), void *arg)
{
    struct loop_call lc = {.fn = fn, .arg = arg, .mu = PTHREAD_MUTEX_INITIALIZER,
                           .cv = PTHREAD_COND_INITIALIZER};
    struct timeval zero = {0, 0};
    if (event_base_once(s->base, -1, EV_TIMEOUT, loop_call_cb, &lc, &zero) < 0)
        abort();
    pthread_mutex_lock(&lc.mu);
    while (!lc.done)
        pthread_cond_wait(&lc.cv, &lc.mu);
    pthread_mutex_unlock(&lc.mu);
}

static inline int dial(uint16_t port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0)
        abort();
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(s);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
}

static inline bool send_all(int s, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(s, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

struct response {
    int status;
    char head[4096];
    unsigned char *body;
    size_t body_len;
};

/* The value of a header field in r, or NULL (one static buffer). */
static inline const char *header(const struct response *r, const char *name)
{
    static char v[512];
    char key[64];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *p = strcasestr(r->head, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t n = strcspn(p, "\r");
    snprintf(v, sizeof v, "%.*s", (int)n, p);
    return v;
}

/* Reads exactly n bytes; false on EOF, error or timeout. */
static inline bool recv_exact(int s, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t k = recv(s, p, n, 0);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Reads one response head, then the body by Content-Length unless
 * no_body. -1 if the connection closed before a status line. */
static inline int read_response(int s, struct response *r, bool no_body)
{
    memset(r, 0, sizeof *r);
    size_t n = 0;
    while (n < sizeof r->head - 1) {
        ssize_t k = recv(s, r->head + n, 1, 0);
        if (k <= 0)
            return -1;
        n++;
        if (n >= 4 && memcmp(r->head + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    r->head[n] = '\0';
    if (sscanf(r->head, "HTTP/1.1 %d ", &r->status) != 1)
        return -1;
    const char *cl = header(r, "Content-Length");
    size_t len = cl && !no_body ? strtoul(cl, NULL, 10) : 0;
    r->body = malloc(len + 1);
    if (!r->body)
        abort();
    while (r->body_len < len) {
        ssize_t k = recv(s, r->body + r->body_len, len - r->body_len, 0);
        if (k <= 0)
            break;
        r->body_len += (size_t)k;
    }
    r->body[r->body_len] = '\0';
    return 0;
}

static inline void response_free(struct response *r)
{
    free(r->body);
    r->body = NULL;
}

/* True if the peer closes s within ms (EOF or reset), whatever it sends
 * before. */
static inline bool closed_within(int s, int ms)
{
    struct pollfd p = {.fd = s, .events = POLLIN};
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        char b[4096];
        ssize_t k = recv(s, b, sizeof b, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
    }
}

static inline double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#endif
