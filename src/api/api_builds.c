/* /api/v1/builds: published builds and their files; import and layer run
 * in a child process (api_jobs.c) and answer when it ends (201 with the
 * new build, or the error), the loop serving everyone else meanwhile. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "api/api_jobs.h"
#include "images/import.h"
#include "inventory/model_json.h"
#include "store/store_build.h"
#include "store/store_inventory.h"
#include "util/log.h"
#include "util/strnum.h"

#define LAYER_MAX_ARCHIVES 64

static json_t *build_to_json(const struct build *b, bool with_files)
{
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:o}", "name", b->name, "version", b->version,
                          "kind", build_kind_name(b->kind), "cmdline", b->cmdline, "san_uri", b->san_uri, "source",
                          b->source, "no_agent", b->no_agent, "created", json_time_ms(b->created * 1000));
    if (!j || !with_files)
        return j;
    json_t *files = json_array();
    for (size_t i = 0; files && i < b->n_files; i++) {
        const struct build_file *f = &b->files[i];
        json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}", "role", build_file_role_name(f->role),
                                               "name", f->name, "sha256", f->sha256, "size", (json_int_t)f->size,
                                               "args", f->args, "layered", f->layered));
    }
    json_object_set_new(j, "files", files ? files : json_null());
    return j;
}

/* "NAME" (version 0: every version or the latest) or "NAME@V". */
static bool parse_build_ref(const char *s, char name[BUILD_NAME_MAX], int *version)
{
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    if (n == 0 || n >= BUILD_NAME_MAX)
        return false;
    memcpy(name, s, n);
    name[n] = '\0';
    *version = 0;
    if (at) {
        uint64_t v;
        const char *errstr;
        if (parse_u64(at + 1, 1, INT_MAX, &v, &errstr) < 0)
            return false;
        *version = (int)v;
    }
    return build_name_valid(name);
}

/* ---- list: every version, paged by NAME@V ---- */

struct build_page {
    struct api_list_page page;
    char after[BUILD_NAME_MAX];
    int after_version; /* INT_MAX with a bare NAME: after all its versions */
};

static int build_page_add(const struct build *b, void *arg)
{
    struct build_page *p = arg;
    if (p->after[0]) {
        int c = strcmp(b->name, p->after);
        if (c < 0 || (c == 0 && b->version <= p->after_version))
            return 0;
    }
    char key[BUILD_NAME_MAX + 16];
    snprintf(key, sizeof key, "%s@%d", b->name, b->version);
    return api_page_add(&p->page, key, build_to_json(b, false));
}

static void builds_list(struct api *a, const struct http_api_request *req, struct http_api_response *resp)
{
    char after[BUILD_NAME_MAX + 16];
    struct build_page p = {0};
    if (!api_page(req, resp, &p.page.limit, after, sizeof after))
        return;
    if (after[0]) {
        if (!parse_build_ref(after, p.after, &p.after_version)) {
            api_error(resp, 400, "after", "after: expected NAME or NAME@VERSION");
            return;
        }
        if (!strchr(after, '@'))
            p.after_version = INT_MAX;
    }
    p.page.items = json_array();
    int r = p.page.items ? store_build_foreach(a->st, build_page_add, &p) : -ENOMEM;
    api_page_answer(a, resp, &p.page, r, "build list");
}

/* ---- import and layer, in a child ---- */

static int import_error_status(int r)
{
    return r == -ENOMEM || r == -EIO || r == -ENOSPC ? 500 : 400;
}

static json_t *build_answer(int r, const struct build *b, const char *err)
{
    return r < 0 ? json_pack("{s:s}", "error", err) : build_to_json(b, true);
}

/* The child's side: the spec is what build_import() and build_layer()
 * checked and wrote, read back into the options image_import takes. */
static int import_run(const json_t *spec, const char *state_dir, struct store *st, json_t **body)
{
    struct import_opts o = {0};
    o.name = json_string_value(json_object_get(spec, "name"));
    o.path = json_string_value(json_object_get(spec, "path"));
    o.kernel = json_string_value(json_object_get(spec, "kernel"));
    o.chain = json_string_value(json_object_get(spec, "chain"));
    o.cmdline = json_string_value(json_object_get(spec, "cmdline"));
    o.san_uri = json_string_value(json_object_get(spec, "san_uri"));
    o.no_agent = json_is_true(json_object_get(spec, "no_agent"));
    const char *kind = json_string_value(json_object_get(spec, "build_kind"));
    if (kind && build_kind_parse(kind, &o.kind) == 0)
        o.kind_set = true;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(spec, "initrds"), i, e) {
        if (i < IMPORT_MAX_INITRDS && json_is_string(e))
            o.initrds[o.n_initrds++] = json_string_value(e);
    }
    if (!o.name) {
        *body = json_pack("{s:s}", "error", "import: no name in the job");
        return 500;
    }
    struct build b = {0};
    char err[1024] = "";
    int r = image_import(state_dir, st, &o, &b, err, sizeof err);
    *body = build_answer(r, &b, err);
    build_clear(&b);
    return r < 0 ? import_error_status(r) : 201;
}

static int layer_run(const json_t *spec, const char *state_dir, struct store *st, json_t **body)
{
    const char *archives[LAYER_MAX_ARCHIVES];
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(spec, "archives"), i, e) {
        if (n < LAYER_MAX_ARCHIVES && json_is_string(e))
            archives[n++] = json_string_value(e);
    }
    const char *name = json_string_value(json_object_get(spec, "name"));
    if (!name || n == 0) {
        *body = json_pack("{s:s}", "error", "layer: no name or archives in the job");
        return 500;
    }
    struct build b = {0};
    char err[1024] = "";
    int r = image_layer(state_dir, st, name, archives, n, &b, err, sizeof err);
    *body = build_answer(r, &b, err);
    build_clear(&b);
    return r < 0 ? import_error_status(r) : 201;
}

int api_builds_job_run(const char *kind, const json_t *spec, const char *state_dir, struct store *st,
                       json_t **body)
{
    if (strcmp(kind, "import") == 0)
        return import_run(spec, state_dir, st, body);
    if (strcmp(kind, "layer") == 0)
        return layer_run(spec, state_dir, st, body);
    *body = json_pack("{s:s}", "error", "unknown job kind");
    return 500;
}

static void job_start(struct api *a, const struct http_api_request *req, struct http_api_response *resp,
                      const char *kind, const char *name, json_t *spec)
{
    int r = api_job_start(a, kind, name, spec, req->pending);
    if (r < 0) {
        log_error("api", "cannot start the %s job: %s", kind, strerror(-r));
        api_error(resp, 503, NULL, "cannot start the %s: %s", kind, strerror(-r));
        return;
    }
    resp->defer = true; /* the job answers when its child ends */
}

/* A path on the server: absolute, no NUL (JSON allows \u0000). */
static bool server_path(const json_t *v, const char *field, const char **out, struct http_api_response *resp)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= PATH_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        api_error(resp, 400, field, "%s: expected a path", field);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool opt_string(const json_t *body, const char *key, const char **out, struct http_api_response *resp)
{
    const json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        api_error(resp, 400, key, "%s: expected a string", key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static void build_import(struct api *a, const struct http_api_request *req, struct http_api_response *resp)
{
    static const char *const keys[] = {"name",    "path",    "kind",     "kernel",   "chain",
                                       "initrds", "cmdline", "san_uri",  "no_agent", NULL};
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    struct import_opts o = {0};
    const char *kind = NULL;
    json_t *v;
    if (!api_keys_known(body, keys, NULL, resp))
        goto out;
    if (!opt_string(body, "name", &o.name, resp) || !opt_string(body, "kind", &kind, resp) ||
        !opt_string(body, "kernel", &o.kernel, resp) || !opt_string(body, "chain", &o.chain, resp) ||
        !opt_string(body, "cmdline", &o.cmdline, resp) || !opt_string(body, "san_uri", &o.san_uri, resp))
        goto out;
    if (!o.name || !build_name_valid(o.name)) {
        api_error(resp, 400, "name", "name: letters, digits, '-', '_', '.' (not starting with '.'), at most 63");
        goto out;
    }
    if (kind) {
        if (build_kind_parse(kind, &o.kind) < 0) {
            api_error(resp, 400, "kind", "kind: expected linux, esxi, chain, sanboot or local");
            goto out;
        }
        o.kind_set = true;
    }
    v = json_object_get(body, "path");
    if (v && !json_is_null(v)) {
        if (!server_path(v, "path", &o.path, resp))
            goto out;
        if (o.path[0] != '/') {
            api_error(resp, 400, "path", "path: must be absolute (a path on the server)");
            goto out;
        }
    } else if (!(o.kind_set && (o.kind == BUILD_SANBOOT || o.kind == BUILD_LOCAL))) {
        api_error(resp, 400, "path", "path: required (a directory, tarball or ISO on the server)");
        goto out;
    }
    v = json_object_get(body, "initrds");
    if (v && !json_is_null(v)) {
        if (!json_is_array(v) || json_array_size(v) > IMPORT_MAX_INITRDS) {
            api_error(resp, 400, "initrds", "initrds: expected a list of at most %d paths", IMPORT_MAX_INITRDS);
            goto out;
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            char field[32];
            snprintf(field, sizeof field, "initrds[%zu]", i);
            if (!server_path(e, field, &o.initrds[i], resp))
                goto out;
        }
        o.n_initrds = json_array_size(v);
    }
    const json_t *na = json_object_get(body, "no_agent");
    if (na && !json_is_boolean(na)) {
        api_error(resp, 400, "no_agent", "no_agent: expected true or false");
        goto out;
    }
    o.no_agent = json_is_true(na);
    json_t *spec = json_pack("{s:s, s:b}", "name", o.name, "no_agent", o.no_agent);
    const char *strings[][2] = {{"path", o.path},       {"build_kind", kind},      {"kernel", o.kernel},
                                {"chain", o.chain},     {"cmdline", o.cmdline},    {"san_uri", o.san_uri}};
    for (size_t i = 0; spec && i < sizeof strings / sizeof strings[0]; i++)
        if (strings[i][1])
            json_object_set_new(spec, strings[i][0], json_string(strings[i][1]));
    json_t *initrds = json_array();
    for (size_t i = 0; initrds && i < o.n_initrds; i++)
        json_array_append_new(initrds, json_string(o.initrds[i]));
    if (spec)
        json_object_set_new(spec, "initrds", initrds ? initrds : json_array());
    job_start(a, req, resp, "import", o.name, spec);
out:
    json_decref(body);
}

static void build_layer(struct api *a, const struct http_api_request *req, const char *name,
                        struct http_api_response *resp)
{
    struct build b = {0};
    int r = build_name_valid(name) ? store_build_get(a->st, name, 0, &b) : -ENOENT;
    build_clear(&b);
    if (r == -ENOENT) {
        api_error(resp, 404, NULL, "no build named %s", name);
        return;
    }
    if (r < 0) {
        api_store_error(a, resp, "build lookup", r);
        return;
    }
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    static const char *const keys[] = {"archives", NULL};
    if (!api_keys_known(body, keys, "layer takes archives", resp))
        goto out;
    json_t *v = json_object_get(body, "archives");
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > LAYER_MAX_ARCHIVES) {
        api_error(resp, 400, "archives", "archives: expected a list of 1 to %d paths on the server",
                  LAYER_MAX_ARCHIVES);
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char field[32];
        const char *path;
        snprintf(field, sizeof field, "archives[%zu]", i);
        if (!server_path(e, field, &path, resp))
            goto out;
        if (path[0] != '/') {
            api_error(resp, 400, field, "%s: must be absolute (a path on the server)", field);
            goto out;
        }
    }
    job_start(a, req, resp, "layer", name, json_pack("{s:s, s:O}", "name", name, "archives", v));
out:
    json_decref(body);
}

/* ---- one build ---- */

static void not_found(struct http_api_response *resp, const char *name, int version)
{
    if (version)
        api_error(resp, 404, NULL, "no build %s@%d", name, version);
    else
        api_error(resp, 404, NULL, "no build named %s", name);
}

static int first_host(const struct host *h, void *arg)
{
    snprintf(arg, HOST_NAME_MAX_LEN, "%s", h->name);
    return 1;
}

static void build_delete(struct api *a, const char *name, int version, struct http_api_response *resp)
{
    int r = store_build_delete(a->st, name, version);
    if (r == 0) {
        api_no_content(resp);
    } else if (r == -ENOENT) {
        not_found(resp, name, version);
    } else if (r == -EBUSY) {
        char host[HOST_NAME_MAX_LEN] = "";
        struct host_filter f = {.build = name, .limit = 1};
        store_host_list(a->st, &f, first_host, host);
        api_error(resp, 409, "name", "name: build %s is in use%s%s", name, host[0] ? " by host " : "", host);
    } else {
        api_store_error(a, resp, "build delete", r);
    }
}

void api_route_builds(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp)
{
    char seg[3][128];
    int n = api_path_split(rest, seg, 3);
    if (n < 0 || n > 2) {
        api_error(resp, 404, NULL, "no such path under builds");
        return;
    }
    if (n == 0) {
        if (req->method == API_GET)
            builds_list(a, req, resp);
        else if (req->method == API_POST)
            build_import(a, req, resp);
        else
            api_method_not_allowed(resp, "GET, HEAD, POST");
        return;
    }
    if (n == 2) {
        if (strcmp(seg[1], "layer") != 0)
            api_error(resp, 404, NULL, "builds/NAME/ takes layer");
        else if (req->method != API_POST)
            api_method_not_allowed(resp, "POST");
        else
            build_layer(a, req, seg[0], resp);
        return;
    }
    char name[BUILD_NAME_MAX];
    int version;
    if (!parse_build_ref(seg[0], name, &version)) {
        api_error(resp, 404, NULL, "no such build (NAME or NAME@VERSION)");
        return;
    }
    if (req->method == API_GET) {
        struct build b = {0};
        int r = store_build_get(a->st, name, version, &b);
        if (r == 0)
            api_json(resp, 200, build_to_json(&b, true));
        else if (r == -ENOENT)
            not_found(resp, name, version);
        else
            api_store_error(a, resp, "build lookup", r);
        build_clear(&b);
    } else if (req->method == API_DELETE) {
        build_delete(a, name, version, resp);
    } else {
        api_method_not_allowed(resp, "GET, HEAD, DELETE");
    }
}
