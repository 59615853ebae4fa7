/* HTTP/1.1 client (see http.h). RFC 9112 is the reference for framing;
 * the tolerances are written next to the code that has them. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "doc.h"
#include "util/clock.h"
#include "util/log.h"

#define CHUNK_LINE_MAX 1024 /* a chunk-size line with its extensions */
#define INTERIM_MAX 8       /* 1xx answers skipped before the final one */

/* ---- URLs ---- */

static bool url_char_ok(unsigned char ch)
{
    return ch > ' ' && ch < 0x7f;
}

int http_url_parse(const char *url, struct http_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "not an http:// URL");
        return -EINVAL;
    }
    for (const char *q = url; *q; q++)
        if (!url_char_ok((unsigned char)*q)) {
            snprintf(err, errlen, "URL holds a blank, control or non-ASCII character");
            return -EINVAL;
        }
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    size_t hostport = slash ? (size_t)(slash - h) : strlen(h);
    const char *colon = memchr(h, ':', hostport);
    size_t hlen = colon ? (size_t)(colon - h) : hostport;
    if (hlen == 0 || hlen >= sizeof u->host || memchr(h, '@', hostport) || memchr(h, '[', hostport)) {
        snprintf(err, errlen, "URL host missing, too long or of a form not supported (user@, [IPv6])");
        return -EINVAL;
    }
    memcpy(u->host, h, hlen);
    if (colon) {
        size_t plen = hostport - hlen - 1;
        unsigned long port = 0;
        for (size_t i = 0; i < plen; i++) {
            char ch = colon[1 + i];
            if (ch < '0' || ch > '9' || (port = port * 10 + (unsigned long)(ch - '0')) > 65535)
                plen = 0;
        }
        if (plen == 0 || port == 0) {
            snprintf(err, errlen, "URL port is not 1..65535");
            return -EINVAL;
        }
        snprintf(u->port, sizeof u->port, "%u", (unsigned)(unsigned short)port);
    } else {
        snprintf(u->port, sizeof u->port, "80");
    }
    const char *path = slash ? slash : "/";
    if (strlen(path) >= sizeof u->path) {
        snprintf(err, errlen, "URL path longer than %zu bytes", sizeof u->path - 1);
        return -EINVAL;
    }
    snprintf(u->path, sizeof u->path, "%s", path);
    return 0;
}

/* ---- the response parser ---- */

static int perr(struct http_parsed *p, int code, const char *why)
{
    p->error = why;
    return code;
}

/* Offset of the first "\r\n" in b[from..lim), or SIZE_MAX. */
static size_t find_crlf(const char *b, size_t from, size_t lim)
{
    for (size_t i = from; i + 1 < lim; i++)
        if (b[i] == '\r' && b[i + 1] == '\n')
            return i;
    return SIZE_MAX;
}

static size_t find_head_end(const char *b, size_t from, size_t lim)
{
    for (size_t i = from; i + 3 < lim; i++)
        if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n')
            return i + 4;
    return SIZE_MAX;
}

static bool is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Field values: HTAB, SP, VCHAR and obs-text; no other control byte. */
static bool is_value_byte(unsigned char ch)
{
    return ch == '\t' || (ch >= ' ' && ch != 0x7f);
}

struct head {
    int status;
    bool has_length, chunked;
    uint64_t length;
};

/* Parses the status line and fields of the head in b[0..n) (n ends
 * before the blank line's CRLF). */
static int parse_head(const char *b, size_t n, struct head *h, struct http_parsed *p)
{
    memset(h, 0, sizeof *h);
    size_t eol = find_crlf(b, 0, n + 2);
    /* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
    if (eol < 12 || memcmp(b, "HTTP/1.", 7) != 0 || (b[7] != '0' && b[7] != '1') || b[8] != ' ')
        return perr(p, -EPROTO, "not an HTTP/1.x status line");
    for (int i = 9; i < 12; i++)
        if (b[i] < '0' || b[i] > '9')
            return perr(p, -EPROTO, "status code is not three digits");
    h->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
    if (h->status < 100 || h->status > 599)
        return perr(p, -EPROTO, "status code outside 100..599");
    /* A reason phrase is optional; some servers even drop the SP before
     * an empty one, which is tolerated. */
    if (eol > 12 && b[12] != ' ')
        return perr(p, -EPROTO, "no blank after the status code");
    for (size_t i = 13; i < eol; i++)
        if (!is_value_byte((unsigned char)b[i]))
            return perr(p, -EPROTO, "control byte in the reason phrase");
    size_t pos = eol + 2;
    while (pos < n) {
        size_t e = find_crlf(b, pos, n + 2);
        if (e == SIZE_MAX)
            return perr(p, -EPROTO, "field line without CRLF");
        /* RFC 9112 5.2: obs-fold is refused by a client that does not
         * handle it; midwife never folds. */
        if (b[pos] == ' ' || b[pos] == '\t')
            return perr(p, -EPROTO, "folded field line");
        size_t c = pos;
        while (c < e && is_tchar((unsigned char)b[c]))
            c++;
        if (c == pos || c >= e || b[c] != ':')
            return perr(p, -EPROTO, "field line without a name and ':'");
        size_t name_len = c - pos;
        size_t v = c + 1, ve = e;
        while (v < ve && (b[v] == ' ' || b[v] == '\t'))
            v++;
        while (ve > v && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
            ve--;
        for (size_t i = v; i < ve; i++)
            if (!is_value_byte((unsigned char)b[i]))
                return perr(p, -EPROTO, "control byte in a field value");
        if (name_len == 14 && strncasecmp(b + pos, "Content-Length", 14) == 0) {
            uint64_t len = 0;
            if (ve == v || ve - v > 18)
                return perr(p, -EPROTO, "Content-Length is not a number");
            for (size_t i = v; i < ve; i++) {
                if (b[i] < '0' || b[i] > '9')
                    return perr(p, -EPROTO, "Content-Length is not a number");
                len = len * 10 + (uint64_t)(b[i] - '0');
            }
            /* RFC 9110 8.6: differing values are an error. */
            if (h->has_length && h->length != len)
                return perr(p, -EPROTO, "two different Content-Length values");
            h->has_length = true;
            h->length = len;
        } else if (name_len == 17 && strncasecmp(b + pos, "Transfer-Encoding", 17) == 0) {
            if (ve - v != 7 || strncasecmp(b + v, "chunked", 7) != 0 || h->chunked)
                return perr(p, -EPROTO, "a transfer coding other than one chunked");
            h->chunked = true;
        }
        pos = e + 2;
    }
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Reads "HEX[;ext]CRLF" at pos; *size and *next (after the CRLF). */
static int chunk_line(const char *b, size_t len, bool at_eof, size_t pos, uint64_t *size, size_t *next,
                      struct http_parsed *p)
{
    size_t lim = len - pos > CHUNK_LINE_MAX ? pos + CHUNK_LINE_MAX : len;
    size_t e = find_crlf(b, pos, lim);
    if (e == SIZE_MAX) {
        if (lim < len || len - pos >= CHUNK_LINE_MAX)
            return perr(p, -EPROTO, "chunk size line too long");
        return at_eof ? perr(p, -EPROTO, "truncated chunked body") : 1;
    }
    uint64_t v = 0;
    size_t i = pos;
    for (; i < e && hexval(b[i]) >= 0; i++) {
        if (i - pos >= 15)
            return perr(p, -E2BIG, "chunk size over 15 hex digits");
        v = v << 4 | (uint64_t)hexval(b[i]);
    }
    if (i == pos)
        return perr(p, -EPROTO, "chunk size is not hex");
    /* Chunk extensions (";name=value") mean nothing to us: skipped, but
     * they may not hide control bytes. */
    while (i < e && (b[i] == ' ' || b[i] == '\t'))
        i++;
    if (i < e && b[i] != ';')
        return perr(p, -EPROTO, "garbage after the chunk size");
    for (; i < e; i++)
        if (!is_value_byte((unsigned char)b[i]))
            return perr(p, -EPROTO, "control byte in a chunk extension");
    *size = v;
    *next = e + 2;
    return 0;
}

static int parse_chunked(const char *b, size_t len, bool at_eof, size_t max_body, size_t pos,
                         struct http_parsed *p)
{
    uint64_t total = 0;
    for (;;) {
        uint64_t size;
        size_t next;
        int r = chunk_line(b, len, at_eof, pos, &size, &next, p);
        if (r != 0)
            return r;
        if (size > max_body - total)
            return perr(p, -E2BIG, "body over the cap");
        pos = next;
        if (size == 0)
            break;
        if (len - pos < size + 2)
            return at_eof ? perr(p, -EPROTO, "truncated chunk") : 1;
        if (b[pos + size] != '\r' || b[pos + size + 1] != '\n')
            return perr(p, -EPROTO, "chunk data not followed by CRLF");
        total += size;
        pos += (size_t)size + 2;
    }
    /* Trailer fields are read and dropped, up to the blank line. */
    size_t trailer_start = pos;
    for (;;) {
        size_t e = find_crlf(b, pos, len);
        if (e == SIZE_MAX) {
            if (len - trailer_start > HTTP_HEAD_MAX)
                return perr(p, -E2BIG, "trailer over 16 KiB");
            return at_eof ? perr(p, -EPROTO, "truncated trailer") : 1;
        }
        if (e - trailer_start > HTTP_HEAD_MAX)
            return perr(p, -E2BIG, "trailer over 16 KiB");
        for (size_t i = pos; i < e; i++)
            if (!is_value_byte((unsigned char)b[i]))
                return perr(p, -EPROTO, "control byte in a trailer field");
        bool blank = e == pos;
        pos = e + 2;
        if (blank)
            break;
    }
    p->body_len = (size_t)total;
    p->end = pos;
    return 0;
}

int http_response_parse(const char *buf, size_t len, bool at_eof, size_t max_body, struct http_parsed *p)
{
    memset(p, 0, sizeof *p);
    size_t off = 0, head_end;
    struct head h;
    for (int interim = 0;; interim++) {
        size_t lim = len - off > HTTP_HEAD_MAX ? off + HTTP_HEAD_MAX : len;
        size_t end = head_end = find_head_end(buf, off, lim);
        if (end == SIZE_MAX) {
            if (len - off >= HTTP_HEAD_MAX)
                return perr(p, -E2BIG, "response head over 16 KiB");
            return at_eof ? perr(p, -EPROTO, "connection closed before the end of the response head") : 1;
        }
        int r = parse_head(buf + off, end - off - 2, &h, p);
        if (r < 0)
            return r;
        if (h.status >= 200)
            break;
        /* RFC 9110 15.2: a client must be able to parse 1xx answers
         * before the final one, even unasked. 101 would switch
         * protocols, which was never asked for. */
        if (h.status == 101)
            return perr(p, -EPROTO, "unexpected 101 Switching Protocols");
        if (interim >= INTERIM_MAX)
            return perr(p, -EPROTO, "too many interim 1xx responses");
        off = end;
    }
    p->status = h.status;
    p->body_off = head_end;
    if (h.status == 204 || h.status == 304) {
        p->framing = HTTP_BODY_NONE;
        p->end = head_end;
        return 0;
    }
    /* RFC 9112 6.3: Transfer-Encoding overrides Content-Length. */
    if (h.chunked) {
        p->framing = HTTP_BODY_CHUNKED;
        return parse_chunked(buf, len, at_eof, max_body, head_end, p);
    }
    if (h.has_length) {
        p->framing = HTTP_BODY_LENGTH;
        if (h.length > max_body)
            return perr(p, -E2BIG, "body over the cap");
        if (len - head_end < h.length)
            return at_eof ? perr(p, -EPROTO, "connection closed before the end of the body") : 1;
        p->body_len = (size_t)h.length;
        p->end = head_end + (size_t)h.length;
        return 0;
    }
    p->framing = HTTP_BODY_CLOSE;
    if (len - head_end > max_body)
        return perr(p, -E2BIG, "body over the cap");
    if (!at_eof)
        return 1;
    p->body_len = len - head_end;
    p->end = len;
    return 0;
}

size_t http_body_copy(const char *buf, const struct http_parsed *p, char *out)
{
    size_t w = 0;
    if (p->framing != HTTP_BODY_CHUNKED) {
        memcpy(out, buf + p->body_off, p->body_len);
        w = p->body_len;
    } else {
        /* The framing was checked by http_response_parse. */
        size_t pos = p->body_off;
        while (w < p->body_len) {
            uint64_t size = 0;
            while (hexval(buf[pos]) >= 0)
                size = size << 4 | (uint64_t)hexval(buf[pos++]);
            while (buf[pos] != '\r' || buf[pos + 1] != '\n')
                pos++;
            pos += 2;
            memcpy(out + w, buf + pos, (size_t)size);
            w += (size_t)size;
            pos += (size_t)size + 2;
        }
    }
    out[w] = '\0';
    return w;
}

/* ---- the client ---- */

struct deadline {
    uint64_t end_ms;
    unsigned io_ms;
};

/* How long the next poll may wait: the idle limit, within the whole. */
static int wait_ms(const struct deadline *d)
{
    uint64_t now = clock_mono_ms();
    if (now >= d->end_ms)
        return 0;
    uint64_t left = d->end_ms - now;
    return (int)(left < d->io_ms ? left : d->io_ms);
}

static int wait_fd(int fd, short events, const struct deadline *d)
{
    for (;;) {
        int ms = wait_ms(d);
        if (ms == 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        return 0;
    }
}

static int connect_one(const struct addrinfo *ai, const struct deadline *d)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    int r = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            r = -errno;
        } else if ((r = wait_fd(fd, POLLOUT, d)) == 0) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                r = -errno;
            else if (soerr)
                r = -soerr;
        }
    }
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

static int send_all(int fd, const char *b, size_t n, const struct deadline *d)
{
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, d);
            if (r < 0)
                return r;
            continue;
        }
        if (w < 0)
            return -errno;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Header values we write must not end the line early. */
static bool header_safe(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < ' ' || *s == 0x7f)
            return false;
    return true;
}

struct rx {
    char *buf;
    size_t len, cap, limit;
};

static int receive(int fd, struct rx *rx, size_t max_body, struct http_parsed *p, const struct deadline *d)
{
    for (;;) {
        if (rx->len == rx->cap) {
            if (rx->cap >= rx->limit)
                return perr(p, -E2BIG, "response over the cap");
            size_t ncap = rx->cap ? rx->cap * 2 : 16384;
            if (ncap > rx->limit)
                ncap = rx->limit;
            char *nb = realloc(rx->buf, ncap);
            if (!nb)
                return perr(p, -ENOMEM, "out of memory");
            rx->buf = nb;
            rx->cap = ncap;
        }
        ssize_t n = recv(fd, rx->buf + rx->len, rx->cap - rx->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLIN, d);
            if (r < 0)
                return perr(p, r, r == -ETIMEDOUT ? "timed out waiting for the answer" : "poll failed");
            continue;
        }
        if (n < 0) {
            int e = errno;
            /* A reset after a complete answer (the server closed with our
             * unread bytes in its buffer) still leaves the answer good. */
            int r = http_response_parse(rx->buf, rx->len, true, max_body, p);
            return r == 0 ? 0 : perr(p, -e, "connection reset while reading the answer");
        }
        rx->len += (size_t)n;
        int r = http_response_parse(rx->buf, rx->len, n == 0, max_body, p);
        if (r <= 0)
            return r;
    }
}

int http_request(const struct http_request *req, struct http_response *resp, char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    struct http_url u;
    int r = http_url_parse(req->url, &u, err, errlen);
    if (r < 0)
        return r;
    if (!header_safe(req->token) || !header_safe(req->content_type) || !header_safe(req->method)) {
        snprintf(err, errlen, "control character in a request header");
        return -EINVAL;
    }
    size_t max_body = req->max_body ? req->max_body : DOC_MAX_BYTES;
    struct deadline d = {
        .io_ms = req->io_timeout_ms ? req->io_timeout_ms : 10000,
        .end_ms = clock_mono_ms() + (req->total_timeout_ms ? req->total_timeout_ms : 60000),
    };

    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(u.host, u.port, &hints, &res);
    if (g != 0) {
        char esc[128];
        snprintf(err, errlen, "cannot resolve %s: %s", log_escape(esc, sizeof esc, u.host, strlen(u.host)),
                 gai_strerror(g));
        return g == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    }
    int fd = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if ((fd = connect_one(ai, &d)) >= 0)
            break;
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot connect to %s:%s: %s", u.host, u.port, strerror(-fd));
        return fd;
    }

    char head[4096];
    bool default_port = strcmp(u.port, "80") == 0;
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: midwife-agent/%s\r\nConnection: close\r\n"
                      "%s%s%s%s%s%s",
                      req->method, u.path, u.host, default_port ? "" : ":", default_port ? "" : u.port,
                      MIDWIFE_VERSION, req->token ? "Authorization: Bearer " : "", req->token ? req->token : "",
                      req->token ? "\r\n" : "", req->content_type ? "Content-Type: " : "",
                      req->content_type ? req->content_type : "", req->content_type ? "\r\n" : "");
    if (hn > 0 && (size_t)hn < sizeof head && (req->body_len || strcmp(req->method, "GET") != 0))
        hn += snprintf(head + hn, sizeof head - (size_t)hn, "Content-Length: %zu\r\n", req->body_len);
    if (hn > 0 && (size_t)hn < sizeof head)
        hn += snprintf(head + hn, sizeof head - (size_t)hn, "\r\n");
    if (hn < 0 || (size_t)hn >= sizeof head) {
        close(fd);
        snprintf(err, errlen, "request head over %zu bytes", sizeof head);
        return -EINVAL;
    }
    r = send_all(fd, head, (size_t)hn, &d);
    if (r == 0 && req->body_len)
        r = send_all(fd, req->body, req->body_len, &d);
    int send_err = r;
    /* A server may answer (413, 401) and close before taking the whole
     * body: its answer is still read and is what counts. */
    if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
        close(fd);
        snprintf(err, errlen, "sending to %s:%s: %s", u.host, u.port, strerror(-r));
        return r;
    }
    struct rx rx = {.limit = HTTP_HEAD_MAX + 2 * max_body + 4096};
    struct http_parsed p;
    r = receive(fd, &rx, max_body, &p, &d);
    close(fd);
    if (r < 0) {
        if (send_err < 0)
            snprintf(err, errlen, "sending to %s:%s: %s", u.host, u.port, strerror(-send_err));
        else
            snprintf(err, errlen, "answer from %s:%s: %s", u.host, u.port, p.error ? p.error : strerror(-r));
        free(rx.buf);
        return send_err < 0 ? send_err : r;
    }
    resp->body = malloc(p.body_len + 1);
    if (!resp->body) {
        free(rx.buf);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    resp->body_len = http_body_copy(rx.buf, &p, resp->body);
    resp->status = p.status;
    free(rx.buf);
    return 0;
}

void http_response_free(struct http_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}
