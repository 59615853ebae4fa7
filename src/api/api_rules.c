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
                  enum api_save how, bool *created)
{
    char err[512], field[96];
    struct rule r = {0};
    int rc = -1;
    *created = false;
    if (rule_init(&r) < 0) {
        api_json(resp, 500, NULL);
        goto out;
    }
    if (rule_from_json(j, &r, err, sizeof err) < 0) {
        api_invalid(resp, prefix, err);
        goto out;
    }
    struct rule old = {0};
    int g = store_rule_get(a->st, r.name, &old);
    rule_clear(&old);
    if (g < 0 && g != -ENOENT) {
        api_store_error(a, resp, "rule lookup", g);
        goto out;
    }
    if (g == 0 && how == API_SAVE_CREATE) {
        snprintf(field, sizeof field, "%sname", prefix);
        api_error(resp, 409, field, "%s: a rule named %s exists", field, r.name);
        goto out;
    }
    if (!api_refs_exist(a, resp, prefix, r.build, r.build_version, r.profile))
        goto out;
    const char *where = NULL;
    int w = store_rule_put(a->st, &r, &where);
    if (w == -EEXIST) {
        struct rank_find f = {.rank = r.rank};
        store_rule_list(a->st, rank_find_one, &f);
        snprintf(field, sizeof field, "%s%s", prefix, where ? where : "rank");
        api_error(resp, 409, field, "%s: rank %d is taken by rule %s", field, r.rank, f.name[0] ? f.name : "?");
        goto out;
    }
    if (w == -EINVAL) {
        api_error(resp, 400, NULL, "%srule refused by the store", prefix);
        goto out;
    }
    if (w < 0) {
        api_store_error(a, resp, "rule save", w);
        goto out;
    }
    *created = g == -ENOENT;
    rc = 0;
out:
    rule_clear(&r);
    return rc;
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

/* Rules come in rank order (the order they are tried), so ?after=NAME
 * continues after that rule in rank order: the walk skips up to it. */
struct rule_page {
    struct api_list_page *page;
    const char *after; /* NULL from the start */
    bool seen;
};

static int rule_page_add(const struct rule *r, void *arg)
{
    struct rule_page *pg = arg;
    if (pg->after && !pg->seen) {
        pg->seen = strcmp(r->name, pg->after) == 0;
        return 0;
    }
    return api_page_add(pg->page, r->name, rule_to_json(r));
}

static int rules_walk(struct api *a, const char *after, struct api_list_page *page)
{
    struct rule_page pg = {.page = page, .after = after[0] ? after : NULL};
    return store_rule_list(a->st, rule_page_add, &pg);
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
    if (!api_keys_known(body, keys, "mac, uuid, serial, vendor, model, arch, subnet, circuit_id, remote_id", resp))
        return false;
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

static int rule_get_json(struct api *a, const char *name, json_t **out)
{
    struct rule r = {0};
    int g = store_rule_get(a->st, name, &r);
    *out = g == 0 ? rule_to_json(&r) : NULL;
    rule_clear(&r);
    return g;
}

static const struct api_named rules = {
    .noun = "rule",
    .plural = "rules",
    .walk = rules_walk,
    .get = rule_get_json,
    .save = api_rule_save,
    .remove = store_rule_delete,
    .action = "test",
    .action_run = rules_test,
};

void api_route_rules(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp)
{
    api_named_route(a, &rules, req, rest, resp);
}
