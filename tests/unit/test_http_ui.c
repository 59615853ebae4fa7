/* The web UI's routes (http_ui.c) and its embedded files (web/embed.py):
 * which path gets which file or status, 304 on a matching ETag, and that
 * every ETag is the SHA-256 of what is served. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "http/http_ui.h"

struct ui_case {
    const char *path;
    bool get;
    const char *inm;
    int status;
    const char *file; /* expected file, or NULL */
};

static const struct ui_case cases[] = {
    {"/ui", true, NULL, 301, NULL},
    {"/ui/", true, NULL, 200, "index.html"},
    {"/ui/index.html", true, NULL, 200, "index.html"},
    {"/ui/js/app.js", true, NULL, 200, "js/app.js"},
    {"/ui/css/app.css", true, NULL, 200, "css/app.css"},
    {"/ui/js/%61pp.js", true, NULL, 200, "js/app.js"},     /* escapes decode as elsewhere */
    {"/ui/nothing.js", true, NULL, 404, NULL},
    {"/ui/js", true, NULL, 404, NULL},                      /* a directory is not a file */
    {"/ui/js/", true, NULL, 400, NULL},                     /* empty segment */
    {"/ui/../midwife.db", true, NULL, 400, NULL},
    {"/ui/js/..%2fapp.js", true, NULL, 400, NULL},          /* encoded slash */
    {"/ui/%2e%2e/x", true, NULL, 400, NULL},
    {"/ui/embed.py", true, NULL, 404, NULL},                /* the generator is not embedded */
    {"/ui/meson.build", true, NULL, 404, NULL},
    {"/ui/", false, NULL, 405, NULL},
    {"/ui", false, NULL, 405, NULL},
    {"/ui/", true, "\"0000\"", 200, "index.html"},          /* another tag: the file */
    {"/ui/", true, "*", 304, "index.html"},
};

static void paths_map_to_files_and_statuses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ui_case *c = &cases[i];
        struct http_ui_answer a;
        http_ui_decide(c->path, strlen(c->path), c->get, c->inm, c->inm ? strlen(c->inm) : 0, &a);
        if (a.status != c->status)
            fail_msg("%s (%s): status %d, expected %d", c->path, c->get ? "GET" : "POST", a.status, c->status);
        if (c->file) {
            assert_non_null(a.file);
            assert_string_equal(a.file->path, c->file);
        } else {
            assert_null(a.file);
        }
        if (c->status == 301)
            assert_string_equal(a.location, "/ui/");
    }
}

static void matching_etag_gives_304(void **state)
{
    (void)state;
    const struct http_ui_file *f = http_ui_find("js/api.js");
    assert_non_null(f);
    char list[256];
    snprintf(list, sizeof list, "\"abc\", %s", f->etag);
    struct http_ui_answer a;
    http_ui_decide("/ui/js/api.js", 13, true, list, strlen(list), &a);
    assert_int_equal(a.status, 304);
    assert_ptr_equal(a.file, f);
    /* the tag of another file does not match */
    const struct http_ui_file *g = http_ui_find("js/app.js");
    http_ui_decide("/ui/js/api.js", 13, true, g->etag, strlen(g->etag), &a);
    assert_int_equal(a.status, 200);
}

static void only_ui_paths_are_ui(void **state)
{
    (void)state;
    static const struct {
        const char *p;
        bool ui;
    } t[] = {{"/ui", true}, {"/ui/", true}, {"/ui/x", true}, {"/uix", false}, {"/u", false},
             {"/", false}, {"/api/v1/ui", false}, {"/UI/", false}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (http_ui_is_path(t[i].p, strlen(t[i].p)) != t[i].ui)
            fail_msg("%s: expected %s", t[i].p, t[i].ui ? "a UI path" : "not a UI path");
}

static void every_file_has_its_sha256_as_etag_and_a_type(void **state)
{
    (void)state;
    assert_true(http_ui_files_count >= 5);
    for (size_t i = 0; i < http_ui_files_count; i++) {
        const struct http_ui_file *f = &http_ui_files[i];
        unsigned char md[32];
        unsigned int n = 0;
        assert_int_equal(EVP_Digest(f->data, f->size, md, &n, EVP_sha256(), NULL), 1);
        char want[67] = "\"";
        for (unsigned j = 0; j < n; j++)
            snprintf(want + 1 + 2 * j, 3, "%02x", md[j]);
        strcat(want, "\"");
        assert_string_equal(f->etag, want);
        assert_true(f->size > 0);
        assert_int_equal(f->data[f->size], 0); /* the NUL after, never sent */
        const char *dot = strrchr(f->path, '.');
        assert_non_null(dot);
        if (strcmp(dot, ".js") == 0)
            assert_string_equal(f->content_type, "text/javascript; charset=utf-8");
        else if (strcmp(dot, ".html") == 0)
            assert_string_equal(f->content_type, "text/html; charset=utf-8");
        else if (strcmp(dot, ".css") == 0)
            assert_string_equal(f->content_type, "text/css; charset=utf-8");
        if (i > 0) /* sorted, no duplicates */
            assert_true(strcmp(http_ui_files[i - 1].path, f->path) < 0);
    }
}

static void index_names_only_embedded_scripts(void **state)
{
    (void)state;
    /* index.html loads its stylesheet and app.js by relative URL: both
     * must be embedded, and nothing is fetched from elsewhere. */
    const struct http_ui_file *f = http_ui_find("index.html");
    assert_non_null(f);
    const char *html = (const char *)f->data;
    assert_non_null(strstr(html, "src=\"js/app.js\""));
    assert_non_null(strstr(html, "href=\"css/app.css\""));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, "<script>")); /* no inline script: the CSP forbids it */
    assert_non_null(http_ui_find("js/app.js"));
    assert_non_null(http_ui_find("css/app.css"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_map_to_files_and_statuses),
        cmocka_unit_test(matching_etag_gives_304),
        cmocka_unit_test(only_ui_paths_are_ui),
        cmocka_unit_test(every_file_has_its_sha256_as_etag_and_a_type),
        cmocka_unit_test(index_names_only_embedded_scripts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
