/* Profiles: validation of the document and rendering of the configuration
 * document a host gets at birth. Both walk profile_schema; rendering also
 * substitutes ${VAR} and checks every resulting value against its field's
 * shape again, because a substituted value is host data, not profile text. */
#include "inventory/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inventory/inv_text.h"
#include "inventory/profile_schema.h"
#include "inventory/vars.h"
#include "store/store_build.h"

#define PATH_MAX_LEN 160

struct walk {
    const struct vars_env *env; /* NULL: validating */
    char *err;
    size_t errlen;
};

static int walk(const struct node *nd, const json_t *v, const char *path, struct walk *wk, json_t **out);

static void path_key(char *dst, const char *path, const char *key)
{
    char q[INV_QUOTE_SIZE];
    snprintf(dst, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", inv_quote(q, sizeof q, key, strlen(key)));
}

static const char *kind_name(enum node_kind k)
{
    switch (k) {
    case NODE_STRING: return "a string";
    case NODE_INT: return "an integer";
    case NODE_BOOL: return "true or false";
    case NODE_LIST: return "a list";
    case NODE_OBJECT: return "an object";
    }
    return "something else";
}

static int fail_shape(struct walk *wk, const char *path, const char *problem, bool quote, const char *s, size_t n)
{
    char q[INV_QUOTE_SIZE];
    if (!quote)
        return inv_fail(wk->err, wk->errlen, "%s: %s", path, problem);
    return inv_fail(wk->err, wk->errlen, "%s: '%s' %s", path, inv_quote(q, sizeof q, s, n), problem);
}

/* Substitutes s (render) into *res, or checks its ${...} syntax (validate:
 * *res = NULL). */
static int substitute(const struct node *nd, const char *s, size_t n, const char *path, struct walk *wk, char **res,
                      size_t *res_len)
{
    const char *what = NULL;
    char name[VARS_NAME_MAX + 1];
    size_t max = nd->kind == NODE_STRING ? (size_t)nd->max : 32;
    *res = NULL;
    if (!wk->env)
        return vars_syntax(s, n, &what) < 0 ? inv_fail(wk->err, wk->errlen, "%s: %s", path, what) : 0;
    int r = vars_expand(s, n, wk->env, max, res, res_len, &what, name);
    switch (r) {
    case 0: return 0;
    case -EINVAL: return inv_fail(wk->err, wk->errlen, "%s: %s", path, what);
    case -ENOENT: return inv_fail(wk->err, wk->errlen, "%s: unknown variable ${%s}", path, name);
    case -ESRCH:
        return inv_fail(wk->err, wk->errlen, "%s: ${%s} is not set for host %s", path, name, wk->env->h->name);
    case -E2BIG:
        return inv_fail(wk->err, wk->errlen, "%s: longer than %zu bytes after substitution", path, max);
    default: return r;
    }
}

static int walk_string(const struct node *nd, const json_t *v, const char *path, struct walk *wk, json_t **out)
{
    size_t n;
    const char *s = inv_json_str(v, &n);
    if (!s)
        return inv_fail(wk->err, wk->errlen, "%s: expected a string", path);
    char *sub = NULL;
    bool has_vars = vars_present(s, n);
    if (has_vars) {
        int r = substitute(nd, s, n, path, wk, &sub, &n);
        if (r < 0)
            return r;
        if (!wk->env)
            return 0; /* the value is known only at render */
        s = sub;
    }
    int r = 0;
    bool quote;
    const char *problem;
    if ((int64_t)n < nd->min)
        r = inv_fail(wk->err, wk->errlen, "%s: must not be empty", path);
    else if ((int64_t)n > nd->max)
        r = inv_fail(wk->err, wk->errlen, "%s: longer than %lld bytes", path, (long long)nd->max);
    else if ((problem = shape_problem(nd->shape, s, n, &quote)))
        r = fail_shape(wk, path, problem, quote, s, n);
    if (r == 0 && out) {
        char mac[18];
        *out = nd->shape == SHAPE_MAC && shape_mac_normal(s, mac) == 0 ? json_string(mac) : json_stringn(s, n);
        if (!*out)
            r = -ENOMEM;
    }
    free(sub);
    return r;
}

/* An integer, or (so a host's vars can give a VLAN id or an MTU) a string
 * of ${...} that must substitute to a decimal integer in range. */
static int walk_int(const struct node *nd, const json_t *v, const char *path, struct walk *wk, json_t **out)
{
    json_int_t x;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else {
        size_t n;
        const char *s = inv_json_str(v, &n);
        if (!s || !vars_present(s, n))
            return inv_fail(wk->err, wk->errlen, "%s: expected an integer %lld..%lld", path, (long long)nd->min,
                            (long long)nd->max);
        char *sub;
        int r = substitute(nd, s, n, path, wk, &sub, &n);
        if (r < 0 || !wk->env)
            return r;
        bool digits = n > 0 && n <= 10 && (n == 1 || sub[0] != '0');
        x = 0;
        for (size_t i = 0; digits && i < n; i++) {
            digits = sub[i] >= '0' && sub[i] <= '9';
            x = x * 10 + (sub[i] - '0');
        }
        if (!digits) {
            char q[INV_QUOTE_SIZE];
            r = inv_fail(wk->err, wk->errlen, "%s: '%s' is not an integer %lld..%lld", path,
                         inv_quote(q, sizeof q, sub, n), (long long)nd->min, (long long)nd->max);
            free(sub);
            return r;
        }
        free(sub);
    }
    if (x < nd->min || x > nd->max)
        return inv_fail(wk->err, wk->errlen, "%s: %lld is not an integer %lld..%lld", path, (long long)x,
                        (long long)nd->min, (long long)nd->max);
    if (out && !(*out = json_integer(x)))
        return -ENOMEM;
    return 0;
}

static int walk_list(const struct node *nd, const json_t *v, const char *path, struct walk *wk, json_t **out)
{
    if (!json_is_array(v))
        return inv_fail(wk->err, wk->errlen, "%s: expected a list", path);
    size_t n = json_array_size(v);
    if ((int64_t)n < nd->min)
        return inv_fail(wk->err, wk->errlen, "%s: must not be empty", path);
    if ((int64_t)n > nd->max)
        return inv_fail(wk->err, wk->errlen, "%s: %zu entries, more than %lld", path, n, (long long)nd->max);
    json_t *res = out ? json_array() : NULL;
    if (out && !res)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char sub[PATH_MAX_LEN];
        json_t *e = NULL;
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        int r = walk(nd->elem, json_array_get(v, i), sub, wk, out ? &e : NULL);
        if (r == 0 && res && json_array_append_new(res, e) < 0)
            r = -ENOMEM;
        if (r < 0) {
            json_decref(res);
            return r;
        }
    }
    if (out)
        *out = res;
    return 0;
}

static int walk_object(const struct node *nd, const json_t *v, const char *path, struct walk *wk, json_t **out)
{
    if (!json_is_object(v))
        return inv_fail(wk->err, wk->errlen, "%s: expected an object", *path ? path : "document");
    const char *key;
    const json_t *val;
    char sub[PATH_MAX_LEN];
    json_object_foreach((json_t *)v, key, val) {
        const struct member *m = nd->members;
        while (m->key && strcmp(m->key, key) != 0)
            m++;
        if (!m->key) {
            path_key(sub, path, key);
            return inv_fail(wk->err, wk->errlen, "%s: unknown key", sub);
        }
    }
    json_t *res = out ? json_object() : NULL;
    if (out && !res)
        return -ENOMEM;
    int r = 0;
    for (const struct member *m = nd->members; r == 0 && m->key; m++) {
        const json_t *given = json_object_get(v, m->key);
        json_t *dflt = NULL, *e = NULL;
        path_key(sub, path, m->key);
        if (!given && m->required) {
            r = inv_fail(wk->err, wk->errlen, "%s: missing", sub);
            break;
        }
        if (!given && (!out || !m->dflt))
            continue;
        if (!given) /* defaults go through the schema too: nested ones fill in */
            given = dflt = json_loads(m->dflt, JSON_DECODE_ANY, NULL);
        r = given ? walk(m->node, given, sub, wk, out ? &e : NULL) : -ENOMEM;
        json_decref(dflt);
        if (r == 0 && res && json_object_set_new(res, m->key, e) < 0)
            r = -ENOMEM;
    }
    if (r == 0 && nd->check)
        r = nd->check(out ? res : v, path, !out, wk->err, wk->errlen);
    if (r < 0) {
        json_decref(res);
        return r;
    }
    if (out)
        *out = res;
    return 0;
}

static int walk(const struct node *nd, const json_t *v, const char *path, struct walk *wk, json_t **out)
{
    int r;
    switch (nd->kind) {
    case NODE_STRING: return walk_string(nd, v, path, wk, out);
    case NODE_INT: return walk_int(nd, v, path, wk, out);
    case NODE_BOOL:
        if (!json_is_boolean(v))
            return inv_fail(wk->err, wk->errlen, "%s: expected %s", path, kind_name(nd->kind));
        if (out && !(*out = json_boolean(json_is_true(v))))
            return -ENOMEM;
        return 0;
    case NODE_LIST: r = walk_list(nd, v, path, wk, out); break;
    case NODE_OBJECT: r = walk_object(nd, v, path, wk, out); break;
    default: r = -EINVAL;
    }
    return r;
}

int profile_validate(const char *doc_json, char *err, size_t errlen)
{
    json_t *doc = inv_load_object(doc_json, PROFILE_DOC_MAX, "document", err, errlen);
    if (!doc)
        return -EINVAL;
    struct walk wk = {.env = NULL, .err = err, .errlen = errlen};
    int r = walk(&profile_schema, doc, "", &wk, NULL);
    json_decref(doc);
    return r;
}

/* The server-side keys: the document is the host's one place to learn
 * where to report, so the URLs are checked like every other value. */
static int add_server_keys(json_t *res, const struct host *h, const struct configdoc_ctx *ctx, char *err,
                           size_t errlen)
{
    const char *base = ctx && ctx->base_url ? ctx->base_url : "";
    size_t bn = strlen(base);
    if (!inv_text_clean(base, bn) || strchr(base, ' '))
        return inv_fail(err, errlen, "base_url: holds a control character or a space");
    char url[2048];
    int r = 0;
    if (h->vlan > 0)
        r |= json_object_set_new(res, "mgmt_vlan", json_integer(h->vlan));
    if (snprintf(url, sizeof url, "%s/api/v1/report", base) >= (int)sizeof url)
        return inv_fail(err, errlen, "base_url: too long");
    r |= json_object_set_new(res, "report_url", json_string(url));
    snprintf(url, sizeof url, "%s/api/v1/state", base);
    r |= json_object_set_new(res, "state_url", json_string(url));
    return r ? -ENOMEM : 0;
}

static int render(json_t *doc, const struct host *h, const struct configdoc_ctx *ctx, char **out, char *err,
                  size_t errlen)
{
    struct vars_env env;
    vars_env_init(&env, h);
    struct walk wk = {.env = &env, .err = err, .errlen = errlen};
    json_t *body = NULL, *res = NULL;
    int r = walk(&profile_schema, doc, "", &wk, &body);
    if (r < 0)
        goto done;
    res = json_pack("{s:i, s:s, s:I, s:I}", "version", 1, "host", h->name, "host_id", (json_int_t)h->id, "boot_id",
                    (json_int_t)h->boot_id);
    r = res && json_object_update(res, body) == 0 ? add_server_keys(res, h, ctx, err, errlen) : -ENOMEM;
    if (r < 0)
        goto done;
    *out = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!*out)
        r = -ENOMEM;
    else if (strlen(*out) > CONFIGDOC_MAX) {
        free(*out);
        *out = NULL;
        r = inv_fail(err, errlen, "document: more than %d bytes once rendered", CONFIGDOC_MAX);
    }
done:
    json_decref(body);
    json_decref(res);
    vars_env_clear(&env);
    return r;
}

int configdoc_render(const char *doc_json, const struct host *h, const struct configdoc_ctx *ctx, char **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    json_t *doc = doc_json ? inv_load_object(doc_json, PROFILE_DOC_MAX, "document", err, errlen) : json_object();
    if (!doc)
        return doc_json ? -EINVAL : -ENOMEM;
    /* No hostname in the profile: the host's name, checked like one. */
    int r = 0;
    if (!json_object_get(doc, "hostname") && json_object_set_new(doc, "hostname", json_string(h->name)) < 0)
        r = -ENOMEM;
    if (r == 0)
        r = render(doc, h, ctx, out, err, errlen);
    json_decref(doc);
    return r;
}
