/* The web UI (web/, docs/ui.md): static files compiled into the binary
 * by web/embed.py and served under /ui/. The decision (which file, which
 * status) is pure and unit-tested; http_ui_respond() writes it onto a
 * connection. */
#ifndef MIDWIFE_HTTP_HTTP_UI_H
#define MIDWIFE_HTTP_HTTP_UI_H

#include <stdbool.h>
#include <stddef.h>

struct http_ui_file {
    const char *path;         /* relative to web/: "index.html", "js/app.js" */
    const char *content_type;
    const char *etag;         /* quoted SHA-256 of the content */
    const unsigned char *data;
    size_t size;
};

/* Generated (ui_files.c): sorted by path. */
extern const struct http_ui_file http_ui_files[];
extern const size_t http_ui_files_count;

/* True for "/ui" and "/ui/..." (the raw request path, before decoding:
 * "/ui/" has an empty last segment the strict decoder refuses). */
bool http_ui_is_path(const char *path, size_t len);

/* The embedded file at rel ("index.html"), or NULL. */
const struct http_ui_file *http_ui_find(const char *rel);

struct http_ui_answer {
    int status;                       /* 200 301 304 400 404 405 */
    const struct http_ui_file *file;  /* 200 and 304 */
    const char *location;             /* 301 */
};

/* What GET/HEAD (get_or_head) of the raw path gets, given the request's
 * If-None-Match (inm, inm_len; NULL when absent). "/ui" redirects to
 * "/ui/", "/ui/" is index.html, "/ui/REL" the file REL. */
void http_ui_decide(const char *path, size_t len, bool get_or_head, const char *inm, size_t inm_len,
                    struct http_ui_answer *out);

/* The headers every UI answer carries: the Content-Security-Policy (only
 * midwife's own scripts, styles and API; no inline code, no framing),
 * nosniff, no referrer. */
#define HTTP_UI_HEADERS                                                                                    \
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; object-src 'none'; "              \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"                                     \
    "X-Content-Type-Options: nosniff\r\n"                                                                  \
    "Referrer-Policy: no-referrer\r\n"                                                                     \
    "X-Frame-Options: DENY\r\n"

struct conn;
struct http_request;
/* Answers a UI request on c (http_service.c calls it for http_ui_is_path). */
void http_ui_respond(struct conn *c, const struct http_request *req, const char *path, size_t len);

#endif
