/* /api/v1/hosts: the inventory's host records, their lifecycle actions
 * (retire, reinstall), the configuration document a host would get now,
 * and its operations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "inventory/profile.h"
#include "inventory/rules.h"
#include "store/store_inventory.h"
#include "util/addr.h"
#include "util/log.h"

void api_host_conflict(struct api *a, struct http_api_response *resp, const char *prefix, const struct host *h,
                       const char *where)
{
    char field[96];
    struct host other = {0};
    if (where && strcmp(where, "mac") == 0) {
        /* Say which MAC and whose, so the operator need not search. */
        for (size_t i = 0; i < h->n_macs; i++) {
            if (store_host_by_mac(a->st, h->macs[i], &other) < 0)
                continue;
            bool theirs = other.id != h->id;
            if (theirs) {
                char mac[MAC_STRLEN];
                snprintf(field, sizeof field, "%smacs[%zu]", prefix, i);
                api_error(resp, 409, field, "%s: %s belongs to host %s", field, format_mac(h->macs[i], mac),
                          other.name);
            }
            host_clear(&other);
            if (theirs)
                return;
        }
        snprintf(field, sizeof field, "%smacs", prefix);
        api_error(resp, 409, field, "%s: a MAC belongs to another host", field);
    } else if (where && strcmp(where, "uuid") == 0 && store_host_by_uuid(a->st, h->uuid, &other) == 0) {
        snprintf(field, sizeof field, "%suuid", prefix);
        api_error(resp, 409, field, "%s: %s belongs to host %s", field, h->uuid, other.name);
    } else if (where && strcmp(where, "serial") == 0 && store_host_by_serial(a->st, h->serial, &other) == 0) {
        snprintf(field, sizeof field, "%sserial", prefix);
        api_error(resp, 409, field, "%s: %s belongs to host %s", field, h->serial, other.name);
    } else {
        snprintf(field, sizeof field, "%s%s", prefix, where ? where : "name");
        api_error(resp, 409, field, "%s: taken by another host", field);
    }
    host_clear(&other);
}

int api_host_save(struct api *a, struct http_api_response *resp, const char *prefix, const json_t *j,
                  const char *name, enum api_save how, struct host *h, bool *created)
{
    char field[96], err[512];
    *created = false;
    if (!name) {
        const json_t *n = json_object_get(j, "name");
        name = json_is_string(n) ? json_string_value(n) : NULL;
    }
    int r = name && build_name_valid(name) ? store_host_by_name(a->st, name, h) : -ENOENT;
    if (r < 0 && r != -ENOENT) {
        api_store_error(a, resp, "host lookup", r);
        return -1;
    }
    bool exists = r == 0;
    if (exists && how == API_SAVE_CREATE) {
        snprintf(field, sizeof field, "%sname", prefix);
        api_error(resp, 409, field, "%s: a host named %s exists", field, name);
        return -1;
    }
    if (!exists && how == API_SAVE_PATCH) {
        api_error(resp, 404, NULL, "no host named %s", name ? name : "");
        return -1;
    }
    if (!exists && host_init(h) < 0) {
        api_json(resp, 500, NULL);
        return -1;
    }
    if (host_from_json(j, h, how == API_SAVE_PATCH, err, sizeof err) < 0) {
        api_invalid(resp, prefix, err);
        return -1;
    }
    if (!api_refs_exist(a, resp, prefix, h->build, h->build_version, h->profile))
        return -1;
    const char *where = NULL;
    r = store_host_put(a->st, h, &where);
    if (r == -EEXIST) {
        api_host_conflict(a, resp, prefix, h, where);
        return -1;
    }
    if (r == -EINVAL) {
        snprintf(field, sizeof field, "%s%s", prefix, where ? where : "");
        api_error(resp, 400, where ? field : NULL, "%s%s: refused by the store", prefix, where ? where : "host");
        return -1;
    }
    if (r < 0) {
        api_store_error(a, resp, "host save", r);
        return -1;
    }
    *created = !exists;
    return 0;
}

/* The list shows hosts without their facts (GET one host for those). */
static int host_page_add(const struct host *h, void *pg)
{
    json_t *j = host_to_json(h);
    json_object_del(j, "facts");
    return api_page_add(pg, h->name, j);
}

static void hosts_list(struct api *a, const struct http_api_request *req, struct http_api_response *resp)
{
    char after[HOST_NAME_MAX_LEN], state[32], build[BUILD_NAME_MAX + 16], label[256], q[128];
    struct host_filter f = {0};
    size_t limit;
    if (!api_page(req, resp, &limit, after, sizeof after) ||
        !api_query_param(req, resp, "state", state, sizeof state, &f.state) ||
        !api_query_param(req, resp, "build", build, sizeof build, &f.build) ||
        !api_query_param(req, resp, "label", label, sizeof label, &f.label) ||
        !api_query_param(req, resp, "q", q, sizeof q, &f.search))
        return;
    enum host_state s;
    if (f.state && host_state_parse(f.state, &s) < 0) {
        api_error(resp, 400, "state", "state: expected one of unknown, discovered, booting, born, configuring, "
                                      "ready, failed, retired");
        return;
    }
    f.after = after[0] ? after : NULL;
    f.limit = limit + 1; /* one more tells whether there is a next page */
    struct api_list_page p = {.items = json_array(), .limit = limit};
    int r = p.items ? store_host_list(a->st, &f, host_page_add, &p) : -ENOMEM;
    api_page_answer(a, resp, &p, r, "host list");
}

static void host_answer(struct http_api_response *resp, int status, const struct host *h)
{
    api_json(resp, status, host_to_json(h));
}

static void host_write(struct api *a, const struct http_api_request *req, const char *name, enum api_save how,
                       struct http_api_response *resp)
{
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    if (how == API_SAVE_REPLACE && !api_body_name(body, name, resp)) {
        json_decref(body);
        return;
    }
    struct host h = {0};
    bool created;
    if (api_host_save(a, resp, "", body, how == API_SAVE_CREATE ? NULL : name, how, &h, &created) == 0)
        host_answer(resp, created ? 201 : 200, &h);
    host_clear(&h);
    json_decref(body);
}

static int host_load(struct api *a, const char *name, struct host *h, struct http_api_response *resp)
{
    int r = build_name_valid(name) ? store_host_by_name(a->st, name, h) : -ENOENT;
    if (r == -ENOENT)
        api_error(resp, 404, NULL, "no host named %s", build_name_valid(name) ? name : "like that");
    else if (r < 0)
        api_store_error(a, resp, "host lookup", r);
    return r;
}

static void host_delete(struct api *a, const char *name, struct http_api_response *resp)
{
    struct host h = {0};
    if (host_load(a, name, &h, resp) == 0) {
        int r = store_host_delete(a->st, h.id);
        if (r == 0 || r == -ENOENT)
            api_no_content(resp);
        else
            api_store_error(a, resp, "host delete", r);
    }
    host_clear(&h);
}

static void host_retire(struct api *a, struct host *h, struct http_api_response *resp)
{
    int r = lifecycle_transition(a->lc, h, HOST_RETIRED, "retired by the operator");
    if (r < 0) {
        api_store_error(a, resp, "retire", r);
        return;
    }
    host_answer(resp, 200, h);
}

/* The next boot gets a fresh token (the ones out now stop working) and its
 * build again. The operation belongs to that next boot, so the birth that
 * ends it does not count it as left over from an earlier one. */
static void host_reinstall(struct api *a, struct host *h, struct http_api_response *resp)
{
    int64_t now = api_now_ms();
    unsigned revoked = 0;
    int r = store_token_revoke_host(a->st, h->id, 0, &revoked);
    if (r < 0) {
        api_store_error(a, resp, "reinstall: token revoke", r);
        return;
    }
    struct operation op = {.host_id = h->id, .boot_id = h->boot_id + 1, .created = now, .updated = now};
    snprintf(op.kind, sizeof op.kind, "reinstall");
    snprintf(op.status, sizeof op.status, "pending");
    snprintf(op.detail, sizeof op.detail, "requested by the operator; %u boot token%s revoked", revoked,
             revoked == 1 ? "" : "s");
    r = store_op_add(a->st, &op);
    if (r < 0) {
        api_store_error(a, resp, "reinstall: operation", r);
        return;
    }
    r = lifecycle_transition(a->lc, h, HOST_DISCOVERED, "reinstall requested by the operator");
    if (r < 0) {
        api_store_error(a, resp, "reinstall", r);
        return;
    }
    host_answer(resp, 200, h);
}

int api_base_url(struct api *a, const struct http_api_request *req, char *out, size_t outlen)
{
    if (a->conf->http_public_url[0]) {
        size_t n = strlen(a->conf->http_public_url);
        while (n > 0 && a->conf->http_public_url[n - 1] == '/')
            n--;
        return snprintf(out, outlen, "%.*s", (int)n, a->conf->http_public_url) < (int)outlen ? 0 : -ENAMETOOLONG;
    }
    char ip[IPV4_STRLEN];
    uint32_t local = req->local_addr ? req->local_addr : a->conf->http_address;
    return snprintf(out, outlen, "http://%s:%u", format_ipv4(local, ip), a->conf->http_port) < (int)outlen
               ? 0
               : -ENAMETOOLONG;
}

static void host_config(struct api *a, const struct http_api_request *req, const struct host *h,
                        struct http_api_response *resp)
{
    struct profile p = {0};
    if (h->profile[0]) {
        int r = store_profile_get(a->st, h->profile, &p);
        if (r == -ENOENT) {
            api_error(resp, 409, "profile", "profile: host %s names profile %s, which does not exist", h->name,
                      h->profile);
            return;
        }
        if (r < 0) {
            api_store_error(a, resp, "profile lookup", r);
            return;
        }
    }
    char base[CONF_URL_MAX], err[512], field[128];
    struct configdoc_ctx ctx = {.base_url = base, .now_ms = api_now_ms()};
    char *doc = NULL;
    if (api_base_url(a, req, base, sizeof base) < 0) {
        api_error(resp, 500, NULL, "base URL too long");
    } else if (configdoc_render(p.doc, h, &ctx, &doc, err, sizeof err) < 0) {
        /* Not the request's fault: the profile does not fit this host. */
        api_error(resp, 409, api_err_field(err, field, sizeof field), "profile %s does not render for host %s: %s",
                  h->profile, h->name, err);
    } else {
        json_error_t jerr;
        api_json(resp, 200, json_loads(doc, 0, &jerr));
    }
    free(doc);
    profile_clear(&p);
}

static int op_add(const struct operation *op, void *arg)
{
    json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)op->id, "boot_id",
                          (json_int_t)op->boot_id, "kind", op->kind, "status", op->status, "detail", op->detail,
                          "created", json_time_ms(op->created), "updated", json_time_ms(op->updated));
    return j && json_array_append_new(arg, j) == 0 ? 0 : -ENOMEM;
}

static void host_operations(struct api *a, const struct host *h, struct http_api_response *resp)
{
    json_t *items = json_array();
    int r = items ? store_op_list(a->st, h->id, op_add, items) : -ENOMEM;
    if (r < 0) {
        json_decref(items);
        api_store_error(a, resp, "operation list", r);
        return;
    }
    api_list(resp, items, NULL);
}

static void host_action(struct api *a, const struct http_api_request *req, const char *name, const char *action,
                        struct http_api_response *resp)
{
    static const struct {
        const char *name;
        enum http_api_method method;
        const char *allow;
    } actions[] = {{"retire", API_POST, "POST"},
                   {"reinstall", API_POST, "POST"},
                   {"config", API_GET, "GET, HEAD"},
                   {"operations", API_GET, "GET, HEAD"}};
    size_t i;
    for (i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(actions[i].name, action) == 0)
            break;
    if (i == sizeof actions / sizeof actions[0]) {
        api_error(resp, 404, NULL, "hosts/NAME/ takes retire, reinstall, config or operations");
        return;
    }
    if (req->method != actions[i].method) {
        api_method_not_allowed(resp, actions[i].allow);
        return;
    }
    struct host h = {0};
    if (host_load(a, name, &h, resp) == 0) {
        switch (i) {
        case 0: host_retire(a, &h, resp); break;
        case 1: host_reinstall(a, &h, resp); break;
        case 2: host_config(a, req, &h, resp); break;
        default: host_operations(a, &h, resp); break;
        }
    }
    host_clear(&h);
}

void api_route_hosts(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp)
{
    char seg[3][128];
    int n = api_path_split(rest, seg, 3);
    if (n < 0 || n > 2) {
        api_error(resp, 404, NULL, "no such path under hosts");
        return;
    }
    if (n == 0) {
        if (req->method == API_GET)
            hosts_list(a, req, resp);
        else if (req->method == API_POST)
            host_write(a, req, NULL, API_SAVE_CREATE, resp);
        else
            api_method_not_allowed(resp, "GET, HEAD, POST");
        return;
    }
    if (n == 2) {
        host_action(a, req, seg[0], seg[1], resp);
        return;
    }
    struct host h = {0};
    switch (req->method) {
    case API_GET:
        if (host_load(a, seg[0], &h, resp) == 0)
            host_answer(resp, 200, &h);
        host_clear(&h);
        break;
    case API_PUT:
        if (!build_name_valid(seg[0]))
            api_error(resp, 400, "name", "name: letters, digits, '-', '_', '.' (not starting with '.'), at most 63");
        else
            host_write(a, req, seg[0], API_SAVE_REPLACE, resp);
        break;
    case API_PATCH: host_write(a, req, seg[0], API_SAVE_PATCH, resp); break;
    case API_DELETE: host_delete(a, seg[0], resp); break;
    default: api_method_not_allowed(resp, "GET, HEAD, PUT, PATCH, DELETE"); break;
    }
}
