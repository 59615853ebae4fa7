/* ${VAR} substitution. One scanner serves both the syntax check at
 * validation time and the expansion at render time, so a document that
 * validates never fails to parse when rendered. */
#include "inventory/vars.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inv_text.h"
#include "inventory/rules.h"
#include "util/addr.h"

static json_t *load_object_or_null(const char *text)
{
    if (!text)
        return NULL;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

int vars_env_init(struct vars_env *env, const struct host *h)
{
    env->h = h;
    env->labels = load_object_or_null(h->labels);
    env->vars = load_object_or_null(h->vars);
    return 0;
}

void vars_env_clear(struct vars_env *env)
{
    json_decref(env->labels);
    json_decref(env->vars);
    env->labels = env->vars = NULL;
}

bool vars_present(const char *s, size_t n)
{
    return memchr(s, '$', n) != NULL;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* At s[i] == '$': the length of the token ("$$" or "${NAME}") and the
 * name's bounds, or -EINVAL with *what. */
static int scan_token(const char *s, size_t n, size_t i, size_t *toklen, size_t *name_at, size_t *name_len,
                      const char **what)
{
    if (i + 1 >= n || (s[i + 1] != '$' && s[i + 1] != '{')) {
        *what = "'$' must be followed by '{' or '$' (write $$ for a literal $)";
        return -EINVAL;
    }
    if (s[i + 1] == '$') {
        *toklen = 2;
        *name_len = 0;
        return 0;
    }
    size_t j = i + 2;
    while (j < n && name_char(s[j]))
        j++;
    if (j >= n) {
        *what = "unterminated ${";
        return -EINVAL;
    }
    if (s[j] == '$' && j + 1 < n && s[j + 1] == '{') {
        *what = "nested ${ is not allowed";
        return -EINVAL;
    }
    if (s[j] != '}') {
        *what = "${...} holds a character that is not [A-Za-z0-9_.-]";
        return -EINVAL;
    }
    if (j == i + 2) {
        *what = "empty ${}";
        return -EINVAL;
    }
    if (j - (i + 2) > VARS_NAME_MAX) {
        *what = "variable name longer than 72 bytes";
        return -EINVAL;
    }
    *name_at = i + 2;
    *name_len = j - (i + 2);
    *toklen = j + 1 - i;
    return 0;
}

int vars_syntax(const char *s, size_t n, const char **what)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '$')
            continue;
        size_t tl, at, nl;
        if (scan_token(s, n, i, &tl, &at, &nl, what) < 0)
            return -EINVAL;
        i += tl - 1;
    }
    return 0;
}

/* The value of a variable: built-ins first (so a host's vars cannot
 * redefine what ${mac} means), then label.KEY, then the host's vars.
 * NULL with -ENOENT (no such variable) or -ESRCH (not set for this host). */
static const char *lookup(const struct vars_env *env, const char *name, char *buf, size_t buflen, int *why)
{
    const struct host *h = env->h;
    *why = -ENOENT;
    if (strcmp(name, "name") == 0)
        return h->name;
    if (strcmp(name, "mac") == 0 || (strncmp(name, "mac", 3) == 0 && name[3] >= '0' && name[3] <= '7' && !name[4])) {
        size_t i = name[3] ? (size_t)(name[3] - '0') : 0;
        if (i >= h->n_macs) {
            *why = -ESRCH;
            return NULL;
        }
        return mac_format(h->macs[i], buf);
    }
    if (strcmp(name, "uuid") == 0)
        return h->uuid;
    if (strcmp(name, "serial") == 0)
        return h->serial;
    if (strcmp(name, "address") == 0)
        return h->address ? format_ipv4(h->address, buf) : "";
    if (strcmp(name, "vlan") == 0) {
        snprintf(buf, buflen, "%d", h->vlan);
        return buf;
    }
    if (strcmp(name, "build") == 0)
        return h->build;
    if (strcmp(name, "profile") == 0)
        return h->profile;
    if (strcmp(name, "boot_id") == 0) {
        snprintf(buf, buflen, "%lld", (long long)h->boot_id);
        return buf;
    }
    if (strncmp(name, "label.", 6) == 0) {
        const char *v = env->labels ? inv_json_str(json_object_get(env->labels, name + 6), NULL) : NULL;
        if (!v)
            *why = -ESRCH;
        return v;
    }
    return env->vars ? inv_json_str(json_object_get(env->vars, name), NULL) : NULL;
}

struct growbuf {
    char *p;
    size_t len, cap, max;
};

static int gb_add(struct growbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->max)
        return -E2BIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int vars_expand(const char *s, size_t n, const struct vars_env *env, size_t max, char **out, size_t *outlen,
                const char **what, char name[VARS_NAME_MAX + 1])
{
    struct growbuf b = {.max = max};
    int r = gb_add(&b, "", 0);
    size_t lit = 0; /* start of the literal run not yet copied */
    name[0] = '\0';
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (s[i] != '$')
            continue;
        size_t tl, at, nl;
        if ((r = gb_add(&b, s + lit, i - lit)) < 0)
            break;
        if (scan_token(s, n, i, &tl, &at, &nl, what) < 0) {
            r = -EINVAL;
            break;
        }
        if (nl == 0) {
            r = gb_add(&b, "$", 1);
        } else {
            char buf[32];
            int why;
            memcpy(name, s + at, nl);
            name[nl] = '\0';
            const char *v = lookup(env, name, buf, sizeof buf, &why);
            r = v ? gb_add(&b, v, strlen(v)) : why;
        }
        i += tl - 1;
        lit = i + 1;
    }
    if (r == 0)
        r = gb_add(&b, s + lit, n - lit);
    if (r < 0) {
        free(b.p);
        return r;
    }
    *out = b.p;
    *outlen = b.len;
    return 0;
}
