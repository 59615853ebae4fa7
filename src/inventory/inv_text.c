#include "inventory/inv_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

int inv_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

const char *inv_quote(char *dst, size_t dstlen, const char *s, size_t len)
{
    if (len > INV_QUOTE_MAX) {
        char cut[INV_QUOTE_MAX * 4 + 1];
        log_escape(cut, sizeof cut, s, INV_QUOTE_MAX);
        snprintf(dst, dstlen, "%s...", cut);
        return dst;
    }
    return log_escape(dst, dstlen, s, len);
}

bool inv_text_clean(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return false;
        /* U+0080..U+009F are encoded C2 80..C2 9F. */
        if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return false;
    }
    return true;
}

bool inv_key_valid(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    if (n == 0 || n > INV_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)k[i]) && !strchr("_.-", k[i]))
            return false;
    return true;
}

const char *inv_json_str(const json_t *v, size_t *len)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n)
        return NULL;
    if (len)
        *len = n;
    return s;
}

json_t *inv_load_object(const char *text, size_t max, const char *what, char *err, size_t errlen)
{
    if (!text) {
        inv_fail(err, errlen, "%s: missing", what);
        return NULL;
    }
    size_t n = strlen(text);
    if (n > max) {
        inv_fail(err, errlen, "%s: %zu bytes, more than %zu", what, n, max);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        char q[INV_QUOTE_SIZE];
        inv_fail(err, errlen, "%s: not JSON: %s (line %d)", what, inv_quote(q, sizeof q, je.text, strlen(je.text)),
                 je.line);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        inv_fail(err, errlen, "%s: expected an object", what);
        return NULL;
    }
    return j;
}
