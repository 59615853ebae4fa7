/* The routes profiles and rules share: both are objects the store keeps
 * whole under a unique name, so listing, creating, reading, replacing and
 * deleting them answer alike; struct api_named holds what differs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "store/store_inventory.h"

/* The names of both are build_name_valid() ones; ?after= is held to that
 * length, as it always was. */
_Static_assert(PROFILE_NAME_MAX == RULE_NAME_MAX, "one ?after= length for profiles and rules");

static void named_list(struct api *a, const struct api_named *k, const struct http_api_request *req,
                       struct http_api_response *resp)
{
    char after[PROFILE_NAME_MAX], what[64];
    size_t limit;
    if (!api_page(req, resp, &limit, after, sizeof after))
        return;
    struct api_list_page pg = {.items = json_array(), .limit = limit};
    int r = pg.items ? k->walk(a, after, &pg) : -ENOMEM;
    snprintf(what, sizeof what, "%s list", k->noun);
    api_page_answer(a, resp, &pg, r, what);
}

/* POST (name NULL) and PUT: stores the body, then answers with the object
 * as the store has it now (its "updated" is the store's). */
static void named_write(struct api *a, const struct api_named *k, const struct http_api_request *req,
                        const char *name, enum api_save how, struct http_api_response *resp)
{
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    bool created;
    if ((!name || api_body_name(body, name, resp)) && k->save(a, resp, "", body, how, &created) == 0) {
        /* save decoded the body, so its "name" is a valid one. */
        json_t *stored;
        int r = k->get(a, json_string_value(json_object_get(body, "name")), &stored);
        if (r == 0) {
            api_json(resp, created ? 201 : 200, stored);
        } else {
            char what[64];
            snprintf(what, sizeof what, "%s read back", k->noun);
            api_store_error(a, resp, what, r);
        }
    }
    json_decref(body);
}

static void named_get(struct api *a, const struct api_named *k, const char *name, bool valid,
                      struct http_api_response *resp)
{
    json_t *j = NULL;
    int r = valid ? k->get(a, name, &j) : -ENOENT;
    if (r == 0) {
        api_json(resp, 200, j);
    } else if (r == -ENOENT) {
        api_error(resp, 404, NULL, "no %s named %s", k->noun, name);
    } else {
        char what[64];
        snprintf(what, sizeof what, "%s lookup", k->noun);
        api_store_error(a, resp, what, r);
    }
}

static void named_delete(struct api *a, const struct api_named *k, const char *name, bool valid,
                         struct http_api_response *resp)
{
    int r = valid ? k->remove(a->st, name) : -ENOENT;
    if (r == 0) {
        api_no_content(resp);
    } else if (r == -ENOENT) {
        api_error(resp, 404, NULL, "no %s named %s", k->noun, name);
    } else if (r == -EBUSY && k->used_by) {
        api_error(resp, 409, "name", "name: %s %s is in use by %s", k->noun, name, k->used_by);
    } else {
        char what[64];
        snprintf(what, sizeof what, "%s delete", k->noun);
        api_store_error(a, resp, what, r);
    }
}

void api_named_route(struct api *a, const struct api_named *k, const struct http_api_request *req,
                     const char *rest, struct http_api_response *resp)
{
    char seg[2][128];
    int n = api_path_split(rest, seg, 2);
    if (n < 0 || n > 1) {
        api_error(resp, 404, NULL, "no such path under %s", k->plural);
        return;
    }
    if (n == 0) {
        if (req->method == API_GET)
            named_list(a, k, req, resp);
        else if (req->method == API_POST)
            named_write(a, k, req, NULL, API_SAVE_CREATE, resp);
        else
            api_method_not_allowed(resp, "GET, HEAD, POST");
        return;
    }
    const char *name = seg[0];
    /* POST on one object is not otherwise defined, so the action's name
     * stays a valid object name for GET, PUT and DELETE. */
    if (k->action && req->method == API_POST && strcmp(name, k->action) == 0) {
        k->action_run(a, req, resp);
        return;
    }
    bool valid = build_name_valid(name);
    switch (req->method) {
    case API_GET: named_get(a, k, name, valid, resp); break;
    case API_PUT:
        if (!valid)
            api_error(resp, 400, "name", "name: letters, digits, '-', '_', '.' (not starting with '.'), at most 63");
        else
            named_write(a, k, req, name, API_SAVE_REPLACE, resp);
        break;
    case API_DELETE: named_delete(a, k, name, valid, resp); break;
    default: api_method_not_allowed(resp, "GET, HEAD, PUT, DELETE"); break;
    }
}
