/* agent/birth and agent/report: the retry schedule (a pure function),
 * the birth against a canned server (retry on 5xx and on no answer,
 * final on 4xx), and the reports' bodies and console lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "birth.h"
#include "report_http.h"
#include "test_agent_server.h"

static void the_schedule_doubles_to_30_then_waits_a_minute(void **state)
{
    static const struct {
        unsigned attempt, elapsed, total, want;
    } cases[] = {
        {1, 0, 300, 1},    {2, 1, 300, 2},     {3, 3, 300, 4},     {4, 7, 300, 8},     {5, 15, 300, 16},
        {6, 31, 300, 30},  {7, 61, 300, 30},   {40, 100, 300, 30}, {1000, 200, 300, 30},
        /* the fast phase ends on time */
        {12, 290, 300, 10}, {12, 299, 300, 1},
        /* then once a minute, for as long as it takes */
        {13, 300, 300, 60}, {14, 360, 300, 60}, {1, 0, 0, 60},     {2, 5, 5, 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned got = birth_retry_delay(cases[i].attempt, cases[i].elapsed, cases[i].total);
        if (got != cases[i].want)
            fail_msg("attempt %u at %u s of %u: %u, expected %u", cases[i].attempt, cases[i].elapsed, cases[i].total,
                     got, cases[i].want);
    }
}

/* A clock that moves only when the loop sleeps. */
struct fake_time {
    unsigned now;
    unsigned sleeps[16];
    size_t n;
};

static void fake_sleep(void *ctx, unsigned s)
{
    struct fake_time *t = ctx;
    if (t->n < 16)
        t->sleeps[t->n++] = s;
    t->now += s;
}

static unsigned fake_now(void *ctx)
{
    return ((struct fake_time *)ctx)->now;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static const char doc_answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"
                                 "{\"version\": 1, \"report_url\": \"http://h/r\", \"x\": 1}";

static void a_503_is_retried_and_the_document_returned(void **state)
{
    static const char *const rs[] = {"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", doc_answer};
    struct fake_server s;
    server_start(&s, rs, 2);
    struct fake_time t = {0};
    struct birth_env env = {.total_s = 300, .sleep_s = fake_sleep, .now_s = fake_now, .ctx = &t, .max_attempts = 5};
    json_t *facts = json_pack("{s:[s]}", "macs", "52:54:00:12:34:56");
    json_t *doc;
    char err[256];
    assert_int_equal(birth_run(s.url, "tok", facts, &env, &doc, err, sizeof err), BIRTH_OK);
    assert_int_equal(json_integer_value(json_object_get(doc, "x")), 1);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.sleeps[0], 1);
    char *seen = server_requests(&s);
    assert_int_equal(count(seen, "POST /api/v1/birth HTTP/1.1\r\n"), 2);
    assert_int_equal(count(seen, "Authorization: Bearer tok\r\n"), 2);
    assert_int_equal(count(seen, "{\"macs\":[\"52:54:00:12:34:56\"]}"), 2);
    free(seen);
    json_decref(doc);
    json_decref(facts);
    server_stop(&s);
}

static void a_401_is_final_with_the_servers_words(void **state)
{
    static const char *const rs[] = {
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 43\r\n\r\n{\"error\": \"birth refused: \\u001b replayed\"}",
        doc_answer,
    };
    struct fake_server s;
    server_start(&s, rs, 2);
    struct fake_time t = {0};
    struct birth_env env = {.total_s = 300, .sleep_s = fake_sleep, .now_s = fake_now, .ctx = &t, .max_attempts = 5};
    json_t *facts = json_object();
    json_t *doc = (json_t *)1;
    char err[256];
    assert_int_equal(birth_run(s.url, "tok", facts, &env, &doc, err, sizeof err), BIRTH_REFUSED);
    assert_null(doc);
    /* The server's text, with its control byte escaped. */
    assert_non_null(strstr(err, "(401): birth refused: \\x1b replayed"));
    assert_int_equal(t.n, 0);
    char *seen = server_requests(&s);
    assert_int_equal(count(seen, "POST /api/v1/birth"), 1);
    free(seen);
    json_decref(facts);
    server_stop(&s);
}

static void a_200_that_is_not_a_document_is_a_bad_answer(void **state)
{
    static const char *const rs[] = {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n[1,2]"};
    struct fake_server s;
    server_start(&s, rs, 1);
    struct fake_time t = {0};
    struct birth_env env = {.total_s = 300, .sleep_s = fake_sleep, .now_s = fake_now, .ctx = &t, .max_attempts = 2};
    json_t *facts = json_object(), *doc;
    char err[256];
    assert_int_equal(birth_run(s.url, "tok", facts, &env, &doc, err, sizeof err), BIRTH_BAD_ANSWER);
    assert_non_null(strstr(err, "not a JSON object"));
    json_decref(facts);
    server_stop(&s);
}

static void no_answer_backs_off_then_slows_to_a_minute(void **state)
{
    /* Hang-ups (no answer at all) three times, then the document. */
    static const char *const rs[] = {SERVER_HANGUP, SERVER_HANGUP, SERVER_HANGUP, SERVER_HANGUP, doc_answer};
    struct fake_server s;
    server_start(&s, rs, 5);
    struct fake_time t = {0};
    struct birth_env env = {.total_s = 3, .sleep_s = fake_sleep, .now_s = fake_now, .ctx = &t, .max_attempts = 9};
    json_t *facts = json_object(), *doc;
    char err[256];
    assert_int_equal(birth_run(s.url, "tok", facts, &env, &doc, err, sizeof err), BIRTH_OK);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.sleeps[0], 1);
    assert_int_equal(t.sleeps[1], 2);
    assert_int_equal(t.sleeps[2], 60);
    assert_int_equal(t.sleeps[3], 60);
    json_decref(doc);
    json_decref(facts);
    server_stop(&s);
}

static void giving_up_after_max_attempts(void **state)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    struct fake_time t = {0};
    struct birth_env env = {.total_s = 5, .sleep_s = fake_sleep, .now_s = fake_now, .ctx = &t, .max_attempts = 4};
    json_t *facts = json_object(), *doc;
    char err[256];
    assert_int_equal(birth_run(url, "tok", facts, &env, &doc, err, sizeof err), BIRTH_GAVE_UP);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.sleeps[0], 1);
    assert_int_equal(t.sleeps[1], 2);
    assert_int_equal(t.sleeps[2], 2); /* cut to the end of the 5 s */
    assert_non_null(strstr(err, "after 4 tries"));
    json_decref(facts);
}

/* ---- reports ---- */

static void step_names_and_bodies(void **state)
{
    assert_string_equal(step_status_name(STEP_RUNNING), "running");
    assert_string_equal(step_status_name(STEP_OK), "ok");
    assert_string_equal(step_status_name(STEP_SKIPPED), "skipped");
    assert_string_equal(step_status_name(STEP_FAILED), "failed");
    json_t *b = report_step_body("hostname", STEP_OK, NULL);
    char *t = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(t, "{\"status\":\"ok\",\"step\":\"hostname\"}");
    free(t);
    json_decref(b);
    /* A message is cut to 400 bytes, never inside a character. */
    char msg[1000];
    memset(msg, 'a', 399);
    strcpy(msg + 399, "\xc3\xa9tail");
    b = report_step_body("x", STEP_FAILED, msg);
    assert_int_equal(json_string_length(json_object_get(b, "message")), 399);
    json_decref(b);
}

static void the_http_reporter_posts_and_prints(void **state)
{
    static const char *const rs[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    };
    struct fake_server s;
    server_start(&s, rs, 3);
    char url[96], *out = NULL;
    size_t outlen = 0;
    snprintf(url, sizeof url, "%s/api/v1/report", s.url);
    FILE *console = open_memstream(&out, &outlen);
    struct http_reporter hr = {.url = url, .token = "tok", .console = console};
    struct reporter rep = http_reporter(&hr);
    assert_int_equal(report_step(&rep, "network.vlan:vlan42", STEP_OK, "%s", "unchanged"), 0);
    json_t *facts = json_pack("{s:s}", "hostname", "node-01");
    assert_int_equal(report_ready(&hr, facts), 0);
    assert_int_equal(report_failed(&hr, "document", "configuration document refused: x: y"), 0);
    json_decref(facts);
    fclose(console);
    assert_non_null(strstr(out, "midwife-agent: network.vlan:vlan42: ok: unchanged\n"));
    assert_non_null(strstr(out, "midwife-agent: document: failed: configuration document refused: x: y\n"));
    free(out);
    char *seen = server_requests(&s);
    assert_int_equal(count(seen, "POST /api/v1/report HTTP/1.1\r\n"), 3);
    assert_non_null(strstr(seen, "{\"step\":\"network.vlan:vlan42\",\"status\":\"ok\",\"message\":\"unchanged\"}"));
    assert_non_null(strstr(seen, "{\"ready\":true,\"facts\":{\"hostname\":\"node-01\"}}"));
    assert_non_null(strstr(seen, "{\"failed\":\"configuration document refused: x: y\",\"step\":\"document\"}"));
    free(seen);
    server_stop(&s);
}

static void a_refused_report_is_not_retried(void **state)
{
    static const char *const rs[] = {
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 19\r\n\r\n{\"error\": \"no way\"}",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    };
    struct fake_server s;
    server_start(&s, rs, 2);
    char *out = NULL;
    size_t outlen = 0;
    FILE *console = open_memstream(&out, &outlen);
    struct http_reporter hr = {.url = s.url, .token = "tok", .console = console};
    assert_int_equal(report_ready(&hr, NULL), -1);
    fclose(console);
    assert_non_null(strstr(out, "midwife answered 401: no way"));
    free(out);
    char *seen = server_requests(&s);
    assert_int_equal(count(seen, "POST /"), 1);
    free(seen);
    server_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_schedule_doubles_to_30_then_waits_a_minute),
        cmocka_unit_test(a_503_is_retried_and_the_document_returned),
        cmocka_unit_test(a_401_is_final_with_the_servers_words),
        cmocka_unit_test(a_200_that_is_not_a_document_is_a_bad_answer),
        cmocka_unit_test(no_answer_backs_off_then_slows_to_a_minute),
        cmocka_unit_test(giving_up_after_max_attempts),
        cmocka_unit_test(step_names_and_bodies),
        cmocka_unit_test(the_http_reporter_posts_and_prints),
        cmocka_unit_test(a_refused_report_is_not_retried),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
