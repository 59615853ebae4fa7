/* Fuzzes the CLI's Server-Sent Events parser (cli/cli_sse.c): the same
 * stream fed in one chunk, split at chosen positions, and one byte at a
 * time must give the same events and end in the same state; and while no
 * line or data cap is in reach, the events are those of a plain reading
 * of the whole stream at once (below, after cli_sse.h's rules).
 *
 * Input: byte 0 holds the number of split positions (low 4 bits); then
 * 2 bytes per split position, a fraction of the stream's length; the rest
 * is the stream. The caps (64 KiB lines, 256 KiB data) are left to the
 * unit tests: streams that long make a run too slow to be useful. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the events said, one after the other: type, data (with its
 * length), last id. */
struct record {
    char *buf;
    size_t len, cap;
};

static void put(struct record *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b)
            abort();
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static void put_event(struct record *r, const char *type, const char *d, size_t dlen, const char *id)
{
    put(r, type, strlen(type) + 1);
    put(r, &dlen, sizeof dlen);
    put(r, d, dlen);
    put(r, id, strlen(id) + 1);
}

static void check_str(const char *s)
{
    size_t n = strnlen(s, SSE_FIELD_MAX);
    if (n >= SSE_FIELD_MAX || memchr(s, '\r', n) || memchr(s, '\n', n))
        abort();
}

static int on_event(void *arg, const struct sse_event *ev)
{
    if (!ev->type || !ev->data || !ev->last_id || ev->data_len > SSE_DATA_MAX || ev->data[ev->data_len] != '\0' ||
        memchr(ev->data, '\r', ev->data_len))
        abort();
    check_str(ev->type);
    check_str(ev->last_id);
    if (!ev->type[0])
        abort();
    put_event(arg, ev->type, ev->data, ev->data_len, ev->last_id);
    return 0;
}

/* The parser's end state, after the events. */
static void put_state(struct record *r, const struct sse_parser *p)
{
    put(r, &p->events, sizeof p->events);
    put(r, &p->dropped, sizeof p->dropped);
    put(r, &p->retry_ms, sizeof p->retry_ms);
    put(r, p->last_id, strlen(p->last_id) + 1);
}

static struct sse_parser parser;

static void run(struct record *r, const char *s, size_t len, const size_t *cuts, size_t n_cuts)
{
    sse_init(&parser);
    size_t at = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        if (sse_feed(&parser, s + at, end - at, on_event, r) != 0)
            abort();
        at = end;
    }
    put_state(r, &parser);
}

/* The whole stream read at once, by cli_sse.h's rules. */
static void reference(struct record *r, const char *s, size_t len)
{
    static char d[SSE_DATA_MAX + 2];
    char type[SSE_FIELD_MAX] = "", id[SSE_FIELD_MAX] = "";
    size_t dlen = 0;
    bool has_data = false, spoiled = false;
    uint64_t events = 0, dropped = 0;
    int64_t retry = -1;
    size_t i = len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    for (;;) {
        size_t j = i;
        while (j < len && s[j] != '\r' && s[j] != '\n')
            j++;
        if (j == len)
            break; /* a line never ended is not read */
        const char *l = s + i;
        size_t n = j - i;
        i = s[j] == '\r' && j + 1 < len && s[j + 1] == '\n' ? j + 2 : j + 1;
        if (n == 0) {
            if (has_data && !spoiled) {
                if (dlen > 0 && d[dlen - 1] == '\n')
                    dlen--;
                d[dlen] = '\0';
                put_event(r, type[0] ? type : "message", d, dlen, id);
                events++;
            } else if (spoiled) {
                dropped++;
            }
            dlen = 0;
            has_data = spoiled = false;
            type[0] = '\0';
            continue;
        }
        if (l[0] == ':')
            continue;
        const char *colon = memchr(l, ':', n);
        size_t nlen = colon ? (size_t)(colon - l) : n;
        const char *v = colon ? colon + 1 : "";
        size_t vlen = colon ? n - nlen - 1 : 0;
        if (vlen > 0 && v[0] == ' ') {
            v++;
            vlen--;
        }
        if (nlen == 5 && memcmp(l, "event", 5) == 0) {
            if (vlen >= sizeof type) {
                spoiled = true;
            } else {
                memcpy(type, v, vlen);
                type[vlen] = '\0';
            }
        } else if (nlen == 4 && memcmp(l, "data", 4) == 0) {
            has_data = true;
            memcpy(d + dlen, v, vlen); /* no cap in reach: see the caller */
            dlen += vlen;
            d[dlen++] = '\n';
        } else if (nlen == 2 && memcmp(l, "id", 2) == 0) {
            if (!memchr(v, '\0', vlen) && vlen < sizeof id) {
                memcpy(id, v, vlen);
                id[vlen] = '\0';
            }
        } else if (nlen == 5 && memcmp(l, "retry", 5) == 0 && vlen > 0 && vlen <= 12) {
            int64_t ms = 0;
            size_t k = 0;
            while (k < vlen && v[k] >= '0' && v[k] <= '9')
                ms = ms * 10 + (v[k++] - '0');
            if (k == vlen)
                retry = ms;
        }
    }
    put(r, &events, sizeof events);
    put(r, &dropped, sizeof dropped);
    put(r, &retry, sizeof retry);
    put(r, id, strlen(id) + 1);
}

static int by_value(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static void same(const struct record *a, const struct record *b)
{
    if (a->len != b->len || memcmp(a->buf, b->buf, a->len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n_cuts = data[0] & 15;
    if (size < 1 + 2 * n_cuts)
        return 0;
    size_t len = size - 1 - 2 * n_cuts;
    char *s = malloc(len ? len : 1);
    if (!s)
        return 0;
    memcpy(s, data + 1 + 2 * n_cuts, len);
    size_t cuts[15];
    for (size_t k = 0; k < n_cuts; k++)
        cuts[k] = (size_t)((uint64_t)(data[1 + 2 * k] << 8 | data[2 + 2 * k]) * len / 65536);
    qsort(cuts, n_cuts, sizeof cuts[0], by_value);

    struct record one = {0}, split = {0}, bytes = {0}, ref = {0};
    run(&one, s, len, NULL, 0);
    run(&split, s, len, cuts, n_cuts);
    same(&one, &split);
    if (len <= 16 * 1024) {
        size_t *every = malloc((len ? len : 1) * sizeof *every);
        if (!every)
            abort();
        for (size_t k = 0; k < len; k++)
            every[k] = k;
        run(&bytes, s, len, every, len);
        same(&one, &bytes);
        free(every);
    }
    /* Every line and all the data fit the caps. */
    if (len <= SSE_LINE_MAX) {
        reference(&ref, s, len);
        same(&one, &ref);
    }
    free(one.buf);
    free(split.buf);
    free(bytes.buf);
    free(ref.buf);
    free(s);
    return 0;
}
