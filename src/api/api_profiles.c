/* /api/v1/profiles: the configuration documents hosts get at birth. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "store/store_inventory.h"

int api_profile_save(struct api *a, struct http_api_response *resp, const char *prefix, const json_t *j,
                     enum api_save how, struct profile *p, bool *created)
{
    char err[512], field[96];
    *created = false;
    if (profile_from_json(j, p, err, sizeof err) < 0) {
        api_invalid(resp, prefix, err);
        return -1;
    }
    struct profile old = {0};
    int r = store_profile_get(a->st, p->name, &old);
    profile_clear(&old);
    if (r < 0 && r != -ENOENT) {
        api_store_error(a, resp, "profile lookup", r);
        return -1;
    }
    if (r == 0 && how == API_SAVE_CREATE) {
        snprintf(field, sizeof field, "%sname", prefix);
        api_error(resp, 409, field, "%s: a profile named %s exists", field, p->name);
        return -1;
    }
    int w = store_profile_put(a->st, p);
    if (w == -EINVAL) {
        api_error(resp, 400, NULL, "%sprofile refused by the store", prefix);
        return -1;
    }
    if (w < 0) {
        api_store_error(a, resp, "profile save", w);
        return -1;
    }
    *created = r == -ENOENT;
    return 0;
}

struct profile_page {
    json_t *items;
    size_t limit, n;
    bool more;
    char last[PROFILE_NAME_MAX];
};

static int profile_page_add(const struct profile *p, void *arg)
{
    struct profile_page *pg = arg;
    if (pg->n == pg->limit) {
        pg->more = true;
        return 1;
    }
    json_t *j = profile_to_json(p);
    if (!j || json_array_append_new(pg->items, j) < 0)
        return -ENOMEM;
    snprintf(pg->last, sizeof pg->last, "%s", p->name);
    pg->n++;
    return 0;
}

static void profiles_list(struct api *a, const struct http_api_request *req, struct http_api_response *resp)
{
    char after[PROFILE_NAME_MAX];
    size_t limit;
    if (!api_page(req, resp, &limit, after, sizeof after))
        return;
    struct profile_page pg = {.items = json_array(), .limit = limit};
    int r = pg.items ? store_profile_list(a->st, after[0] ? after : NULL, limit + 1, profile_page_add, &pg)
                     : -ENOMEM;
    if (r < 0) {
        json_decref(pg.items);
        api_store_error(a, resp, "profile list", r);
        return;
    }
    api_list(resp, pg.items, pg.more ? pg.last : NULL);
}

static void profile_write(struct api *a, const struct http_api_request *req, const char *name, enum api_save how,
                          struct http_api_response *resp)
{
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    if (name && !api_body_name(body, name, resp)) {
        json_decref(body);
        return;
    }
    struct profile p = {0};
    bool created;
    if (api_profile_save(a, resp, "", body, how, &p, &created) == 0) {
        struct profile stored = {0};
        int r = store_profile_get(a->st, p.name, &stored);
        if (r == 0)
            api_json(resp, created ? 201 : 200, profile_to_json(&stored));
        else
            api_store_error(a, resp, "profile read back", r);
        profile_clear(&stored);
    }
    profile_clear(&p);
    json_decref(body);
}

void api_route_profiles(struct api *a, const struct http_api_request *req, const char *rest,
                        struct http_api_response *resp)
{
    char seg[2][128];
    int n = api_path_split(rest, seg, 2);
    if (n < 0 || n > 1) {
        api_error(resp, 404, NULL, "no such path under profiles");
        return;
    }
    if (n == 0) {
        if (req->method == API_GET)
            profiles_list(a, req, resp);
        else if (req->method == API_POST)
            profile_write(a, req, NULL, API_SAVE_CREATE, resp);
        else
            api_method_not_allowed(resp, "GET, HEAD, POST");
        return;
    }
    const char *name = seg[0];
    bool valid = build_name_valid(name);
    struct profile p = {0};
    int r;
    switch (req->method) {
    case API_GET:
        r = valid ? store_profile_get(a->st, name, &p) : -ENOENT;
        if (r == 0)
            api_json(resp, 200, profile_to_json(&p));
        else if (r == -ENOENT)
            api_error(resp, 404, NULL, "no profile named %s", name);
        else
            api_store_error(a, resp, "profile lookup", r);
        profile_clear(&p);
        break;
    case API_PUT:
        if (!valid)
            api_error(resp, 400, "name", "name: letters, digits, '-', '_', '.' (not starting with '.'), at most 63");
        else
            profile_write(a, req, name, API_SAVE_REPLACE, resp);
        break;
    case API_DELETE:
        r = valid ? store_profile_delete(a->st, name) : -ENOENT;
        if (r == 0)
            api_no_content(resp);
        else if (r == -ENOENT)
            api_error(resp, 404, NULL, "no profile named %s", name);
        else if (r == -EBUSY)
            api_error(resp, 409, "name", "name: profile %s is in use by a host or a rule", name);
        else
            api_store_error(a, resp, "profile delete", r);
        break;
    default: api_method_not_allowed(resp, "GET, HEAD, PUT, DELETE"); break;
    }
}
