/* Host calls: POST /birth, POST /report, PUT and GET /state. Authorised by
 * the boot token of the host's current boot, never by the admin token. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "boot/boot.h"
#include "images/blobs.h"
#include "lifecycle/birth.h"
#include "util/addr.h"
#include "util/log.h"

static void answer_text_doc(struct http_api_response *resp, char *doc)
{
    resp->status = 200;
    resp->body = doc;
    resp->body_len = strlen(doc);
}

void api_route_birth(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp)
{
    if (rest[0]) {
        api_error(resp, 404, NULL, "not found");
        return;
    }
    if (req->method != API_POST) {
        api_method_not_allowed(resp, "POST");
        return;
    }
    json_t *facts;
    if (!api_body_object(req, resp, &facts))
        return;
    char base[CONF_URL_MAX];
    if (boot_http_base(a->conf, req->local_addr, base, sizeof base) < 0) {
        json_decref(facts);
        api_error(resp, 500, NULL, "no URL to tell the host how to reach midwife: set [http] public_url");
        return;
    }
    struct birth_outcome o;
    lifecycle_birth(a->lc, req->bearer, facts, req->peer_addr, base, &o);
    json_decref(facts);
    if (o.status == 200) {
        answer_text_doc(resp, o.doc);
        return;
    }
    if (o.status == 401)
        snprintf(resp->extra_headers, sizeof resp->extra_headers, "WWW-Authenticate: Bearer\r\n");
    api_error(resp, o.status, o.field[0] ? o.field : NULL, "%s", o.error);
}

void api_route_report(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp)
{
    if (rest[0]) {
        api_error(resp, 404, NULL, "not found");
        return;
    }
    if (req->method != API_POST) {
        api_method_not_allowed(resp, "POST");
        return;
    }
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    struct report_outcome o;
    lifecycle_report(a->lc, req->bearer, body, req->peer_addr, &o);
    json_decref(body);
    if (o.status != 200) {
        if (o.status == 401)
            snprintf(resp->extra_headers, sizeof resp->extra_headers, "WWW-Authenticate: Bearer\r\n");
        api_error(resp, o.status, o.field[0] ? o.field : NULL, "%s", o.error);
        return;
    }
    api_json(resp, 200, json_pack("{s:s, s:s}", "state", o.state, "reason", o.reason));
}

/* ---- saved state ---- */

static void state_put(struct api *a, const struct http_api_request *req, struct host *h, int64_t boot_id,
                      struct http_api_response *resp)
{
    uint64_t cap = a->conf->state_max_bytes ? a->conf->state_max_bytes : a->conf->http_max_body_bytes;
    if (req->body_len == 0) {
        api_error(resp, 400, "body", "body: an empty state archive");
        return;
    }
    if (req->body_len > cap) {
        api_error(resp, 413, "body", "body: %zu bytes, over [lifecycle] state_max_bytes (%llu)", req->body_len,
                  (unsigned long long)cap);
        return;
    }
    char want[80];
    const char *expect = api_query(req, "sha256", want, sizeof want);
    if (expect && !sha256_hex_valid(expect)) {
        api_error(resp, 400, "sha256", "sha256: expected 64 lowercase hex digits");
        return;
    }
    struct blob_writer *w;
    char sha[SHA256_HEX_LEN + 1];
    uint64_t size = 0;
    int r = blob_writer_open(a->conf->state_dir, &w);
    if (r == 0 && (r = blob_writer_write(w, req->body, req->body_len)) < 0)
        blob_writer_abort(w);
    else if (r == 0)
        r = blob_writer_commit(w, a->st, sha, &size);
    if (r < 0) {
        api_error(resp, 500, NULL, "the state archive could not be stored: %s", strerror(-r));
        return;
    }
    if (expect && strcmp(expect, sha) != 0) {
        /* The blob stays unreferenced (a later gc removes it); the host's
         * saved state is not replaced by something that arrived damaged. */
        lifecycle_record_host(a->lc, h, "state.refused", EVENT_FAIL, NULL,
                              "state upload refused: checksum %s does not match the %llu bytes received", expect,
                              (unsigned long long)size);
        api_error(resp, 400, "sha256", "sha256: the body hashes to %s", sha);
        return;
    }
    struct state_archive sa = {.host_id = h->id, .size = size, .boot_id = boot_id, .updated = lifecycle_now_ms()};
    memcpy(sa.sha256, sha, sizeof sa.sha256);
    if (store_state_put(a->st, &sa) < 0) {
        api_error(resp, 500, NULL, "the state archive could not be recorded: %s", store_errmsg(a->st));
        return;
    }
    char data[128];
    snprintf(data, sizeof data, "{\"sha256\":\"%s\",\"bytes\":%llu}", sha, (unsigned long long)size);
    lifecycle_record_host(a->lc, h, "state.uploaded", EVENT_OK, data, "saved state uploaded: %llu bytes",
                          (unsigned long long)size);
    api_json(resp, 200, json_pack("{s:s, s:I}", "sha256", sha, "bytes", (json_int_t)size));
}

static void state_get(struct api *a, struct host *h, struct http_api_response *resp)
{
    struct state_archive sa;
    if (store_state_get(a->st, h->id, &sa) < 0) {
        api_error(resp, 404, NULL, "no saved state for host %s", h->name);
        return;
    }
    int fd;
    uint64_t size;
    if (blob_open(a->conf->state_dir, sa.sha256, &fd, &size) < 0) {
        api_error(resp, 500, NULL, "the saved state of host %s is missing from the blob store", h->name);
        return;
    }
    char *buf = malloc(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != size) {
        free(buf);
        api_error(resp, 500, NULL, "the saved state of host %s could not be read", h->name);
        return;
    }
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    resp->body = buf;
    resp->body_len = size;
    snprintf(resp->extra_headers, sizeof resp->extra_headers, "X-Checksum-Sha256: %s\r\n", sa.sha256);
}

void api_route_state(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp)
{
    if (rest[0]) {
        api_error(resp, 404, NULL, "not found");
        return;
    }
    if (req->method != API_PUT && req->method != API_GET && req->method != API_HEAD) {
        api_method_not_allowed(resp, "GET, HEAD, PUT");
        return;
    }
    struct boot_token t;
    struct host h;
    if (lifecycle_token_check(a->lc, req->bearer, false, req->peer_addr, &t, &h) != TOKEN_OK) {
        snprintf(resp->extra_headers, sizeof resp->extra_headers, "WWW-Authenticate: Bearer\r\n");
        api_error(resp, 401, NULL, "boot token not valid for this host's state");
        return;
    }
    if (req->method == API_PUT)
        state_put(a, req, &h, t.boot_id, resp);
    else
        state_get(a, &h, resp);
    host_clear(&h);
}
