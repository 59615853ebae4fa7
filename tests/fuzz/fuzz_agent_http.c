/* Fuzzes the agent's HTTP response parser. The first byte picks the body
 * cap (a small one reaches the E2BIG paths), the second whether the
 * stream has ended; the rest is the response. A complete answer must lie
 * inside the input and decode to exactly body_len bytes; a prefix of it
 * may never be called complete with another status. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cap = data[0] < 128 ? data[0] : (size_t)1 << 20;
    bool eof = data[1] & 1;
    size_t n = size - 2;
    /* An exact-size heap copy, so ASan sees any read past the response. */
    char *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 2, n);
    struct http_parsed p;
    int r = http_response_parse(buf, n, eof, cap, &p);
    if (r < -200 || r > 1)
        abort();
    if (r < 0 && !p.error)
        abort();
    if (r == 0) {
        if (p.status < 200 || p.status > 599 || p.end > n || p.body_off > p.end || p.body_len > cap)
            abort();
        char *out = malloc(p.body_len + 1);
        if (!out || http_body_copy(buf, &p, out) != p.body_len)
            abort();
        free(out);
        /* The same bytes with more to come: complete the same way or not yet. */
        struct http_parsed q;
        int r2 = http_response_parse(buf, n, false, cap, &q);
        if (r2 == 0 && (q.status != p.status || q.body_len != p.body_len))
            abort();
    }
    free(buf);
    return 0;
}
