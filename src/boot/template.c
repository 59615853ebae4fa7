#include "boot/template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- value classes ---- */

static bool why_char(char *why, size_t whylen, unsigned char ch)
{
    if (ch >= 0x20 && ch < 0x7f)
        snprintf(why, whylen, "character '%c' is not allowed", ch);
    else
        snprintf(why, whylen, "byte 0x%02x is not allowed", ch);
    return false;
}

static bool all_in(const char *v, size_t max, const char *extra, char *why, size_t whylen)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++, n++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  (*p && strchr(extra, *p));
        if (!ok)
            return why_char(why, whylen, *p);
    }
    if (n == 0 || n > max) {
        snprintf(why, whylen, "length %zu is outside 1..%zu", n, max);
        return false;
    }
    return true;
}

static bool url_ok(const char *v, char *why, size_t whylen)
{
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0 && strncmp(v, "tftp://", 7) != 0) {
        snprintf(why, whylen, "not an http://, https:// or tftp:// URL");
        return false;
    }
    return all_in(v, 1024, "-._~:/?=&%+@,[]", why, whylen);
}

/* RFC 4173 §5: "iscsi:"<servername>":"<protocol>":"<port>":"<LUN>":"<targetname>
 * where servername is a DNS name or an IP address ([...] for IPv6),
 * protocol is empty or "6" (TCP), port empty or decimal, LUN empty or
 * hexadecimal (SAM-style dashes allowed), and targetname an iSCSI name
 * (which itself contains ':'). */
static bool iscsi_ok(const char *v, char *why, size_t whylen)
{
    const char *p = v + 6;
    const char *end;
    if (*p == '[') {
        end = strchr(p, ']');
        if (!end || end[1] != ':')
            goto bad;
        for (const char *q = p + 1; q < end; q++)
            if (!strchr("0123456789abcdefABCDEF:.", *q))
                return why_char(why, whylen, (unsigned char)*q);
        end++;
    } else {
        end = strchr(p, ':');
        if (!end || end == p)
            goto bad;
        for (const char *q = p; q < end; q++)
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                  *q == '-' || *q == '.'))
                return why_char(why, whylen, (unsigned char)*q);
    }
    p = end + 1; /* protocol */
    if (*p == '6')
        p++;
    if (*p++ != ':')
        goto bad;
    unsigned long port = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
        port = port * 10 + (unsigned long)(*p - '0');
    if (*p++ != ':' || (digits && (port == 0 || port > 65535)))
        goto bad;
    for (digits = 0; *p && *p != ':'; p++, digits++)
        if (!strchr("0123456789abcdefABCDEF-", *p) || digits >= 19)
            goto bad;
    if (*p++ != ':')
        goto bad;
    return all_in(p, 223, ".:-", why, whylen); /* RFC 3720 §3.2.6.1: at most 223 bytes */
bad:
    snprintf(why, whylen, "not of the form iscsi:SERVER:[6]:[PORT]:[LUN]:TARGET (RFC 4173)");
    return false;
}

bool tmpl_value_ok(enum tmpl_class cls, const char *v, char *why, size_t whylen)
{
    switch (cls) {
    case TMPL_URL: return url_ok(v, why, whylen);
    case TMPL_FILENAME:
        if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
            snprintf(why, whylen, "'.' and '..' are not file names");
            return false;
        }
        return all_in(v, 128, "._+~-", why, whylen);
    case TMPL_SHA256:
        if (strlen(v) != 64) {
            snprintf(why, whylen, "a SHA-256 is 64 hex digits");
            return false;
        }
        if (strspn(v, "0123456789abcdef") != 64) {
            snprintf(why, whylen, "a SHA-256 is 64 lowercase hex digits");
            return false;
        }
        return true;
    case TMPL_CMDLINE:
        for (const unsigned char *p = (const unsigned char *)v; *p; p++)
            if (*p < 0x20 || *p >= 0x7f || strchr("$`#;{}\\\"'|&<>", *p))
                return why_char(why, whylen, *p);
        if (strlen(v) > 4096) {
            snprintf(why, whylen, "longer than 4096 bytes");
            return false;
        }
        return true;
    case TMPL_NUMBER:
        if (strspn(v, "0123456789") != strlen(v) || !*v || strlen(v) > 10) {
            snprintf(why, whylen, "not a number");
            return false;
        }
        return true;
    case TMPL_WORD: return all_in(v, 255, "._:-", why, whylen);
    case TMPL_SAN_URI:
        if (strncmp(v, "iscsi:", 6) == 0)
            return iscsi_ok(v, why, whylen);
        if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
            return url_ok(v, why, whylen);
        snprintf(why, whylen, "not an iscsi: (RFC 4173) or http(s):// URI");
        return false;
    case TMPL_LIST: break;
    }
    snprintf(why, whylen, "a list is not a value");
    return false;
}

/* ---- parsing ---- */

enum node_type { N_TEXT, N_VAR, N_IF, N_UNLESS, N_EACH };

struct node {
    enum node_type type;
    int line;
    size_t start, len;   /* N_TEXT: the source bytes */
    unsigned scope;      /* 0: top-level vars; k: the k-th enclosing #each */
    size_t index;        /* into vars or that list's fields */
    size_t end;          /* blocks: index of the first node after the block */
};

struct parser {
    const char *name;
    const char *text;
    size_t len;
    const struct tmpl_var *vars;
    size_t n_vars;
    struct node *nodes;
    size_t n_nodes, cap_nodes;
    /* Open blocks: node index and, for #each, the list iterated. */
    size_t open[TMPL_MAX_DEPTH];
    const struct tmpl_var *lists[TMPL_MAX_DEPTH]; /* NULL for #if/#unless */
    unsigned depth;
    char *err;
    size_t errlen;
};

/* "NAME:LINE: what" into err; -EINVAL. Parse and render errors alike. */
static int line_error(char *err, size_t errlen, const char *name, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static int line_error(char *err, size_t errlen, const char *name, int line, const char *fmt, va_list ap)
{
    int n = snprintf(err, errlen, "%s:%d: ", name, line);
    if (n >= 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    return -EINVAL;
}

static int perr(struct parser *ps, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(struct parser *ps, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = line_error(ps->err, ps->errlen, ps->name, line, fmt, ap);
    va_end(ap);
    return r;
}

static int add_node(struct parser *ps, struct node n)
{
    if (ps->n_nodes >= TMPL_MAX_NODES)
        return perr(ps, n.line, "more than %d template elements", TMPL_MAX_NODES);
    if (ps->n_nodes == ps->cap_nodes) {
        size_t cap = ps->cap_nodes ? 2 * ps->cap_nodes : 64;
        struct node *nn = realloc(ps->nodes, cap * sizeof *nn);
        if (!nn)
            return -ENOMEM;
        ps->nodes = nn;
        ps->cap_nodes = cap;
    }
    ps->nodes[ps->n_nodes++] = n;
    return 0;
}

/* Resolves name, innermost #each first. Returns the variable or NULL. */
static const struct tmpl_var *resolve(const struct parser *ps, const char *name, unsigned *scope, size_t *index)
{
    unsigned lvl = 0;
    for (unsigned d = ps->depth; d-- > 0;) {
        if (!ps->lists[d])
            continue;
        /* lvl counts #each levels from the outermost, 1-based. */
        lvl = 0;
        for (unsigned e = 0; e <= d; e++)
            lvl += ps->lists[e] != NULL;
        const struct tmpl_var *l = ps->lists[d];
        for (size_t i = 0; i < l->n_fields; i++)
            if (strcmp(l->fields[i].name, name) == 0) {
                *scope = lvl;
                *index = i;
                return &l->fields[i];
            }
    }
    for (size_t i = 0; i < ps->n_vars; i++)
        if (strcmp(ps->vars[i].name, name) == 0) {
            *scope = 0;
            *index = i;
            return &ps->vars[i];
        }
    return NULL;
}

static bool valid_ident(const char *s, size_t n)
{
    if (n == 0 || n >= TMPL_NAME_MAX || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return false;
    return true;
}

/* A printable rendering of a tag for messages: hostile bytes never reach
 * an error message raw. */
static void show(char *out, size_t outlen, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
    }
    if (outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
}

static int open_block(struct parser *ps, enum node_type type, const char *arg, size_t arglen, int line)
{
    char name[TMPL_NAME_MAX], shown[80];
    const char *what = type == N_IF ? "#if" : type == N_UNLESS ? "#unless" : "#each";
    if (!valid_ident(arg, arglen)) {
        show(shown, sizeof shown, arg, arglen > 40 ? 40 : arglen);
        return perr(ps, line, "%s needs a variable name, got '%s'", what, shown);
    }
    if (ps->depth >= TMPL_MAX_DEPTH)
        return perr(ps, line, "blocks nested deeper than %d", TMPL_MAX_DEPTH);
    memcpy(name, arg, arglen);
    name[arglen] = '\0';
    struct node n = {.type = type, .line = line};
    const struct tmpl_var *v = resolve(ps, name, &n.scope, &n.index);
    if (!v)
        return perr(ps, line, "unknown variable '%s'", name);
    if (type == N_EACH && v->cls != TMPL_LIST)
        return perr(ps, line, "#each %s: '%s' is not a list", name, name);
    int r = add_node(ps, n);
    if (r < 0)
        return r;
    ps->open[ps->depth] = ps->n_nodes - 1;
    ps->lists[ps->depth] = type == N_EACH ? v : NULL;
    ps->depth++;
    return 0;
}

static int close_block(struct parser *ps, enum node_type type, int line)
{
    const char *want = type == N_IF ? "/if" : type == N_UNLESS ? "/unless" : "/each";
    if (ps->depth == 0)
        return perr(ps, line, "{{%s}} without an open block", want);
    struct node *o = &ps->nodes[ps->open[ps->depth - 1]];
    if (o->type != type) {
        const char *open = o->type == N_IF ? "#if" : o->type == N_UNLESS ? "#unless" : "#each";
        return perr(ps, line, "{{%s}} closes {{%s}} opened on line %d", want, open, o->line);
    }
    ps->depth--;
    o->end = ps->n_nodes;
    return 0;
}

static int parse(struct parser *ps)
{
    const char *t = ps->text;
    size_t len = ps->len, pos = 0, text_start = 0;
    int line = 1;
    while (pos < len) {
        const char *open = memmem(t + pos, len - pos, "{{", 2);
        size_t tag = open ? (size_t)(open - t) : len;
        for (size_t i = pos; i < tag; i++)
            line += t[i] == '\n';
        if (!open)
            break;
        const char *close = memmem(t + tag + 2, len - tag - 2, "}}", 2);
        if (!close)
            return perr(ps, line, "'{{' without a closing '}}'");
        size_t after = (size_t)(close - t) + 2;
        const char *in = t + tag + 2;
        size_t inlen = (size_t)(close - in);
        if (memchr(in, '\n', inlen))
            return perr(ps, line, "a tag must not span lines");
        while (inlen && (*in == ' ' || *in == '\t'))
            in++, inlen--;
        while (inlen && (in[inlen - 1] == ' ' || in[inlen - 1] == '\t'))
            inlen--;

        bool block = inlen && (in[0] == '#' || in[0] == '/' || in[0] == '!');
        size_t text_end = tag, next = after;
        if (block) {
            /* Standalone: only blanks before it on its line (and nothing
             * else emitted since the line began) and only blanks after. */
            size_t ls = tag;
            while (ls > text_start && (t[ls - 1] == ' ' || t[ls - 1] == '\t'))
                ls--;
            bool at_line_start = ls == 0 || t[ls - 1] == '\n';
            size_t le = after;
            while (le < len && (t[le] == ' ' || t[le] == '\t' || t[le] == '\r'))
                le++;
            if (at_line_start && ls >= text_start && (le == len || t[le] == '\n')) {
                text_end = ls;
                next = le < len ? le + 1 : len;
            }
        }
        if (text_end > text_start) {
            int r = add_node(ps, (struct node){.type = N_TEXT, .line = line, .start = text_start,
                                               .len = text_end - text_start});
            if (r < 0)
                return r;
        }
        int r = 0;
        char shown[80];
        if (inlen && in[0] == '!') {
            /* comment */
        } else if (inlen > 4 && memcmp(in, "#if", 3) == 0 && (in[3] == ' ' || in[3] == '\t')) {
            size_t s = 4;
            while (s < inlen && (in[s] == ' ' || in[s] == '\t'))
                s++;
            r = open_block(ps, N_IF, in + s, inlen - s, line);
        } else if (inlen > 8 && memcmp(in, "#unless", 7) == 0 && (in[7] == ' ' || in[7] == '\t')) {
            size_t s = 8;
            while (s < inlen && (in[s] == ' ' || in[s] == '\t'))
                s++;
            r = open_block(ps, N_UNLESS, in + s, inlen - s, line);
        } else if (inlen > 6 && memcmp(in, "#each", 5) == 0 && (in[5] == ' ' || in[5] == '\t')) {
            size_t s = 6;
            while (s < inlen && (in[s] == ' ' || in[s] == '\t'))
                s++;
            r = open_block(ps, N_EACH, in + s, inlen - s, line);
        } else if (inlen == 3 && memcmp(in, "/if", 3) == 0) {
            r = close_block(ps, N_IF, line);
        } else if (inlen == 7 && memcmp(in, "/unless", 7) == 0) {
            r = close_block(ps, N_UNLESS, line);
        } else if (inlen == 5 && memcmp(in, "/each", 5) == 0) {
            r = close_block(ps, N_EACH, line);
        } else if (block) {
            show(shown, sizeof shown, in, inlen > 40 ? 40 : inlen);
            r = perr(ps, line, "unknown tag '{{%s}}'", shown);
        } else if (!valid_ident(in, inlen)) {
            show(shown, sizeof shown, in, inlen > 40 ? 40 : inlen);
            r = perr(ps, line, "'{{%s}}' is not a variable name", shown);
        } else {
            char name[TMPL_NAME_MAX];
            memcpy(name, in, inlen);
            name[inlen] = '\0';
            struct node n = {.type = N_VAR, .line = line};
            const struct tmpl_var *v = resolve(ps, name, &n.scope, &n.index);
            if (!v)
                r = perr(ps, line, "unknown variable '%s'", name);
            else if (v->cls == TMPL_LIST)
                r = perr(ps, line, "'%s' is a list: use {{#each %s}}", name, name);
            else
                r = add_node(ps, n);
        }
        if (r < 0)
            return r;
        for (size_t i = tag; i < next; i++)
            line += t[i] == '\n';
        pos = text_start = next;
    }
    if (len > text_start) {
        int r = add_node(ps, (struct node){.type = N_TEXT, .line = line, .start = text_start,
                                           .len = len - text_start});
        if (r < 0)
            return r;
    }
    if (ps->depth) {
        const struct node *o = &ps->nodes[ps->open[ps->depth - 1]];
        const char *open = o->type == N_IF ? "#if" : o->type == N_UNLESS ? "#unless" : "#each";
        return perr(ps, line, "{{%s}} opened on line %d is never closed", open, o->line);
    }
    return 0;
}

/* ---- rendering ---- */

/* A parsed template: the nodes, and the source they point into. */
struct tmpl {
    char *name;
    const char *text;
    char *text_owned;
    struct node *nodes;
    size_t n_nodes;
    /* The variables it was parsed against, values cleared: a render must
     * bind the same names, classes and field tables in the same order. */
    size_t n_vars;
    struct tmpl_var *layout;
};

struct render {
    const struct tmpl *t;
    const struct tmpl_var *vars;
    char *buf;
    size_t len, cap;
    /* The list and row of each enclosing #each, outermost first. */
    const struct tmpl_var *lists[TMPL_MAX_DEPTH];
    size_t rows[TMPL_MAX_DEPTH];
    unsigned n_each;
    char *err;
    size_t errlen;
};

static int rerr(struct render *rd, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rerr(struct render *rd, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = line_error(rd->err, rd->errlen, rd->t->name, line, fmt, ap);
    va_end(ap);
    return r;
}

static int emit(struct render *rd, const char *s, size_t n)
{
    if (n > TMPL_MAX_OUTPUT - rd->len) {
        snprintf(rd->err, rd->errlen, "%s: output larger than %d bytes", rd->t->name, TMPL_MAX_OUTPUT);
        return -E2BIG;
    }
    if (rd->len + n + 1 > rd->cap) {
        size_t cap = rd->cap ? rd->cap : 1024;
        while (cap < rd->len + n + 1)
            cap *= 2;
        char *b = realloc(rd->buf, cap);
        if (!b)
            return -ENOMEM;
        rd->buf = b;
        rd->cap = cap;
    }
    memcpy(rd->buf + rd->len, s, n);
    rd->len += n;
    rd->buf[rd->len] = '\0';
    return 0;
}

static const struct tmpl_var *var_of(const struct render *rd, const struct node *n, const char **value)
{
    if (n->scope == 0) {
        *value = rd->vars[n->index].value;
        return &rd->vars[n->index];
    }
    const struct tmpl_var *l = rd->lists[n->scope - 1];
    *value = l->rows[rd->rows[n->scope - 1] * l->n_fields + n->index];
    return &l->fields[n->index];
}

static bool truthy(const struct tmpl_var *v, const char *value)
{
    if (v->cls == TMPL_LIST)
        return v->n_rows > 0;
    return value && *value;
}

static int render_range(struct render *rd, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const struct node *n = &rd->t->nodes[i];
        const char *value;
        const struct tmpl_var *v;
        int r = 0;
        switch (n->type) {
        case N_TEXT: r = emit(rd, rd->t->text + n->start, n->len); break;
        case N_VAR: {
            v = var_of(rd, n, &value);
            if (!value || !*value)
                break;
            char why[96];
            if (!tmpl_value_ok(v->cls, value, why, sizeof why))
                return rerr(rd, n->line, "value of '%s' refused: %s", v->name, why);
            r = emit(rd, value, strlen(value));
            break;
        }
        case N_IF:
        case N_UNLESS:
            v = var_of(rd, n, &value);
            if (truthy(v, value) == (n->type == N_IF))
                r = render_range(rd, i + 1, n->end);
            i = n->end - 1;
            break;
        case N_EACH:
            v = var_of(rd, n, &value);
            rd->lists[rd->n_each] = v;
            rd->n_each++;
            for (size_t row = 0; row < v->n_rows && r == 0; row++) {
                rd->rows[rd->n_each - 1] = row;
                r = render_range(rd, i + 1, n->end);
            }
            rd->n_each--;
            i = n->end - 1;
            break;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

void tmpl_free(struct tmpl *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->text_owned);
    free(t->nodes);
    free(t->layout);
    free(t);
}

int tmpl_parse(const char *name, const char *text, size_t len, bool copy_text, const struct tmpl_var *vars,
               size_t n_vars, struct tmpl **out, char *err, size_t errlen)
{
    struct parser ps = {.name = name, .text = text, .len = len, .vars = vars, .n_vars = n_vars, .err = err,
                        .errlen = errlen};
    *out = NULL;
    if (len > TMPL_MAX_TEXT) {
        snprintf(err, errlen, "%s: template larger than %d bytes", name, TMPL_MAX_TEXT);
        return -E2BIG;
    }
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        return perr(&ps, line, "NUL byte in template");
    }
    int r = parse(&ps);
    if (r < 0) {
        if (r == -ENOMEM)
            snprintf(err, errlen, "%s: out of memory", name);
        free(ps.nodes);
        return r;
    }
    struct tmpl *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name)) || (n_vars && !(t->layout = calloc(n_vars, sizeof *t->layout))) ||
        (copy_text && !(t->text_owned = malloc(len ? len : 1)))) {
        free(ps.nodes);
        tmpl_free(t);
        snprintf(err, errlen, "%s: out of memory", name);
        return -ENOMEM;
    }
    if (copy_text)
        memcpy(t->text_owned, text, len);
    t->text = copy_text ? t->text_owned : text;
    t->nodes = ps.nodes;
    t->n_nodes = ps.n_nodes;
    t->n_vars = n_vars;
    for (size_t i = 0; i < n_vars; i++)
        t->layout[i] = (struct tmpl_var){.name = vars[i].name, .cls = vars[i].cls, .fields = vars[i].fields,
                                         .n_fields = vars[i].n_fields};
    *out = t;
    return 0;
}

/* The variables must be laid out as at parse time, since the nodes index
 * them and their fields: the same name strings and field tables (the
 * objects themselves, which tmpl_parse asks to outlive the template). */
static bool same_layout(const struct tmpl *t, const struct tmpl_var *vars, size_t n_vars)
{
    if (n_vars != t->n_vars)
        return false;
    for (size_t i = 0; i < n_vars; i++) {
        const struct tmpl_var *a = &vars[i], *b = &t->layout[i];
        if (a->name != b->name || a->cls != b->cls || a->fields != b->fields || a->n_fields != b->n_fields)
            return false;
    }
    return true;
}

int tmpl_render(const struct tmpl *t, const struct tmpl_var *vars, size_t n_vars, char **out, size_t *outlen,
                char *err, size_t errlen)
{
    struct render rd = {.t = t, .vars = vars, .err = err, .errlen = errlen};
    *out = NULL;
    if (outlen)
        *outlen = 0;
    if (!same_layout(t, vars, n_vars)) {
        snprintf(err, errlen, "%s: rendered with other variables than it was parsed with", t->name);
        return -EINVAL;
    }
    int r = emit(&rd, "", 0);
    if (r == 0)
        r = render_range(&rd, 0, t->n_nodes);
    if (r < 0) {
        if (r == -ENOMEM)
            snprintf(err, errlen, "%s: out of memory", t->name);
        free(rd.buf);
        return r;
    }
    *out = rd.buf;
    if (outlen)
        *outlen = rd.len;
    return 0;
}

int tmpl_expand(const char *name, const char *text, size_t len, const struct tmpl_var *vars, size_t n_vars,
                char **out, size_t *outlen, char *err, size_t errlen)
{
    struct tmpl *t;
    *out = NULL;
    if (outlen)
        *outlen = 0;
    int r = tmpl_parse(name, text, len, false, vars, n_vars, &t, err, errlen);
    if (r < 0)
        return r;
    r = tmpl_render(t, vars, n_vars, out, outlen, err, errlen);
    tmpl_free(t);
    return r;
}
