/* Small files read whole: templates, kickstart preambles, the agent. */
#ifndef MIDWIFE_UTIL_FILE_H
#define MIDWIFE_UTIL_FILE_H

#include <stddef.h>

/* Reads path into a malloc'd buffer (NUL-terminated, *len without it).
 * Returns 0; -ENOENT when it does not exist, -E2BIG when it is larger
 * than max bytes, -ENOMEM, or the negative errno of open/read. The caller
 * frees *data. */
int file_read_capped(const char *path, size_t max, char **data, size_t *len);

#endif
