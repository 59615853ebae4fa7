/* Server-Sent Events: the parsing rules of the HTML Living Standard,
 * section 9.2.6 "Interpreting an event stream". */
#include "cli/cli_sse.h"

#include <stdint.h>
#include <string.h>

static const unsigned char BOM[3] = {0xef, 0xbb, 0xbf};

static void event_clear(struct sse_parser *p)
{
    p->data_len = 0;
    p->data[0] = '\0';
    p->has_data = false;
    p->spoiled = false;
    p->type[0] = '\0';
}

void sse_init(struct sse_parser *p)
{
    memset(p, 0, sizeof *p);
    p->retry_ms = -1;
}

void sse_reset_connection(struct sse_parser *p)
{
    event_clear(p);
    p->line_len = 0;
    p->line_too_long = false;
    p->after_cr = false;
    p->bom_seen = 0; /* a new response may start with a BOM again */
}

/* "If the line is empty (a blank line): dispatch the event." */
static int dispatch(struct sse_parser *p, sse_event_fn fn, void *arg)
{
    /* "If the data buffer is an empty string, set the data buffer and the
     * event type buffer to the empty string and return." Here "empty"
     * means no data line at all: "data:" alone is an event with "". */
    if (!p->has_data || p->spoiled) {
        if (p->spoiled)
            p->dropped++;
        event_clear(p);
        return 0;
    }
    /* "If the data buffer's last character is a U+000A LINE FEED (LF)
     * character, then remove the last character from the data buffer." */
    if (p->data_len > 0 && p->data[p->data_len - 1] == '\n')
        p->data[--p->data_len] = '\0';
    struct sse_event ev = {
        .type = p->type[0] ? p->type : "message",
        .data = p->data,
        .data_len = p->data_len,
        .last_id = p->last_id,
    };
    p->events++;
    int r = fn ? fn(arg, &ev) : 0;
    event_clear(p);
    return r;
}

static void field(struct sse_parser *p, const char *name, size_t nlen, const char *value, size_t vlen)
{
#define IS(lit) (nlen == sizeof(lit) - 1 && memcmp(name, lit, nlen) == 0)
    if (IS("event")) {
        if (vlen >= sizeof p->type) {
            p->spoiled = true;
            return;
        }
        memcpy(p->type, value, vlen);
        p->type[vlen] = '\0';
    } else if (IS("data")) {
        /* "Append the field value to the data buffer, then append a single
         * U+000A LINE FEED (LF) character to the data buffer." */
        p->has_data = true;
        if (p->spoiled)
            return;
        if (p->data_len + vlen + 1 > SSE_DATA_MAX) {
            p->spoiled = true;
            return;
        }
        memcpy(p->data + p->data_len, value, vlen);
        p->data_len += vlen;
        p->data[p->data_len++] = '\n';
        p->data[p->data_len] = '\0';
    } else if (IS("id")) {
        /* "If the field value does not contain U+0000 NULL, then set the
         * last event ID buffer to the field value." An id too long for the
         * buffer is ignored as well: the previous one is still a safe place
         * to resume from (at worst a few events come twice). */
        if (memchr(value, '\0', vlen) || vlen >= sizeof p->last_id)
            return;
        memcpy(p->last_id, value, vlen);
        p->last_id[vlen] = '\0';
    } else if (IS("retry")) {
        /* "If the field value consists of only ASCII digits, then interpret
         * the field value as an integer in base ten, and set the event
         * stream's reconnection time to that integer. Otherwise, ignore
         * the field." */
        if (vlen == 0 || vlen > 12)
            return;
        int64_t ms = 0;
        for (size_t i = 0; i < vlen; i++) {
            if (value[i] < '0' || value[i] > '9')
                return;
            ms = ms * 10 + (value[i] - '0');
        }
        p->retry_ms = ms;
    }
    /* "Otherwise: The field is ignored." */
#undef IS
}

static int line_end(struct sse_parser *p, sse_event_fn fn, void *arg)
{
    if (p->line_too_long) {
        /* The line is lost; so is the event it was part of. */
        p->line_too_long = false;
        p->line_len = 0;
        p->spoiled = true;
        return 0;
    }
    const char *l = p->line;
    size_t n = p->line_len;
    p->line_len = 0;
    if (n == 0)
        return dispatch(p, fn, arg);
    if (l[0] == ':')
        return 0; /* a comment (servers send them to keep the connection open) */
    const char *colon = memchr(l, ':', n);
    if (!colon) {
        field(p, l, n, "", 0);
        return 0;
    }
    size_t nlen = (size_t)(colon - l);
    const char *v = colon + 1;
    size_t vlen = n - nlen - 1;
    /* "If value starts with a U+0020 SPACE character, remove it." */
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    field(p, l, nlen, v, vlen);
    return 0;
}

int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_fn fn, void *arg)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        /* "One leading U+FEFF BYTE ORDER MARK character must be ignored if
         * any are present." */
        if (p->bom_seen != SIZE_MAX) {
            if (p->bom_seen < sizeof BOM && c == BOM[p->bom_seen]) {
                if (++p->bom_seen == sizeof BOM)
                    p->bom_seen = SIZE_MAX;
                continue;
            }
            /* Not a BOM after all: replay the bytes taken for one. */
            size_t taken = p->bom_seen;
            p->bom_seen = SIZE_MAX;
            if (taken > 0) {
                int r = sse_feed(p, (const char *)BOM, taken, fn, arg);
                if (r)
                    return r;
            }
        }
        if (c == '\n' && p->after_cr) {
            p->after_cr = false;
            continue;
        }
        p->after_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            int r = line_end(p, fn, arg);
            if (r)
                return r;
            continue;
        }
        if (p->line_len == SSE_LINE_MAX) {
            p->line_too_long = true;
            continue;
        }
        p->line[p->line_len++] = (char)c;
        p->line[p->line_len] = '\0';
    }
    return 0;
}
