/* Range-checked number parsing, in the spirit of OpenBSD's strtonum(3):
 * every number from a config file or a packet option goes through here. */
#ifndef MIDWIFE_UTIL_STRNUM_H
#define MIDWIFE_UTIL_STRNUM_H

#include <stdint.h>

/* Parses a whole decimal string into [min, max]. Returns 0, or -EINVAL
 * with *errstr set to "invalid", "too small" or "too large". */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, const char **errstr);

/* Like parse_u64 but accepts a duration suffix: s, m, h, d (seconds). */
int parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *seconds,
                   const char **errstr);

/* yes/no/true/false/on/off/1/0. Returns 0 or -EINVAL. */
int parse_bool(const char *s, int *out);

#endif
