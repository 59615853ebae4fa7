/* Validators and conditional requests (RFC 9110 §8.8, §13): HTTP dates,
 * entity tags. Pure. */
#ifndef MIDWIFE_HTTP_HTTP_COND_H
#define MIDWIFE_HTTP_HTTP_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* IMF-fixdate of a POSIX time into out[HTTP_DATE_LEN + 1]; independent of
 * the locale. */
void http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1]);
/* Parses an IMF-fixdate (the only form we generate; the obsolete RFC 850
 * and asctime forms are refused, which makes a condition be ignored).
 * Returns 0 or -EINVAL. */
int http_date_parse(const char *s, size_t len, int64_t *out);

/* If-None-Match: true if list ("*" or 1#entity-tag) matches etag under the
 * weak comparison (§8.8.3.2). A malformed list matches nothing. */
bool http_etag_list_match(const char *list, size_t len, const char *etag);

/* If-Range (§13.1.5): true if the range may be honoured. The value is an
 * entity-tag (strong comparison) or an HTTP-date (equal to Last-Modified). */
bool http_if_range_holds(const char *value, size_t len, const char *etag, int64_t mtime);

#endif
