/* The HTTP I/O shell: one listening socket, one small state machine per
 * connection, all on the server's libevent loop. Request parsing, path
 * decoding, ranges and validators are pure functions in http_request.c,
 * http_path.c, http_range.c and http_cond.c; this file moves bytes,
 * routes, counts and logs.
 *
 * Why not libevent's evhttp: the 2.1 series Debian ships has no cap on
 * connections (evhttp_set_max_connections arrived in 2.2) nor on the
 * number of header fields; its timeout restarts on every read, so a client
 * trickling one byte per interval holds a connection forever; and it writes
 * through a bufferevent that moves at most 16 KiB per call, where a boot
 * server wants sendfile() to fill the socket buffer in one go. The subset
 * of HTTP/1.1 a boot server speaks (GET/HEAD, keep-alive, one range;
 * request bodies only for the API, Content-Length framed) is small enough
 * to own.
 *
 * A connection serving files is in one of three states:
 *   READ    waiting for a request head. The whole head must arrive within
 *           idle_timeout of the connection opening or of the previous
 *           response ending; the timer is not pushed back by partial data,
 *           so a slow client cannot hold the connection with a trickle.
 *   WRITE   sending a response (head and a memory body with sendmsg, a
 *           file with sendfile). The timer restarts on progress: a reader
 *           that stops reading is dropped after idle_timeout.
 *   LINGER  the response is out and the connection is closing: our side is
 *           shut down and whatever the client still sends is read and
 *           dropped for a moment, so the close does not turn into a reset
 *           that destroys the response in flight (RFC 9112 §9.6).
 * /api/v1/... requests add BODY (reading the request body), PENDING (an
 * answer the API gives later) and STREAM (Server-Sent Events); that
 * machinery lives in http_api_conn.c. */
#include "http/http_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/kickstart.h"
#include "boot/script.h"
#include "http/http_cond.h"
#include "http/http_conn.h"
#include "http/http_path.h"
#include "http/http_range.h"
#include "http/http_request.h"
#include "http/http_ui.h"
#include "images/blobs.h"
#include "boot/script.h"
#include "lifecycle/birth.h"
#include "lifecycle/discover.h"
#include "lifecycle/lifecycle.h"
#include "store/store_inventory.h"
#include "tftp/tftp_path.h"
#include "util/addr.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

#define ACCEPT_BATCH 64          /* connections accepted per wake-up */
/* File bytes one connection sends per loop turn. Each connection gets one
 * sendfile() of at most this much, then the loop moves on (a socket that is
 * still writable comes straight back), so many downloads take turns in
 * slices instead of each filling its whole send buffer (4 MiB here) in one
 * call. On a veth pair with wrk on the other core, 16 connections, runs
 * interleaved with nginx (whose sendfile_max_chunk and ready flag work the
 * same way): 8 MiB gave 0.7-0.95x nginx, 512 KiB 0.83-1.23x but 0.88-0.99x
 * at 256 connections, 1 MiB 1.13-1.43x and 0.95-0.99x. The receiver spends
 * less CPU per byte when data comes in slices spread over its connections.
 * See bench/README.md. */
#define WRITE_SLICE (1u << 20)
#define LINGER_MS 2000
#define ACCEPT_PAUSE_MS 200      /* after EMFILE and friends */

/* ---- metrics ---- */

#define M_LABELED(n, h, l, v) {.name = (n), .help = (h), .type = METRIC_COUNTER, .label = (l), .label_value = (v)}

enum route { R_HEALTHZ, R_METRICS, R_IPXE, R_ESXI, R_FILE, R_PROGRAM, R_API, R_UI, R_OTHER, R_COUNT };
#define REQ_HELP "HTTP requests by route"
static struct metric m_requests[R_COUNT] = {
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "healthz"),
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "metrics"),
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "ipxe"),
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "esxi"),
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "file"),
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "program"),
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "api"),
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "ui"),
    M_LABELED("midwife_http_requests_total", REQ_HELP, "route", "other"),
};
#define RESP_HELP "HTTP responses by status class"
static struct metric m_responses[] = {
    M_LABELED("midwife_http_responses_total", RESP_HELP, "class", "2xx"),
    M_LABELED("midwife_http_responses_total", RESP_HELP, "class", "3xx"),
    M_LABELED("midwife_http_responses_total", RESP_HELP, "class", "4xx"),
    M_LABELED("midwife_http_responses_total", RESP_HELP, "class", "5xx"),
};
static struct metric m_bytes = {.name = "midwife_http_sent_bytes_total",
                                .help = "HTTP bytes sent (heads and bodies)", .type = METRIC_COUNTER};
static struct metric m_conns = {.name = "midwife_http_connections",
                                .help = "HTTP connections open", .type = METRIC_GAUGE};
static struct metric m_transfers = {.name = "midwife_http_transfers_active",
                                    .help = "HTTP file bodies being sent", .type = METRIC_GAUGE};
#define ERR_HELP "HTTP requests and connections that ended in an error, by reason"
static struct metric m_errors[] = {
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "bad_request"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "header_too_large"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "body_too_large"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "bad_path"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "refused"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "method"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "version"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "timeout"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "too_many_connections"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "too_many_streams"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "stream_overflow"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "accept"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "io"),
    M_LABELED("midwife_http_errors_total", ERR_HELP, "reason", "internal"),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void http_count_error(const char *reason)
{
    for (size_t i = 0; i < COUNT(m_errors); i++)
        if (strcmp(m_errors[i].label_value, reason) == 0) {
            m_errors[i].value++;
            return;
        }
    m_errors[COUNT(m_errors) - 1].value++;
}

void http_count_sent(uint64_t n)
{
    m_bytes.value += n;
}

static void metrics_setup(void)
{
    metrics_register_array(m_requests, COUNT(m_requests));
    metrics_register_array(m_responses, COUNT(m_responses));
    metrics_register(&m_bytes);
    metrics_register(&m_conns);
    metrics_register(&m_transfers);
    metrics_register_array(m_errors, COUNT(m_errors));
    http_api_metrics_setup();
}

/* Hostile clients can send any amount of garbage; the log gets at most a
 * burst of lines per interval about it. */
static struct ratelimit bad_log = RATELIMIT_INIT(10000, 20);

bool http_may_log_bad(void)
{
    return log_ratelimited_ok(&bad_log, "http");
}

/* ---- the flight recorder's view of file fetches ---- */

static void json_safe_copy(char *dst, size_t cap, const char *src)
{
    char e[LOG_ESCAPED_SIZE(160)];
    log_escape(e, sizeof e, src, strlen(src));
    snprintf(dst, cap, "%.*s", (int)(cap - 1), e);
    log_json_safe(dst, '_');
}

/* Starts the record of a file response: who (the MAC midwife leased the
 * peer's address to; in proxy mode the MAC whose boot a script served to
 * that address was bound to), what (the blob's build and role). */
static void fetch_begin(struct conn *c, bool program, const char *name, const char *sha, uint64_t bytes, bool range)
{
    struct lifecycle *lc = lifecycle_current();
    struct fetch_record *f = &c->fetch;
    f->active = false;
    if (!lc)
        return;
    /* Events are found by MAC: a fetch from an address midwife did not
     * lease to anyone could not be told apart from any other, so it is
     * only counted. */
    struct store_lease l;
    uint8_t mac[6];
    if (store_lease_get(c->svc->store, c->peer_addr, &l) == 0 && l.hwtype == 1 && l.hwaddr_len == 6)
        memcpy(mac, l.hwaddr, 6);
    else if (lifecycle_proxy_mac_at(lc, c->peer_addr, mac) < 0) /* proxy mode: the other server's lease */
        return;
    memset(f, 0, sizeof *f);
    memcpy(f->mac, mac, 6);
    f->has_mac = true;
    f->active = true;
    f->program = program;
    f->bytes = bytes;
    f->range = range;
    f->started_ms = clock_mono_ms();
    json_safe_copy(f->name, sizeof f->name, name);
    if (program) {
        snprintf(f->role, sizeof f->role, "program");
        return;
    }
    snprintf(f->sha256, sizeof f->sha256, "%s", sha);
    struct build_file_ref ref;
    if (strcmp(name, STATE_MODULE_NAME) == 0) {
        snprintf(f->role, sizeof f->role, "state");
    } else if (strcmp(name, AGENT_MODULE_FILE) == 0) {
        snprintf(f->role, sizeof f->role, "agent");
    } else if (store_build_file_by_sha(c->svc->store, sha, &ref) == 0) {
        snprintf(f->role, sizeof f->role, "%s", build_file_role_name(ref.role));
        snprintf(f->build, sizeof f->build, "%s", ref.build);
        f->version = ref.version;
    } else {
        snprintf(f->role, sizeof f->role, "file");
    }
}

static void fetch_end(struct conn *c, bool complete)
{
    struct fetch_record *f = &c->fetch;
    struct lifecycle *lc = lifecycle_current();
    if (!f->active || !lc)
        return;
    f->active = false;
    unsigned long long ms = (unsigned long long)(clock_mono_ms() - f->started_ms);
    unsigned long long sent = complete ? f->bytes : f->bytes - (c->file_end - c->file_off);
    char data[512];
    const uint8_t *mac = f->has_mac ? f->mac : NULL;
    if (f->program) {
        snprintf(data, sizeof data, "{\"file\":\"%s\",\"bytes\":%llu,\"ms\":%llu%s}", f->name, sent, ms,
                 complete ? "" : ",\"error\":\"connection ended early\"");
        lifecycle_recordf(lc, "http.program", complete ? EVENT_OK : EVENT_FAIL, mac, data, "%s %s over HTTP to %s",
                          complete ? "sent" : "cut short:", f->name, c->peer);
        return;
    }
    snprintf(data, sizeof data,
             "{\"name\":\"%s\",\"sha256\":\"%s\",\"role\":\"%s\",\"build\":\"%s\",\"version\":%d,"
             "\"bytes\":%llu,\"ms\":%llu,\"range\":%s%s}",
             f->name, f->sha256, f->role, f->build, f->version, sent, ms, f->range ? "true" : "false",
             complete ? "" : ",\"error\":\"connection ended early\"");
    lifecycle_recordf(lc, "http.file", complete ? EVENT_OK : EVENT_FAIL, mac, data, "%s %s (%s%s%s) to %s: %llu bytes",
                      complete ? "sent" : "cut short:", f->name, f->role, f->build[0] ? " of " : "", f->build, c->peer,
                      sent);
}

/* ---- connection lifetime ---- */

void http_conn_free(struct conn *c)
{
    struct http_service *svc = c->svc;
    /* First, while the connection is whole: the API hears that its
     * deferred request or its stream is gone. */
    if (c->api)
        http_api_conn_gone(c);
    fetch_end(c, false);
    if (c->prev)
        c->prev->next = c->next;
    else
        svc->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    svc->n_conns--;
    m_conns.value--;
    if (c->file_fd >= 0) {
        close(c->file_fd);
        m_transfers.value--;
    }
    if (c->body_owned)
        free(c->body);
    event_free(c->ev_rd);
    event_free(c->ev_wr);
    event_free(c->timer);
    close(c->fd);
    free(c->in);
    free(c);
}

void http_conn_arm_timer(struct conn *c, uint64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    event_add(c->timer, &tv);
}

static void response_reset(struct conn *c)
{
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
        m_transfers.value--;
    }
    if (c->body_owned)
        free(c->body);
    c->body = NULL;
    c->body_static = NULL;
    c->body_owned = false;
    c->head_len = c->head_off = c->body_len = c->body_off = 0;
    c->file_off = c->file_end = 0;
}

static void conn_enter_read(struct conn *c)
{
    c->state = C_READ;
    event_del(c->ev_wr);
    event_add(c->ev_rd, NULL);
    http_conn_arm_timer(c, (uint64_t)c->svc->idle_timeout * 1000);
}

/* Our side is done: half-close and drain what the client still sends. */
static void conn_enter_linger(struct conn *c)
{
    c->state = C_LINGER;
    response_reset(c);
    shutdown(c->fd, SHUT_WR);
    event_del(c->ev_wr);
    event_add(c->ev_rd, NULL);
    http_conn_arm_timer(c, LINGER_MS);
}

/* ---- responses ---- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static const char *date_now(struct http_service *svc)
{
    int64_t now = clock_wall_s();
    if (now != svc->date_at) {
        svc->date_at = now;
        http_date_format(now, svc->date);
    }
    return svc->date;
}

/* Appends one formatted line to the head; false on overflow. */
__attribute__((format(printf, 2, 3))) static bool head_add(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->head + c->head_len, sizeof c->head - c->head_len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof c->head - c->head_len)
        return false;
    c->head_len += (size_t)n;
    return true;
}

bool http_build_head(struct conn *c, const struct resp *r, unsigned version_minor)
{
    struct http_service *svc = c->svc;
    c->status = r->status;
    c->head_len = c->head_off = 0;
    bool ok = head_add(c, "HTTP/1.1 %d %s\r\nServer: midwife\r\nDate: %s\r\n", r->status,
                       reason_phrase(r->status), date_now(svc));
    /* "A server MUST NOT send a Content-Length header field in any
     * response with a status code of 1xx (Informational) or 204 (No
     * Content)" (RFC 9110 §8.6); a 304 would announce the full body. */
    if (r->status != 304 && r->status != 204) {
        if (!r->no_length)
            ok = ok && head_add(c, "Content-Length: %llu\r\n", (unsigned long long)r->length);
        if (r->content_type)
            ok = ok && head_add(c, "Content-Type: %s\r\n", r->content_type);
    }
    if (r->etag) {
        char lm[HTTP_DATE_LEN + 1];
        http_date_format(r->mtime, lm);
        ok = ok && head_add(c, "ETag: %s\r\nLast-Modified: %s\r\n", r->etag, lm);
    }
    if (r->cache)
        ok = ok && head_add(c, "Cache-Control: %s\r\n", r->cache);
    if (r->accept_ranges)
        ok = ok && head_add(c, "Accept-Ranges: bytes\r\n");
    if (r->ranged)
        ok = ok && head_add(c, "Content-Range: bytes %llu-%llu/%llu\r\n",
                            (unsigned long long)r->range.first, (unsigned long long)r->range.last,
                            (unsigned long long)r->total);
    if (r->unsatisfiable)
        ok = ok && head_add(c, "Content-Range: bytes */%llu\r\n", (unsigned long long)r->total);
    if (r->allow)
        ok = ok && head_add(c, "Allow: %s\r\n", r->allow);
    if (r->extra)
        ok = ok && head_add(c, "%s", r->extra);
    if (!c->keep_alive)
        ok = ok && head_add(c, "Connection: close\r\n");
    else if (version_minor == 0)
        ok = ok && head_add(c, "Connection: keep-alive\r\n");
    ok = ok && head_add(c, "\r\n");
    int cls = r->status / 100 - 2;
    if (cls >= 0 && cls < (int)COUNT(m_responses))
        m_responses[cls].value++;
    return ok;
}

/* A short text/plain answer; errors close the connection when the request
 * stream can no longer be trusted (close = true). */
static void respond_static(struct conn *c, const struct http_request *req, int status,
                           const char *ctype, const char *text, bool close)
{
    if (close)
        c->keep_alive = false;
    struct resp r = {.status = status, .content_type = ctype, .length = strlen(text)};
    if (status == 405)
        r.allow = "GET, HEAD";
    http_build_head(c, &r, req ? req->version_minor : 1);
    if (!req || req->method != HTTP_HEAD) {
        c->body_static = text;
        c->body_len = strlen(text);
    }
}

static void respond_text(struct conn *c, const struct http_request *req, int status,
                         const char *text, bool close)
{
    respond_static(c, req, status, "text/plain; charset=utf-8", text, close);
}

static void respond_memory(struct conn *c, const struct http_request *req, const char *ctype,
                           char *body, size_t len)
{
    struct resp r = {.status = 200, .content_type = ctype, .length = len, .cache = "no-store"};
    if (!http_build_head(c, &r, req->version_minor)) {
        free(body);
        c->keep_alive = false;
        return;
    }
    if (req->method == HTTP_HEAD) {
        free(body);
        return;
    }
    c->body = body;
    c->body_owned = true;
    c->body_len = len;
}

/* Serves an open regular file: validators, conditions, range, HEAD.
 * Takes ownership of fd. */
static void respond_file(struct conn *c, const struct http_request *req, int fd, uint64_t size,
                         const char *etag, int64_t mtime, const char *cache)
{
    struct resp r = {.status = 200, .content_type = "application/octet-stream", .length = size,
                     .etag = etag, .mtime = mtime, .cache = cache, .accept_ranges = true,
                     .total = size};
    /* RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only when
     * there is no If-None-Match, and only a valid date that is not in the
     * future counts. */
    bool not_modified = false;
    if (req->if_none_match.p) {
        not_modified = http_etag_list_match(req->if_none_match.p, req->if_none_match.len, etag);
    } else if (req->if_modified_since.p) {
        int64_t since;
        if (http_date_parse(req->if_modified_since.p, req->if_modified_since.len, &since) == 0 &&
            since <= clock_wall_s() && mtime <= since)
            not_modified = true;
    }
    if (not_modified) {
        r.status = 304;
        close(fd);
        http_build_head(c, &r, req->version_minor);
        return;
    }
    struct http_range range = {0, size ? size - 1 : 0};
    if (req->range.p && !req->range_repeated &&
        (!req->if_range.p || http_if_range_holds(req->if_range.p, req->if_range.len, etag, mtime))) {
        switch (http_range_parse(req->range.p, req->range.len, size, &range)) {
        case HTTP_RANGE_OK:
            r.status = 206;
            r.ranged = true;
            r.range = range;
            r.length = range.last - range.first + 1;
            break;
        case HTTP_RANGE_UNSATISFIABLE:
            close(fd);
            r.status = 416;
            r.unsatisfiable = true;
            r.length = 0;
            r.content_type = NULL;
            http_build_head(c, &r, req->version_minor);
            return;
        case HTTP_RANGE_MULTI: /* ignored on purpose, see http_range.c */
        case HTTP_RANGE_NONE:
            break;
        }
    }
    if (!http_build_head(c, &r, req->version_minor)) {
        close(fd);
        c->keep_alive = false;
        return;
    }
    if (req->method == HTTP_HEAD || r.length == 0) {
        close(fd);
        return;
    }
    c->file_fd = fd;
    c->file_off = r.ranged ? range.first : 0;
    c->file_end = c->file_off + r.length;
    m_transfers.value++;
}

static void make_etag(const struct stat *st, char *out, size_t len)
{
    /* mtime and size, like most static file servers: a replaced boot
     * program gets a new tag without hashing it. */
    snprintf(out, len, "\"%llx.%lx-%llx\"", (unsigned long long)st->st_mtim.tv_sec,
             (unsigned long)st->st_mtim.tv_nsec, (unsigned long long)st->st_size);
}

/* ---- routes ---- */

static void route_metrics(struct conn *c, const struct http_request *req)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        http_count_error("internal");
        respond_text(c, req, 500, "internal error\n", false);
        return;
    }
    metrics_write_prometheus(f);
    fclose(f);
    respond_memory(c, req, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* How the host reaches midwife: [http] public_url, else the address
 * this client reached us on (it can reach it again, whatever the routing
 * on our side). No trailing '/'. */
static int base_url(struct conn *c, char *out, size_t len)
{
    if (c->svc->conf->http_public_url[0]) {
        snprintf(out, len, "%s", c->svc->conf->http_public_url);
    } else {
        /* Asked once per connection: a keep-alive client asks again and
         * again, and the answer cannot change. */
        if (!c->local_addr) {
            struct sockaddr_in local;
            socklen_t sl = sizeof local;
            if (getsockname(c->fd, (struct sockaddr *)&local, &sl) < 0 || local.sin_family != AF_INET)
                return -EIO;
            c->local_addr = ntohl(local.sin_addr.s_addr);
        }
        /* The same spelling DHCP hands out, so a host sees one base URL. */
        if (boot_http_base(c->svc->conf, c->local_addr, out, len) < 0)
            return -EIO;
    }
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    return 0;
}

typedef int (*render_fn)(const struct conf *, struct store *, const struct script_request *, char **,
                         size_t *, char *, size_t);

/* Renders a per-host text (iPXE script, ESXi boot.cfg) for mac. */
/* Answers with a rendered script or boot.cfg, or with why not. */
static void respond_render_result(struct conn *c, const struct http_request *req, const uint8_t mac[6], int rc,
                                  char *text, size_t len, const char *err, const char *what)
{
    if (rc < 0) {
        char macs[MAC_STRLEN];
        /* -ENOENT: the build the host (or the default) names is gone, or
         * for boot.cfg the host does not boot ESXi; anything else is our
         * fault (a template, the store). */
        if (rc != -ENOENT)
            http_count_error("internal");
        if (http_may_log_bad()) {
            char e[LOG_ESCAPED_SIZE(256)];
            log_warn("http", "%s for %s failed: %s (%s)", what, format_mac(mac, macs),
                     log_escape(e, sizeof e, err, strlen(err)), strerror(-rc));
        }
        if (rc == -ENOENT)
            respond_text(c, req, 404, "no build for this host\n", false);
        else
            respond_text(c, req, 500, "cannot render the boot script\n", false);
        return;
    }
    respond_memory(c, req, "text/plain; charset=utf-8", text, len);
}

static void respond_rendered(struct conn *c, const struct http_request *req, const uint8_t mac[6],
                             render_fn render, const char *what)
{
    struct http_service *svc = c->svc;
    char base[CONF_URL_MAX + 1];
    if (base_url(c, base, sizeof base) < 0) {
        http_count_error("internal");
        respond_text(c, req, 500, "internal error\n", false);
        return;
    }
    struct script_request sreq = {.mac = mac, .base_url = base};
    char *text = NULL, err[256] = "";
    size_t len = 0;
    int rc = render(svc->conf, svc->store, &sreq, &text, &len, err, sizeof err);
    respond_render_result(c, req, mac, rc, text, len, err, what);
}

/* The script when the lifecycle runs (midwife serve): rules for unknown
 * machines, a boot token for the address leased to the MAC. iPXE may
 * add what it knows (?uuid=${uuid}&serial=${serial}...) for the rules. */
static void respond_lifecycle_script(struct conn *c, const struct http_request *req, const uint8_t mac[6],
                                     const char *query, size_t query_len)
{
    char base[CONF_URL_MAX + 1];
    if (base_url(c, base, sizeof base) < 0) {
        http_count_error("internal");
        respond_text(c, req, 500, "internal error\n", false);
        return;
    }
    char uuid[64], serial[HOST_SERIAL_MAX], vendor[128], model[128];
    struct script_ask ask = {.peer = c->peer_addr, .base_url = base};
    memcpy(ask.mac, mac, 6);
    if (http_query_get(query, query_len, "uuid", uuid, sizeof uuid) == 0)
        ask.uuid = uuid;
    if (http_query_get(query, query_len, "serial", serial, sizeof serial) == 0)
        ask.serial = serial;
    if (http_query_get(query, query_len, "vendor", vendor, sizeof vendor) == 0)
        ask.vendor = vendor;
    if (http_query_get(query, query_len, "model", model, sizeof model) == 0)
        ask.model = model;
    char asked[8];
    ask.asked = http_query_get(query, query_len, "asked", asked, sizeof asked) == 0;
    /* iPXE sends an empty value for a setting it does not have. */
    if (ask.uuid && !*ask.uuid)
        ask.uuid = NULL;
    if (ask.serial && !*ask.serial)
        ask.serial = NULL;
    char *text = NULL, err[256] = "";
    size_t len = 0;
    int rc = lifecycle_script_for(lifecycle_current(), &ask, &text, &len, err, sizeof err);
    respond_render_result(c, req, mac, rc, text, len, err, "script");
}

/* /boot/ipxe?mac=aa:bb:cc:dd:ee:ff (or aa-bb-...) */
static void route_ipxe(struct conn *c, const struct http_request *req, const char *query,
                       size_t query_len)
{
    char macs[32];
    uint8_t mac[6];
    int rc = http_query_get(query, query_len, "mac", macs, sizeof macs);
    if (rc == -ENOENT) {
        http_count_error("bad_request");
        respond_text(c, req, 400, "missing mac parameter (?mac=aa:bb:cc:dd:ee:ff)\n", false);
        return;
    }
    if (rc < 0 || parse_mac(macs, mac) < 0) {
        http_count_error("bad_request");
        respond_text(c, req, 400, "bad mac parameter (expected aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff)\n", false);
        return;
    }
    if (lifecycle_current())
        respond_lifecycle_script(c, req, mac, query, query_len);
    else
        respond_rendered(c, req, mac, boot_script_for, "script");
}

/* A boot token as lifecycle_boot_begin makes them: 64 lowercase hex. */
static bool is_boot_token(const char *s, size_t n)
{
    if (n != BOOT_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The host's kickstart: only for a live, unspent token of the host that
 * has mac, else a 404 that tells nothing more (the kickstart holds the
 * token and the host's configuration). */
static void respond_kickstart(struct conn *c, const struct http_request *req, const uint8_t mac[6],
                              const char *token)
{
    struct lifecycle *lc = lifecycle_current();
    struct host h;
    if (!lc || lifecycle_token_peek(lc, token, mac, &h) < 0) {
        respond_text(c, req, 404, "not found\n", false);
        return;
    }
    char base[CONF_URL_MAX + 1];
    char *text = NULL, err[256] = "";
    size_t len = 0;
    int rc = base_url(c, base, sizeof base);
    if (rc == 0)
        rc = boot_kickstart_for(c->svc->conf, c->svc->store, &h, mac, token, base, &text, &len, err, sizeof err);
    else
        snprintf(err, sizeof err, "no base URL");
    if (rc == 0 && h.mode == HOST_MODE_STATEFUL)
        lifecycle_install_started(lc, &h, "kickstart served to the installer");
    host_clear(&h);
    respond_render_result(c, req, mac, rc, text, len, err, "ks.cfg");
}

/* /boot/esxi/<aa-bb-cc-dd-ee-ff>/boot.cfg: what the esxi script points
 * ESXi's own loader at; /boot/esxi/<mac>/<token>/boot.cfg the same for a
 * boot with a token (boot.cfg hands it on, with ks= at the kickstart);
 * /boot/esxi/<mac>/<token>/ks.cfg that boot's kickstart. */
static void route_esxi(struct conn *c, const struct http_request *req, const char *rest)
{
    char macs[32], token[BOOT_TOKEN_LEN + 1];
    uint8_t mac[6];
    const char *slash = strchr(rest, '/');
    if (!slash || (size_t)(slash - rest) >= sizeof macs) {
        respond_text(c, req, 404, "not found\n", false);
        return;
    }
    const char *file = slash + 1, *tslash = strchr(file, '/');
    bool with_token = tslash != NULL;
    if (with_token) {
        if (!is_boot_token(file, (size_t)(tslash - file))) {
            respond_text(c, req, 404, "not found\n", false);
            return;
        }
        memcpy(token, file, BOOT_TOKEN_LEN);
        token[BOOT_TOKEN_LEN] = '\0';
        file = tslash + 1;
    }
    bool ks = with_token && strcmp(file, "ks.cfg") == 0;
    if (!ks && strcmp(file, "boot.cfg") != 0) {
        respond_text(c, req, 404, "not found\n", false);
        return;
    }
    memcpy(macs, rest, (size_t)(slash - rest));
    macs[slash - rest] = '\0';
    if (parse_mac(macs, mac) < 0) {
        http_count_error("bad_request");
        respond_text(c, req, 400, "bad mac in path (expected aa-bb-cc-dd-ee-ff)\n", false);
        return;
    }
    if (ks) {
        respond_kickstart(c, req, mac, token);
        return;
    }
    char base[CONF_URL_MAX + 1];
    if (base_url(c, base, sizeof base) < 0) {
        http_count_error("internal");
        respond_text(c, req, 500, "internal error\n", false);
        return;
    }
    /* boot.cfg is no secret: it carries the token the path names back to
     * the loader that asked, and the kickstart checks it. */
    struct script_request sreq = {.mac = mac, .base_url = base, .token = with_token ? token : NULL};
    char *text = NULL, err[256] = "";
    size_t len = 0;
    int rc = boot_esxi_cfg_for(c->svc->conf, c->svc->store, &sreq, &text, &len, err, sizeof err);
    respond_render_result(c, req, mac, rc, text, len, err, "boot.cfg");
}

static bool is_sha256_hex(const char *s, size_t n)
{
    if (n != SHA256_HEX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* /boot/file/<sha256>/<name>: name is cosmetic (iPXE and people see it),
 * the path decoder already made it a single safe segment. */
static void route_file(struct conn *c, const struct http_request *req, const char *rest)
{
    const char *slash = strchr(rest, '/');
    if (!slash || !is_sha256_hex(rest, (size_t)(slash - rest)) || strchr(slash + 1, '/') ||
        strlen(slash + 1) > NAME_MAX) {
        respond_text(c, req, 404, "not found\n", false);
        return;
    }
    char sha[SHA256_HEX_LEN + 1];
    memcpy(sha, rest, SHA256_HEX_LEN);
    sha[SHA256_HEX_LEN] = '\0';
    int fd;
    uint64_t size;
    int rc = blob_open(c->svc->conf->state_dir, sha, &fd, &size);
    if (rc == -ENOENT || rc == -EINVAL) {
        respond_text(c, req, 404, "not found\n", false);
        return;
    }
    struct stat st;
    if (rc == 0 && fstat(fd, &st) < 0) {
        rc = -errno;
        close(fd);
    }
    if (rc < 0) {
        http_count_error("internal");
        if (http_may_log_bad())
            log_warn("http", "blob %s: %s", sha, strerror(-rc));
        respond_text(c, req, 500, "internal error\n", false);
        return;
    }
    /* The content hash is the strongest validator there is. A blob never
     * changes under its name, so caches may keep it for good. */
    char etag[SHA256_HEX_LEN + 3];
    snprintf(etag, sizeof etag, "\"%s\"", sha);
    respond_file(c, req, fd, size, etag, (int64_t)st.st_mtim.tv_sec,
                 "public, max-age=31536000, immutable");
    if (req->method == HTTP_GET && c->file_fd >= 0)
        fetch_begin(c, false, slash + 1, sha, c->file_end - c->file_off, c->status == 206);
}

/* /boot/program/<rel>: boot programs for UEFI HTTP Boot, from the TFTP
 * root under the same rules as TFTP (tftp_path.h). */
static void route_program(struct conn *c, const struct http_request *req, const char *rel)
{
    struct http_service *svc = c->svc;
    const char *checked, *why;
    if (svc->root_fd < 0) {
        respond_text(c, req, 404, "not found\n", false);
        return;
    }
    if (tftp_path_check(rel, strlen(rel), &checked, &why) < 0) {
        http_count_error("refused");
        if (http_may_log_bad()) {
            char e[256];
            log_warn("http", "%s: refused boot program '%s' (%s)", c->peer,
                     log_escape(e, sizeof e, rel, strlen(rel)), why);
        }
        respond_text(c, req, 403, "forbidden\n", false);
        return;
    }
    int fd;
    uint64_t size;
    enum tftp_errcode code;
    int rc = tftp_path_open(svc->root_fd, checked, &fd, &size, &code);
    if (rc < 0) {
        if (code == TFTP_ENOTFOUND) {
            respond_text(c, req, 404, "not found\n", false);
        } else if (code == TFTP_EACCESS) {
            http_count_error("refused");
            if (http_may_log_bad()) {
                char e[256];
                log_warn("http", "%s: refused boot program '%s' (%s)", c->peer,
                         log_escape(e, sizeof e, rel, strlen(rel)), strerror(-rc));
            }
            respond_text(c, req, 403, "forbidden\n", false);
        } else {
            http_count_error("internal");
            respond_text(c, req, 500, "internal error\n", false);
        }
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        http_count_error("internal");
        respond_text(c, req, 500, "internal error\n", false);
        return;
    }
    char etag[64];
    make_etag(&st, etag, sizeof etag);
    respond_file(c, req, fd, size, etag, (int64_t)st.st_mtim.tv_sec, NULL);
    if (req->method == HTTP_GET && c->file_fd >= 0)
        fetch_begin(c, true, checked, NULL, c->file_end - c->file_off, c->status == 206);
}

static void log_bad_request(struct conn *c, const char *what, const char *detail, size_t len)
{
    if (!http_may_log_bad())
        return;
    char e[256];
    log_warn("http", "%s: %s: \"%s\"", c->peer, what, log_escape(e, sizeof e, detail, len));
}

static bool is_get_or_head(const struct http_request *req)
{
    return req->method == HTTP_GET || req->method == HTTP_HEAD;
}

static void handle_request(struct conn *c, const struct http_request *req)
{
    struct http_service *svc = c->svc;
    c->keep_alive = req->keep_alive;
    /* A request body we cannot frame (chunked) leaves the stream unusable:
     * answer and close. "A server that receives a request message with a
     * transfer coding it does not understand SHOULD respond with 501".
     * Chunked request bodies stay unsupported on purpose: curl and the
     * boot agent send Content-Length, and a length known up front is what
     * lets an oversized body be refused before a byte of it is read. */
    if (req->has_body_coding) {
        http_count_error("bad_request");
        respond_text(c, req, 501, "request bodies with Transfer-Encoding are not supported\n", true);
        return;
    }

    /* The path first: it decides the body cap (a state upload has its
     * own). A bad target answers after the cap check, as before. */
    const char *path = NULL, *query = NULL, *why = NULL;
    size_t path_len = 0, query_len = 0;
    char dec[HTTP_TARGET_MAX + 1];
    enum { TARGET_OK, TARGET_TOO_LONG, TARGET_BAD, PATH_BAD } target = TARGET_OK;
    if (req->target.len > HTTP_TARGET_MAX)
        target = TARGET_TOO_LONG;
    else if (http_target_split(req->target.p, req->target.len, &path, &path_len, &query, &query_len) < 0)
        target = TARGET_BAD;
    else if (http_path_decode(path, path_len, dec, sizeof dec, &why) < 0)
        target = PATH_BAD;
    bool api = target == TARGET_OK && svc->api_fn && http_api_is_path(dec);
    uint64_t cap = api ? http_api_body_cap(svc, req, dec) : svc->max_body_bytes;
    /* Over the cap: refused before any of it is read, and instead of the
     * 100 Continue a waiting client asked for. */
    if (req->has_content_length && req->content_length > cap) {
        http_count_error("body_too_large");
        if (api)
            respond_static(c, req, 413, "application/json", "{\"error\": \"request body too large\"}\n", true);
        else
            respond_text(c, req, 413, "request body too large\n", true);
        return;
    }
    if (api) {
        m_requests[R_API].value++;
        http_api_begin(c, req, dec, query, query_len);
        return;
    }
    c->discard = req->has_content_length ? req->content_length : 0;
    /* A client waiting for 100 Continue gets a final answer instead and may
     * or may not send the body now: "A server that responds with a final
     * status code before reading the entire request content SHOULD
     * indicate whether it intends to close the connection" (RFC 9110
     * §10.1.1). We close, so what it sends next cannot be taken for a
     * request. */
    if (req->expect_continue && c->discard > 0)
        c->keep_alive = false;

    if (target == TARGET_TOO_LONG) {
        m_requests[R_OTHER].value++;
        http_count_error("bad_path");
        respond_text(c, req, 414, "request target too long\n", false);
        return;
    }
    if (target == TARGET_BAD) {
        m_requests[R_OTHER].value++;
        http_count_error("bad_path");
        log_bad_request(c, "bad request target", req->target.p, req->target.len);
        respond_text(c, req, 400, "bad request target\n", false);
        return;
    }
    /* Before the strict decoding: "/ui/" (index.html) ends in an empty
     * segment; http_ui.c decodes the rest itself. */
    if (http_ui_is_path(path, path_len)) {
        m_requests[R_UI].value++;
        http_ui_respond(c, req, path, path_len);
        return;
    }
    if (target == PATH_BAD) {
        m_requests[R_OTHER].value++;
        http_count_error("bad_path");
        char e[256];
        if (http_may_log_bad())
            log_warn("http", "%s: refused path \"%s\" (%s)", c->peer,
                     log_escape(e, sizeof e, path, path_len), why);
        respond_text(c, req, 400, "bad path\n", false);
        return;
    }

    enum route route = R_OTHER;
    const char *rest = NULL;
    if (strcmp(dec, "/healthz") == 0)
        route = R_HEALTHZ;
    else if (strcmp(dec, "/metrics") == 0)
        route = R_METRICS;
    else if (strcmp(dec, "/boot/ipxe") == 0)
        route = R_IPXE;
    else if (strncmp(dec, "/boot/esxi/", 11) == 0)
        route = R_ESXI, rest = dec + 11;
    else if (strncmp(dec, "/boot/file/", 11) == 0)
        route = R_FILE, rest = dec + 11;
    else if (strncmp(dec, "/boot/program/", 14) == 0)
        route = R_PROGRAM, rest = dec + 14;
    m_requests[route].value++;

    if (route != R_OTHER && !is_get_or_head(req)) {
        http_count_error("method");
        respond_text(c, req, 405, "only GET and HEAD\n", false);
        return;
    }
    switch (route) {
    case R_HEALTHZ: respond_text(c, req, 200, "ok\n", false); break;
    case R_METRICS: route_metrics(c, req); break;
    case R_IPXE: route_ipxe(c, req, query, query_len); break;
    case R_ESXI: route_esxi(c, req, rest); break;
    case R_FILE: route_file(c, req, rest); break;
    case R_PROGRAM: route_program(c, req, rest); break;
    default:
        if (!is_get_or_head(req)) {
            http_count_error("method");
            respond_text(c, req, 405, "only GET and HEAD\n", false);
        } else {
            respond_text(c, req, 404, "not found\n", false);
        }
        break;
    }
}

static void log_request(struct conn *c, const struct http_request *req)
{
    if (!log_enabled(LOG_DEBUG))
        return;
    char m[64], t[512];
    log_debug("http", "%s \"%s %s HTTP/1.%u\" %d %llu", c->peer,
              log_escape(m, sizeof m, req->method_name.p, req->method_name.len),
              log_escape(t, sizeof t, req->target.p, req->target.len), req->version_minor,
              c->status, (unsigned long long)(c->body_len + (c->file_end - c->file_off)));
}

/* ---- I/O ---- */

/* Returns 0 when the response is out, 1 when the socket is full (ev_wr is
 * armed), -1 when the connection is gone. */
int http_conn_write(struct conn *c)
{
    bool progress = false;
    while (c->head_off < c->head_len || c->body_off < c->body_len) {
        const char *body = c->body ? c->body : c->body_static;
        struct iovec iov[2];
        int n_iov = 0;
        if (c->head_off < c->head_len)
            iov[n_iov++] = (struct iovec){c->head + c->head_off, c->head_len - c->head_off};
        if (c->body_off < c->body_len)
            iov[n_iov++] = (struct iovec){(char *)body + c->body_off, c->body_len - c->body_off};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n_iov};
        /* MSG_MORE: the file follows at once, so head and first data can
         * share a segment instead of the head going out alone. */
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | (c->file_fd >= 0 ? MSG_MORE : 0));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                goto wait;
            http_count_error("io");
            http_conn_free(c);
            return -1;
        }
        progress = true;
        m_bytes.value += (uint64_t)n;
        size_t h = c->head_len - c->head_off;
        if ((size_t)n <= h) {
            c->head_off += (size_t)n;
        } else {
            c->head_off = c->head_len;
            c->body_off += (size_t)n - h;
        }
    }
    uint64_t batch = 0;
    /* Cork while a file body goes out: every segment leaves full-sized
     * (GSO-sized on virtual links) instead of one per sendfile() boundary.
     * Measured on a veth pair, one connection: 2.0 GB/s uncorked, 4.4-4.8
     * corked. Uncorking at the end flushes the tail at once. */
    if (c->file_fd >= 0 && c->file_off < c->file_end && !c->corked) {
        int on = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
        c->corked = true;
    }
    while (c->file_fd >= 0 && c->file_off < c->file_end) {
        if (batch >= WRITE_SLICE) {
            progress = true;
            goto wait; /* still writable: the loop comes straight back */
        }
        uint64_t want = c->file_end - c->file_off;
        if (want > WRITE_SLICE - batch)
            want = WRITE_SLICE - batch;
        off_t off = (off_t)c->file_off;
        ssize_t n = sendfile(c->fd, c->file_fd, &off, (size_t)want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                goto wait;
            http_count_error("io");
            http_conn_free(c);
            return -1;
        }
        if (n == 0) {
            /* The file shrank under us: the promised length cannot be met,
             * and only closing tells the client so. */
            http_count_error("io");
            if (http_may_log_bad())
                log_warn("http", "%s: file ended early at %llu", c->peer, (unsigned long long)c->file_off);
            http_conn_free(c);
            return -1;
        }
        progress = true;
        batch += (uint64_t)n;
        m_bytes.value += (uint64_t)n;
        c->file_off += (uint64_t)n;
        /* Short of what was asked: the socket buffer is full. Waiting now
         * saves the sendfile that would only say EAGAIN. */
        if ((uint64_t)n < want && c->file_off < c->file_end)
            goto wait;
    }
    /* done */
    fetch_end(c, true);
    if (c->corked) {
        int off = 0;
        setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
        c->corked = false;
    }
    if (c->keep_alive) {
        response_reset(c);
        conn_enter_read(c);
    } else {
        conn_enter_linger(c);
    }
    return 0;
wait:
    /* No reading while a response waits: pipelined requests stay in the
     * socket (back-pressure), and level-triggered reads would spin. The
     * timer restarts on progress only. */
    if (progress || !event_pending(c->ev_wr, EV_WRITE, NULL))
        http_conn_arm_timer(c, (uint64_t)c->svc->idle_timeout * 1000);
    event_del(c->ev_rd);
    event_add(c->ev_wr, NULL);
    return 1;
}

/* Reading stays armed: most responses go out at once, and only a
 * response that has to wait for the socket stops reading (http_conn_write). */
static void conn_start_response(struct conn *c)
{
    c->state = C_WRITE;
}

/* Handles every complete request in the input buffer. Returns -1 when the
 * connection is gone. */
int http_conn_process(struct conn *c)
{
    while (c->state == C_READ) {
        if (c->discard > 0) {
            size_t take = c->in_len < c->discard ? c->in_len : (size_t)c->discard;
            memmove(c->in, c->in + take, c->in_len - take);
            c->in_len -= take;
            c->discard -= take;
            if (c->discard > 0)
                return 0;
        }
        if (c->in_len == 0)
            return 0;
        struct http_request req;
        enum http_parse_result pr = http_request_parse(c->in, c->in_len, &req);
        if (pr == HTTP_PARSE_AGAIN) {
            if (c->in_len < c->in_cap)
                return 0;
            pr = HTTP_PARSE_TOO_MANY_FIELDS; /* a head over the byte cap gets the same answer */
        }
        if (pr != HTTP_PARSE_DONE) {
            /* The stream cannot be trusted past a head we did not
             * understand: answer once and close. */
            conn_start_response(c);
            if (pr == HTTP_PARSE_TOO_MANY_FIELDS) {
                http_count_error("header_too_large");
                log_bad_request(c, "request head over the limit", c->in, c->in_len < 64 ? c->in_len : 64);
                respond_text(c, NULL, 431, "request header fields too large\n", true);
            } else if (pr == HTTP_PARSE_BAD_VERSION) {
                http_count_error("version");
                respond_text(c, NULL, 505, "HTTP/1.x only\n", true);
            } else {
                http_count_error("bad_request");
                log_bad_request(c, "malformed request", c->in, c->in_len < 64 ? c->in_len : 64);
                respond_text(c, NULL, 400, "bad request\n", true);
            }
            c->in_len = 0;
            return http_conn_write(c) < 0 ? -1 : 0;
        }
        conn_start_response(c);
        handle_request(c, &req);
        if (c->state == C_WRITE)
            log_request(c, &req);
        memmove(c->in, c->in + req.head_len, c->in_len - req.head_len);
        c->in_len -= req.head_len;
        if (c->state == C_BODY) {
            /* an API request: its body, then the API's answer */
            int rc = http_api_after_head(c);
            if (rc <= 0)
                return rc;
        }
        if (http_conn_write(c) < 0)
            return -1;
    }
    return 0;
}

static void on_conn_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct conn *c = arg;
    if (c->state == C_LINGER) {
        char sink[4096];
        ssize_t n = recv(fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            http_conn_free(c);
        return;
    }
    if (c->state == C_BODY || c->state == C_STREAM) {
        http_api_on_read(c);
        return;
    }
    size_t room = c->in_cap - c->in_len;
    if (room == 0) {
        /* Cannot happen in READ (a full buffer was answered). In PENDING:
         * pipelined requests fill the buffer; the rest waits in the
         * socket until the deferred answer is out. */
        event_del(c->ev_rd);
        return;
    }
    ssize_t n = recv(fd, c->in + c->in_len, room, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        http_conn_free(c);
        return;
    }
    if (n == 0) {
        /* The client closed; a half-sent request is simply dropped. */
        http_conn_free(c);
        return;
    }
    c->in_len += (size_t)n;
    http_conn_process(c);
}

static void on_conn_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    if (c->state == C_BODY || c->state == C_PENDING || c->state == C_STREAM) {
        http_api_on_write(c);
        return;
    }
    if (c->state != C_WRITE)
        return;
    int rc = http_conn_write(c);
    if (rc == 0 && c->state == C_READ)
        http_conn_process(c);
}

static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    if (c->state == C_BODY || c->state == C_PENDING || c->state == C_STREAM) {
        http_api_on_timer(c);
        return;
    }
    /* An idle keep-alive connection timing out between requests is normal;
     * a head half-sent or a response the client stopped reading is not. */
    if (c->state == C_WRITE || (c->state == C_READ && (c->in_len > 0 || c->discard > 0))) {
        http_count_error("timeout");
        if (http_may_log_bad())
            log_warn("http", "%s: timed out %s", c->peer,
                     c->state == C_WRITE ? "sending a response" : "waiting for a request");
    }
    http_conn_free(c);
}

/* ---- listener ---- */

static const char *format_peer(const struct sockaddr_in *sa, char *out, size_t len)
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip);
    snprintf(out, len, "%s:%u", ip, ntohs(sa->sin_port));
    return out;
}

static void refuse_busy(int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Retry-After: 1\r\nConnection: close\r\n\r\n";
    /* Best effort on a fresh socket: its send buffer is empty. */
    ssize_t n = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;
    m_responses[3].value++;
    close(fd);
}

static void conn_new(struct http_service *svc, int fd, const struct sockaddr_in *peer)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        goto fail;
    c->svc = svc;
    c->fd = fd;
    c->file_fd = -1;
    c->in_cap = svc->max_header_bytes;
    c->in = malloc(c->in_cap);
    c->ev_rd = event_new(svc->base, fd, EV_READ | EV_PERSIST, on_conn_read, c);
    c->ev_wr = event_new(svc->base, fd, EV_WRITE | EV_PERSIST, on_conn_write, c);
    c->timer = evtimer_new(svc->base, on_conn_timer, c);
    if (!c->in || !c->ev_rd || !c->ev_wr || !c->timer)
        goto fail;
    format_peer(peer, c->peer, sizeof c->peer);
    c->peer_addr = ntohl(peer->sin_addr.s_addr);
    c->peer_port = ntohs(peer->sin_port);
    /* Heads and small bodies leave in one sendmsg and files behind
     * MSG_MORE, so Nagle has nothing to coalesce; it could only hold back
     * the tail of a response until the client's delayed ACK. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->next = svc->conns;
    if (svc->conns)
        svc->conns->prev = c;
    svc->conns = c;
    svc->n_conns++;
    m_conns.value++;
    conn_enter_read(c);
    return;
fail:
    http_count_error("internal");
    if (c) {
        if (c->ev_rd)
            event_free(c->ev_rd);
        if (c->ev_wr)
            event_free(c->ev_wr);
        if (c->timer)
            event_free(c->timer);
        free(c->in);
        free(c);
    }
    close(fd);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_service *svc = arg;
    if (svc->listen_ev)
        event_add(svc->listen_ev, NULL);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    struct http_service *svc = arg;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
                return;
            /* Out of descriptors or memory: the pending connection stays
             * in the backlog and would wake us at once, forever. Pause. */
            http_count_error("accept");
            if (http_may_log_bad())
                log_warn("http", "accept: %s; pausing the listener for %d ms", strerror(errno),
                         ACCEPT_PAUSE_MS);
            event_del(svc->listen_ev);
            struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
            event_add(svc->accept_pause, &tv);
            return;
        }
        if (svc->n_conns >= svc->max_connections) {
            http_count_error("too_many_connections");
            if (http_may_log_bad())
                log_warn("http", "connection limit (%u) reached, refusing a client", svc->max_connections);
            refuse_busy(fd);
            continue;
        }
        conn_new(svc, fd, &peer);
    }
}

/* Opens a listening socket; errors name the address and port. */
static int listen_open(uint32_t address, uint16_t port, int *out)
{
    char where[INET_ADDRSTRLEN + 8], ip[IPV4_STRLEN];
    snprintf(where, sizeof where, "%s:%u", format_ipv4(address, ip), port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        log_error("http", "cannot create a socket for %s: %s", where, strerror(e));
        return -e;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(address)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;
        log_error("http", "cannot listen on %s: %s", where, strerror(e));
        close(fd);
        return -e;
    }
    *out = fd;
    return 0;
}

static int listen_attach(struct http_service *svc, int fd)
{
    struct event *ev = event_new(svc->base, fd, EV_READ | EV_PERSIST, on_accept, svc);
    if (!ev || event_add(ev, NULL) < 0) {
        if (ev)
            event_free(ev);
        return -ENOMEM;
    }
    if (svc->listen_ev)
        event_free(svc->listen_ev);
    if (svc->listen_fd >= 0)
        close(svc->listen_fd);
    svc->listen_ev = ev;
    svc->listen_fd = fd;
    return 0;
}

/* The boot program root: opened once, every request resolved beneath it. */
static int root_open(const char *root, int *out)
{
    if (!root[0]) {
        *out = -1;
        return 0;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        log_error("http", "cannot open boot program root %s: %s", root, strerror(e));
        return -e;
    }
    *out = fd;
    return 0;
}

static void apply_limits(struct http_service *svc, const struct conf *conf)
{
    svc->conf = conf;
    svc->max_header_bytes = conf->http_max_header_bytes;
    svc->max_body_bytes = conf->http_max_body_bytes;
    /* 0 until [lifecycle] state_max_bytes is set: the general cap */
    svc->state_max_bytes = conf->state_max_bytes ? conf->state_max_bytes : conf->http_max_body_bytes;
    svc->idle_timeout = conf->http_idle_timeout;
    svc->max_connections = conf->http_max_connections;
}

int http_service_start(struct event_base *base, const struct conf *conf, struct store *store,
                       struct http_service **out)
{
    int rc;
    struct http_service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return -ENOMEM;
    svc->base = base;
    svc->store = store;
    svc->listen_fd = -1;
    svc->root_fd = -1;
    svc->date_at = -1;
    apply_limits(svc, conf);
    metrics_setup();
    svc->accept_pause = evtimer_new(base, on_accept_resume, svc);
    if (!svc->accept_pause) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = root_open(conf->tftp_root, &svc->root_fd)) < 0)
        goto fail;
    snprintf(svc->root, sizeof svc->root, "%s", conf->tftp_root);
    int fd;
    if ((rc = listen_open(conf->http_address, conf->http_port, &fd)) < 0)
        goto fail;
    if ((rc = listen_attach(svc, fd)) < 0) {
        close(fd);
        goto fail;
    }
    svc->address = conf->http_address;
    svc->port = conf->http_port;
    char ip[IPV4_STRLEN];
    log_info("http", "listening on %s:%u (boot programs from %s)", format_ipv4(svc->address, ip),
             svc->port, svc->root[0] ? svc->root : "nowhere");
    *out = svc;
    return 0;
fail:
    http_service_stop(svc);
    return rc;
}

int http_service_reload(struct http_service *svc, const struct conf *conf)
{
    int rc, root_fd = svc->root_fd, listen_fd = -1;
    bool new_root = strcmp(conf->tftp_root, svc->root) != 0;
    bool rebind = conf->http_address != svc->address || conf->http_port != svc->port;
    /* Acquire everything first, so a failure changes nothing. */
    if (new_root && (rc = root_open(conf->tftp_root, &root_fd)) < 0)
        return rc;
    if (rebind && (rc = listen_open(conf->http_address, conf->http_port, &listen_fd)) < 0)
        goto fail;
    if (rebind && (rc = listen_attach(svc, listen_fd)) < 0) {
        close(listen_fd);
        goto fail;
    }
    if (new_root) {
        if (svc->root_fd >= 0)
            close(svc->root_fd);
        svc->root_fd = root_fd;
        snprintf(svc->root, sizeof svc->root, "%s", conf->tftp_root);
    }
    if (rebind) {
        char ip[IPV4_STRLEN];
        svc->address = conf->http_address;
        svc->port = conf->http_port;
        log_info("http", "now listening on %s:%u", format_ipv4(svc->address, ip), svc->port);
    }
    /* New limits apply to what comes next; open connections keep their
     * buffers. */
    apply_limits(svc, conf);
    return 0;
fail:
    if (new_root && root_fd >= 0)
        close(root_fd);
    return rc;
}

void http_service_set_api(struct http_service *svc, http_api_fn fn, void *arg)
{
    svc->api_fn = fn;
    svc->api_arg = arg;
}

void http_service_stop(struct http_service *svc)
{
    if (!svc)
        return;
    while (svc->conns)
        http_conn_free(svc->conns);
    if (svc->listen_ev)
        event_free(svc->listen_ev);
    if (svc->accept_pause)
        event_free(svc->accept_pause);
    if (svc->listen_fd >= 0)
        close(svc->listen_fd);
    if (svc->root_fd >= 0)
        close(svc->root_fd);
    free(svc);
}
