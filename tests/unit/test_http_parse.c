/* The pure parts of the HTTP room, as tables: Range values against a file
 * size, request paths and queries, request heads, dates and entity tags. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http/http_cond.h"
#include "http/http_path.h"
#include "http/http_range.h"
#include "http/http_request.h"

/* ---- Range ---- */

struct range_case {
    const char *name, *value;
    uint64_t size;
    enum http_range_result want;
    uint64_t first, last;
};

static const struct range_case range_cases[] = {
    {"closed_range", "bytes=0-9", 100, HTTP_RANGE_OK, 0, 9},
    {"closed_range_middle", "bytes=10-19", 100, HTTP_RANGE_OK, 10, 19},
    {"single_byte", "bytes=5-5", 100, HTTP_RANGE_OK, 5, 5},
    {"open_ended", "bytes=90-", 100, HTTP_RANGE_OK, 90, 99},
    {"open_ended_from_zero", "bytes=0-", 100, HTTP_RANGE_OK, 0, 99},
    {"suffix", "bytes=-10", 100, HTTP_RANGE_OK, 90, 99},
    {"suffix_longer_than_file_is_whole_file", "bytes=-500", 100, HTTP_RANGE_OK, 0, 99},
    {"last_beyond_end_is_clamped", "bytes=50-1000", 100, HTTP_RANGE_OK, 50, 99},
    {"last_byte", "bytes=99-99", 100, HTTP_RANGE_OK, 99, 99},
    {"unit_is_case_insensitive", "Bytes=1-2", 100, HTTP_RANGE_OK, 1, 2},
    {"whitespace_around_is_tolerated", "  bytes=1-2 \t", 100, HTTP_RANGE_OK, 1, 2},
    {"empty_list_elements_are_tolerated", "bytes=, 1-2 ,", 100, HTTP_RANGE_OK, 1, 2},
    {"first_at_size_is_unsatisfiable", "bytes=100-", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"first_beyond_end_is_unsatisfiable", "bytes=200-300", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"zero_suffix_is_unsatisfiable", "bytes=-0", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"any_first_on_empty_file_is_unsatisfiable", "bytes=0-0", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"suffix_on_empty_file_sends_it_whole", "bytes=-5", 0, HTTP_RANGE_NONE, 0, 0},
    {"overflowing_first_is_unsatisfiable", "bytes=99999999999999999999999999-", 100,
     HTTP_RANGE_UNSATISFIABLE, 0, 0},
    {"overflowing_last_is_clamped", "bytes=5-99999999999999999999999999999", 100, HTTP_RANGE_OK, 5, 99},
    {"overflowing_suffix_is_whole_file", "bytes=-184467440737095516160", 100, HTTP_RANGE_OK, 0, 99},
    {"max_u64_last", "bytes=0-18446744073709551615", UINT64_MAX, HTTP_RANGE_OK, 0, UINT64_MAX - 1},
    {"multi_range_is_ignored", "bytes=0-1,5-6", 100, HTTP_RANGE_MULTI, 0, 0},
    {"multi_range_even_when_one_is_bad_is_ignored", "bytes=0-1,x", 100, HTTP_RANGE_NONE, 0, 0},
    {"last_before_first_is_invalid", "bytes=10-5", 100, HTTP_RANGE_NONE, 0, 0},
    {"dash_alone_is_invalid", "bytes=-", 100, HTTP_RANGE_NONE, 0, 0},
    {"no_dash_is_invalid", "bytes=5", 100, HTTP_RANGE_NONE, 0, 0},
    {"other_unit_is_ignored", "items=0-5", 100, HTTP_RANGE_NONE, 0, 0},
    {"missing_equals_is_invalid", "bytes 0-5", 100, HTTP_RANGE_NONE, 0, 0},
    {"negative_is_invalid", "bytes=-5-10", 100, HTTP_RANGE_NONE, 0, 0},
    {"garbage_after_number_is_invalid", "bytes=0-5x", 100, HTTP_RANGE_NONE, 0, 0},
    {"inner_whitespace_is_invalid", "bytes=0 -5", 100, HTTP_RANGE_NONE, 0, 0},
    {"plus_sign_is_invalid", "bytes=+1-5", 100, HTTP_RANGE_NONE, 0, 0},
    {"empty_set_is_invalid", "bytes=", 100, HTTP_RANGE_NONE, 0, 0},
    {"empty_value_is_invalid", "", 100, HTTP_RANGE_NONE, 0, 0},
};

static void range_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof range_cases / sizeof range_cases[0]; i++) {
        const struct range_case *t = &range_cases[i];
        struct http_range r = {12345, 12345};
        enum http_range_result got = http_range_parse(t->value, strlen(t->value), t->size, &r);
        if (got != t->want)
            fail_msg("%s: got %d, want %d", t->name, got, t->want);
        if (got == HTTP_RANGE_OK && (r.first != t->first || r.last != t->last))
            fail_msg("%s: got %llu-%llu, want %llu-%llu", t->name, (unsigned long long)r.first,
                     (unsigned long long)r.last, (unsigned long long)t->first,
                     (unsigned long long)t->last);
    }
}

static void range_reads_nothing_past_len(void **state)
{
    (void)state;
    /* "bytes=0-9" cut to "bytes=0-" must be the open-ended range. */
    struct http_range r;
    assert_int_equal(http_range_parse("bytes=0-9", 8, 100, &r), HTTP_RANGE_OK);
    assert_int_equal(r.last, 99);
}

/* ---- paths ---- */

struct path_case {
    const char *name, *raw, *want; /* want NULL: refused with why */
    const char *why;
};

static const struct path_case path_cases[] = {
    {"root", "/", "/", NULL},
    {"plain", "/boot/program/ipxe.efi", "/boot/program/ipxe.efi", NULL},
    {"escapes_decode", "/boot/program/a%20b%2Dc", "/boot/program/a b-c", NULL},
    {"lowercase_escapes_decode", "/x%2e%2eefi", "/x..efi", NULL},
    {"dots_inside_a_name_are_fine", "/a/..b/c..", "/a/..b/c..", NULL},
    {"high_bytes_decode", "/a%c3%a9", "/a\xc3\xa9", NULL},
    {"dotdot_segment_is_refused", "/boot/../etc/passwd", NULL, "dotdot"},
    {"trailing_dotdot_is_refused", "/boot/..", NULL, "dotdot"},
    {"encoded_dotdot_is_refused", "/boot/%2e%2e/x", NULL, "dotdot"},
    {"mixed_encoded_dotdot_is_refused", "/boot/.%2E/x", NULL, "dotdot"},
    {"dot_segment_is_refused", "/boot/./x", NULL, "dot_segment"},
    {"encoded_slash_is_refused", "/boot/program/..%2fetc", NULL, "encoded_slash"},
    {"encoded_slash_upper_is_refused", "/a%2Fb", NULL, "encoded_slash"},
    {"encoded_nul_is_refused", "/a%00b", NULL, "nul"},
    {"encoded_control_is_refused", "/a%0ab", NULL, "control_byte"},
    {"encoded_del_is_refused", "/a%7f", NULL, "control_byte"},
    {"backslash_is_refused", "/a\\..\\b", NULL, "backslash"},
    {"encoded_backslash_is_refused", "/a%5cb", NULL, "backslash"},
    {"empty_segment_is_refused", "/boot//program", NULL, "empty_segment"},
    {"trailing_slash_is_refused", "/boot/program/", NULL, "empty_segment"},
    {"short_escape_is_refused", "/a%2", NULL, "bad_escape"},
    {"bad_hex_escape_is_refused", "/a%g0", NULL, "bad_escape"},
    {"lone_percent_is_refused", "/a%", NULL, "bad_escape"},
    {"relative_is_refused", "boot/x", NULL, "not_absolute"},
    {"empty_is_refused", "", NULL, "not_absolute"},
};

static void path_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *t = &path_cases[i];
        char out[256];
        const char *why = "unset";
        int rc = http_path_decode(t->raw, strlen(t->raw), out, sizeof out, &why);
        if (t->want) {
            if (rc != 0)
                fail_msg("%s: refused (%s)", t->name, why);
            if (strcmp(out, t->want) != 0)
                fail_msg("%s: got '%s', want '%s'", t->name, out, t->want);
        } else {
            if (rc != -EINVAL)
                fail_msg("%s: accepted as '%s'", t->name, out);
            if (strcmp(why, t->why) != 0)
                fail_msg("%s: refused for %s, want %s", t->name, why, t->why);
        }
    }
}

static void path_output_is_bounded(void **state)
{
    (void)state;
    char out[8];
    const char *why;
    assert_int_equal(http_path_decode("/abcdefgh", 9, out, sizeof out, &why), -EINVAL);
    assert_string_equal(why, "too_long");
    assert_int_equal(http_path_decode("/abcdef", 7, out, sizeof out, &why), 0);
    assert_string_equal(out, "/abcdef");
}

static void target_split_forms(void **state)
{
    (void)state;
    const char *p, *q;
    size_t pl, ql;
    const char *t = "/boot/ipxe?mac=aa:bb";
    assert_int_equal(http_target_split(t, strlen(t), &p, &pl, &q, &ql), 0);
    assert_int_equal(pl, 10);
    assert_memory_equal(q, "mac=aa:bb", 9);
    assert_int_equal(ql, 9);
    t = "http://192.0.2.1:8080/healthz";
    assert_int_equal(http_target_split(t, strlen(t), &p, &pl, &q, &ql), 0);
    assert_int_equal(pl, 8);
    assert_memory_equal(p, "/healthz", 8);
    assert_int_equal(ql, 0);
    t = "*";
    assert_int_equal(http_target_split(t, 1, &p, &pl, &q, &ql), -EINVAL);
    t = "http://host";
    assert_int_equal(http_target_split(t, strlen(t), &p, &pl, &q, &ql), -EINVAL);
    t = "/a#frag";
    assert_int_equal(http_target_split(t, strlen(t), &p, &pl, &q, &ql), -EINVAL);
}

static void query_lookup(void **state)
{
    (void)state;
    char v[32];
    const char *q = "x=1&mac=aa%3Abb%3acc&macro=no";
    assert_int_equal(http_query_get(q, strlen(q), "mac", v, sizeof v), 0);
    assert_string_equal(v, "aa:bb:cc");
    assert_int_equal(http_query_get(q, strlen(q), "x", v, sizeof v), 0);
    assert_string_equal(v, "1");
    assert_int_equal(http_query_get(q, strlen(q), "ma", v, sizeof v), -ENOENT);
    assert_int_equal(http_query_get("mac=a%00", 8, "mac", v, sizeof v), -EINVAL);
    assert_int_equal(http_query_get("mac=a%zz", 8, "mac", v, sizeof v), -EINVAL);
    assert_int_equal(http_query_get("mac=aaaaaaaa", 12, "mac", v, 4), -EINVAL);
    assert_int_equal(http_query_get("mac=", 4, "mac", v, sizeof v), 0);
    assert_string_equal(v, "");
}

/* ---- request heads ---- */

static enum http_parse_result parse(const char *s, struct http_request *r)
{
    return http_request_parse(s, strlen(s), r);
}

static void request_get_with_fields(void **state)
{
    (void)state;
    struct http_request r;
    const char *s = "GET /boot/x HTTP/1.1\r\nHost: a\r\nRange:  bytes=0-1 \r\n"
                    "If-None-Match: \"x\"\r\nX-Other: y\r\n\r\nNEXT";
    assert_int_equal(parse(s, &r), HTTP_PARSE_DONE);
    assert_int_equal(r.method, HTTP_GET);
    assert_int_equal(r.target.len, 7);
    assert_memory_equal(r.target.p, "/boot/x", 7);
    assert_int_equal(r.version_minor, 1);
    assert_true(r.keep_alive);
    assert_int_equal(r.range.len, 9);
    assert_memory_equal(r.range.p, "bytes=0-1", 9);
    assert_memory_equal(r.if_none_match.p, "\"x\"", 3);
    assert_int_equal(r.n_fields, 4);
    assert_int_equal(r.head_len, strlen(s) - 4);
}

static void request_incomplete_needs_more(void **state)
{
    (void)state;
    struct http_request r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n", &r), HTTP_PARSE_AGAIN);
    assert_int_equal(parse("GET / HT", &r), HTTP_PARSE_AGAIN);
    assert_int_equal(parse("", &r), HTTP_PARSE_AGAIN);
}

static void request_bare_lf_and_leading_empty_lines_are_tolerated(void **state)
{
    (void)state;
    struct http_request r;
    assert_int_equal(parse("\r\n\nHEAD / HTTP/1.0\nConnection: keep-alive\n\n", &r), HTTP_PARSE_DONE);
    assert_int_equal(r.method, HTTP_HEAD);
    assert_true(r.keep_alive);
}

static void request_connection_semantics(void **state)
{
    (void)state;
    struct http_request r;
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r), HTTP_PARSE_DONE);
    assert_false(r.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n", &r), HTTP_PARSE_DONE);
    assert_false(r.keep_alive);
}

struct head_case {
    const char *name, *head;
    enum http_parse_result want;
};

static const struct head_case head_cases[] = {
    {"http11_without_host", "GET / HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD},
    {"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_PARSE_BAD},
    {"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP_PARSE_BAD},
    {"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", HTTP_PARSE_BAD},
    {"nul_in_value", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", HTTP_PARSE_BAD},
    {"bare_cr_in_value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTP_PARSE_BAD},
    {"two_spaces_in_request_line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD},
    {"lowercase_version", "GET / http/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD},
    {"control_in_target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD},
    {"high_byte_in_target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD},
    {"no_target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD},
    {"http2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_VERSION},
    {"http09_style", "GET /\r\n\r\n", HTTP_PARSE_BAD},
    {"bad_content_length", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", HTTP_PARSE_BAD},
    {"conflicting_content_lengths",
     "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HTTP_PARSE_BAD},
    {"other_method_parses", "DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_DONE},
};

static void request_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof head_cases / sizeof head_cases[0]; i++) {
        const struct head_case *t = &head_cases[i];
        struct http_request r;
        size_t len = strlen(t->head);
        if (strcmp(t->name, "nul_in_value") == 0)
            len = sizeof "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n" - 1;
        enum http_parse_result got = http_request_parse(t->head, len, &r);
        if (got != t->want)
            fail_msg("%s: got %d, want %d", t->name, got, t->want);
    }
}

static void request_too_many_fields(void **state)
{
    (void)state;
    char buf[8192];
    size_t n = (size_t)snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < HTTP_MAX_HEADER_FIELDS; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "X-%d: y\r\n", i);
    /* even before the head is complete */
    assert_int_equal(http_request_parse(buf, n, &(struct http_request){0}), HTTP_PARSE_TOO_MANY_FIELDS);
}

static void request_content_length(void **state)
{
    (void)state;
    struct http_request r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", &r),
                     HTTP_PARSE_DONE);
    assert_true(r.has_content_length);
    assert_int_equal(r.content_length, UINT64_MAX);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r),
                     HTTP_PARSE_DONE);
    assert_true(r.has_body_coding);
}

/* ---- validators ---- */

static void dates_round_trip(void **state)
{
    (void)state;
    char d[HTTP_DATE_LEN + 1];
    http_date_format(784111777, d);
    assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    int64_t t;
    assert_int_equal(http_date_parse(d, strlen(d), &t), 0);
    assert_int_equal(t, 784111777);
    assert_int_equal(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t), -EINVAL);
    assert_int_equal(http_date_parse("Sun, 06 Nov 1994 08:49:37 UTC", 29, &t), -EINVAL);
    assert_int_equal(http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT", 29, &t), -EINVAL);
}

static void etag_matching(void **state)
{
    (void)state;
    const char *tag = "\"abc\"";
#define M(list) http_etag_list_match(list, strlen(list), tag)
    assert_true(M("\"abc\""));
    assert_true(M("W/\"abc\""));
    assert_true(M("\"x\", \"abc\""));
    assert_true(M(" * "));
    assert_false(M("\"abcd\""));
    assert_false(M("abc"));
    assert_false(M("\"x\" \"abc\""));
    assert_false(M(""));
#undef M
    assert_true(http_if_range_holds("\"abc\"", 5, tag, 0));
    assert_false(http_if_range_holds("W/\"abc\"", 7, tag, 0));
    assert_false(http_if_range_holds("\"abd\"", 5, tag, 0));
    assert_true(http_if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", 29, tag, 784111777));
    assert_false(http_if_range_holds("Sun, 06 Nov 1994 08:49:38 GMT", 29, tag, 784111777));
}


/* ---- API request fields ---- */

static void request_methods_are_exact_and_case_sensitive(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        enum http_method want;
    } cases[] = {
        {"GET", HTTP_GET},       {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},   {"PUT", HTTP_PUT},
        {"PATCH", HTTP_PATCH},   {"DELETE", HTTP_DELETE}, {"post", HTTP_OTHER},  {"PUTS", HTTP_OTHER},
        {"DELET", HTTP_OTHER},   {"OPTIONS", HTTP_OTHER}, {"PATCHX", HTTP_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s / HTTP/1.1\r\nHost: a\r\n\r\n", cases[i].line);
        struct http_request r;
        assert_int_equal(parse(buf, &r), HTTP_PARSE_DONE);
        if (r.method != cases[i].want)
            fail_msg("%s: %d", cases[i].line, r.method);
    }
}

static void request_api_fields(void **state)
{
    (void)state;
    struct http_request r;
    const char *s = "POST /api/v1/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer abc\r\n"
                    "Content-Type: application/json\r\nAccept: text/html\r\nAccept: Text/Event-Stream; q=1\r\n"
                    "Last-Event-ID: 17\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n{}";
    assert_int_equal(parse(s, &r), HTTP_PARSE_DONE);
    assert_memory_equal(r.authorization.p, "Bearer abc", r.authorization.len);
    assert_int_equal(r.content_type.len, 16);
    assert_memory_equal(r.content_type.p, "application/json", 16);
    assert_int_equal(r.last_event_id.len, 2);
    assert_true(r.accept_event_stream);
    assert_true(r.expect_continue);
    assert_int_equal(r.content_length, 2);

    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nAccept: text/event-streams, */*\r\n"
                           "Expect: 200-ok\r\n\r\n", &r), HTTP_PARSE_DONE);
    assert_false(r.accept_event_stream);
    assert_false(r.expect_continue);
    assert_null(r.authorization.p);
    assert_null(r.content_type.p);
    assert_null(r.last_event_id.p);
    /* two credentials or two content types: which one counts is unclear */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\n"
                           "authorization: Bearer b\r\n\r\n", &r), HTTP_PARSE_BAD);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a/b\r\nContent-Type: a/b\r\n\r\n", &r),
                     HTTP_PARSE_BAD);
}

static void bearer_tokens(void **state)
{
    (void)state;
    static const struct {
        const char *value, *token; /* token NULL: none */
    } cases[] = {
        {"Bearer abc", "abc"},
        {"bearer   a.b-c_d~e+f/g==", "a.b-c_d~e+f/g=="},
        {"BEARER x", "x"},
        {"Bearer", NULL},
        {"Bearer ", NULL},
        {"Bearerabc", NULL},
        {"Basic dXNlcjpwdw==", NULL},
        {"Bearer a b", NULL},
        {"Bearer a=b", NULL},
        {"Bearer ab\"", NULL},
        {"Bearer ==", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_span tok = {NULL, 0};
        bool ok = http_bearer_token((struct http_span){cases[i].value, strlen(cases[i].value)}, &tok);
        if (ok != (cases[i].token != NULL))
            fail_msg("'%s': %d", cases[i].value, ok);
        if (ok && (tok.len != strlen(cases[i].token) || memcmp(tok.p, cases[i].token, tok.len) != 0))
            fail_msg("'%s': '%.*s'", cases[i].value, (int)tok.len, tok.p);
    }
    struct http_span tok;
    assert_false(http_bearer_token((struct http_span){NULL, 0}, &tok));
    /* a NUL inside is no token character */
    assert_false(http_bearer_token((struct http_span){"Bearer a\0b", 10}, &tok));
}

static void response_header_lines(void **state)
{
    (void)state;
    static const struct {
        const char *lines;
        bool ok;
    } cases[] = {
        {"", true},
        {"X-A: 1\r\n", true},
        {"X-A: 1\r\nLocation: /api/v1/hosts/a\r\nRetry-After: 5\r\n", true},
        {"X-A:\r\n", true},
        {"X-A: 1", false},
        {"X-A: 1\n", false},
        {"X-A: 1\nX-B: 2\r\n", false},
        {"X-A: 1\rX-B: 2\r\n", false},
        {"X-A: 1\r\n\r\n", false},
        {"X A: 1\r\n", false},
        {": 1\r\n", false},
        {"X-A 1\r\n", false},
        {"content-length: 5\r\n", false},
        {"Transfer-Encoding: chunked\r\n", false},
        {"X-A: 1\r\nConnection: close\r\n", false},
        {"Content-Type: text/html\r\n", false},
        {"X-A: a\x01b\r\n", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        int rc = http_header_lines_check(cases[i].lines, strlen(cases[i].lines), &why);
        if ((rc == 0) != cases[i].ok)
            fail_msg("case %zu: %d", i, rc);
        if (rc < 0)
            assert_non_null(why);
    }
    assert_true(http_field_value_ok("application/json; charset=utf-8", 31));
    assert_false(http_field_value_ok("a\r\nb", 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(range_table),
        cmocka_unit_test(range_reads_nothing_past_len),
        cmocka_unit_test(path_table),
        cmocka_unit_test(path_output_is_bounded),
        cmocka_unit_test(target_split_forms),
        cmocka_unit_test(query_lookup),
        cmocka_unit_test(request_get_with_fields),
        cmocka_unit_test(request_incomplete_needs_more),
        cmocka_unit_test(request_bare_lf_and_leading_empty_lines_are_tolerated),
        cmocka_unit_test(request_connection_semantics),
        cmocka_unit_test(request_table),
        cmocka_unit_test(request_too_many_fields),
        cmocka_unit_test(request_content_length),
        cmocka_unit_test(dates_round_trip),
        cmocka_unit_test(etag_matching),
        cmocka_unit_test(request_methods_are_exact_and_case_sensitive),
        cmocka_unit_test(request_api_fields),
        cmocka_unit_test(bearer_tokens),
        cmocka_unit_test(response_header_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
