/* /api/v1/rules: what an unknown host that powers on gets, and
 * POST /rules/test: which rule a client would match, with every rule's
 * reason (the same rules_first_match the boot path runs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "inventory/rules.h"
#include "store/store_inventory.h"

#define RULES_TEST_MAX 4096 /* rules loaded for a test; far above any sane rule set */

/* Which rule holds rank, for a 409 that says so. */
struct rank_find {
    int rank;
    char name[RULE_NAME_MAX];
};

static int rank_find_one(const struct rule *r, void *arg)
{
    struct rank_find *f = arg;
    if (r->rank != f->rank)
        return 0;
    snprintf(f->name, sizeof f->name, "%s", r->name);
    return 1;
}

int api_rule_save(struct api *a, struct http_api_response *resp, const char *prefix, const json_t *j,
                  enum api_save how, struct rule *r, bool *created)
{
    char err[512], field[96];
    *created = false;
    if (rule_init(r) < 0) {
        api_json(resp, 500, NULL);
        return -1;
    }
    if (rule_from_json(j, r, err, sizeof err) < 0) {
        api_invalid(resp, prefix, err);
        return -1;
    }
    struct rule old = {0};
    int g = store_rule_get(a->st, r->name, &old);
    rule_clear(&old);
    if (g < 0 && g != -ENOENT) {
        api_store_error(a, resp, "rule lookup", g);
        return -1;
    }
    if (g == 0 && how == API_SAVE_CREATE) {
        snprintf(field, sizeof field, "%sname", prefix);
        api_error(resp, 409, field, "%s: a rule named %s exists", field, r->name);
        return -1;
    }
    if (!api_refs_exist(a, resp, prefix, r->build, r->build_version, r->profile))
        return -1;
    const char *where = NULL;
    int w = store_rule_put(a->st, r, &where);
    if (w == -EEXIST) {
        struct rank_find f = {.rank = r->rank};
        store_rule_list(a->st, rank_find_one, &f);
        snprintf(field, sizeof field, "%s%s", prefix, where ? where : "rank");
        api_error(resp, 409, field, "%s: rank %d is taken by rule %s", field, r->rank, f.name[0] ? f.name : "?");
        return -1;
    }
    if (w == -EINVAL) {
        api_error(resp, 400, NULL, "%srule refused by the store", prefix);
        return -1;
    }
    if (w < 0) {
        api_store_error(a, resp, "rule save", w);
        return -1;
    }
    *created = g == -ENOENT;
    return 0;
}

/* All rules, copied out of the store's walk, in rank order. */
struct rule_set {
    struct rule *v;
    size_t n, cap;
};

static int rule_set_add(const struct rule *r, void *arg)
{
    struct rule_set *rs = arg;
    if (rs->n == RULES_TEST_MAX)
        return -E2BIG;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        struct rule *v = realloc(rs->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        rs->v = v;
        rs->cap = cap;
    }
    struct rule *c = &rs->v[rs->n];
    *c = *r;
    c->match = strdup(r->match);
    c->labels = strdup(r->labels);
    if (!c->match || !c->labels) {
        free(c->match);
        free(c->labels);
        return -ENOMEM;
    }
    rs->n++;
    return 0;
}

static void rule_set_free(struct rule_set *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        rule_clear(&rs->v[i]);
    free(rs->v);
}

struct rule_page {
    json_t *items;
    const char *after; /* skip up to and including the rule of this name */
    bool seen;
    size_t limit, n;
    bool more;
    char last[RULE_NAME_MAX];
};

static int rule_page_add(const struct rule *r, void *arg)
{
    struct rule_page *pg = arg;
    if (pg->after && !pg->seen) {
        pg->seen = strcmp(r->name, pg->after) == 0;
        return 0;
    }
    if (pg->n == pg->limit) {
        pg->more = true;
        return 1;
    }
    json_t *j = rule_to_json(r);
    if (!j || json_array_append_new(pg->items, j) < 0)
        return -ENOMEM;
    snprintf(pg->last, sizeof pg->last, "%s", r->name);
    pg->n++;
    return 0;
}

/* Rules come in rank order (the order they are tried), so ?after=NAME
 * continues after that rule in rank order. */
static void rules_list(struct api *a, const struct http_api_request *req, struct http_api_response *resp)
{
    char after[RULE_NAME_MAX];
    size_t limit;
    if (!api_page(req, resp, &limit, after, sizeof after))
        return;
    struct rule_page pg = {.items = json_array(), .after = after[0] ? after : NULL, .limit = limit};
    int r = pg.items ? store_rule_list(a->st, rule_page_add, &pg) : -ENOMEM;
    if (r < 0) {
        json_decref(pg.items);
        api_store_error(a, resp, "rule list", r);
        return;
    }
    api_list(resp, pg.items, pg.more ? pg.last : NULL);
}

static bool test_string(const json_t *body, const char *key, const char **out, struct http_api_response *resp)
{
    const json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v)
        return true;
    if (!json_is_string(v)) {
        api_error(resp, 400, key, "%s: expected a string", key);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* The subject of a test, from the body; labels from the host record of
 * that MAC when there is one (so label matches can be tried too). */
static bool test_subject(struct api *a, const json_t *body, struct rule_subject *s, struct host *h, bool *known,
                         struct http_api_response *resp)
{
    static const char *const keys[] = {"mac",   "uuid",   "serial",     "vendor",    "model",
                                       "arch",  "subnet", "circuit_id", "remote_id", NULL};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        if (!keys[i]) {
            char field[64];
            snprintf(field, sizeof field, "%.63s", key);
            api_error(resp, 400, field, "%s: unknown key (mac, uuid, serial, vendor, model, arch, subnet, "
                                        "circuit_id, remote_id)",
                      field);
            return false;
        }
    }
    const char *mac, *cid, *rid;
    if (!test_string(body, "mac", &mac, resp) || !test_string(body, "uuid", &s->uuid, resp) ||
        !test_string(body, "serial", &s->serial, resp) || !test_string(body, "vendor", &s->vendor, resp) ||
        !test_string(body, "model", &s->model, resp) || !test_string(body, "subnet", &s->subnet, resp) ||
        !test_string(body, "circuit_id", &cid, resp) || !test_string(body, "remote_id", &rid, resp))
        return false;
    if (!mac) {
        api_error(resp, 400, "mac", "mac: required");
        return false;
    }
    if (mac_parse(mac, s->mac) < 0) {
        api_error(resp, 400, "mac", "mac: not a MAC address");
        return false;
    }
    s->has_mac = true;
    s->arch = -1;
    const json_t *arch = json_object_get(body, "arch");
    if (arch) {
        if (!json_is_integer(arch) || json_integer_value(arch) < 0 || json_integer_value(arch) > 65535) {
            api_error(resp, 400, "arch", "arch: expected a number from 0 to 65535");
            return false;
        }
        s->arch = (int32_t)json_integer_value(arch);
    }
    if (cid) {
        s->circuit_id = (const uint8_t *)cid;
        s->circuit_id_len = strlen(cid);
    }
    if (rid) {
        s->remote_id = (const uint8_t *)rid;
        s->remote_id_len = strlen(rid);
    }
    int r = store_host_by_mac(a->st, s->mac, h);
    if (r < 0 && r != -ENOENT) {
        api_store_error(a, resp, "host lookup", r);
        return false;
    }
    *known = r == 0;
    s->labels = *known ? h->labels : NULL;
    return true;
}

static void rules_test(struct api *a, const struct http_api_request *req, struct http_api_response *resp)
{
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    struct rule_subject s = {0};
    struct host h = {0};
    bool known = false;
    struct rule_set rs = {0};
    struct rule_trace *trace = NULL;
    if (!test_subject(a, body, &s, &h, &known, resp))
        goto out;
    int r = store_rule_list(a->st, rule_set_add, &rs);
    if (r == -E2BIG) {
        api_error(resp, 500, NULL, "more than %d rules", RULES_TEST_MAX);
        goto out;
    }
    if (r < 0) {
        api_store_error(a, resp, "rule list", r);
        goto out;
    }
    trace = calloc(rs.n ? rs.n : 1, sizeof *trace);
    if (!trace) {
        api_json(resp, 500, NULL);
        goto out;
    }
    size_t n_trace = 0;
    int m = rules_first_match(rs.v, rs.n, &s, trace, rs.n, &n_trace);
    json_t *tr = json_array();
    for (size_t i = 0; tr && i < n_trace; i++)
        json_array_append_new(tr, json_pack("{s:s, s:b, s:s}", "rule", trace[i].rule, "matched", trace[i].matched,
                                            "why", trace[i].why));
    json_t *j = json_pack("{s:o, s:o, s:o}", "match", m >= 0 ? json_string(rs.v[m].name) : json_null(), "host",
                          known ? json_string(h.name) : json_null(), "trace", tr);
    if (j && m >= 0) {
        json_object_set_new(j, "build", json_string(rs.v[m].build));
        json_object_set_new(j, "profile", json_string(rs.v[m].profile));
    }
    api_json(resp, 200, j);
out:
    free(trace);
    rule_set_free(&rs);
    host_clear(&h);
    json_decref(body);
}

static void rule_write(struct api *a, const struct http_api_request *req, const char *name, enum api_save how,
                       struct http_api_response *resp)
{
    json_t *body;
    if (!api_body_object(req, resp, &body))
        return;
    if (name && !api_body_name(body, name, resp)) {
        json_decref(body);
        return;
    }
    struct rule r = {0};
    bool created;
    if (api_rule_save(a, resp, "", body, how, &r, &created) == 0) {
        struct rule stored = {0};
        int g = store_rule_get(a->st, r.name, &stored);
        if (g == 0)
            api_json(resp, created ? 201 : 200, rule_to_json(&stored));
        else
            api_store_error(a, resp, "rule read back", g);
        rule_clear(&stored);
    }
    rule_clear(&r);
    json_decref(body);
}

void api_route_rules(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp)
{
    char seg[2][128];
    int n = api_path_split(rest, seg, 2);
    if (n < 0 || n > 1) {
        api_error(resp, 404, NULL, "no such path under rules");
        return;
    }
    if (n == 0) {
        if (req->method == API_GET)
            rules_list(a, req, resp);
        else if (req->method == API_POST)
            rule_write(a, req, NULL, API_SAVE_CREATE, resp);
        else
            api_method_not_allowed(resp, "GET, HEAD, POST");
        return;
    }
    const char *name = seg[0];
    /* POST on a rule is not otherwise defined, so "test" stays a valid
     * rule name for GET, PUT and DELETE. */
    if (req->method == API_POST && strcmp(name, "test") == 0) {
        rules_test(a, req, resp);
        return;
    }
    bool valid = build_name_valid(name);
    struct rule r = {0};
    int g;
    switch (req->method) {
    case API_GET:
        g = valid ? store_rule_get(a->st, name, &r) : -ENOENT;
        if (g == 0)
            api_json(resp, 200, rule_to_json(&r));
        else if (g == -ENOENT)
            api_error(resp, 404, NULL, "no rule named %s", name);
        else
            api_store_error(a, resp, "rule lookup", g);
        rule_clear(&r);
        break;
    case API_PUT:
        if (!valid)
            api_error(resp, 400, "name", "name: letters, digits, '-', '_', '.' (not starting with '.'), at most 63");
        else
            rule_write(a, req, name, API_SAVE_REPLACE, resp);
        break;
    case API_DELETE:
        g = valid ? store_rule_delete(a->st, name) : -ENOENT;
        if (g == 0)
            api_no_content(resp);
        else if (g == -ENOENT)
            api_error(resp, 404, NULL, "no rule named %s", name);
        else
            api_store_error(a, resp, "rule delete", g);
        break;
    default: api_method_not_allowed(resp, "GET, HEAD, PUT, DELETE"); break;
    }
}
