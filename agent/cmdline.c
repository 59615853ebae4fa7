/* The kernel command line midwife's script wrote (see cmdline.h). */
#include "cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/addr.h"
#include "util/log.h"
#include "util/strnum.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool token_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-';
}

/* The URL is copied into HTTP requests: only a plain http:// URL of
 * printable characters, without blanks, is taken. */
static int set_url(struct agent_cmdline *c, const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    if (strncmp(v, "http://", 7) != 0 || n == 7)
        return fail(err, errlen, "midwife.url: expected http://HOST[:PORT][/PATH]");
    if (n >= sizeof c->url)
        return fail(err, errlen, "midwife.url: longer than %zu bytes", sizeof c->url - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
            return fail(err, errlen, "midwife.url: control, blank or non-ASCII character");
    while (n > 7 && v[n - 1] == '/')
        n--;
    memcpy(c->url, v, n);
    c->url[n] = '\0';
    return 0;
}

static int set_word(struct agent_cmdline *c, const char *w, char *err, size_t errlen)
{
    if (strncmp(w, "midwife.", 8) != 0)
        return 0;
    const char *key = w + 8, *eq = strchr(key, '=');
    if (!eq)
        return 0; /* a bare midwife.FLAG means nothing to the agent */
    size_t klen = (size_t)(eq - key);
    const char *v = eq + 1;
    const char *why;
    uint64_t n;
    if (klen == 3 && memcmp(key, "url", 3) == 0)
        return set_url(c, v, err, errlen);
    if (klen == 5 && memcmp(key, "token", 5) == 0) {
        size_t len = strlen(v);
        if (len == 0 || len >= sizeof c->token)
            return fail(err, errlen, "midwife.token: expected 1..%zu characters", sizeof c->token - 1);
        for (size_t i = 0; i < len; i++)
            if (!token_char(v[i]))
                return fail(err, errlen, "midwife.token: use letters, digits and . _ -");
        memcpy(c->token, v, len + 1);
        return 0;
    }
    if (klen == 3 && memcmp(key, "mac", 3) == 0) {
        if (strlen(v) != 17 || parse_mac(v, c->mac) < 0)
            return fail(err, errlen, "midwife.mac: expected aa-bb-cc-dd-ee-ff or aa:bb:cc:dd:ee:ff");
        c->has_mac = true;
        return 0;
    }
    if (klen == 4 && memcmp(key, "vlan", 4) == 0) {
        if (parse_u64(v, 0, 4094, &n, &why) < 0)
            return fail(err, errlen, "midwife.vlan: %s (expected 0..4094)", why);
        c->vlan = (unsigned)n;
        return 0;
    }
    if (klen == 13 && memcmp(key, "birth_timeout", 13) == 0) {
        if (parse_u64(v, 1, 86400, &n, &why) < 0)
            return fail(err, errlen, "midwife.birth_timeout: %s (expected 1..86400 seconds)", why);
        c->birth_timeout_s = (unsigned)n;
        return 0;
    }
    return 0;
}

int cmdline_parse(const char *text, size_t len, struct agent_cmdline *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->birth_timeout_s = CMDLINE_BIRTH_TIMEOUT_DEFAULT;
    char word[CMDLINE_MAX];
    size_t i = 0;
    while (i < len) {
        while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
            i++;
        if (i >= len)
            break;
        /* As the kernel's next_arg(): quotes group blanks into the word
         * and are dropped from it. */
        size_t w = 0;
        bool quoted = false, truncated = false;
        for (; i < len; i++) {
            char ch = text[i];
            if (!quoted && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'))
                break;
            if (ch == '"') {
                quoted = !quoted;
                continue;
            }
            if (ch == '\0') /* a NUL cannot be part of any value we take */
                ch = '\x01';
            if (w + 1 < sizeof word)
                word[w++] = ch;
            else
                truncated = true;
        }
        word[w] = '\0';
        if (truncated) {
            if (strncmp(word, "midwife.", 8) == 0) {
                char esc[64];
                return fail(err, errlen, "%s: word too long", log_escape(esc, sizeof esc, word, 24));
            }
            continue;
        }
        if (set_word(c, word, err, errlen) < 0)
            return -EINVAL;
    }
    return 0;
}

int cmdline_load(const char *path, struct agent_cmdline *c, char *err, size_t errlen)
{
    const char *p = path ? path : "/proc/cmdline";
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", p, strerror(e));
        return -e;
    }
    static char buf[CMDLINE_MAX];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            snprintf(err, errlen, "%s: %s", p, strerror(e));
            return -e;
        }
        if (n == 0 || (got += (size_t)n) == sizeof buf)
            break;
    }
    close(fd);
    int r = cmdline_parse(buf, got, c, err, errlen);
    if (r < 0)
        return r;
    if (!c->url[0] || !c->token[0]) {
        snprintf(err, errlen, "%s has no %s%s%s: this boot did not come from midwife, nothing to do", p,
                 c->url[0] ? "" : "midwife.url=", !c->url[0] && !c->token[0] ? " and no " : "",
                 c->token[0] ? "" : "midwife.token=");
        return -ENOENT;
    }
    return 0;
}
