/* The DHCP I/O shell: sockets in, dhcp_server_handle() in the middle, one
 * store transaction per batch, replies out. Everything that decides lives
 * in dhcp_server.c; this file only moves bytes. */
#include "dhcp/dhcp_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/san.h"
#include "dhcp/dhcp_server.h"
#include "lifecycle/discover.h"
#include "lifecycle/lifecycle.h"
#include "store/store_inventory.h"
#include "store/store_watch.h"
#include "util/addr.h"
#include "util/clock.h"
#include "util/log.h"

/* Packets read per readable event, in one recvmmsg: bounds the time one
 * socket holds the loop. The OFFERs and NAKs they produce leave together
 * in one sendmmsg at the end of the batch, the ACKs in one after the
 * commit: under load a DORA costs a fraction of a system call's entry
 * and exit instead of four of them. */
#define BATCH_MAX 64

/* Group commit. Replies that grant a lease (ACKs) wait in a queue until the
 * lease writes behind them are committed; one transaction covers the whole
 * queue. Under load a commit happens at most every GROUP_COMMIT_MS, so a
 * burst of boots costs a few transactions, not one per client; when the
 * server is quiet (the last commit is older than that) a batch is committed
 * at once, adding no latency. Either way no ACK leaves before its lease is
 * on disk. */
#define GROUP_COMMIT_MS 2
#define QUEUE_MAX 256 /* replies held at most; a full queue commits at once */

struct dhcp_socket {
    struct dhcp_service *svc;
    int fd;
    int ifindex;
    char ifname[IF_NAMESIZE];
    uint16_t port;
    bool pxe_port; /* the PXE boot server port (proxy mode) */
    struct event *ev;
};

/* One datagram of a recvmmsg batch. */
struct rx_slot {
    uint8_t buf[DHCP_PACKET_MAX + 1]; /* one extra byte exposes oversized packets */
    struct sockaddr_in from;
    struct iovec iov;
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl;
};

/* One reply of a sendmmsg batch: where to and from which address. */
struct tx_slot {
    struct sockaddr_in to;
    struct iovec iov;
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl;
};

struct dhcp_service {
    struct event_base *base;
    const struct conf *conf;
    struct store *store;
    struct dhcp_server *srv;
    struct dhcp_socket **socks;
    size_t n_socks;
    struct queued_reply *queue; /* QUEUE_MAX of them */
    size_t n_queued;
    struct rx_slot *rx;         /* BATCH_MAX of each */
    struct mmsghdr *rx_msgs;
    struct dhcp_reply *outbox;  /* the batch's OFFERs and NAKs */
    size_t n_out;
    struct tx_slot *tx;         /* QUEUE_MAX of each: the most sent at once */
    struct mmsghdr *tx_msgs;
    struct event *commit_timer;
    uint64_t last_commit_ms;
    struct event *inventory_timer;
    uint64_t inventory_stamp, inventory_gen;
    bool inventory_loaded;
};

/* How often the host records are checked for changes. */
#define INVENTORY_POLL_MS 1000

struct queued_reply {
    struct dhcp_socket *sock;
    struct dhcp_reply reply;
};

static int open_socket(const char *ifname, uint16_t port, int *ifindex_out)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    unsigned ifindex = if_nametoindex(ifname);
    if (!ifindex) {
        log_error("dhcp", "interface %s: %s", ifname, strerror(errno));
        close(fd);
        return -ENODEV;
    }
    /* One socket per interface, all on 0.0.0.0:67: clients without an
     * address broadcast, so only the device binding tells them apart, and
     * an interface missing from the config never gets an answer. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0)
        goto fail;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        goto fail;
    *ifindex_out = (int)ifindex;
    return fd;
fail:;
    int e = errno;
    log_error("dhcp", "socket on %s port %u: %s", ifname, port, strerror(e));
    if (fd >= 0)
        close(fd);
    return -e;
}

/* The interface's primary address, for when IP_PKTINFO has none. */
static uint32_t interface_address(int fd, const char *ifname)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    if (ioctl(fd, SIOCGIFADDR, &ifr) < 0)
        return 0;
    return ntohl(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr);
}

/* Lets a unicast reach a client that has no address yet and so cannot
 * answer ARP (RFC 2131 §4.1: "to the client's hardware address"). */
static bool add_arp_entry(const struct dhcp_socket *s, const struct dhcp_reply *r)
{
    if (r->hlen != 6)
        return false;
    struct arpreq req;
    memset(&req, 0, sizeof req);
    struct sockaddr_in *pa = (struct sockaddr_in *)&req.arp_pa;
    pa->sin_family = AF_INET;
    pa->sin_addr.s_addr = htonl(r->dst_addr);
    req.arp_ha.sa_family = ARPHRD_ETHER;
    memcpy(req.arp_ha.sa_data, r->chaddr, 6);
    req.arp_flags = ATF_COM;
    snprintf(req.arp_dev, sizeof req.arp_dev, "%s", s->ifname);
    return ioctl(s->fd, SIOCSARP, &req) == 0;
}

/* Fills one sendmmsg entry for r. */
static void prepare_reply(struct dhcp_socket *s, const struct dhcp_reply *r, struct tx_slot *t, struct mmsghdr *m)
{
    uint32_t dst = r->dst_addr;
    if (r->dest == DHCP_DEST_UNICAST_HW && !add_arp_entry(s, r))
        dst = 0xffffffffu; /* no ARP entry: the client still hears a broadcast */
    t->to = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(r->dst_port), .sin_addr.s_addr = htonl(dst)};
    t->iov = (struct iovec){(void *)r->data, r->len};
    /* Send from our server identifier so the client sees the address it
     * will later unicast to. */
    memset(&t->ctl, 0, sizeof t->ctl);
    m->msg_hdr = (struct msghdr){.msg_name = &t->to, .msg_namelen = sizeof t->to, .msg_iov = &t->iov,
                                 .msg_iovlen = 1, .msg_control = t->ctl.buf, .msg_controllen = sizeof t->ctl.buf};
    m->msg_len = 0;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m->msg_hdr);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi = {.ipi_ifindex = s->ifindex, .ipi_spec_dst.s_addr = htonl(r->src_addr)};
    memcpy(CMSG_DATA(cm), &pi, sizeof pi);
}

/* Sends n (at most QUEUE_MAX) replies from socket s, as few sendmmsg calls
 * as the kernel takes. A reply the kernel refuses is logged and lost like
 * any dropped datagram: the client asks again. */
static void send_replies(struct dhcp_service *svc, struct dhcp_socket *s, const struct dhcp_reply *const *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        prepare_reply(s, r[i], &svc->tx[i], &svc->tx_msgs[i]);
    size_t i = 0;
    while (i < n) {
        int k = sendmmsg(s->fd, svc->tx_msgs + i, (unsigned)(n - i), 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            char a[IPV4_STRLEN];
            log_warn("dhcp", "sending %s to %s on %s: %s", dhcp_msg_type_name(r[i]->msg_type),
                     format_ipv4(ntohl(svc->tx[i].to.sin_addr.s_addr), a), s->ifname,
                     k < 0 ? strerror(errno) : "not sent");
            i++;
            continue;
        }
        for (size_t j = i; j < i + (size_t)k; j++)
            dhcp_count_reply_sent(r[j]->msg_type);
        i += (size_t)k;
    }
}

/* One transaction for the whole batch. Returns false if it failed: then
 * nothing that depends on it may be sent. */
static bool commit_pending(struct dhcp_service *svc)
{
    const struct store_lease *w;
    size_t n = dhcp_server_pending(svc->srv, &w);
    if (n == 0)
        return true;
    bool ok = store_begin(svc->store) == 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = store_lease_put(svc->store, &w[i]) == 0;
    if (ok)
        ok = store_commit(svc->store) == 0;
    if (!ok) {
        log_error("dhcp", "committing %zu lease writes failed (%s): their ACKs are not sent", n,
                  store_errmsg(svc->store));
        store_rollback(svc->store);
    }
    dhcp_server_clear_pending(svc->srv);
    return ok;
}

/* Commits every pending lease write, then sends the ACKs that waited for
 * it (or, if the commit failed, drops them: the client will retry). */
static void flush_queue(struct dhcp_service *svc)
{
    bool committed = commit_pending(svc);
    svc->last_commit_ms = clock_mono_ms();
    const struct dhcp_reply *run[QUEUE_MAX];
    /* One sendmmsg per run of replies from the same socket. */
    for (size_t i = 0, j; committed && i < svc->n_queued; i = j) {
        struct dhcp_socket *s = svc->queue[i].sock;
        for (j = i; j < svc->n_queued && svc->queue[j].sock == s; j++)
            run[j - i] = &svc->queue[j].reply;
        send_replies(svc, s, run, j - i);
    }
    svc->n_queued = 0;
    if (svc->commit_timer)
        evtimer_del(svc->commit_timer);
}

static void on_commit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush_queue(arg);
}

static void refresh_inventory(struct dhcp_service *svc);

/* The flight recorder's view of one packet (docs/events.md). Packets that
 * are not DHCP at all, or carry no Ethernet address, are only counted. */
static void record_exchange(const struct dhcp_server *srv)
{
    struct lifecycle *lc = lifecycle_current();
    if (!lc)
        return;
    struct dhcp_exchange x;
    dhcp_server_last_exchange(srv, &x);
    if (!x.parsed || !x.has_mac)
        return;
    /* Proxy mode: the lease is the other server's, so the script request
     * that follows is bound to this answer instead (discover.h). */
    if (x.proxy && x.reply_type)
        lifecycle_proxy_answered(lc, x.mac);
    /* Ordinary clients talking to the site's DHCP server: only counted. */
    if (x.drop == DHCP_DROP_PROXY_NOT_PXE)
        return;
    /* The recorder follows machines that boot from the network and hosts
     * midwife knows. An ordinary DHCP client it knows nothing about (a
     * laptop, a printer, an installed system renewing) is only counted:
     * on a busy LAN those would be most events and tell nothing about
     * any boot. */
    if (x.client == BOOT_CLIENT_PLAIN && !x.known)
        return;
    const char *kind;
    enum event_status st = EVENT_INFO;
    switch (x.reply_type) {
    case 2: kind = "dhcp.offer"; break;
    case 5: kind = "dhcp.ack"; st = EVENT_OK; break;
    case 6: kind = "dhcp.nak"; st = EVENT_FAIL; break;
    default:
        if (x.msg_type == 4)
            kind = "dhcp.decline", st = EVENT_FAIL;
        else if (x.msg_type == 7)
            kind = "dhcp.release";
        else if (x.drop == DHCP_DROP_OTHER_SERVER)
            kind = "dhcp.other_server";
        else if (x.drop != DHCP_DROP_NONE)
            kind = "dhcp.ignored", st = EVENT_FAIL;
        else
            return;
    }
    static const char *const clients[] = {"plain", "pxe", "http", "ipxe"};
    const char *client = (unsigned)x.client < 4 ? clients[x.client] : "plain";
    char addr[IPV4_STRLEN], gi[IPV4_STRLEN], file[CONF_URL_MAX * 2], root[BOOT_ROOT_PATH_MAX * 2];
    char data[CONF_URL_MAX * 2 + BOOT_ROOT_PATH_MAX * 2 + 256];
    format_ipv4(x.address, addr);
    format_ipv4(x.giaddr, gi);
    /* The boot file comes from the config, but may hold a quote. */
    log_escape(file, sizeof file, x.file, strlen(x.file));
    log_json_safe(file, '_');
    /* Only what the exchange has: these are the most frequent events. */
    int n = snprintf(data, sizeof data, "{\"xid\":%u,\"address\":\"%s\",\"client\":\"%s\"", x.xid, addr, client);
    if (x.subnet && n < (int)sizeof data)
        n += snprintf(data + n, sizeof data - (size_t)n, ",\"subnet\":\"%s\"", x.subnet);
    if (x.arch >= 0 && n < (int)sizeof data)
        n += snprintf(data + n, sizeof data - (size_t)n, ",\"arch\":%d", x.arch);
    if (file[0] && n < (int)sizeof data)
        n += snprintf(data + n, sizeof data - (size_t)n, ",\"file\":\"%s\"", file);
    /* Checked against the san_uri class before it reached DHCP. */
    log_escape(root, sizeof root, x.root_path, strlen(x.root_path));
    log_json_safe(root, '_');
    if (root[0] && n < (int)sizeof data)
        n += snprintf(data + n, sizeof data - (size_t)n, ",\"root_path\":\"%s\"", root);
    if (x.giaddr && n < (int)sizeof data)
        n += snprintf(data + n, sizeof data - (size_t)n, ",\"giaddr\":\"%s\"", gi);
    if (x.drop != DHCP_DROP_NONE && n < (int)sizeof data)
        n += snprintf(data + n, sizeof data - (size_t)n, ",\"why\":\"%s\"", dhcp_drop_name(x.drop));
    if (x.proxy && n < (int)sizeof data)
        n += snprintf(data + n, sizeof data - (size_t)n, ",\"proxy\":true%s", x.pxe_port ? ",\"pxe_port\":true" : "");
    if (n < (int)sizeof data - 1)
        snprintf(data + n, sizeof data - (size_t)n, "}");
    const char *what = x.reply_type == 2   ? "offered"
                       : x.reply_type == 5 ? "acknowledged"
                       : x.reply_type == 6 ? "refused (NAK)"
                                           : "";
    /* A MAC DHCP does not know has no host record: no lookup needed. */
    struct event ev = {.status = st, .data = data, .host_id = x.known ? 0 : LIFECYCLE_NO_HOST};
    snprintf(ev.kind, sizeof ev.kind, "%s", kind);
    format_mac(x.mac, ev.mac);
    const char *to = x.client == BOOT_CLIENT_PLAIN  ? "a plain"
                     : x.client == BOOT_CLIENT_PXE  ? "a PXE"
                     : x.client == BOOT_CLIENT_HTTP ? "an HTTP Boot"
                                                    : "an iPXE";
    if (what[0] && x.proxy)
        /* No address: the site's DHCP server gives that. */
        snprintf(ev.message, sizeof ev.message, "proxy %s to %s client%s%s%s%.300s",
                 x.reply_type == 2 ? "offer" : "ack on the PXE port", to, x.pxe_port && x.address ? " at " : "",
                 x.pxe_port && x.address ? addr : "", file[0] ? ", boot file " : "", file);
    else if (what[0])
        snprintf(ev.message, sizeof ev.message, "%s %s to %s client%s%.300s", what, addr, to,
                 file[0] ? ", boot file " : "", file);
    else if (x.proxy && x.drop == DHCP_DROP_OTHER_SERVER)
        snprintf(ev.message, sizeof ev.message, "other_server: %s%s%s is the site DHCP server's to answer (proxy mode)",
                 dhcp_msg_type_name(x.msg_type), x.address ? " of " : "", x.address ? addr : "");
    else
        snprintf(ev.message, sizeof ev.message, "%s: %s", kind + 5,
                 x.drop != DHCP_DROP_NONE ? dhcp_drop_name(x.drop) : addr);
    lifecycle_record(lc, &ev);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct dhcp_socket *s = arg;
    struct dhcp_service *svc = s->svc;
    int64_t now = clock_wall_s();
    if (store_hosts_generation(svc->store) != svc->inventory_gen)
        refresh_inventory(svc);
    for (int i = 0; i < BATCH_MAX; i++) {
        struct rx_slot *x = &svc->rx[i];
        x->iov = (struct iovec){x->buf, sizeof x->buf};
        svc->rx_msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &x->from, .msg_namelen = sizeof x->from,
                                                       .msg_iov = &x->iov, .msg_iovlen = 1,
                                                       .msg_control = x->ctl.buf,
                                                       .msg_controllen = sizeof x->ctl.buf}};
    }
    int n_rx = recvmmsg(fd, svc->rx_msgs, BATCH_MAX, 0, NULL);
    if (n_rx < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            log_warn("dhcp", "receiving on %s: %s", s->ifname, strerror(errno));
        n_rx = 0;
    }
    for (int i = 0; i < n_rx; i++) {
        struct msghdr msg = svc->rx_msgs[i].msg_hdr;
        const uint8_t *buf = svc->rx[i].buf;
        size_t len = svc->rx_msgs[i].msg_len;
        const struct sockaddr_in from = svc->rx[i].from;
        struct dhcp_rx_meta meta = {.ifindex = s->ifindex, .src_addr = ntohl(from.sin_addr.s_addr),
                                    .src_port = ntohs(from.sin_port), .pxe_port = s->pxe_port};
        memcpy(meta.ifname, s->ifname, sizeof meta.ifname);
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
            if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(cm), sizeof pi);
                meta.local_addr = ntohl(pi.ipi_spec_dst.s_addr);
            }
        if (!meta.local_addr)
            meta.local_addr = interface_address(fd, s->ifname);
        struct queued_reply *q = &svc->queue[svc->n_queued];
        int handled = dhcp_server_handle(svc->srv, buf, len, &meta, now, &q->reply);
        record_exchange(svc->srv);
        if (handled != 1)
            continue;
        if (!q->reply.needs_commit) {
            /* OFFER, NAK: nothing to make durable; out with the batch */
            svc->outbox[svc->n_out++] = q->reply;
            continue;
        }
        q->sock = s;
        if (++svc->n_queued == QUEUE_MAX)
            flush_queue(svc);
    }
    if (svc->n_out > 0) {
        const struct dhcp_reply *out[BATCH_MAX];
        for (size_t i = 0; i < svc->n_out; i++)
            out[i] = &svc->outbox[i];
        send_replies(svc, s, out, svc->n_out);
        svc->n_out = 0;
    }
    const struct store_lease *writes;
    if (svc->n_queued == 0 && dhcp_server_pending(svc->srv, &writes) == 0)
        return; /* nothing to make durable (RELEASE and DECLINE queue writes too) */
    uint64_t since = clock_mono_ms() - svc->last_commit_ms;
    if (since >= GROUP_COMMIT_MS)
        flush_queue(svc);
    else if (!evtimer_pending(svc->commit_timer, NULL)) {
        struct timeval tv = {0, (suseconds_t)((GROUP_COMMIT_MS - since) * 1000)};
        evtimer_add(svc->commit_timer, &tv);
    }
}

static void close_socket(struct dhcp_socket *s)
{
    if (!s)
        return;
    if (s->ev)
        event_free(s->ev);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static struct dhcp_socket *new_socket(struct dhcp_service *svc, const char *ifname, uint16_t port, bool pxe_port)
{
    struct dhcp_socket *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->svc = svc;
    snprintf(s->ifname, sizeof s->ifname, "%s", ifname);
    s->port = port;
    s->pxe_port = pxe_port;
    s->fd = open_socket(ifname, port, &s->ifindex);
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    s->ev = event_new(svc->base, s->fd, EV_READ | EV_PERSIST, on_readable, s);
    if (!s->ev || event_add(s->ev, NULL) < 0) {
        close_socket(s);
        return NULL;
    }
    return s;
}

/* Opens the sockets conf asks for, reusing those already open on the same
 * interface and port: the server port on every interface, and in proxy
 * mode the PXE boot server port too. On failure nothing changes. */
static int switch_sockets(struct dhcp_service *svc, const struct conf *conf)
{
    size_t per_if = conf->dhcp_mode == DHCP_MODE_PROXY ? 2 : 1;
    size_t n = conf->n_dhcp_interfaces * per_if;
    struct dhcp_socket **next = calloc(n ? n : 1, sizeof *next);
    bool *reused = calloc(svc->n_socks ? svc->n_socks : 1, sizeof *reused);
    if (!next || !reused)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const char *ifname = conf->dhcp_interfaces[i / per_if];
        bool pxe = i % per_if == 1;
        uint16_t port = pxe ? conf->dhcp_pxe_port : conf->dhcp_port;
        for (size_t j = 0; j < svc->n_socks; j++)
            if (!reused[j] && svc->socks[j]->port == port && svc->socks[j]->pxe_port == pxe &&
                strcmp(svc->socks[j]->ifname, ifname) == 0) {
                next[i] = svc->socks[j];
                reused[j] = true;
                break;
            }
        if (!next[i] && !(next[i] = new_socket(svc, ifname, port, pxe)))
            goto fail;
    }
    for (size_t j = 0; j < svc->n_socks; j++)
        if (!reused[j])
            close_socket(svc->socks[j]);
    free(svc->socks);
    free(reused);
    svc->socks = next;
    svc->n_socks = n;
    return 0;
fail:
    for (size_t i = 0; next && i < n; i++) {
        bool old = false;
        for (size_t j = 0; j < svc->n_socks; j++)
            old = old || next[i] == svc->socks[j];
        if (!old)
            close_socket(next[i]);
    }
    free(next);
    free(reused);
    return -EIO;
}

struct inv_acc {
    struct dhcp_inventory_host *v;
    size_t n, cap;
    const struct conf *conf;
    struct store *store;
};

static int take_host(const struct host *h, void *arg)
{
    struct inv_acc *a = arg;
    /* A SAN-booting host's root path goes with every MAC of it. */
    struct boot_san san;
    char err[256], name[2 * HOST_NAME_MAX_LEN];
    int san_r = boot_san_dhcp(a->conf, a->store, h, &san, err, sizeof err);
    if (san_r < 0) {
        log_escape(name, sizeof name, h->name, strlen(h->name));
        log_warn("dhcp", "host %s: no root path (option 17): %s", name, err);
    }
    for (size_t i = 0; i < h->n_macs; i++) {
        if (a->n == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 64;
            void *v = realloc(a->v, cap * sizeof *a->v);
            if (!v)
                return -ENOMEM;
            a->v = v;
            a->cap = cap;
        }
        struct dhcp_inventory_host *e = &a->v[a->n++];
        memcpy(e->mac, h->macs[i], 6);
        /* The static address belongs to the boot (first) MAC only. */
        e->address = i == 0 ? h->address : 0;
        snprintf(e->name, sizeof e->name, "%s", h->name);
        /* boot_san_dhcp returns 1 only for a root path that fits. */
        snprintf(e->root_path, sizeof e->root_path, "%.*s", BOOT_ROOT_PATH_MAX - 1, san_r == 1 ? san.uri : "");
        snprintf(e->initiator, sizeof e->initiator, "%s", san_r == 1 ? san.initiator : "");
    }
    return 0;
}

/* Reloads the hosts' MACs and static addresses when the table changed. */
static void refresh_inventory(struct dhcp_service *svc)
{
    uint64_t stamp;
    svc->inventory_gen = store_hosts_generation(svc->store);
    if (store_hosts_stamp(svc->store, &stamp) < 0 || (svc->inventory_loaded && stamp == svc->inventory_stamp))
        return;
    struct inv_acc a = {.conf = svc->conf, .store = svc->store};
    if (store_host_list(svc->store, NULL, take_host, &a) == 0 && dhcp_server_set_inventory(svc->srv, a.v, a.n) == 0) {
        svc->inventory_stamp = stamp;
        svc->inventory_loaded = true;
        log_debug("dhcp", "inventory: %zu host MACs", a.n);
    } else {
        log_warn("dhcp", "reading host records failed: %s", store_errmsg(svc->store));
    }
    free(a.v);
}

static void on_inventory_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    refresh_inventory(arg);
}

static int load_one(const struct store_lease *l, void *arg)
{
    return dhcp_server_load_lease(arg, l);
}

int dhcp_service_start(struct event_base *base, const struct conf *conf, struct store *store,
                       struct dhcp_service **out)
{
    struct dhcp_service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return -ENOMEM;
    svc->base = base;
    svc->store = store;
    int r = -ENOMEM;
    svc->queue = calloc(QUEUE_MAX, sizeof *svc->queue);
    svc->rx = calloc(BATCH_MAX, sizeof *svc->rx);
    svc->rx_msgs = calloc(BATCH_MAX, sizeof *svc->rx_msgs);
    svc->outbox = calloc(BATCH_MAX, sizeof *svc->outbox);
    svc->tx = calloc(QUEUE_MAX, sizeof *svc->tx);
    svc->tx_msgs = calloc(QUEUE_MAX, sizeof *svc->tx_msgs);
    svc->commit_timer = evtimer_new(base, on_commit_timer, svc);
    if (!svc->queue || !svc->rx || !svc->rx_msgs || !svc->outbox || !svc->tx || !svc->tx_msgs ||
        !svc->commit_timer || dhcp_server_new(conf, &svc->srv) < 0)
        goto fail;
    if ((r = store_lease_foreach(store, load_one, svc->srv)) < 0) {
        log_error("dhcp", "loading leases from the store failed");
        goto fail;
    }
    refresh_inventory(svc);
    svc->inventory_timer = event_new(base, -1, EV_PERSIST, on_inventory_timer, svc);
    if (!svc->inventory_timer) {
        r = -ENOMEM;
        goto fail;
    }
    struct timeval every = {INVENTORY_POLL_MS / 1000, (INVENTORY_POLL_MS % 1000) * 1000};
    evtimer_add(svc->inventory_timer, &every);
    if ((r = switch_sockets(svc, conf)) < 0)
        goto fail;
    svc->conf = conf;
    if (conf->dhcp_mode == DHCP_MODE_PROXY)
        log_info("dhcp", "proxyDHCP on %zu interface(s), ports %u and %u: boot information for PXE clients, "
                 "addresses left to the site's DHCP server", conf->n_dhcp_interfaces, conf->dhcp_port,
                 conf->dhcp_pxe_port);
    else
        log_info("dhcp", "serving on %zu interface(s), port %u, %zu lease record(s) loaded", svc->n_socks,
                 conf->dhcp_port, dhcp_server_lease_count(svc->srv));
    *out = svc;
    return 0;
fail:
    dhcp_service_stop(svc);
    return r;
}

int dhcp_service_reload(struct dhcp_service *svc, const struct conf *conf)
{
    const struct conf *old = svc->conf;
    /* Queued replies point at sockets a new config may close. */
    flush_queue(svc);
    if (dhcp_server_set_conf(svc->srv, conf) < 0)
        return -ENOMEM;
    if (switch_sockets(svc, conf) < 0) {
        dhcp_server_set_conf(svc->srv, old);
        return -EIO;
    }
    svc->conf = conf;
    return 0;
}

void dhcp_service_stop(struct dhcp_service *svc)
{
    if (!svc)
        return;
    if (svc->srv && svc->store)
        flush_queue(svc);
    if (svc->commit_timer)
        event_free(svc->commit_timer);
    if (svc->inventory_timer)
        event_free(svc->inventory_timer);
    for (size_t i = 0; i < svc->n_socks; i++)
        close_socket(svc->socks[i]);
    free(svc->socks);
    dhcp_server_free(svc->srv);
    free(svc->queue);
    free(svc->rx);
    free(svc->rx_msgs);
    free(svc->outbox);
    free(svc->tx);
    free(svc->tx_msgs);
    free(svc);
}

unsigned dhcp_service_forget_mac(void *arg, const uint8_t mac[6], uint32_t keep)
{
    struct dhcp_service *svc = arg;
    /* Called inside the birth's transaction: no commit of our own here.
     * The server drops pending writes of the addresses it forgets. */
    unsigned n = dhcp_server_forget_mac(svc->srv, mac, keep);
    unsigned deleted = 0;
    if (store_lease_delete_mac_except(svc->store, mac, keep, &deleted) < 0)
        log_warn("dhcp", "removing stale leases failed: %s", store_errmsg(svc->store));
    return n > deleted ? n : deleted;
}
