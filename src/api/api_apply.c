/* POST /api/v1/apply: hosts, profiles and rules created or updated by name,
 * all or nothing in one store transaction. GET /api/v1/export: the same
 * shape back, writable fields only, so an export applies as it is (to the
 * same server: every object "updated"; to an empty one: "created"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "store/store_inventory.h"

static const char *const host_keys[] = {"name",    "macs", "uuid",   "serial", "build", "profile",
                                        "mode",    "address", "vlan", "labels", "vars",  NULL};
static const char *const profile_keys[] = {"name", "doc", NULL};
static const char *const rule_keys[] = {"name", "rank", "match", "build", "profile", "mode", "labels", NULL};

/* Profiles first, then rules and hosts, which may name them. */
enum kind { K_PROFILES, K_RULES, K_HOSTS, K_COUNT };
static const char *const kind_names[K_COUNT] = {"profiles", "rules", "hosts"};

static int apply_one(struct api *a, struct http_api_response *resp, enum kind k, const char *prefix,
                     const json_t *item, bool *created)
{
    char field[64];
    if (!json_is_object(item)) {
        snprintf(field, sizeof field, "%.*s", (int)strlen(prefix) - 1, prefix); /* without the '.' */
        api_error(resp, 400, field, "%s: expected an object", field);
        return -1;
    }
    int r;
    switch (k) {
    case K_PROFILES: r = api_profile_save(a, resp, prefix, item, API_SAVE_REPLACE, created); break;
    case K_RULES: r = api_rule_save(a, resp, prefix, item, API_SAVE_REPLACE, created); break;
    default: {
        struct host h = {0};
        r = api_host_save(a, resp, prefix, item, NULL, API_SAVE_REPLACE, &h, created);
        host_clear(&h);
        break;
    }
    }
    return r;
}

static void apply(struct api *a, const struct http_api_request *req, struct http_api_response *resp)
{
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        enum kind k = 0;
        while (k < K_COUNT && strcmp(kind_names[k], key) != 0)
            k++;
        char field[64];
        snprintf(field, sizeof field, "%.63s", key);
        if (k == K_COUNT) {
            api_error(resp, 400, field, "%s: unknown key (hosts, profiles, rules)", field);
            goto out;
        }
        if (!json_is_array(v)) {
            api_error(resp, 400, field, "%s: expected a list", field);
            goto out;
        }
    }
    int r = store_begin(a->st);
    if (r < 0) {
        api_store_error(a, resp, "apply: begin", r);
        goto out;
    }
    size_t created[K_COUNT] = {0}, updated[K_COUNT] = {0};
    for (enum kind k = 0; k < K_COUNT; k++) {
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(body, kind_names[k]), i, item) {
            char prefix[48];
            bool was_created;
            snprintf(prefix, sizeof prefix, "%s[%zu].", kind_names[k], i);
            if (apply_one(a, resp, k, prefix, item, &was_created) < 0) {
                store_rollback(a->st); /* nothing of this apply stays */
                goto out;
            }
            (was_created ? created : updated)[k]++;
        }
    }
    r = store_commit(a->st);
    if (r < 0) {
        store_rollback(a->st);
        api_store_error(a, resp, "apply: commit", r);
        goto out;
    }
    api_json(resp, 200,
             json_pack("{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}}", "created", "hosts", (json_int_t)created[K_HOSTS],
                       "profiles", (json_int_t)created[K_PROFILES], "rules", (json_int_t)created[K_RULES], "updated",
                       "hosts", (json_int_t)updated[K_HOSTS], "profiles", (json_int_t)updated[K_PROFILES], "rules",
                       (json_int_t)updated[K_RULES]));
out:
    json_decref(body);
}

void api_route_apply(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp)
{
    if (rest[0] && strcmp(rest, "/") != 0)
        api_error(resp, 404, NULL, "no such path under apply");
    else if (req->method != API_POST)
        api_method_not_allowed(resp, "POST");
    else
        apply(a, req, resp);
}

/* ---- export ---- */

static json_t *only(json_t *full, const char *const *keys)
{
    json_t *o = full ? json_object() : NULL;
    for (size_t i = 0; o && keys[i]; i++) {
        json_t *v = json_object_get(full, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    json_decref(full);
    return o;
}

static int export_host(const struct host *h, void *arg)
{
    json_t *j = only(host_to_json(h), host_keys);
    return j && json_array_append_new(arg, j) == 0 ? 0 : -ENOMEM;
}

static int export_profile(const struct profile *p, void *arg)
{
    json_t *j = only(profile_to_json(p), profile_keys);
    return j && json_array_append_new(arg, j) == 0 ? 0 : -ENOMEM;
}

static int export_rule(const struct rule *r, void *arg)
{
    json_t *j = only(rule_to_json(r), rule_keys);
    return j && json_array_append_new(arg, j) == 0 ? 0 : -ENOMEM;
}

static void export(struct api *a, struct http_api_response *resp)
{
    json_t *hosts = json_array(), *profiles = json_array(), *rules = json_array();
    struct host_filter f = {0};
    int r = hosts && profiles && rules ? 0 : -ENOMEM;
    if (r == 0)
        r = store_profile_list(a->st, NULL, 0, export_profile, profiles);
    if (r == 0)
        r = store_rule_list(a->st, export_rule, rules);
    if (r == 0)
        r = store_host_list(a->st, &f, export_host, hosts);
    if (r < 0) {
        json_decref(hosts);
        json_decref(profiles);
        json_decref(rules);
        api_store_error(a, resp, "export", r);
        return;
    }
    api_json(resp, 200, json_pack("{s:o, s:o, s:o}", "profiles", profiles, "rules", rules, "hosts", hosts));
}

void api_route_export(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp)
{
    if (rest[0] && strcmp(rest, "/") != 0)
        api_error(resp, 404, NULL, "no such path under export");
    else if (req->method != API_GET)
        api_method_not_allowed(resp, "GET, HEAD");
    else
        export(a, resp);
}
