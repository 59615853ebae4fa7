/* Fuzzes the Range parser. The first 8 bytes are the file size (big
 * endian), the rest is the field value. Whatever the input, a satisfiable
 * answer must lie inside the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t file = 0;
    for (int i = 0; i < 8; i++)
        file = file << 8 | data[i];
    /* An exact-size heap copy, so ASan sees any read past the value. */
    size_t n = size - 8;
    char *v = malloc(n ? n : 1);
    if (!v)
        return 0;
    memcpy(v, data + 8, n);
    struct http_range r = {0, 0};
    enum http_range_result res = http_range_parse(v, n, file, &r);
    if (res == HTTP_RANGE_OK && (r.first > r.last || r.last >= file))
        abort();
    if (res == HTTP_RANGE_UNSATISFIABLE && n < 7)
        abort(); /* "bytes=" plus at least one character */
    free(v);
    return 0;
}
