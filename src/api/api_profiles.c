/* /api/v1/profiles: the configuration documents hosts get at birth. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "store/store_inventory.h"

int api_profile_save(struct api *a, struct http_api_response *resp, const char *prefix, const json_t *j,
                     enum api_save how, bool *created)
{
    char err[512], field[96];
    struct profile p = {0};
    int rc = -1;
    *created = false;
    if (profile_from_json(j, &p, err, sizeof err) < 0) {
        api_invalid(resp, prefix, err);
        goto out;
    }
    struct profile old = {0};
    int r = store_profile_get(a->st, p.name, &old);
    profile_clear(&old);
    if (r < 0 && r != -ENOENT) {
        api_store_error(a, resp, "profile lookup", r);
        goto out;
    }
    if (r == 0 && how == API_SAVE_CREATE) {
        snprintf(field, sizeof field, "%sname", prefix);
        api_error(resp, 409, field, "%s: a profile named %s exists", field, p.name);
        goto out;
    }
    int w = store_profile_put(a->st, &p);
    if (w == -EINVAL) {
        api_error(resp, 400, NULL, "%sprofile refused by the store", prefix);
        goto out;
    }
    if (w < 0) {
        api_store_error(a, resp, "profile save", w);
        goto out;
    }
    *created = r == -ENOENT;
    rc = 0;
out:
    profile_clear(&p);
    return rc;
}

static int profile_page_add(const struct profile *p, void *pg)
{
    return api_page_add(pg, p->name, profile_to_json(p));
}

/* Profiles come in name order, so the store itself starts after ?after=. */
static int profiles_walk(struct api *a, const char *after, struct api_list_page *pg)
{
    return store_profile_list(a->st, after[0] ? after : NULL, pg->limit + 1, profile_page_add, pg);
}

static int profile_get_json(struct api *a, const char *name, json_t **out)
{
    struct profile p = {0};
    int r = store_profile_get(a->st, name, &p);
    *out = r == 0 ? profile_to_json(&p) : NULL;
    profile_clear(&p);
    return r;
}

static const struct api_named profiles = {
    .noun = "profile",
    .plural = "profiles",
    .walk = profiles_walk,
    .get = profile_get_json,
    .save = api_profile_save,
    .remove = store_profile_delete,
    .used_by = "a host or a rule",
};

void api_route_profiles(struct api *a, const struct http_api_request *req, const char *rest,
                        struct http_api_response *resp)
{
    api_named_route(a, &profiles, req, rest, resp);
}
