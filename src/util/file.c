#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int file_read_capped(const char *path, size_t max, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* One byte more than allowed tells "too large" from "exactly max". */
    char *buf = malloc(max + 2);
    size_t n = 0;
    ssize_t r = 1;
    while (buf && n <= max && (r = read(fd, buf + n, max + 1 - n)) > 0)
        n += (size_t)r;
    int e = errno;
    close(fd);
    if (!buf)
        return -ENOMEM;
    if (r < 0 || n > max) {
        free(buf);
        return r < 0 ? -e : -E2BIG;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}
