/* The HTTP service over real sockets on 127.0.0.1: the loop runs in a
 * thread, the test is a plain blocking client that writes requests byte
 * for byte and checks status lines, headers and bodies. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conf/conf.h"
#include "http/http_service.h"
#include "images/blobs.h"
#include "store/store.h"
#include "util/log.h"

#define FILE_SIZE 100000

static char tmp[64], root[128], outside[128], state[128];
static unsigned char content[FILE_SIZE];

struct server {
    struct conf *conf;
    struct event_base *base;
    struct store *store;
    struct http_service *svc;
    pthread_t thread;
    uint16_t port;
};

static struct server main_srv;

/* ---- fixtures ---- */

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}

static uint16_t free_port(void)
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

static struct conf *test_conf(void)
{
    struct conf *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    snprintf(c->state_dir, sizeof c->state_dir, "%s", state);
    snprintf(c->tftp_root, sizeof c->tftp_root, "%s", root);
    c->http_enabled = true;
    c->http_address = 0x7f000001;
    c->http_port = free_port();
    c->http_max_header_bytes = 2048;
    c->http_max_body_bytes = 1024;
    c->http_idle_timeout = 1;
    c->http_max_connections = 64;
    return c;
}

static void *loop_thread(void *arg)
{
    struct server *s = arg;
    event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void server_run(struct server *s)
{
    if (pthread_create(&s->thread, NULL, loop_thread, s) != 0)
        abort();
}

static void server_start(struct server *s, struct conf *c, bool run)
{
    s->conf = c;
    s->port = c->http_port;
    s->base = event_base_new();
    assert_non_null(s->base);
    assert_int_equal(http_service_start(s->base, c, s->store, &s->svc), 0);
    if (run)
        server_run(s);
}

static void server_stop(struct server *s)
{
    event_base_loopbreak(s->base);
    pthread_join(s->thread, NULL);
    http_service_stop(s->svc);
    event_base_free(s->base);
    free(s->conf);
}

static int setup(void **st)
{
    (void)st;
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    snprintf(tmp, sizeof tmp, "/tmp/mw-http-test.XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    snprintf(root, sizeof root, "%s/root", tmp);
    snprintf(outside, sizeof outside, "%s/outside", tmp);
    snprintf(state, sizeof state, "%s/state", tmp);
    mkdir(root, 0755);
    mkdir(outside, 0755);
    mkdir(state, 0755);
    for (size_t i = 0; i < FILE_SIZE; i++)
        content[i] = (unsigned char)(i * 7 + i / 251);
    write_file(root, "ipxe.efi", content, FILE_SIZE);
    write_file(root, "empty", "", 0);
    write_file(outside, "secret", "s3cret", 6);
    char p[256], t[256];
    snprintf(p, sizeof p, "%s/escape", root);
    snprintf(t, sizeof t, "%s/secret", outside);
    if (symlink(t, p) < 0)
        return -1;
    char err[256];
    if (store_open(state, STORE_SYNC_NORMAL, &main_srv.store, err, sizeof err) < 0) {
        fprintf(stderr, "store: %s\n", err);
        return -1;
    }
    server_start(&main_srv, test_conf(), true);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    server_stop(&main_srv);
    store_close(main_srv.store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- a small client ---- */

static int dial(uint16_t port)
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

static void send_all(int s, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(s, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            fail_msg("send: %s", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
}

struct response {
    int status;
    char head[4096];
    unsigned char *body;
    size_t body_len;
    bool closed; /* the server closed after the response */
};

static const char *header(const struct response *r, const char *name)
{
    static char v[256];
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

/* Reads one response; the body by Content-Length unless no_body (HEAD,
 * 304). Returns -1 if the connection closed before a status line. */
static int read_response(int s, struct response *r, bool no_body)
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
    size_t len = cl && !no_body && r->status != 304 ? strtoul(cl, NULL, 10) : 0;
    r->body = malloc(len + 1);
    while (r->body_len < len) {
        ssize_t k = recv(s, r->body + r->body_len, len - r->body_len, 0);
        if (k <= 0)
            break;
        r->body_len += (size_t)k;
    }
    r->body[r->body_len] = '\0';
    return 0;
}

static void response_free(struct response *r) { free(r->body); }

/* One request on a fresh connection. */
static struct response request(const char *req)
{
    struct response r;
    int s = dial(main_srv.port);
    assert_true(s >= 0);
    send_all(s, req, strlen(req));
    if (read_response(s, &r, strncmp(req, "HEAD ", 5) == 0) < 0)
        fail_msg("no response to %s", req);
    close(s);
    return r;
}

/* True if the server closes s within ms (EOF or reset, no more data). */
static bool closed_within(int s, int ms)
{
    struct pollfd p = {.fd = s, .events = POLLIN};
    for (;;) {
        if (poll(&p, 1, ms) <= 0)
            return false;
        char b[512];
        ssize_t k = recv(s, b, sizeof b, MSG_DONTWAIT);
        if (k <= 0)
            return true;
    }
}

#define GET(path, extra) "GET " path " HTTP/1.1\r\nHost: t\r\n" extra "\r\n"

/* ---- tests ---- */

static void get_boot_program_whole(void **st)
{
    (void)st;
    struct response r = request(GET("/boot/program/ipxe.efi", ""));
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Length"), "100000");
    assert_string_equal(header(&r, "Accept-Ranges"), "bytes");
    assert_non_null(header(&r, "ETag"));
    assert_non_null(header(&r, "Last-Modified"));
    assert_non_null(header(&r, "Date"));
    assert_int_equal(r.body_len, FILE_SIZE);
    assert_memory_equal(r.body, content, FILE_SIZE);
    response_free(&r);
}

static void head_has_length_and_no_body(void **st)
{
    (void)st;
    int s = dial(main_srv.port);
    struct response r;
    const char *req = "HEAD /boot/program/ipxe.efi HTTP/1.1\r\nHost: t\r\n\r\n" GET("/healthz", "");
    send_all(s, req, strlen(req));
    assert_int_equal(read_response(s, &r, true), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Length"), "100000");
    response_free(&r);
    /* a body after HEAD would show up here instead of the next status line */
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body, "ok\n");
    response_free(&r);
    close(s);
}

static void range_gives_206_with_content_range(void **st)
{
    (void)st;
    struct response r = request(GET("/boot/program/ipxe.efi", "Range: bytes=1000-1999\r\n"));
    assert_int_equal(r.status, 206);
    assert_string_equal(header(&r, "Content-Range"), "bytes 1000-1999/100000");
    assert_string_equal(header(&r, "Content-Length"), "1000");
    assert_int_equal(r.body_len, 1000);
    assert_memory_equal(r.body, content + 1000, 1000);
    response_free(&r);

    r = request(GET("/boot/program/ipxe.efi", "Range: bytes=-10\r\n"));
    assert_int_equal(r.status, 206);
    assert_string_equal(header(&r, "Content-Range"), "bytes 99990-99999/100000");
    assert_memory_equal(r.body, content + 99990, 10);
    response_free(&r);
}

static void unsatisfiable_range_gives_416(void **st)
{
    (void)st;
    struct response r = request(GET("/boot/program/ipxe.efi", "Range: bytes=100000-\r\n"));
    assert_int_equal(r.status, 416);
    assert_string_equal(header(&r, "Content-Range"), "bytes */100000");
    assert_int_equal(r.body_len, 0);
    response_free(&r);
}

static void multi_range_and_stale_if_range_send_everything(void **st)
{
    (void)st;
    struct response r = request(GET("/boot/program/ipxe.efi", "Range: bytes=0-1,5-6\r\n"));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, FILE_SIZE);
    response_free(&r);
    r = request(GET("/boot/program/ipxe.efi", "Range: bytes=0-1\r\nIf-Range: \"other\"\r\n"));
    assert_int_equal(r.status, 200);
    response_free(&r);
}

static void validators_give_304(void **st)
{
    (void)st;
    struct response r = request(GET("/boot/program/ipxe.efi", ""));
    char etag[256], lm[256], req[1024];
    snprintf(etag, sizeof etag, "%s", header(&r, "ETag"));
    snprintf(lm, sizeof lm, "%s", header(&r, "Last-Modified"));
    response_free(&r);

    snprintf(req, sizeof req, GET("/boot/program/ipxe.efi", "If-None-Match: \"x\", %s\r\n"), etag);
    r = request(req);
    assert_int_equal(r.status, 304);
    assert_string_equal(header(&r, "ETag"), etag);
    response_free(&r);

    snprintf(req, sizeof req, GET("/boot/program/ipxe.efi", "If-Modified-Since: %s\r\n"), lm);
    r = request(req);
    assert_int_equal(r.status, 304);
    response_free(&r);

    r = request(GET("/boot/program/ipxe.efi", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
    assert_int_equal(r.status, 200);
    response_free(&r);
}

static void unknown_paths_give_404(void **st)
{
    (void)st;
    const char *reqs[] = {
        GET("/", ""), GET("/nope", ""), GET("/boot/program/missing.efi", ""),
        GET("/boot/file/abc/x", ""),
        GET("/boot/file/0000000000000000000000000000000000000000000000000000000000000000/vmlinuz", ""),
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        struct response r = request(reqs[i]);
        if (r.status != 404)
            fail_msg("%s: %d", reqs[i], r.status);
        response_free(&r);
    }
}

static void traversal_is_refused(void **st)
{
    (void)st;
    struct {
        const char *req;
        int status;
    } cases[] = {
        {GET("/boot/program/../../etc/passwd", ""), 400},
        {GET("/boot/program/%2e%2e/%2e%2e/etc/passwd", ""), 400},
        {GET("/boot/program/..%2f..%2fetc%2fpasswd", ""), 400},
        {GET("/boot/program/ipxe.efi%00.png", ""), 400},
        {GET("/boot/program/escape", ""), 403}, /* a symlink out of the root */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct response r = request(cases[i].req);
        if (r.status != cases[i].status)
            fail_msg("%s: %d, want %d", cases[i].req, r.status, cases[i].status);
        assert_null(strstr((char *)r.body, "s3cret"));
        response_free(&r);
    }
}

static void keep_alive_serves_two_requests_on_one_connection(void **st)
{
    (void)st;
    int s = dial(main_srv.port);
    struct response r;
    const char *a = GET("/boot/program/ipxe.efi", "Range: bytes=0-9\r\n");
    send_all(s, a, strlen(a));
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 206);
    assert_null(header(&r, "Connection"));
    response_free(&r);
    const char *b = GET("/healthz", "");
    send_all(s, b, strlen(b));
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    /* pipelined: both answered, in order */
    const char *c = GET("/nope", "") GET("/healthz", "Connection: close\r\n");
    send_all(s, c, strlen(c));
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 404);
    response_free(&r);
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Connection"), "close");
    response_free(&r);
    assert_true(closed_within(s, 2000));
    close(s);
}

static void request_body_is_skipped(void **st)
{
    (void)st;
    int s = dial(main_srv.port);
    struct response r;
    const char *a = GET("/healthz", "Content-Length: 5\r\n") "HELLO" GET("/healthz", "");
    send_all(s, a, strlen(a));
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    close(s);
    r = request(GET("/healthz", "Content-Length: 4096\r\n"));
    assert_int_equal(r.status, 413);
    response_free(&r);
}

static void oversized_head_gives_431(void **st)
{
    (void)st;
    char big[4096];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: %03000d\r\n\r\n", 0);
    struct response r = request(big);
    assert_int_equal(r.status, 431);
    assert_string_equal(header(&r, "Connection"), "close");
    response_free(&r);

    char many[4096];
    size_t n = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "X%d: y\r\n", i);
    snprintf(many + n, sizeof many - n, "\r\n");
    r = request(many);
    assert_int_equal(r.status, 431);
    response_free(&r);
}

static void malformed_requests_give_400_and_close(void **st)
{
    (void)st;
    int s = dial(main_srv.port);
    const char *bad = "GET / HTTP/1.1\r\nHost : t\r\n\r\n" GET("/healthz", "");
    send_all(s, bad, strlen(bad));
    struct response r;
    assert_int_equal(read_response(s, &r, false), 0);
    assert_int_equal(r.status, 400);
    response_free(&r);
    assert_true(closed_within(s, 3000));
    close(s);
    r = request("GET / HTTP/2.0\r\nHost: t\r\n\r\n");
    assert_int_equal(r.status, 505);
    response_free(&r);
}

static void other_methods_give_405_with_allow(void **st)
{
    (void)st;
    struct response r = request("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi");
    assert_int_equal(r.status, 405);
    assert_string_equal(header(&r, "Allow"), "GET, HEAD");
    response_free(&r);
}

static void healthz_says_ok(void **st)
{
    (void)st;
    struct response r = request(GET("/healthz", ""));
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body, "ok\n");
    response_free(&r);
    r = request("GET /healthz HTTP/1.0\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Connection"), "close");
    response_free(&r);
}

static void metrics_lists_http_counters(void **st)
{
    (void)st;
    struct response r = request(GET("/healthz", ""));
    response_free(&r);
    r = request(GET("/metrics", ""));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(header(&r, "Content-Type"), "text/plain"));
    const char *want[] = {
        "# TYPE midwife_http_requests_total counter",
        "midwife_http_requests_total{route=\"healthz\"} ",
        "midwife_http_responses_total{class=\"2xx\"} ",
        "midwife_http_sent_bytes_total ",
        "midwife_http_errors_total{reason=\"header_too_large\"} ",
        "# TYPE midwife_http_connections gauge",
        "midwife_http_connections 1\n", /* this one */
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr((char *)r.body, want[i]))
            fail_msg("missing '%s' in:\n%s", want[i], r.body);
    assert_null(strstr((char *)r.body, "midwife_http_requests_total{route=\"healthz\"} 0\n"));
    response_free(&r);
}

static void ipxe_needs_a_good_mac(void **st)
{
    (void)st;
    const char *reqs[] = {GET("/boot/ipxe", ""), GET("/boot/ipxe?mac=zz:bb:cc:dd:ee:ff", ""),
                          GET("/boot/ipxe?mac=aa:bb:cc:dd:ee", ""),
                          GET("/boot/ipxe?mac=aa:bb:cc:dd:ee:ff%0a", "")};
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        struct response r = request(reqs[i]);
        if (r.status != 400)
            fail_msg("%s: %d", reqs[i], r.status);
        response_free(&r);
    }
}

static void ipxe_renders_a_script_for_any_mac(void **st)
{
    (void)st;
    /* An unknown host with no default build gets a script that exits. */
    struct response r = request(GET("/boot/ipxe?mac=aa-bb-cc-dd-ee-ff", ""));
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body, "#!ipxe", 6);
    assert_string_equal(header(&r, "Cache-Control"), "no-store");
    response_free(&r);
}

static void blobs_are_served_with_their_hash_as_etag(void **st)
{
    (void)st;
    char path[256], sha[SHA256_HEX_LEN + 1];
    snprintf(path, sizeof path, "%s/ipxe.efi", root);
    int fd = open(path, O_RDONLY);
    uint64_t size;
    assert_int_equal(blob_import_fd(state, main_srv.store, fd, sha, &size), 0);
    close(fd);
    char req[512], etag[80];
    snprintf(req, sizeof req, GET("/boot/file/%s/ipxe.efi", "Range: bytes=10-19\r\n"), sha);
    struct response r = request(req);
    assert_int_equal(r.status, 206);
    snprintf(etag, sizeof etag, "\"%s\"", sha);
    assert_string_equal(header(&r, "ETag"), etag);
    assert_memory_equal(r.body, content + 10, 10);
    response_free(&r);
    snprintf(req, sizeof req, GET("/boot/file/%s/ipxe.efi", "If-None-Match: %s\r\n"), sha, etag);
    r = request(req);
    assert_int_equal(r.status, 304);
    response_free(&r);
    snprintf(req, sizeof req, GET("/boot/file/%s/..", ""), sha);
    r = request(req);
    assert_int_equal(r.status, 400);
    response_free(&r);
}

static void slow_and_idle_clients_are_dropped(void **st)
{
    (void)st;
    /* idle_timeout is 1 s. A client that never sends... */
    int a = dial(main_srv.port);
    /* ...and one that trickles a header byte every 200 ms, forever. */
    int b = dial(main_srv.port);
    const char *slow = "GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool b_closed = false;
    for (size_t i = 0; slow[i] && !b_closed; i++) {
        if (send(b, slow + i, 1, MSG_NOSIGNAL) != 1)
            b_closed = true;
        else
            b_closed = closed_within(b, 200);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(b_closed);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(secs < 2.5);
    assert_true(closed_within(a, 1000));
    close(a);
    close(b);
}

static void a_reader_that_stops_reading_is_dropped(void **st)
{
    (void)st;
    /* Ask for a big body with a tiny receive window and never read. */
    char big[256];
    snprintf(big, sizeof big, "%s/big", root);
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 64 << 20), 0);
    close(fd);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(main_srv.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof sa), 0);
    const char *req = GET("/boot/program/big", "");
    send_all(s, req, strlen(req));
    sleep(3); /* > idle_timeout with no progress */
    /* The server gave up: draining now ends in EOF/reset well before 64 MiB. */
    size_t total = 0;
    char buf[65536];
    for (;;) {
        ssize_t k = recv(s, buf, sizeof buf, 0);
        if (k <= 0)
            break;
        total += (size_t)k;
    }
    assert_true(total < (64u << 20));
    close(s);
    unlink(big);
}

static void connections_beyond_the_cap_get_503(void **st)
{
    (void)st;
    struct server s = {.store = main_srv.store};
    struct conf *c = test_conf();
    c->http_max_connections = 2;
    server_start(&s, c, true);
    int a = dial(s.port), b = dial(s.port);
    struct response r;
    /* make sure both are accepted before the third arrives */
    send_all(a, GET("/healthz", ""), strlen(GET("/healthz", "")));
    assert_int_equal(read_response(a, &r, false), 0);
    response_free(&r);
    send_all(b, GET("/healthz", ""), strlen(GET("/healthz", "")));
    assert_int_equal(read_response(b, &r, false), 0);
    response_free(&r);
    int x = dial(s.port);
    assert_int_equal(read_response(x, &r, true), 0);
    assert_int_equal(r.status, 503);
    response_free(&r);
    close(x);
    close(a);
    /* a slot frees up */
    usleep(200 * 1000);
    x = dial(s.port);
    send_all(x, GET("/healthz", ""), strlen(GET("/healthz", "")));
    assert_int_equal(read_response(x, &r, false), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    close(x);
    close(b);
    server_stop(&s);
}

static void reload_rebinds_or_keeps_the_old_listener(void **st)
{
    (void)st;
    struct server s = {.store = main_srv.store};
    struct conf *c = test_conf();
    server_start(&s, c, false);
    uint16_t old = c->http_port;

    /* a port someone else holds: refused, the old listener stays */
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(holder, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(holder, 1), 0);
    getsockname(holder, (struct sockaddr *)&sa, &sl);
    struct conf *busy = test_conf();
    busy->http_port = ntohs(sa.sin_port);
    assert_int_equal(http_service_reload(s.svc, busy), -EADDRINUSE);
    free(busy);
    close(holder);

    struct conf *next = test_conf();
    assert_int_equal(http_service_reload(s.svc, next), 0);
    free(c);
    s.conf = next;
    s.port = next->http_port;
    server_run(&s);
    int fd = dial(old);
    assert_int_equal(fd, -1);
    fd = dial(s.port);
    assert_true(fd >= 0);
    struct response r;
    send_all(fd, GET("/healthz", ""), strlen(GET("/healthz", "")));
    assert_int_equal(read_response(fd, &r, false), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    close(fd);
    server_stop(&s);
}

static void start_names_the_address_it_cannot_bind(void **st)
{
    (void)st;
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(holder, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(holder, 1), 0);
    getsockname(holder, (struct sockaddr *)&sa, &sl);
    struct conf *c = test_conf();
    c->http_port = ntohs(sa.sin_port);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, f);
    struct event_base *base = event_base_new();
    struct http_service *svc = NULL;
    assert_int_equal(http_service_start(base, c, NULL, &svc), -EADDRINUSE);
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%u", c->http_port);
    assert_non_null(strstr(text, want));
    free(text);
    event_base_free(base);
    free(c);
    close(holder);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_boot_program_whole),
        cmocka_unit_test(head_has_length_and_no_body),
        cmocka_unit_test(range_gives_206_with_content_range),
        cmocka_unit_test(unsatisfiable_range_gives_416),
        cmocka_unit_test(multi_range_and_stale_if_range_send_everything),
        cmocka_unit_test(validators_give_304),
        cmocka_unit_test(unknown_paths_give_404),
        cmocka_unit_test(traversal_is_refused),
        cmocka_unit_test(keep_alive_serves_two_requests_on_one_connection),
        cmocka_unit_test(request_body_is_skipped),
        cmocka_unit_test(oversized_head_gives_431),
        cmocka_unit_test(malformed_requests_give_400_and_close),
        cmocka_unit_test(other_methods_give_405_with_allow),
        cmocka_unit_test(healthz_says_ok),
        cmocka_unit_test(metrics_lists_http_counters),
        cmocka_unit_test(ipxe_needs_a_good_mac),
        cmocka_unit_test(ipxe_renders_a_script_for_any_mac),
        cmocka_unit_test(blobs_are_served_with_their_hash_as_etag),
        cmocka_unit_test(slow_and_idle_clients_are_dropped),
        cmocka_unit_test(a_reader_that_stops_reading_is_dropped),
        cmocka_unit_test(connections_beyond_the_cap_get_503),
        cmocka_unit_test(reload_rebinds_or_keeps_the_old_listener),
        cmocka_unit_test(start_names_the_address_it_cannot_bind),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
