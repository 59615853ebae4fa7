/* Logging: one line per event, human text by default or JSON for machines.
 *
 * Anything a client sent us (hostnames, filenames, vendor classes) must pass
 * through log_escape() before it is formatted into a message: a hostile byte
 * must never reach a terminal or a log parser raw. */
#ifndef MIDWIFE_UTIL_LOG_H
#define MIDWIFE_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

void log_setup(enum log_format format, enum log_level level, FILE *out);
bool log_enabled(enum log_level level);

/* room: the part of midwife speaking ("dhcp", "tftp", "store", ...). */
void log_msg(enum log_level level, const char *room, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(room, ...) log_msg(LOG_ERROR, room, __VA_ARGS__)
#define log_warn(room, ...) log_msg(LOG_WARN, room, __VA_ARGS__)
#define log_info(room, ...) log_msg(LOG_INFO, room, __VA_ARGS__)
#define log_debug(room, ...) \
    do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, room, __VA_ARGS__); } while (0)

/* Escape len bytes of untrusted src into dst (always NUL-terminated):
 * printable ASCII stays, backslash and double quote are backslashed, any
 * other byte becomes \xNN. Output is cut (ending in "...") if dst is too
 * small. Returns dst so it can be used inline in a log call. */
const char *log_escape(char *dst, size_t dstlen, const void *src, size_t len);

/* Makes text (already escaped, so printable ASCII) fit inside a JSON
 * string written by hand: every '"' and '\\' becomes repl. Returns s. */
char *log_json_safe(char *s, char repl);

/* Size of a buffer that holds the full escape of n bytes. */
#define LOG_ESCAPED_SIZE(n) ((n) * 4 + 1)

/* At most `burst` messages per `interval_ms`; the rest are counted and the
 * count is reported when the next message is allowed. Used for bad-input
 * logging so a flood of garbage cannot flood the log. */
struct ratelimit {
    uint64_t interval_ms;
    unsigned burst;
    uint64_t window_start;
    unsigned used;
    unsigned suppressed;
};
#define RATELIMIT_INIT(interval, n) { .interval_ms = (interval), .burst = (n) }

/* Returns true if a message may be logged now; *suppressed (if non-NULL)
 * receives how many were dropped since the last allowed one. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, unsigned *suppressed);

/* ratelimit_allow() on the monotonic clock, and when a message is allowed
 * after some were held back, a warning from room saying how many. */
bool log_ratelimited_ok(struct ratelimit *rl, const char *room);

#endif
