/* The API's pure helpers as tables: query strings (percent-decoding, '+',
 * bad escapes, caps), ?limit= paging bounds, path segments, the field an
 * inventory error names; and the replies built from them (415/400 for
 * bodies, 400 naming the parameter, 405 with Allow). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <stdlib.h>

#include <jansson.h>

#include "api/api_internal.h"

/* ---- query decoding ---- */

struct query_case {
    const char *name, *query, *key;
    size_t outlen;
    int want;
    const char *value;
};

static const struct query_case query_cases[] = {
    {"plain_value", "state=ready", "state", 64, 0, "ready"},
    {"second_of_several", "a=1&state=ready&b=2", "state", 64, 0, "ready"},
    {"absent_key", "a=1&b=2", "state", 64, -ENOENT, NULL},
    {"empty_query", "", "state", 64, -ENOENT, NULL},
    {"key_prefix_is_not_the_key", "states=x&stat=y", "state", 64, -ENOENT, NULL},
    {"first_occurrence_wins", "q=one&q=two", "q", 64, 0, "one"},
    {"key_without_equals_is_empty", "follow&x=1", "follow", 64, 0, ""},
    {"empty_value", "q=", "q", 64, 0, ""},
    {"percent_escapes_decode", "label=rack%3Dr12", "label", 64, 0, "rack=r12"},
    {"plus_is_space", "q=a+b", "q", 64, 0, "a b"},
    {"escaped_plus_stays_plus", "q=a%2Bb", "q", 64, 0, "a+b"},
    {"lowercase_hex", "q=%2f%2F", "q", 64, 0, "//"},
    {"escaped_ampersand_does_not_split", "q=a%26b=c&x=1", "q", 64, 0, "a&b=c"},
    {"escaped_key_matches", "st%61te=born", "state", 64, 0, "born"},
    {"utf8_bytes_pass", "q=%C3%A9", "q", 64, 0, "\xc3\xa9"},
    {"truncated_escape_is_refused", "q=ab%4", "q", 64, -EINVAL, NULL},
    {"escape_at_the_end_is_refused", "q=ab%", "q", 64, -EINVAL, NULL},
    {"non_hex_escape_is_refused", "q=%zz", "q", 64, -EINVAL, NULL},
    {"escaped_nul_is_refused", "q=a%00b", "q", 64, -EINVAL, NULL},
    {"exactly_fits", "q=abc", "q", 4, 0, "abc"},
    {"one_too_long", "q=abcd", "q", 4, -ENAMETOOLONG, NULL},
    {"empty_fits_one_byte", "q=", "q", 1, 0, ""},
    {"escape_counts_decoded", "q=%41%42%43", "q", 4, 0, "ABC"},
    {"bad_key_skipped_good_value_found", "%zz=1&q=2", "q", 64, 0, "2"},
};

static void test_query_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof query_cases / sizeof query_cases[0]; i++) {
        const struct query_case *c = &query_cases[i];
        char out[64];
        memset(out, 'X', sizeof out);
        int r = api_query_decode(c->query, strlen(c->query), c->key, out, c->outlen);
        if (r != c->want)
            fail_msg("%s: returned %d, expected %d", c->name, r, c->want);
        if (c->value && strcmp(out, c->value) != 0)
            fail_msg("%s: value '%s', expected '%s'", c->name, out, c->value);
        /* Nothing written past outlen, ever. */
        if (c->outlen < sizeof out && out[c->outlen] != 'X')
            fail_msg("%s: wrote past outlen", c->name);
    }
}

static void test_query_respects_length_not_nul(void **state)
{
    (void)state;
    /* The raw query is a counted string: bytes after query_len are not read. */
    const char q[] = "a=1&state=ready";
    char out[16];
    assert_int_equal(api_query_decode(q, 3, "state", out, sizeof out), -ENOENT);
    assert_int_equal(api_query_decode(q, strlen(q) - 2, "state", out, sizeof out), 0);
    assert_string_equal(out, "rea");
}

/* ---- ?limit= ---- */

struct limit_case {
    const char *name, *value;
    int want;
    size_t limit;
};

static const struct limit_case limit_cases[] = {
    {"absent_is_default", NULL, 0, API_LIST_DEFAULT},
    {"one", "1", 0, 1},
    {"max", "1000", 0, API_LIST_MAX},
    {"zero_is_refused", "0", -EINVAL, 0},
    {"over_max_is_refused", "1001", -EINVAL, 0},
    {"negative_is_refused", "-5", -EINVAL, 0},
    {"empty_is_refused", "", -EINVAL, 0},
    {"words_are_refused", "ten", -EINVAL, 0},
    {"trailing_garbage_is_refused", "10x", -EINVAL, 0},
    {"huge_is_refused", "99999999999999999999999", -EINVAL, 0},
};

static void test_limit_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof limit_cases / sizeof limit_cases[0]; i++) {
        const struct limit_case *c = &limit_cases[i];
        size_t limit = 777;
        int r = api_limit_parse(c->value, &limit);
        if (r != c->want)
            fail_msg("%s: returned %d, expected %d", c->name, r, c->want);
        if (r == 0 && limit != c->limit)
            fail_msg("%s: limit %zu, expected %zu", c->name, limit, c->limit);
    }
}

/* ---- path segments ---- */

struct path_case {
    const char *name, *rest;
    int want;
    const char *segs[3];
};

static const struct path_case path_cases[] = {
    {"collection_itself", "", 0, {NULL}},
    {"trailing_slash_only", "/", 0, {NULL}},
    {"one_name", "/esx-01", 1, {"esx-01"}},
    {"name_and_action", "/esx-01/retire", 2, {"esx-01", "retire"}},
    {"trailing_slash_after_name", "/esx-01/", 1, {"esx-01"}},
    {"versioned_build", "/esxi8@2", 1, {"esxi8@2"}},
    {"three_segments", "/a/b/c", 3, {"a", "b", "c"}},
    {"too_many_segments", "/a/b/c/d", -EINVAL, {NULL}},
    {"empty_segment_in_the_middle", "/a//b", -EINVAL, {NULL}},
    {"no_leading_slash", "esx", -EINVAL, {NULL}},
    {"double_leading_slash", "//a", -EINVAL, {NULL}},
};

static void test_path_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *c = &path_cases[i];
        char seg[3][128];
        int n = api_path_split(c->rest, seg, 3);
        if (n != c->want)
            fail_msg("%s: returned %d, expected %d", c->name, n, c->want);
        for (int k = 0; k < n; k++)
            if (strcmp(seg[k], c->segs[k]) != 0)
                fail_msg("%s: segment %d '%s', expected '%s'", c->name, k, seg[k], c->segs[k]);
    }
}

static void test_path_segment_too_long(void **state)
{
    (void)state;
    char rest[300], seg[2][128];
    rest[0] = '/';
    memset(rest + 1, 'a', 128);
    rest[129] = '\0'; /* 128 bytes: no room for the NUL */
    assert_int_equal(api_path_split(rest, seg, 2), -EINVAL);
    rest[128] = '\0'; /* 127 bytes: just fits */
    assert_int_equal(api_path_split(rest, seg, 2), 1);
    assert_int_equal(strlen(seg[0]), 127);
}

/* ---- the field an inventory error names ---- */

struct field_case {
    const char *name, *err, *field;
};

static const struct field_case field_cases[] = {
    {"simple", "name: required", "name"},
    {"indexed", "macs[1]: not a MAC address", "macs[1]"},
    {"nested", "match.mac[0]: not a MAC, MAC prefix or MAC range", "match.mac[0]"},
    {"doc_path", "doc.bonds[0].mode: expected one of 802.3ad", "doc.bonds[0].mode"},
    {"colon_later_in_prose", "the value is wrong: badly", ""},
    {"no_colon", "something failed", ""},
    {"leading_colon", ": odd", ""},
    {"colon_without_space", "vlan:5", ""},
};

static void test_field_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof field_cases / sizeof field_cases[0]; i++) {
        const struct field_case *c = &field_cases[i];
        char out[64];
        const char *f = api_err_field(c->err, out, sizeof out);
        if (f != out || strcmp(out, c->field) != 0)
            fail_msg("%s: field '%s', expected '%s'", c->name, out, c->field);
    }
}

static void test_field_too_long_for_buffer_is_empty(void **state)
{
    (void)state;
    char out[8];
    api_err_field("averyveryverylongfield: x", out, sizeof out);
    assert_string_equal(out, "");
}

/* ---- replies ---- */

static json_t *reply_json(const struct http_api_response *resp)
{
    assert_non_null(resp->body);
    assert_int_equal(resp->body[resp->body_len - 1], '\n'); /* one line per answer */
    json_error_t e;
    json_t *j = json_loadb(resp->body, resp->body_len, 0, &e);
    assert_non_null(j);
    return j;
}

static void reply_free(struct http_api_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

static void expect_error(struct http_api_response *resp, int status, const char *field, const char *in_message)
{
    assert_int_equal(resp->status, status);
    json_t *j = reply_json(resp);
    const char *msg = json_string_value(json_object_get(j, "error"));
    assert_non_null(msg);
    if (in_message && !strstr(msg, in_message))
        fail_msg("error '%s' does not contain '%s'", msg, in_message);
    const char *f = json_string_value(json_object_get(j, "field"));
    if (field)
        assert_string_equal(f ? f : "(none)", field);
    else
        assert_null(json_object_get(j, "field"));
    json_decref(j);
    reply_free(resp);
}

struct body_case {
    const char *name, *content_type, *body;
    int status; /* 0: accepted */
    const char *in_message;
};

static const struct body_case body_cases[] = {
    {"json_object", "application/json", "{\"a\": 1}", 0, NULL},
    {"json_with_charset", "application/json; charset=utf-8", "{}", 0, NULL},
    {"content_type_case_insensitive", "Application/JSON", "{}", 0, NULL},
    {"structured_json_suffix", "application/merge-patch+json", "{}", 0, NULL},
    {"text_plain_is_415", "text/plain", "{}", 415, "application/json"},
    {"no_content_type_is_415", NULL, "{}", 415, NULL},
    {"json_prefix_but_other_type_is_415", "application/jsonp", "{}", 415, NULL},
    {"malformed_has_line_and_column", "application/json", "{\"a\": 1,\n \"b\": }", 400, "line 2 column"},
    {"empty_body_is_400", "application/json", "", 400, "line"},
    {"array_is_400", "application/json", "[1, 2]", 400, "object"},
    {"duplicate_keys_are_400", "application/json", "{\"a\": 1, \"a\": 2}", 400, "duplicate"},
};

static void test_body_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
        const struct body_case *c = &body_cases[i];
        struct http_api_request req = {.method = API_POST, .path = "/api/v1/hosts", .query = "",
                                       .content_type = c->content_type, .body = c->body,
                                       .body_len = strlen(c->body)};
        struct http_api_response resp = {0};
        json_t *j = NULL;
        bool ok = api_body_object(&req, &resp, &j);
        if (ok != (c->status == 0))
            fail_msg("%s: accepted %d, expected %d", c->name, ok, c->status == 0);
        if (ok) {
            assert_true(json_is_object(j));
            assert_null(resp.body);
            json_decref(j);
        } else {
            assert_null(j);
            expect_error(&resp, c->status, NULL, c->in_message);
        }
    }
}

static void test_error_names_the_field(void **state)
{
    (void)state;
    struct http_api_response resp = {0};
    api_error(&resp, 400, "macs[1]", "macs[1]: not a MAC address");
    assert_null(resp.content_type); /* application/json */
    expect_error(&resp, 400, "macs[1]", "not a MAC");
    api_error(&resp, 404, NULL, "no host named %s", "x");
    expect_error(&resp, 404, NULL, "no host named x");
    /* Bytes that are not UTF-8 still give a JSON answer. */
    api_error(&resp, 404, NULL, "no host named %s", "\xff\xfe");
    expect_error(&resp, 404, NULL, "\\xff");
}

static void test_invalid_prefixes_the_field(void **state)
{
    (void)state;
    struct http_api_response resp = {0};
    api_invalid(&resp, "hosts[2].", "macs[1]: not a MAC address");
    expect_error(&resp, 400, "hosts[2].macs[1]", "hosts[2].macs[1]: not a MAC");
    api_invalid(&resp, "", "vlan: expected 0..4094");
    expect_error(&resp, 400, "vlan", "vlan: expected");
    api_invalid(&resp, "", "out of memory somewhere");
    expect_error(&resp, 400, NULL, "out of memory");
}

static void test_method_not_allowed_says_allow(void **state)
{
    (void)state;
    struct http_api_response resp = {0};
    api_method_not_allowed(&resp, "GET, HEAD, POST");
    assert_string_equal(resp.extra_headers, "Allow: GET, HEAD, POST\r\n");
    expect_error(&resp, 405, NULL, "GET, HEAD, POST");
}

static void test_page_params(void **state)
{
    (void)state;
    struct {
        const char *query;
        int status; /* 0: accepted */
        const char *field;
        size_t limit;
        const char *after;
    } cases[] = {
        {"", 0, NULL, API_LIST_DEFAULT, ""},
        {"limit=5&after=esx-03", 0, NULL, 5, "esx-03"},
        {"after=a%2Db", 0, NULL, API_LIST_DEFAULT, "a-b"},
        {"limit=0", 400, "limit", 0, NULL},
        {"limit=1001", 400, "limit", 0, NULL},
        {"limit=%zz", 400, "limit", 0, NULL},
        {"after=%4", 400, "after", 0, NULL},
        {"after=0123456789abcdef", 400, "after", 0, NULL}, /* over the 16-byte buffer below */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_api_request req = {.method = API_GET, .path = "/api/v1/hosts", .query = cases[i].query,
                                       .query_len = strlen(cases[i].query), .body = ""};
        struct http_api_response resp = {0};
        size_t limit = 0;
        char after[16];
        bool ok = api_page(&req, &resp, &limit, after, sizeof after);
        if (ok != (cases[i].status == 0))
            fail_msg("'%s': accepted %d", cases[i].query, ok);
        if (ok) {
            assert_int_equal(limit, cases[i].limit);
            assert_string_equal(after, cases[i].after);
            assert_null(resp.body);
        } else {
            expect_error(&resp, cases[i].status, cases[i].field, cases[i].field);
        }
    }
}

static void test_query_param_absent_and_present(void **state)
{
    (void)state;
    struct http_api_request req = {.query = "state=ready&q=a+b", .query_len = 17, .body = ""};
    struct http_api_response resp = {0};
    char buf[32];
    const char *v = "unset";
    assert_true(api_query_param(&req, &resp, "build", buf, sizeof buf, &v));
    assert_null(v);
    assert_true(api_query_param(&req, &resp, "q", buf, sizeof buf, &v));
    assert_string_equal(v, "a b");
    assert_string_equal(api_query(&req, "state", buf, sizeof buf), "ready");
    assert_null(api_query(&req, "nope", buf, sizeof buf));
    assert_null(resp.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_cases),
        cmocka_unit_test(test_query_respects_length_not_nul),
        cmocka_unit_test(test_limit_cases),
        cmocka_unit_test(test_path_cases),
        cmocka_unit_test(test_path_segment_too_long),
        cmocka_unit_test(test_field_cases),
        cmocka_unit_test(test_field_too_long_for_buffer_is_empty),
        cmocka_unit_test(test_body_cases),
        cmocka_unit_test(test_error_names_the_field),
        cmocka_unit_test(test_invalid_prefixes_the_field),
        cmocka_unit_test(test_method_not_allowed_says_allow),
        cmocka_unit_test(test_page_params),
        cmocka_unit_test(test_query_param_absent_and_present),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
