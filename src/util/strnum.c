#include "util/strnum.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, const char **errstr)
{
    if (!s || !isdigit((unsigned char)s[0])) {
        *errstr = "invalid";
        return -EINVAL;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') {
        *errstr = "invalid";
        return -EINVAL;
    }
    if (errno == ERANGE || v > max) {
        *errstr = "too large";
        return -EINVAL;
    }
    if (v < min) {
        *errstr = "too small";
        return -EINVAL;
    }
    *out = v;
    *errstr = NULL;
    return 0;
}

int parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *seconds,
                   const char **errstr)
{
    char buf[32];
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= sizeof buf) {
        *errstr = "invalid";
        return -EINVAL;
    }
    memcpy(buf, s, n + 1);
    uint64_t mult = 1;
    switch (buf[n - 1]) {
    case 's': mult = 1; buf[n - 1] = '\0'; break;
    case 'm': mult = 60; buf[n - 1] = '\0'; break;
    case 'h': mult = 3600; buf[n - 1] = '\0'; break;
    case 'd': mult = 86400; buf[n - 1] = '\0'; break;
    default: break;
    }
    uint64_t v;
    if (parse_u64(buf, 0, UINT64_MAX / mult, &v, errstr) < 0)
        return -EINVAL;
    v *= mult;
    if (v > max) {
        *errstr = "too large";
        return -EINVAL;
    }
    if (v < min) {
        *errstr = "too small";
        return -EINVAL;
    }
    *seconds = v;
    return 0;
}

int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}
