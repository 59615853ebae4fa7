/* ESXi boot.cfg parser: a bounded cursor over the text, one line at a time. */
#include "images/bootcfg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A view into the input: never NUL-terminated, never read past end. */
struct span {
    const char *p;
    size_t n;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static struct span trim(struct span s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && (is_space(s.p[s.n - 1]) || s.p[s.n - 1] == '\r'))
        s.n--;
    return s;
}

static bool span_is(struct span s, const char *word)
{
    size_t n = strlen(word);
    return s.n == n && strncasecmp(s.p, word, n) == 0;
}

static int fail(char *err, size_t errlen, unsigned line, const char *why)
{
    snprintf(err, errlen, "boot.cfg:%u: %s", line, why);
    return -EINVAL;
}

/* Copies s into dst (cap bytes with the NUL); false if it does not fit. */
static bool copy(char *dst, size_t cap, struct span s)
{
    if (s.n >= cap)
        return false;
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return true;
}

/* modules=A args --- B --- C: split on "---", each part "path [args]". */
static int parse_modules(struct span v, struct bootcfg *out, unsigned line, char *err, size_t errlen)
{
    out->n_modules = 0;
    if (v.n == 0)
        return 0;
    for (;;) {
        struct span part = v;
        const char *sep = NULL;
        for (size_t i = 0; i + 3 <= v.n; i++) {
            if (v.p[i] == '-' && v.p[i + 1] == '-' && v.p[i + 2] == '-') {
                sep = v.p + i;
                break;
            }
        }
        if (sep)
            part.n = (size_t)(sep - v.p);
        part = trim(part);
        if (part.n == 0)
            return fail(err, errlen, line, "modules: empty module between \"---\" separators");
        if (out->n_modules == BOOTCFG_MAX_MODULES)
            return fail(err, errlen, line, "modules: too many modules");
        struct bootcfg_module *m = &out->modules[out->n_modules];
        size_t k = 0;
        while (k < part.n && !is_space(part.p[k]))
            k++;
        struct span path = {part.p, k}, args = trim((struct span){part.p + k, part.n - k});
        if (!copy(m->path, sizeof m->path, path) || !copy(m->args, sizeof m->args, args))
            return fail(err, errlen, line, "modules: module path or arguments too long");
        out->n_modules++;
        if (!sep)
            return 0;
        v.n -= (size_t)(sep + 3 - v.p);
        v.p = sep + 3;
    }
}

static int parse_line(struct span l, struct bootcfg *out, unsigned line, char *err, size_t errlen)
{
    l = trim(l);
    if (l.n == 0 || l.p[0] == '#')
        return 0;
    const char *eq = memchr(l.p, '=', l.n);
    if (!eq)
        return 0; /* tolerated: not a key=value line */
    struct span key = trim((struct span){l.p, (size_t)(eq - l.p)});
    struct span val = trim((struct span){eq + 1, l.n - (size_t)(eq - l.p) - 1});
    for (size_t i = 0; i < val.n; i++) {
        unsigned char c = (unsigned char)val.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(err, errlen, line, "control byte in value");
    }
    if (span_is(key, "kernel")) {
        if (!copy(out->kernel, sizeof out->kernel, val))
            return fail(err, errlen, line, "kernel: too long");
    } else if (span_is(key, "kernelopt")) {
        if (!copy(out->kernelopt, sizeof out->kernelopt, val))
            return fail(err, errlen, line, "kernelopt: too long");
        /* Tabs are allowed as separators in the file; a command line has spaces. */
        for (char *p = out->kernelopt; *p; p++)
            *p = *p == '\t' ? ' ' : *p;
    } else if (span_is(key, "prefix")) {
        if (!copy(out->prefix, sizeof out->prefix, val))
            return fail(err, errlen, line, "prefix: too long");
    } else if (span_is(key, "title")) {
        if (!copy(out->title, sizeof out->title, val))
            return fail(err, errlen, line, "title: too long");
    } else if (span_is(key, "modules")) {
        return parse_modules(val, out, line, err, errlen);
    }
    return 0;
}

int bootcfg_parse(const char *text, size_t len, struct bootcfg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len > BOOTCFG_MAX_BYTES)
        return fail(err, errlen, 0, "file too large");
    unsigned line = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        struct span l = {text + pos, n};
        line++;
        if (memchr(l.p, '\0', l.n))
            return fail(err, errlen, line, "NUL byte");
        int r = parse_line(l, out, line, err, errlen);
        if (r < 0)
            return r;
        pos += n + (nl ? 1 : 0);
    }
    if (!out->kernel[0])
        return fail(err, errlen, line, "no kernel= line");
    return 0;
}
