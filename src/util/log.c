#include "util/log.h"

#include "util/clock.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static enum log_format log_fmt = LOG_FORMAT_TEXT;
static enum log_level log_lvl = LOG_INFO;
static FILE *log_out;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_setup(enum log_format format, enum log_level level, FILE *out)
{
    log_fmt = format;
    log_lvl = level;
    log_out = out;
}

bool log_enabled(enum log_level level)
{
    return level <= log_lvl;
}

static void json_put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void log_msg(enum log_level level, const char *room, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    FILE *f = log_out ? log_out : stderr;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    if (log_fmt == LOG_FORMAT_JSON) {
        fprintf(f, "{\"time\":\"%s\",\"level\":\"%s\",\"room\":", when, level_names[level]);
        json_put_string(f, room);
        fputs(",\"msg\":", f);
        json_put_string(f, msg);
        fputs("}\n", f);
    } else {
        /* Messages are built from escaped client data, but a stray control
         * byte from our own format must not break the one-line shape. */
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = '?';
        fprintf(f, "%s %-5s %s: %s\n", when, level_names[level], room, msg);
    }
    fflush(f);
}

const char *log_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = src;
    size_t o = 0;
    if (dstlen == 0)
        return dst;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        char tmp[4];
        size_t t = 0;
        if (c == '\\' || c == '"') {
            tmp[t++] = '\\';
            tmp[t++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            tmp[t++] = (char)c;
        } else {
            tmp[t++] = '\\';
            tmp[t++] = 'x';
            tmp[t++] = hex[c >> 4];
            tmp[t++] = hex[c & 15];
        }
        if (o + t + 1 > dstlen) {
            /* Mark the cut so a reader knows the value was longer. */
            size_t keep = dstlen > 4 ? dstlen - 4 : 0;
            if (o > keep)
                o = keep;
            while (o < dstlen - 1 && o < keep + 3)
                dst[o++] = '.';
            break;
        }
        memcpy(dst + o, tmp, t);
        o += t;
    }
    dst[o] = '\0';
    return dst;
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms, unsigned *suppressed)
{
    if (now_ms - rl->window_start >= rl->interval_ms || rl->window_start == 0) {
        rl->window_start = now_ms ? now_ms : 1;
        rl->used = 0;
    }
    if (rl->used < rl->burst) {
        rl->used++;
        if (suppressed)
            *suppressed = rl->suppressed;
        rl->suppressed = 0;
        return true;
    }
    rl->suppressed++;
    return false;
}

bool log_ratelimited_ok(struct ratelimit *rl, const char *room)
{
    unsigned suppressed = 0;
    if (!ratelimit_allow(rl, clock_mono_ms(), &suppressed))
        return false;
    if (suppressed)
        log_warn(room, "%u similar messages suppressed", suppressed);
    return true;
}

char *log_json_safe(char *s, char repl)
{
    for (char *p = s; *p; p++)
        if (*p == '"' || *p == '\\')
            *p = repl;
    return s;
}
