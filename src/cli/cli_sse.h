/* A Server-Sent Events parser (HTML Living Standard, "Interpreting an
 * event stream"), pure: bytes in as they arrive, in chunks of any size,
 * events out through a callback. `midwife events --follow` feeds it from
 * libcurl's write callback.
 *
 * Lines end in CRLF, LF or CR (a CR at the end of one chunk and an LF at
 * the start of the next are one line end). A line starting with ':' is a
 * comment. "field: value" drops one space after the colon; a line without
 * a colon is a field with an empty value. data lines append to the data
 * buffer with an LF between them; an empty line dispatches the event when
 * there is data. id sets the last event ID (kept across events, for
 * Last-Event-ID on reconnection; an id holding NUL is ignored); retry
 * sets the reconnection time when it is all digits. Unknown fields are
 * ignored. A leading UTF-8 BOM is skipped.
 *
 * Caps: a line longer than SSE_LINE_MAX or data longer than SSE_DATA_MAX
 * spoils the event it belongs to: it is dropped (counted in dropped) and
 * the stream goes on with the next one. */
#ifndef MIDWIFE_CLI_CLI_SSE_H
#define MIDWIFE_CLI_CLI_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSE_LINE_MAX (64u * 1024)
#define SSE_DATA_MAX (256u * 1024)
#define SSE_FIELD_MAX 128 /* event type and id */

struct sse_event {
    const char *type;    /* "message" when the stream named none */
    const char *data;    /* NUL-terminated, no trailing LF */
    size_t data_len;
    const char *last_id; /* the last event ID at dispatch ("" = none) */
};

/* Non-zero stops sse_feed, which returns it. */
typedef int (*sse_event_fn)(void *arg, const struct sse_event *ev);

struct sse_parser {
    char line[SSE_LINE_MAX + 1];
    size_t line_len;
    bool line_too_long;
    bool after_cr;   /* the last byte was CR: an LF next is part of that line end */
    size_t bom_seen; /* bytes of a leading BOM matched so far; SIZE_MAX once past the start */

    char data[SSE_DATA_MAX + 1];
    size_t data_len;
    bool has_data;   /* at least one data line (even an empty one) */
    bool spoiled;    /* this event hit a cap: drop it */
    char type[SSE_FIELD_MAX];
    char last_id[SSE_FIELD_MAX];
    int64_t retry_ms; /* -1 until the stream sets it */

    uint64_t events;  /* dispatched */
    uint64_t dropped; /* spoiled by a cap */
};

void sse_init(struct sse_parser *p);
/* Feeds len bytes. 0, or the callback's non-zero value. */
int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_fn fn, void *arg);
/* The connection ended: the event being collected is discarded (the
 * standard says so) and the line state reset; last_id and retry_ms stay,
 * ready for the next connection. */
void sse_reset_connection(struct sse_parser *p);

#endif
