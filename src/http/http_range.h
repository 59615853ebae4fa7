/* The Range request header (RFC 9110 §14.2), reduced to what a boot
 * server needs: one byte range. Pure: a header value and the size of the
 * file in, the bytes to send out. */
#ifndef MIDWIFE_HTTP_HTTP_RANGE_H
#define MIDWIFE_HTTP_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

enum http_range_result {
    HTTP_RANGE_NONE,          /* no usable range: send the whole file (200) */
    HTTP_RANGE_MULTI,         /* several ranges: ignored, the whole file (200) */
    HTTP_RANGE_OK,            /* one satisfiable range: 206 */
    HTTP_RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * /SIZE */
};

struct http_range {
    uint64_t first, last; /* inclusive, last < size */
};

/* Parses len bytes of a Range field value (not NUL-terminated) against a
 * representation of size bytes. Reads nothing beyond value + len; numbers
 * of any length saturate instead of overflowing. *out is set only for
 * HTTP_RANGE_OK. */
enum http_range_result http_range_parse(const char *value, size_t len, uint64_t size,
                                        struct http_range *out);

#endif
