/* What every route file answers with: JSON bodies, errors that name the
 * field, the request body as an object, query parameters and paging. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "store/store_build.h"
#include "store/store_inventory.h"
#include "util/log.h"

int64_t api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void answer_static_500(struct http_api_response *resp)
{
    static const char oom[] = "{\"error\":\"out of memory\"}\n";
    resp->status = 500;
    resp->content_type = NULL;
    resp->body = strdup(oom);
    resp->body_len = resp->body ? strlen(oom) : 0;
}

void api_json(struct http_api_response *resp, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) {
        answer_static_500(resp);
        return;
    }
    size_t len = strlen(text);
    char *body = realloc(text, len + 2);
    if (!body) {
        free(text);
        answer_static_500(resp);
        return;
    }
    body[len] = '\n'; /* one line per answer reads well in a terminal */
    body[len + 1] = '\0';
    free(resp->body);
    resp->status = status;
    resp->content_type = NULL;
    resp->body = body;
    resp->body_len = len + 1;
}

void api_error(struct http_api_response *resp, int status, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_object();
    if (j) {
        /* json_string refuses invalid UTF-8; a message quoting client bytes
         * must still go out, so fall back to a lossless-enough form. */
        json_t *m = json_string(msg);
        if (!m) {
            char esc[LOG_ESCAPED_SIZE(sizeof msg)];
            m = json_string(log_escape(esc, sizeof esc, msg, strlen(msg)));
        }
        json_object_set_new(j, "error", m);
        if (field && *field)
            json_object_set_new(j, "field", json_string(field));
    }
    api_json(resp, status, j);
}

void api_method_not_allowed(struct http_api_response *resp, const char *allowed)
{
    snprintf(resp->extra_headers, sizeof resp->extra_headers, "Allow: %s\r\n", allowed);
    api_error(resp, 405, NULL, "method not allowed (allowed: %s)", allowed);
}

void api_no_content(struct http_api_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = 204;
}

void api_list(struct http_api_response *resp, json_t *items, const char *next)
{
    if (!items) {
        api_json(resp, 500, NULL);
        return;
    }
    api_json(resp, 200, json_pack("{s:o, s:o}", "items", items, "next", next ? json_string(next) : json_null()));
}

int api_page_add(struct api_list_page *pg, const char *key, json_t *j)
{
    if (pg->n == pg->limit) {
        json_decref(j);
        pg->more = true;
        return 1;
    }
    if (!j || json_array_append_new(pg->items, j) < 0)
        return -ENOMEM;
    snprintf(pg->last, sizeof pg->last, "%s", key);
    pg->n++;
    return 0;
}

void api_page_answer(struct api *a, struct http_api_response *resp, struct api_list_page *pg, int r,
                     const char *what)
{
    if (r < 0) {
        json_decref(pg->items);
        api_store_error(a, resp, what, r);
        return;
    }
    api_list(resp, pg->items, pg->more ? pg->last : NULL);
}

bool api_keys_known(const json_t *body, const char *const *keys, const char *hint, struct http_api_response *resp)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        if (!keys[i]) {
            char field[64];
            snprintf(field, sizeof field, "%.63s", key);
            api_error(resp, 400, field, "%s: unknown key%s%s%s", field, hint ? " (" : "", hint ? hint : "",
                      hint ? ")" : "");
            return false;
        }
    }
    return true;
}

void api_invalid(struct http_api_response *resp, const char *prefix, const char *err)
{
    char field[128], full[192];
    api_err_field(err, field, sizeof field);
    if (!field[0]) {
        api_error(resp, 400, prefix[0] ? prefix : NULL, "%s%s", prefix, err);
        return;
    }
    snprintf(full, sizeof full, "%s%s", prefix, field);
    api_error(resp, 400, full, "%s%s", prefix, err);
}

void api_store_error(struct api *a, struct http_api_response *resp, const char *what, int rc)
{
    log_error("api", "%s: %s (%s)", what, strerror(rc < 0 ? -rc : rc), store_errmsg(a->st));
    api_error(resp, 500, NULL, "%s: store error", what);
}

/* application/json, or any application/...+json, with or without
 * parameters (charset=utf-8). */
static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

bool api_body_object(const struct http_api_request *req, struct http_api_response *resp, json_t **out)
{
    *out = NULL;
    if (!is_json_type(req->content_type)) {
        api_error(resp, 415, NULL, "expected a body with Content-Type: application/json");
        return false;
    }
    json_error_t jerr;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        api_error(resp, 400, NULL, "body: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return false;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        api_error(resp, 400, NULL, "body: expected a JSON object");
        return false;
    }
    *out = j;
    return true;
}

const char *api_query(const struct http_api_request *req, const char *key, char *out, size_t outlen)
{
    return api_query_decode(req->query, req->query_len, key, out, outlen) == 0 ? out : NULL;
}

bool api_query_param(const struct http_api_request *req, struct http_api_response *resp, const char *key,
                     char *out, size_t outlen, const char **value)
{
    *value = NULL;
    int r = api_query_decode(req->query, req->query_len, key, out, outlen);
    if (r == -ENOENT)
        return true;
    if (r == -EINVAL) {
        api_error(resp, 400, key, "%s: malformed percent-encoding", key);
        return false;
    }
    if (r < 0) {
        api_error(resp, 400, key, "%s: longer than %zu bytes", key, outlen - 1);
        return false;
    }
    *value = out;
    return true;
}

bool api_page(const struct http_api_request *req, struct http_api_response *resp, size_t *limit, char *after,
              size_t afterlen)
{
    char buf[32];
    const char *v;
    if (!api_query_param(req, resp, "limit", buf, sizeof buf, &v))
        return false;
    if (api_limit_parse(v, limit) < 0) {
        api_error(resp, 400, "limit", "limit: expected a number from 1 to %d", API_LIST_MAX);
        return false;
    }
    if (!api_query_param(req, resp, "after", after, afterlen, &v))
        return false;
    if (!v)
        after[0] = '\0';
    return true;
}

bool api_refs_exist(struct api *a, struct http_api_response *resp, const char *prefix, const char *build,
                    int build_version, const char *profile)
{
    if (build[0]) {
        struct build b;
        int r = store_build_get(a->st, build, build_version, &b);
        if (r == 0) {
            build_clear(&b);
        } else if (r == -ENOENT) {
            char field[96];
            snprintf(field, sizeof field, "%sbuild", prefix);
            if (build_version)
                api_error(resp, 400, field, "%s: no build %s@%d", field, build, build_version);
            else
                api_error(resp, 400, field, "%s: no build named %s", field, build);
            return false;
        } else {
            api_store_error(a, resp, "build lookup", r);
            return false;
        }
    }
    if (profile[0]) {
        struct profile p = {0};
        int r = store_profile_get(a->st, profile, &p);
        if (r == 0) {
            profile_clear(&p);
        } else if (r == -ENOENT) {
            char field[96];
            snprintf(field, sizeof field, "%sprofile", prefix);
            api_error(resp, 400, field, "%s: no profile named %s", field, profile);
            return false;
        } else {
            api_store_error(a, resp, "profile lookup", r);
            return false;
        }
    }
    return true;
}

bool api_body_name(json_t *body, const char *path_name, struct http_api_response *resp)
{
    json_t *n = json_object_get(body, "name");
    if (!n) {
        if (json_object_set_new(body, "name", json_string(path_name)) == 0)
            return true;
        api_json(resp, 500, NULL);
        return false;
    }
    if (!json_is_string(n) || strcmp(json_string_value(n), path_name) != 0) {
        api_error(resp, 400, "name", "name: differs from the name in the path (%s)", path_name);
        return false;
    }
    return true;
}
