/* Helpers shared by the TFTP unit tests: packet builders the way a client
 * would write them, and temporary roots. Header-only, static functions. */
#ifndef MIDWIFE_TESTS_TEST_TFTP_HELPERS_H
#define MIDWIFE_TESTS_TEST_TFTP_HELPERS_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* op, then NUL-terminated strings (filename, mode, option pairs) up to a
 * NULL. Returns the length. */
static inline size_t tt_request(uint8_t *buf, size_t cap, int op, ...)
{
    va_list ap;
    size_t n = 2;
    buf[0] = (uint8_t)(op >> 8);
    buf[1] = (uint8_t)op;
    va_start(ap, op);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
        size_t l = strlen(s) + 1;
        if (n + l > cap)
            abort();
        memcpy(buf + n, s, l);
        n += l;
    }
    va_end(ap);
    return n;
}

static inline size_t tt_ack(uint8_t *buf, uint16_t block)
{
    buf[0] = 0;
    buf[1] = 4;
    buf[2] = (uint8_t)(block >> 8);
    buf[3] = (uint8_t)block;
    return 4;
}

static inline uint16_t tt_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* A fresh temporary directory; path written to dir (>= 64 bytes). */
static inline void tt_tmpdir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/midwife-tftp-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static inline void tt_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}

static inline void tt_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
}

#endif
