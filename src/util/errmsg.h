/* The one way this code reports an error with words: a negative errno (or
 * other code) returned, and the message written into the caller's buffer. */
#ifndef MIDWIFE_UTIL_ERRMSG_H
#define MIDWIFE_UTIL_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (cut to errlen) and returns code, so a
 * caller can write `return errf(err, errlen, -EINVAL, "...", ...);`. */
int errf(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
