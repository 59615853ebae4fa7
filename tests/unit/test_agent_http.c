/* agent/http: the pure response parser (framing by Content-Length,
 * chunked and close; truncated, malformed and oversized answers) and the
 * client against a canned server on 127.0.0.1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "doc.h"
#include "http.h"
#include "test_agent_server.h"

static int parse(const char *text, bool eof, size_t max, struct http_parsed *p)
{
    return http_response_parse(text, strlen(text), eof, max, p);
}

static char *body_of(const char *text, const struct http_parsed *p)
{
    char *out = malloc(p->body_len + 1);
    assert_int_equal(http_body_copy(text, p, out), p->body_len);
    return out;
}

static void content_length_body(void **state)
{
    const char *r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    struct http_parsed p;
    assert_int_equal(parse(r, false, 100, &p), 0);
    assert_int_equal(p.status, 200);
    assert_int_equal(p.framing, HTTP_BODY_LENGTH);
    char *b = body_of(r, &p);
    assert_string_equal(b, "{\"a\":1}");
    free(b);
    assert_int_equal(p.end, strlen(r));
}

static void chunked_body_with_extension_and_trailer(void **state)
{
    const char *r = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n";
    struct http_parsed p;
    assert_int_equal(parse(r, false, 100, &p), 0);
    assert_int_equal(p.status, 201);
    assert_int_equal(p.framing, HTTP_BODY_CHUNKED);
    assert_int_equal(p.body_len, 23);
    char *b = body_of(r, &p);
    assert_string_equal(b, "Wikipedia in\r\n\r\nchunks.");
    free(b);
    assert_int_equal(p.end, strlen(r));
}

static void every_prefix_needs_more_and_the_whole_is_complete(void **state)
{
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    };
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(rs[k]);
        struct http_parsed p;
        for (size_t i = 0; i < n; i++) {
            int r = http_response_parse(rs[k], i, false, 100, &p);
            if (r != 1)
                fail_msg("response %zu prefix %zu: %d (%s)", k, i, r, p.error ? p.error : "");
            /* The same prefix at the end of the stream is a truncated answer. */
            assert_int_equal(http_response_parse(rs[k], i, true, 100, &p), -EPROTO);
        }
        assert_int_equal(http_response_parse(rs[k], n, false, 100, &p), 0);
        char *b = body_of(rs[k], &p);
        assert_string_equal(b, "hello");
        free(b);
    }
}

static void body_to_close(void **state)
{
    const char *r = "HTTP/1.0 404 Not Found\r\n\r\nno such thing";
    struct http_parsed p;
    assert_int_equal(parse(r, false, 100, &p), 1);
    assert_int_equal(parse(r, true, 100, &p), 0);
    assert_int_equal(p.status, 404);
    assert_int_equal(p.framing, HTTP_BODY_CLOSE);
    assert_int_equal(p.body_len, 13);
}

static void no_body_for_204_and_a_bare_status_line(void **state)
{
    struct http_parsed p;
    assert_int_equal(parse("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", false, 10, &p), 0);
    assert_int_equal(p.body_len, 0);
    assert_int_equal(parse("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", false, 10, &p), 0);
    assert_int_equal(p.status, 200);
}

static void transfer_encoding_wins_over_content_length(void **state)
{
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    struct http_parsed p;
    assert_int_equal(parse(r, false, 200, &p), 0);
    assert_int_equal(p.body_len, 1);
}

static void oversized_answers_are_refused(void **state)
{
    struct http_parsed p;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", false, 10, &p), -E2BIG);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n", false, 10, &p),
                     -E2BIG);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", false,
                           DOC_MAX_BYTES, &p),
                     -E2BIG);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\n\r\n0123456789x", false, 10, &p), -E2BIG);
    /* A head that never ends. */
    size_t n = HTTP_HEAD_MAX + 100;
    char *big = malloc(n + 1);
    int h = snprintf(big, n + 1, "HTTP/1.1 200 OK\r\nX: ");
    memset(big + h, 'a', n - (size_t)h);
    big[n] = '\0';
    assert_int_equal(http_response_parse(big, n, false, 10, &p), -E2BIG);
    free(big);
}

static void malformed_answers_are_refused(void **state)
{
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20x OK\r\n\r\n",
        "HTTP/1.1 099 Low\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\nab\r\n0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http_parsed p;
        int r = parse(bad[i], true, 100, &p);
        if (r != -EPROTO || !p.error)
            fail_msg("case %zu: %d", i, r);
    }
}

static void urls(void **state)
{
    struct http_url u;
    char err[128];
    assert_int_equal(http_url_parse("http://10.0.0.1:8080/api/v1/report?x=1", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "10.0.0.1");
    assert_string_equal(u.port, "8080");
    assert_string_equal(u.path, "/api/v1/report?x=1");
    assert_int_equal(http_url_parse("http://midwife.lab", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "midwife.lab");
    assert_string_equal(u.port, "80");
    assert_string_equal(u.path, "/");
    static const char *const bad[] = {"https://h/", "http://", "http://:80/", "http://h:0/", "http://h:65536/",
                                      "http://h:x/", "http://u@h/", "http://[::1]/", "http://h/a b", "http://h/\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (http_url_parse(bad[i], &u, err, sizeof err) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
}

/* ---- the client against a canned server ---- */

static char url[256];

static void post_sends_the_headers_and_body_and_reads_the_answer(void **state)
{
    static const char *const rs[] = {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                                     "chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n"};
    struct fake_server s;
    server_start(&s, rs, 1);
    snprintf(url, sizeof url, "%s/api/v1/birth", s.url);
    struct http_request req = {.method = "POST", .url = url, .token = "tok123", .content_type = "application/json",
                               .body = "{\"x\":2}", .body_len = 7};
    struct http_response resp;
    char err[256];
    assert_int_equal(http_request(&req, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "{\"a\":1}");
    http_response_free(&resp);
    char *seen = server_requests(&s);
    assert_non_null(strstr(seen, "POST /api/v1/birth HTTP/1.1\r\n"));
    assert_non_null(strstr(seen, "\r\nAuthorization: Bearer tok123\r\n"));
    assert_non_null(strstr(seen, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(seen, "\r\nContent-Length: 7\r\n"));
    assert_non_null(strstr(seen, "\r\nConnection: close\r\n"));
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%d\r\n", s.port);
    assert_non_null(strstr(seen, host));
    assert_non_null(strstr(seen, "\r\n\r\n{\"x\":2}"));
    free(seen);
    server_stop(&s);
}

static void an_error_status_is_an_answer(void **state)
{
    static const char *const rs[] = {"HTTP/1.1 401 Unauthorized\r\nContent-Length: 24\r\n\r\n{\"error\": \"token spent\"}"};
    struct fake_server s;
    server_start(&s, rs, 1);
    struct http_request req = {.method = "GET", .url = s.url};
    struct http_response resp;
    char err[256];
    assert_int_equal(http_request(&req, &resp, err, sizeof err), 0);
    assert_int_equal(resp.status, 401);
    assert_int_equal(resp.body_len, 24);
    http_response_free(&resp);
    char *seen = server_requests(&s);
    assert_null(strstr(seen, "Authorization"));
    assert_null(strstr(seen, "Content-Length")); /* a GET without a body */
    free(seen);
    server_stop(&s);
}

static void an_oversized_answer_fails(void **state)
{
    static const char *const rs[] = {"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n01234567890123456789012345678901234567890123456789"};
    struct fake_server s;
    server_start(&s, rs, 1);
    struct http_request req = {.method = "GET", .url = s.url, .max_body = 10};
    struct http_response resp;
    char err[256];
    assert_int_equal(http_request(&req, &resp, err, sizeof err), -E2BIG);
    assert_non_null(strstr(err, "cap"));
    server_stop(&s);
}

static void a_hangup_is_a_protocol_error(void **state)
{
    static const char *const rs[] = {SERVER_HANGUP};
    struct fake_server s;
    server_start(&s, rs, 1);
    struct http_request req = {.method = "GET", .url = s.url};
    struct http_response resp;
    char err[256];
    assert_int_equal(http_request(&req, &resp, err, sizeof err), -EPROTO);
    server_stop(&s);
}

static void a_silent_server_times_out(void **state)
{
    static const char *const rs[] = {SERVER_SILENT};
    struct fake_server s;
    server_start(&s, rs, 1);
    struct http_request req = {.method = "GET", .url = s.url, .io_timeout_ms = 300, .total_timeout_ms = 600};
    struct http_response resp;
    char err[256];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(http_request(&req, &resp, err, sizeof err), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    assert_true(ms >= 250 && ms < 2000);
    server_stop(&s);
}

static void nobody_listening_is_refused(void **state)
{
    /* A port that was just free. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    struct http_request req = {.method = "GET", .url = url, .io_timeout_ms = 1000};
    struct http_response resp;
    char err[256];
    assert_int_equal(http_request(&req, &resp, err, sizeof err), -ECONNREFUSED);
    assert_non_null(strstr(err, "cannot connect"));
}

static void header_injection_is_refused(void **state)
{
    struct http_request req = {.method = "GET", .url = "http://127.0.0.1:1/", .token = "a\r\nX-Evil: 1"};
    struct http_response resp;
    char err[256];
    assert_int_equal(http_request(&req, &resp, err, sizeof err), -EINVAL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(content_length_body),
        cmocka_unit_test(chunked_body_with_extension_and_trailer),
        cmocka_unit_test(every_prefix_needs_more_and_the_whole_is_complete),
        cmocka_unit_test(body_to_close),
        cmocka_unit_test(no_body_for_204_and_a_bare_status_line),
        cmocka_unit_test(transfer_encoding_wins_over_content_length),
        cmocka_unit_test(oversized_answers_are_refused),
        cmocka_unit_test(malformed_answers_are_refused),
        cmocka_unit_test(urls),
        cmocka_unit_test(post_sends_the_headers_and_body_and_reads_the_answer),
        cmocka_unit_test(an_error_status_is_an_answer),
        cmocka_unit_test(an_oversized_answer_fails),
        cmocka_unit_test(a_hangup_is_a_protocol_error),
        cmocka_unit_test(a_silent_server_times_out),
        cmocka_unit_test(nobody_listening_is_refused),
        cmocka_unit_test(header_injection_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
