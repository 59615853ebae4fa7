#include "http/http_cond.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char wday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void http_date_format(int64_t t, char out[HTTP_DATE_LEN + 1])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        memcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", HTTP_DATE_LEN + 1);
        return;
    }
    /* The compiler cannot see that struct tm's fields are in range, so
     * format into room for the worst case; the year check above makes the
     * result exactly HTTP_DATE_LEN characters. */
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday], tm.tm_mday,
             mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, HTTP_DATE_LEN);
    out[HTTP_DATE_LEN] = '\0';
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int http_date_parse(const char *s, size_t len, int64_t *out)
{
    /* IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
     *               "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (len != HTTP_DATE_LEN || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4) != 0)
        return -EINVAL;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, mon[i], 3) == 0)
            m = i;
    int day = num(s + 5, 2), year = num(s + 12, 4), hh = num(s + 17, 2), mm = num(s + 20, 2),
        ss = num(s + 23, 2);
    if (m < 0 || day < 1 || day > 31 || year < 1970 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
        ss < 0 || ss > 60)
        return -EINVAL;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = m, .tm_mday = day,
                    .tm_hour = hh, .tm_min = mm, .tm_sec = ss};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *out = (int64_t)t;
    return 0;
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Reads one entity-tag at p: [W/] DQUOTE *etagc DQUOTE. Returns the length
 * consumed (0 if malformed); *opaque and *olen are the quoted part, quotes
 * included, and *weak whether it had the W/ prefix. */
static size_t read_etag(const char *p, size_t n, const char **opaque, size_t *olen, bool *weak)
{
    size_t i = 0;
    *weak = false;
    if (n >= 2 && p[0] == 'W' && p[1] == '/') {
        *weak = true;
        i = 2;
    }
    if (i >= n || p[i] != '"')
        return 0;
    size_t start = i++;
    /* etagc = %x21 / %x23-7E / obs-text */
    while (i < n && p[i] != '"') {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x21 || c == 0x7f)
            return 0;
        i++;
    }
    if (i >= n)
        return 0;
    i++;
    *opaque = p + start;
    *olen = i - start;
    return i;
}

static void strip_weak(const char **e, size_t *n, bool *weak)
{
    *weak = *n >= 2 && (*e)[0] == 'W' && (*e)[1] == '/';
    if (*weak) {
        *e += 2;
        *n -= 2;
    }
}

bool http_etag_list_match(const char *list, size_t len, const char *etag)
{
    const char *mine = etag;
    size_t mlen = strlen(etag);
    bool mine_weak;
    strip_weak(&mine, &mlen, &mine_weak);
    size_t i = 0;
    while (i < len && is_ows(list[i]))
        i++;
    if (i < len && list[i] == '*') {
        size_t j = i + 1;
        while (j < len && is_ows(list[j]))
            j++;
        return j == len;
    }
    while (i < len) {
        while (i < len && (is_ows(list[i]) || list[i] == ','))
            i++;
        if (i == len)
            break;
        const char *o;
        size_t olen;
        bool weak;
        size_t used = read_etag(list + i, len - i, &o, &olen, &weak);
        if (used == 0)
            return false;
        /* weak comparison: the opaque tags match, W/ or not */
        if (olen == mlen && memcmp(o, mine, mlen) == 0)
            return true;
        i += used;
        while (i < len && is_ows(list[i]))
            i++;
        if (i < len && list[i] != ',')
            return false;
    }
    return false;
}

bool http_if_range_holds(const char *value, size_t len, const char *etag, int64_t mtime)
{
    while (len > 0 && is_ows(value[0])) {
        value++;
        len--;
    }
    while (len > 0 && is_ows(value[len - 1]))
        len--;
    if (len > 0 && (value[0] == '"' || value[0] == 'W')) {
        /* "A server MUST NOT ... use a weak entity tag for If-Range"; the
         * strong comparison fails for any weak tag on either side. */
        const char *o;
        size_t olen;
        bool weak;
        if (read_etag(value, len, &o, &olen, &weak) != len || weak)
            return false;
        const char *mine = etag;
        size_t mlen = strlen(etag);
        bool mine_weak;
        strip_weak(&mine, &mlen, &mine_weak);
        return !mine_weak && olen == mlen && memcmp(o, mine, mlen) == 0;
    }
    int64_t t;
    return http_date_parse(value, len, &t) == 0 && t == mtime;
}
