/* The TFTP I/O shell: the well-known port, one connected UDP socket and one
 * timer per transfer, all on the server's libevent loop. Protocol decisions
 * live in tftp_request.c and tftp_transfer.c; this file only moves bytes,
 * counts and logs. */
#include "tftp/tftp_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tftp/tftp_request.h"
#include "tftp/tftp_transfer.h"
#include "lifecycle/lifecycle.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

#define REQUEST_BUF 4096 /* RFC 2347 caps requests at 512; be generous, then drop */
#define RX_BUF 1024      /* ACKs are 4 bytes; ERRORs carry a short message */
#define BURST_MAX 64     /* packets per sendmmsg */
#define LISTEN_BATCH 32  /* requests handled per wake-up, so transfers get turns */
#define NAME_LOG 256

struct xfer {
    struct tftp_service *svc;
    struct tftp_transfer *t;
    int sock;
    struct event *rd, *timer;
    struct xfer *prev, *next;
    uint64_t started_ms, counted_bytes;
    char peer[INET_ADDRSTRLEN + 8];
    char name[NAME_LOG];
    uint32_t peer_addr;    /* host byte order */
    bool has_mac;          /* the peer's MAC, from midwife's lease of its address */
    uint8_t mac[6];
};

struct tftp_service {
    struct event_base *base;
    int listen_fd, root_fd;
    struct event *listen_ev;
    char root[PATH_MAX];
    uint32_t address;
    uint16_t port;
    struct tftp_limits lim;
    unsigned max_transfers, active;
    struct xfer *xfers;
    uint8_t req_buf[REQUEST_BUF];
};

/* ---- metrics ---- */

#define M_COUNTER(n, h, lv) {.name = (n), .help = (h), .type = METRIC_COUNTER, .label = (lv) ? "reason" : NULL, .label_value = (lv)}

static struct metric m_requests = M_COUNTER("midwife_tftp_requests_total", "TFTP read/write requests received", NULL);
static struct metric m_bytes = M_COUNTER("midwife_tftp_bytes_sent_total", "TFTP DATA payload bytes sent, retransmissions included", NULL);
static struct metric m_active = {.name = "midwife_tftp_transfers_active", .help = "TFTP transfers in progress", .type = METRIC_GAUGE};
static struct metric m_completed = M_COUNTER("midwife_tftp_transfers_completed_total", "TFTP transfers whose last block was acknowledged", NULL);

#define FAILED_HELP "TFTP transfers that ended before completion"
static struct metric m_failed[] = {
    M_COUNTER("midwife_tftp_transfers_failed_total", FAILED_HELP, "client_error"),
    M_COUNTER("midwife_tftp_transfers_failed_total", FAILED_HELP, "timeout"),
    M_COUNTER("midwife_tftp_transfers_failed_total", FAILED_HELP, "read_error"),
    M_COUNTER("midwife_tftp_transfers_failed_total", FAILED_HELP, "aborted"),
    M_COUNTER("midwife_tftp_transfers_failed_total", FAILED_HELP, "unreachable"),
};

#define ERRORS_HELP "TFTP ERROR packets sent in answer to requests"
static struct metric m_errors[] = {
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "not_found"),
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "access_violation"),
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "wrq"),
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "bad_mode"),
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "bad_option"),
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "malformed"),
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "busy"),
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "open_failed"),
    M_COUNTER("midwife_tftp_errors_total", ERRORS_HELP, "internal"),
};

#define DROPPED_HELP "TFTP packets ignored"
static struct metric m_dropped[] = {
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "truncated"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "no_nul"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "bad_opcode"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "not_a_request"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "oversize"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "duplicate_ack"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "stale_ack"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "malformed"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "unexpected"),
    M_COUNTER("midwife_tftp_dropped_total", DROPPED_HELP, "other"),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Bumps the metric with this label; the last entry catches the unknown. */
static void count(struct metric *arr, size_t n, const char *label)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arr[i].label_value, label) == 0) {
            arr[i].value++;
            return;
        }
    arr[n - 1].value++;
}

static void metrics_setup(void)
{
    metrics_register(&m_requests);
    metrics_register(&m_bytes);
    metrics_register(&m_active);
    metrics_register(&m_completed);
    metrics_register_array(m_failed, COUNT(m_failed));
    metrics_register_array(m_errors, COUNT(m_errors));
    metrics_register_array(m_dropped, COUNT(m_dropped));
}

/* Hostile or broken clients can send any amount of garbage; the log gets
 * at most a burst of lines per interval about it. */
static struct ratelimit bad_log = RATELIMIT_INIT(10000, 20);

static bool may_log_bad(void)
{
    return log_ratelimited_ok(&bad_log, "tftp");
}

static const char *format_peer(const struct sockaddr_in *sa, char *out, size_t len)
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip);
    snprintf(out, len, "%s:%u", ip, ntohs(sa->sin_port));
    return out;
}

/* ---- transfers ---- */

static void xfer_free(struct xfer *x)
{
    struct tftp_service *svc = x->svc;
    if (x->prev)
        x->prev->next = x->next;
    else
        svc->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    svc->active--;
    m_active.value = svc->active;
    if (x->rd)
        event_free(x->rd);
    if (x->timer)
        event_free(x->timer);
    if (x->sock >= 0)
        close(x->sock);
    tftp_transfer_free(x->t);
    free(x);
}

/* Sends everything the transfer has queued: a window goes out in one
 * sendmmsg, header and payload gathered straight from the read buffer. */
static int xfer_flush(struct xfer *x)
{
    struct mmsghdr msgs[BURST_MAX];
    struct iovec iov[BURST_MAX][2];
    struct tftp_out o;
    bool more = true;
    int err = 0;

    while (more) {
        unsigned n = 0;
        while (n < BURST_MAX && (more = tftp_transfer_pull(x->t, &o))) {
            iov[n][0] = (struct iovec){(void *)o.hdr, o.hdr_len};
            iov[n][1] = (struct iovec){(void *)o.data, o.data_len};
            msgs[n] = (struct mmsghdr){.msg_hdr = {.msg_iov = iov[n], .msg_iovlen = o.data_len ? 2 : 1}};
            n++;
        }
        unsigned sent = 0;
        while (sent < n) {
            int r = sendmmsg(x->sock, msgs + sent, n - sent, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                /* EAGAIN: the socket buffer is full; what did not fit is
                 * lost like any dropped datagram and the timer resends. */
                if (errno != EAGAIN)
                    err = -errno;
                break;
            }
            sent += (unsigned)r;
        }
    }
    uint64_t b = tftp_transfer_bytes_sent(x->t);
    m_bytes.value += b - x->counted_bytes;
    x->counted_bytes = b;
    return err;
}

/* TFTP knows addresses, the flight recorder wants machines: the MAC is
 * the one midwife leased the peer's address to (none: recorded without). */
static void lookup_mac(struct xfer *x)
{
    struct lifecycle *lc = lifecycle_current();
    struct store_lease l;
    if (lc && store_lease_get(lifecycle_store(lc), x->peer_addr, &l) == 0 && l.hwtype == 1 && l.hwaddr_len == 6) {
        memcpy(x->mac, l.hwaddr, 6);
        x->has_mac = true;
    }
}

/* A file name fit for a JSON string: the logged form, quotes replaced. */
static const char *json_safe(const char *s, char *out, size_t len)
{
    snprintf(out, len, "%s", s);
    return log_json_safe(out, '_');
}

/* What a file is to the boot (docs/events.md): iPXE scripts, else the
 * boot programs TFTP exists for. */
static const char *tftp_role(const char *name)
{
    size_t n = strlen(name);
    return n >= 5 && strcmp(name + n - 5, ".ipxe") == 0 ? "script" : "program";
}

static void record_end(struct xfer *x, bool unreachable, uint64_t ms)
{
    struct lifecycle *lc = lifecycle_current();
    if (!lc)
        return;
    struct tftp_transfer *t = x->t;
    enum tftp_end end = tftp_transfer_end(t);
    char file[NAME_LOG], data[NAME_LOG + 160];
    json_safe(x->name, file, sizeof file);
    const char *msg = "";
    uint16_t code = end == TFTP_END_CLIENT_ERROR ? tftp_transfer_client_error(t, &msg) : 0;
    unsigned long long bytes = (unsigned long long)tftp_transfer_bytes_sent(t);
    const uint8_t *mac = x->has_mac ? x->mac : NULL;
    if (!unreachable && end == TFTP_END_COMPLETE) {
        snprintf(data, sizeof data, "{\"file\":\"%s\",\"role\":\"%s\",\"bytes\":%llu,\"ms\":%llu,\"blksize\":%u,\"windowsize\":%u}",
                 file, tftp_role(file), bytes, (unsigned long long)ms, tftp_transfer_blksize(t), tftp_transfer_windowsize(t));
        lifecycle_recordf(lc, "tftp.done", EVENT_OK, mac, data, "sent %s to %s: %llu bytes in %llu ms", x->name,
                          x->peer, bytes, (unsigned long long)ms);
    } else if (!unreachable && end == TFTP_END_CLIENT_ERROR) {
        /* Error 8 after the OACK, with nothing sent, is the size probe
         * UEFI firmware makes before the real transfer. */
        bool probe = code == TFTP_EOPTNEG && bytes == 0;
        char em[64];
        snprintf(data, sizeof data, "{\"file\":\"%s\",\"role\":\"%s\",\"after_probe\":%s,\"error\":%u,\"bytes\":%llu}", file,
                 tftp_role(file), probe ? "true" : "false", code, bytes);
        lifecycle_recordf(lc, "tftp.abort", probe ? EVENT_INFO : EVENT_FAIL, mac, data,
                          "%s: %s ended the transfer (error %u \"%s\")%s", x->name, x->peer, code,
                          log_escape(em, sizeof em, msg, strlen(msg)), probe ? ": size probe" : "");
    } else {
        const char *why = unreachable ? "unreachable" : tftp_end_name(end);
        snprintf(data, sizeof data, "{\"file\":\"%s\",\"role\":\"%s\",\"error\":\"%s\",\"bytes\":%llu,\"ms\":%llu}", file,
                 tftp_role(file), why,
                 bytes, (unsigned long long)ms);
        lifecycle_recordf(lc, "tftp.error", EVENT_FAIL, mac, data, "%s to %s failed: %s after %llu ms", x->name,
                          x->peer, why, (unsigned long long)ms);
    }
}

static void xfer_finish(struct xfer *x, bool unreachable)
{
    struct tftp_transfer *t = x->t;
    uint64_t ms = clock_mono_ms() - x->started_ms;
    enum tftp_end end = tftp_transfer_end(t);
    const char *msg;
    uint16_t code;

    record_end(x, unreachable, ms);
    if (unreachable) {
        count(m_failed, COUNT(m_failed), "unreachable");
        log_info("tftp", "%s: client %s went away (port unreachable)", x->name, x->peer);
    } else if (end == TFTP_END_COMPLETE) {
        m_completed.value++;
        log_info("tftp", "sent %s to %s: %llu bytes in %llu ms (blksize %u, windowsize %u)", x->name,
                 x->peer, (unsigned long long)tftp_transfer_bytes_sent(t), (unsigned long long)ms,
                 tftp_transfer_blksize(t), tftp_transfer_windowsize(t));
    } else {
        count(m_failed, COUNT(m_failed), tftp_end_name(end));
        if (end == TFTP_END_CLIENT_ERROR) {
            code = tftp_transfer_client_error(t, &msg);
            /* Error 8 right after an OACK is how UEFI ends its tsize
             * probe: routine, so only visible when debugging. */
            if (code == TFTP_EOPTNEG)
                log_debug("tftp", "%s: %s ended the transfer (error %u \"%s\")", x->name, x->peer, code, msg);
            else
                log_info("tftp", "%s: %s ended the transfer (error %u \"%s\")", x->name, x->peer, code, msg);
        } else {
            log_warn("tftp", "%s to %s failed: %s after %llu ms", x->name, x->peer, tftp_end_name(end),
                     (unsigned long long)ms);
        }
    }
    xfer_free(x);
}

/* After every event: send, then either end the transfer or re-arm its timer. */
static void xfer_step(struct xfer *x)
{
    int r = xfer_flush(x);
    if (r == -ECONNREFUSED) {
        xfer_finish(x, true);
        return;
    }
    enum tftp_state st = tftp_transfer_state(x->t);
    if (st == TFTP_DONE || st == TFTP_FAILED) {
        xfer_finish(x, false);
        return;
    }
    uint64_t now = clock_mono_ms(), deadline = tftp_transfer_deadline(x->t);
    uint64_t wait = deadline > now ? deadline - now : 0;
    struct timeval tv = {.tv_sec = (time_t)(wait / 1000), .tv_usec = (suseconds_t)(wait % 1000) * 1000};
    evtimer_add(x->timer, &tv);
}

static void on_xfer_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct xfer *x = arg;
    uint8_t buf[RX_BUF];
    /* One datagram per wake-up: the loop comes back while more are queued,
     * and the common case (one ACK) costs no extra EAGAIN read. */
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
        if (errno == ECONNREFUSED)
            xfer_finish(x, true);
        return;
    }
    switch (tftp_transfer_receive(x->t, buf, (size_t)n, clock_mono_ms())) {
    case TFTP_RX_OK: break;
    case TFTP_RX_DUPLICATE: count(m_dropped, COUNT(m_dropped), "duplicate_ack"); return;
    case TFTP_RX_STALE: count(m_dropped, COUNT(m_dropped), "stale_ack"); return;
    case TFTP_RX_MALFORMED: count(m_dropped, COUNT(m_dropped), "malformed"); return;
    case TFTP_RX_UNEXPECTED: count(m_dropped, COUNT(m_dropped), "unexpected"); return;
    }
    xfer_step(x);
}

static void on_xfer_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xfer *x = arg;
    tftp_transfer_timeout(x->t, clock_mono_ms());
    xfer_step(x);
}

/* The transfer's socket: bound to the address the request came to (so a
 * multi-homed server answers from the address the client talks to), on an
 * ephemeral port (the new TID, RFC 1350), connected to the client. */
static int xfer_socket(const struct in_addr *dst, const struct in_addr *spec, const struct sockaddr_in *peer,
                       unsigned window_bytes)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = *dst};
    /* A broadcast or multicast destination cannot be a source: fall back
     * to the interface address the kernel chose for the reply. */
    if (bind(s, (struct sockaddr *)&local, sizeof local) < 0) {
        local.sin_addr = *spec;
        if (bind(s, (struct sockaddr *)&local, sizeof local) < 0)
            goto fail;
    }
    if (connect(s, (const struct sockaddr *)peer, sizeof *peer) < 0)
        goto fail;
    if (window_bytes > 64 * 1024) {
        int sz = (int)window_bytes * 2;
        setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    }
    return s;
fail:;
    int e = -errno;
    close(s);
    return e;
}

static void xfer_start(struct tftp_service *svc, struct tftp_transfer *t, const struct sockaddr_in *peer,
                       const struct in_pktinfo *pi, const char *name, size_t name_len)
{
    struct xfer *x = calloc(1, sizeof *x);
    if (!x) {
        tftp_transfer_free(t);
        return;
    }
    x->svc = svc;
    x->t = t;
    x->started_ms = clock_mono_ms();
    format_peer(peer, x->peer, sizeof x->peer);
    log_escape(x->name, sizeof x->name, name, name_len);
    x->peer_addr = ntohl(peer->sin_addr.s_addr);
    lookup_mac(x);
    if (lifecycle_current()) {
        char file[NAME_LOG], data[NAME_LOG + 120];
        snprintf(data, sizeof data, "{\"file\":\"%s\",\"role\":\"%s\",\"blksize\":%u,\"windowsize\":%u}",
                 json_safe(x->name, file, sizeof file), tftp_role(file), tftp_transfer_blksize(t), tftp_transfer_windowsize(t));
        lifecycle_recordf(lifecycle_current(), "tftp.start", EVENT_INFO, x->has_mac ? x->mac : NULL, data,
                          "%s requested by %s", x->name, x->peer);
    }
    x->next = svc->xfers;
    if (svc->xfers)
        svc->xfers->prev = x;
    svc->xfers = x;
    svc->active++;
    m_active.value = svc->active;

    x->sock = xfer_socket(&pi->ipi_addr, &pi->ipi_spec_dst, peer,
                          tftp_transfer_blksize(t) * tftp_transfer_windowsize(t));
    if (x->sock < 0) {
        log_error("tftp", "%s for %s: cannot open a transfer socket: %s", x->name, x->peer, strerror(-x->sock));
        tftp_transfer_abort(t, "server error");
        xfer_free(x);
        return;
    }
    x->rd = event_new(svc->base, x->sock, EV_READ | EV_PERSIST, on_xfer_read, x);
    x->timer = evtimer_new(svc->base, on_xfer_timer, x);
    if (!x->rd || !x->timer || event_add(x->rd, NULL) < 0) {
        log_error("tftp", "%s for %s: cannot register events", x->name, x->peer);
        tftp_transfer_abort(t, "server error");
        xfer_flush(x);
        xfer_free(x);
        return;
    }
    log_debug("tftp", "%s requested by %s", x->name, x->peer);
    xfer_step(x);
}

/* ---- the well-known port ---- */

/* ERRORs for requests go out from the well-known port, with the source
 * address set to the one the request was sent to. */
static void send_error(struct tftp_service *svc, const struct tftp_reply *r, const struct sockaddr_in *peer,
                       const struct in_pktinfo *pi)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {(void *)r->error, r->error_len};
    struct msghdr mh = {.msg_name = (void *)peer, .msg_namelen = sizeof *peer, .msg_iov = &iov, .msg_iovlen = 1};
    if (pi) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        struct in_pktinfo out = {.ipi_spec_dst = pi->ipi_spec_dst};
        memcpy(CMSG_DATA(c), &out, sizeof out);
    }
    if (sendmsg(svc->listen_fd, &mh, 0) < 0)
        log_debug("tftp", "sending an error: %s", strerror(errno));
}

static void handle_datagram(struct tftp_service *svc, size_t len, bool truncated, const struct sockaddr_in *peer,
                            const struct in_pktinfo *pi)
{
    char who[INET_ADDRSTRLEN + 8], esc[NAME_LOG];
    struct tftp_reply r;

    format_peer(peer, who, sizeof who);
    if (truncated) {
        count(m_dropped, COUNT(m_dropped), "oversize");
        if (may_log_bad())
            log_warn("tftp", "dropped an oversize datagram from %s", who);
        return;
    }
    /* RFC 1350 ports: a request from port 0 has nowhere to be answered. */
    if (peer->sin_port == 0) {
        count(m_dropped, COUNT(m_dropped), "other");
        return;
    }
    tftp_handle_request(svc->root_fd, svc->req_buf, len, &svc->lim, svc->active >= svc->max_transfers,
                        clock_mono_ms(), &r);
    if (r.filename)
        log_escape(esc, sizeof esc, r.filename, r.filename_len);
    else
        strcpy(esc, "-");
    switch (r.verdict) {
    case TFTP_VERDICT_DROP:
        count(m_dropped, COUNT(m_dropped), r.reason);
        if (r.log && may_log_bad())
            log_warn("tftp", "dropped a packet from %s: %s", who, r.detail ? r.detail : r.reason);
        return;
    case TFTP_VERDICT_ERROR:
        m_requests.value++;
        count(m_errors, COUNT(m_errors), r.reason);
        if (r.log && may_log_bad())
            log_warn("tftp", "refused \"%s\" to %s: %s%s%s%s", esc, who, r.reason, r.detail ? " (" : "",
                     r.detail ? r.detail : "", r.detail ? ")" : "");
        else if (strcmp(r.reason, "busy") == 0 && may_log_bad())
            log_warn("tftp", "refused \"%s\" to %s: %u transfers running (max_transfers)", esc, who, svc->active);
        else
            log_debug("tftp", "refused \"%s\" to %s: %s", esc, who, r.reason);
        send_error(svc, &r, peer, pi);
        return;
    case TFTP_VERDICT_TRANSFER:
        m_requests.value++;
        xfer_start(svc, r.transfer, peer, pi, r.filename, r.filename_len);
        return;
    }
}

static void on_listen(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct tftp_service *svc = arg;
    for (int i = 0; i < LISTEN_BATCH; i++) {
        struct sockaddr_in peer;
        union {
            char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {svc->req_buf, sizeof svc->req_buf};
        struct msghdr mh = {.msg_name = &peer, .msg_namelen = sizeof peer, .msg_iov = &iov, .msg_iovlen = 1,
                            .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
        ssize_t n = recvmsg(fd, &mh, 0);
        if (n < 0)
            return; /* EAGAIN, or an ICMP error from an earlier ERROR we sent */
        if (mh.msg_namelen != sizeof peer || peer.sin_family != AF_INET)
            continue;
        struct in_pktinfo pi = {.ipi_addr.s_addr = INADDR_ANY, .ipi_spec_dst.s_addr = INADDR_ANY};
        bool have_pi = false;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                have_pi = true;
            }
        if (!have_pi && svc->address) {
            pi.ipi_addr.s_addr = htonl(svc->address);
            pi.ipi_spec_dst.s_addr = htonl(svc->address);
        }
        handle_datagram(svc, (size_t)n, (mh.msg_flags & MSG_TRUNC) != 0, &peer, &pi);
    }
}

static int open_root(const char *root)
{
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = -errno;
        log_error("tftp", "root %s: %s", root, strerror(errno));
        return e;
    }
    return fd;
}

static int open_listener(uint32_t address, uint16_t port)
{
    char ip[INET_ADDRSTRLEN];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(address)};
    int one = 1;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        goto fail;
    /* IP_PKTINFO tells each request's destination address, which the
     * transfer socket then binds to (multi-homed correctness). */
    if (setsockopt(s, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0 ||
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)
        goto fail;
    log_info("tftp", "listening on %s:%u", inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip), port);
    return s;
fail:;
    int e = -errno;
    log_error("tftp", "cannot listen on %s:%u: %s", inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip), port,
              strerror(errno));
    if (s >= 0)
        close(s);
    return e;
}

/* Each transfer holds a socket and a file: make sure the process may open
 * that many descriptors, within the hard limit the operator set. */
static void raise_fd_limit(unsigned max_transfers)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)max_transfers * 2 + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need)
        log_warn("tftp", "open file limit %llu is below what max_transfers %u needs (%llu)",
                 (unsigned long long)rl.rlim_cur, max_transfers, (unsigned long long)need);
}

static void apply_limits(struct tftp_service *svc, const struct conf *conf)
{
    svc->lim = (struct tftp_limits){
        .max_blksize = conf->tftp_max_blksize,
        .max_windowsize = conf->tftp_max_windowsize,
        .timeout_ms = conf->tftp_timeout_ms,
        .retries = conf->tftp_retries,
    };
    svc->max_transfers = conf->tftp_max_transfers;
    raise_fd_limit(svc->max_transfers);
}

/* Opens root and listener for conf; on success swaps them in. */
static int open_endpoints(struct tftp_service *svc, const struct conf *conf)
{
    int root = open_root(conf->tftp_root);
    if (root < 0)
        return root;
    int s = open_listener(conf->tftp_address, conf->tftp_port);
    if (s < 0) {
        close(root);
        return s;
    }
    struct event *ev = event_new(svc->base, s, EV_READ | EV_PERSIST, on_listen, svc);
    if (!ev || event_add(ev, NULL) < 0) {
        if (ev)
            event_free(ev);
        close(s);
        close(root);
        return -ENOMEM;
    }
    if (svc->listen_ev)
        event_free(svc->listen_ev);
    if (svc->listen_fd >= 0)
        close(svc->listen_fd);
    if (svc->root_fd >= 0)
        close(svc->root_fd);
    svc->listen_ev = ev;
    svc->listen_fd = s;
    svc->root_fd = root;
    snprintf(svc->root, sizeof svc->root, "%s", conf->tftp_root);
    svc->address = conf->tftp_address;
    svc->port = conf->tftp_port;
    return 0;
}

int tftp_service_start(struct event_base *base, const struct conf *conf, struct tftp_service **out)
{
    struct tftp_service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return -ENOMEM;
    svc->base = base;
    svc->listen_fd = svc->root_fd = -1;
    metrics_setup();
    apply_limits(svc, conf);
    int r = open_endpoints(svc, conf);
    if (r < 0) {
        free(svc);
        return r;
    }
    log_info("tftp", "serving %s (max_blksize %u, max_windowsize %u, max_transfers %u)", svc->root,
             svc->lim.max_blksize, svc->lim.max_windowsize, svc->max_transfers);
    *out = svc;
    return 0;
}

int tftp_service_reload(struct tftp_service *svc, const struct conf *conf)
{
    if (strcmp(conf->tftp_root, svc->root) != 0 || conf->tftp_address != svc->address ||
        conf->tftp_port != svc->port) {
        /* The new listener is opened before the old one closes, so a bad
         * new address leaves the service running as it was; SO_REUSEADDR
         * lets both hold the same UDP port for that moment. Running
         * transfers keep their own sockets and open files. */
        int r = open_endpoints(svc, conf);
        if (r < 0)
            return r;
    }
    apply_limits(svc, conf);
    return 0;
}

void tftp_service_stop(struct tftp_service *svc)
{
    if (!svc)
        return;
    while (svc->xfers) {
        struct xfer *x = svc->xfers;
        tftp_transfer_abort(x->t, "server shutting down");
        xfer_flush(x);
        count(m_failed, COUNT(m_failed), "aborted");
        xfer_free(x);
    }
    if (svc->listen_ev)
        event_free(svc->listen_ev);
    if (svc->listen_fd >= 0)
        close(svc->listen_fd);
    if (svc->root_fd >= 0)
        close(svc->root_fd);
    free(svc);
}
