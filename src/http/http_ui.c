/* GET/HEAD /ui/...: the web UI's embedded files (web/embed.py). Every
 * answer is from memory; the ETag is the content's SHA-256, so a browser
 * revalidates (Cache-Control: no-cache) and mostly gets 304s. */
#include <stdio.h>
#include <string.h>

#include "http/http_cond.h"
#include "http/http_conn.h"
#include "http/http_path.h"
#include "http/http_ui.h"

#define UI_PREFIX "/ui"
#define UI_PREFIX_LEN 3

bool http_ui_is_path(const char *path, size_t len)
{
    return len >= UI_PREFIX_LEN && memcmp(path, UI_PREFIX, UI_PREFIX_LEN) == 0 &&
           (len == UI_PREFIX_LEN || path[UI_PREFIX_LEN] == '/');
}

const struct http_ui_file *http_ui_find(const char *rel)
{
    for (size_t i = 0; i < http_ui_files_count; i++)
        if (strcmp(http_ui_files[i].path, rel) == 0)
            return &http_ui_files[i];
    return NULL;
}

void http_ui_decide(const char *path, size_t len, bool get_or_head, const char *inm, size_t inm_len,
                    struct http_ui_answer *out)
{
    *out = (struct http_ui_answer){.status = 404};
    if (!get_or_head) {
        out->status = 405;
        return;
    }
    if (len == UI_PREFIX_LEN) {
        /* Relative URLs in index.html (css/app.css) resolve against /ui/. */
        out->status = 301;
        out->location = UI_PREFIX "/";
        return;
    }
    const struct http_ui_file *f = NULL;
    if (len == UI_PREFIX_LEN + 1) {
        f = http_ui_find("index.html");
    } else {
        /* The same strict decoding as every other route: no "..", no
         * encoded '/', no control bytes. The lookup is exact, so what
         * decodes still names only an embedded file or nothing. */
        char dec[HTTP_TARGET_MAX + 1];
        const char *why;
        if (len > HTTP_TARGET_MAX || http_path_decode(path, len, dec, sizeof dec, &why) < 0) {
            out->status = 400;
            return;
        }
        f = http_ui_find(dec + UI_PREFIX_LEN + 1);
    }
    if (!f)
        return;
    out->file = f;
    out->status = inm && http_etag_list_match(inm, inm_len, f->etag) ? 304 : 200;
}

void http_ui_respond(struct conn *c, const struct http_request *req, const char *path, size_t len)
{
    struct http_ui_answer a;
    http_ui_decide(path, len, req->method == HTTP_GET || req->method == HTTP_HEAD, req->if_none_match.p,
                   req->if_none_match.len, &a);
    const char *text = a.status == 405   ? "only GET and HEAD\n"
                       : a.status == 400 ? "bad path\n"
                       : a.status == 301 ? "moved to /ui/\n"
                                         : "not found\n";
    struct resp r = {.status = a.status, .extra = HTTP_UI_HEADERS, .cache = "no-cache"};
    if (a.status == 405)
        r.allow = "GET, HEAD";
    if (a.status == 301)
        r.extra = HTTP_UI_HEADERS "Location: " UI_PREFIX "/\r\n";
    const unsigned char *body = (const unsigned char *)text;
    /* The ETag goes in by hand: resp.etag would add a Last-Modified, and
     * embedded files have no meaningful modification time. */
    char extra[512];
    if (a.file) {
        r.content_type = a.file->content_type;
        r.length = a.file->size;
        snprintf(extra, sizeof extra, "ETag: %s\r\n%s", a.file->etag, HTTP_UI_HEADERS);
        r.extra = extra;
        body = a.file->data;
    } else {
        r.content_type = "text/plain; charset=utf-8";
        r.length = strlen(text);
        if (a.status == 405 || a.status == 400)
            http_count_error(a.status == 405 ? "method" : "bad_path");
    }
    if (!http_build_head(c, &r, req->version_minor)) {
        c->keep_alive = false;
        return;
    }
    if (req->method == HTTP_HEAD || a.status == 304)
        return;
    c->body_static = (const char *)body;
    c->body_len = r.length;
}
