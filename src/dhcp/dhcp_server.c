#include "dhcp/dhcp_server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "dhcp/dhcp_lease.h"
#include "util/addr.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/metrics.h"

/* Uncommitted lease writes allowed before packets that need one are
 * refused. The shell commits after every batch of at most 64 packets. */
#define PENDING_MAX 1024

struct dhcp_server {
    const struct conf *conf;
    struct lease_table leases;
    struct pool *pools; /* one per conf->subnets[i] */
    size_t n_pools;
    struct store_lease *pending;
    size_t n_pending, cap_pending;
    enum dhcp_drop last_drop;
    struct ratelimit drop_log;
    struct dhcp_packet pkt; /* large: kept here, not on the stack */
    struct dhcp_exchange last; /* what the last packet saw and got */
    /* The inventory's view (dhcp_server_set_inventory): host records with
     * a static address act as reservations, sorted by MAC and by address;
     * every MAC of a host record is a known client, sorted. */
    struct conf_reservation *inv_by_mac, *inv_by_addr;
    size_t n_inv;
    uint8_t (*known)[6];
    size_t n_known;
    struct san_client *san; /* SAN-booting hosts' MACs, sorted */
    size_t n_san;
};

/* A MAC of a SAN-booting host: what its replies carry. */
struct san_client {
    uint8_t mac[6]; /* first: cmp_mac compares elements by it */
    char root_path[BOOT_ROOT_PATH_MAX];
    char initiator[BOOT_ISCSI_NAME_MAX];
};

/* ---- metrics ---- */

#define DROPPED "midwife_dhcp_dropped_total"
#define DROPPED_HELP "DHCP packets that got no answer, by reason"
#define D(reason) {DROPPED, DROPPED_HELP, METRIC_COUNTER, "reason", reason, 0, NULL}
static struct metric drop_metrics[DHCP_DROP_COUNT] = {
    D("none"), D("truncated"), D("bad_cookie"), D("oversized"), D("not_request"), D("bad_hwaddr"),
    D("option_overrun"), D("no_msg_type"), D("bad_msg_type"), D("no_subnet"), D("no_server_address"),
    D("pool_exhausted"), D("other_server"), D("unknown_client"), D("not_authoritative"), D("bad_request"),
    D("no_lease"), D("backlog"), D("reply_too_big"), D("proxy_not_pxe"), D("proxy_no_boot"),
};
#undef D

#define REQ(t) {"midwife_dhcp_requests_total", "DHCP requests received, by message type", METRIC_COUNTER, "type", t, 0, NULL}
static struct metric request_metrics[9] = {
    REQ("invalid"), REQ("discover"), REQ("offer"), REQ("request"), REQ("decline"),
    REQ("ack"), REQ("nak"), REQ("release"), REQ("inform"),
};
#undef REQ
#define REP(t) {"midwife_dhcp_replies_total", "DHCP replies sent, by message type", METRIC_COUNTER, "type", t, 0, NULL}
static struct metric reply_metrics[3] = {REP("offer"), REP("ack"), REP("nak")};
#undef REP

const char *dhcp_drop_name(enum dhcp_drop d)
{
    return d < DHCP_DROP_COUNT ? drop_metrics[d].label_value : "?";
}

uint64_t dhcp_drop_count(enum dhcp_drop d)
{
    return d < DHCP_DROP_COUNT ? drop_metrics[d].value : 0;
}

void dhcp_count_reply_sent(uint8_t msg_type)
{
    if (msg_type == DHCPOFFER)
        reply_metrics[0].value++;
    else if (msg_type == DHCPACK)
        reply_metrics[1].value++;
    else if (msg_type == DHCPNAK)
        reply_metrics[2].value++;
}

/* ---- setup ---- */

static void mark_record(struct lease *l, void *arg)
{
    struct dhcp_server *srv = arg;
    for (size_t i = 0; i < srv->n_pools; i++)
        pool_mark_used(&srv->pools[i], l->s.address);
}

static void free_pools(struct pool *pools, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pool_free(&pools[i]);
    free(pools);
}

int dhcp_server_set_conf(struct dhcp_server *srv, const struct conf *conf)
{
    struct pool *pools = calloc(conf->n_subnets ? conf->n_subnets : 1, sizeof *pools);
    if (!pools)
        return -ENOMEM;
    for (size_t i = 0; i < conf->n_subnets; i++)
        if (pool_init(&pools[i], &conf->subnets[i]) < 0) {
            free_pools(pools, i);
            return -ENOMEM;
        }
    for (size_t i = 0; i < conf->n_subnets; i++) {
        if (conf->server_address)
            pool_mark_used(&pools[i], conf->server_address);
        /* Reserved addresses go only to their owners. */
        for (size_t r = 0; r < conf->n_reservations; r++)
            pool_mark_used(&pools[i], conf->reservations[r].address);
        for (size_t r = 0; r < srv->n_inv; r++)
            pool_mark_used(&pools[i], srv->inv_by_mac[r].address);
    }
    free_pools(srv->pools, srv->n_pools);
    srv->pools = pools;
    srv->n_pools = conf->n_subnets;
    srv->conf = conf;
    lease_foreach(&srv->leases, mark_record, srv);
    return 0;
}

int dhcp_server_new(const struct conf *conf, struct dhcp_server **out)
{
    metrics_register_array(drop_metrics + 1, DHCP_DROP_COUNT - 1);
    metrics_register_array(request_metrics, sizeof request_metrics / sizeof request_metrics[0]);
    metrics_register_array(reply_metrics, sizeof reply_metrics / sizeof reply_metrics[0]);
    struct dhcp_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return -ENOMEM;
    srv->drop_log = (struct ratelimit)RATELIMIT_INIT(10000, 20);
    if (lease_table_init(&srv->leases) < 0 || dhcp_server_set_conf(srv, conf) < 0) {
        dhcp_server_free(srv);
        return -ENOMEM;
    }
    *out = srv;
    return 0;
}

void dhcp_server_free(struct dhcp_server *srv)
{
    if (!srv)
        return;
    lease_table_free(&srv->leases);
    free_pools(srv->pools, srv->n_pools);
    free(srv->pending);
    free(srv->inv_by_mac);
    free(srv->inv_by_addr);
    free(srv->known);
    free(srv->san);
    free(srv);
}

int dhcp_server_load_lease(struct dhcp_server *srv, const struct store_lease *lease)
{
    int r = lease_load(&srv->leases, lease);
    if (r == 0)
        for (size_t i = 0; i < srv->n_pools; i++)
            pool_mark_used(&srv->pools[i], lease->address);
    return r;
}

size_t dhcp_server_pending(const struct dhcp_server *srv, const struct store_lease **writes)
{
    *writes = srv->pending;
    return srv->n_pending;
}

void dhcp_server_clear_pending(struct dhcp_server *srv)
{
    srv->n_pending = 0;
}

enum dhcp_drop dhcp_server_last_drop(const struct dhcp_server *srv)
{
    return srv->last_drop;
}

const struct store_lease *dhcp_server_lease(const struct dhcp_server *srv, uint32_t address)
{
    const struct lease *l = lease_find(&srv->leases, address);
    return l ? &l->s : NULL;
}

size_t dhcp_server_lease_count(const struct dhcp_server *srv)
{
    return srv->leases.count;
}

/* ---- one packet ---- */

struct ctx {
    struct dhcp_server *srv;
    const struct conf *conf;
    const struct dhcp_packet *p;
    const struct dhcp_rx_meta *meta;
    int64_t now;
    struct dhcp_reply *reply;
    struct client_key client;
    char mac[3 * 16 + 1];
    const struct conf_subnet *subnet;
    struct pool *pool;
    const struct conf_reservation *res;
    uint32_t server_id;
    struct boot_plan plan;
    int32_t plan_arch; /* option 93 as decide_boot read it, -1 absent */
    const char *root_path; /* option 17 put in the reply, NULL none */
};

/* Counted, not logged: for what is normal on a link (in proxy mode every
 * ordinary client's DHCP traffic is someone else's business). */
static int drop_quietly(struct ctx *c, enum dhcp_drop reason)
{
    c->srv->last_drop = reason;
    drop_metrics[reason].value++;
    return 0;
}

static int drop(struct ctx *c, enum dhcp_drop reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int drop(struct ctx *c, enum dhcp_drop reason, const char *fmt, ...)
{
    drop_quietly(c, reason);
    unsigned suppressed = 0;
    if (!ratelimit_allow(&c->srv->drop_log, clock_mono_ms(), &suppressed))
        return 0;
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    char src[IPV4_STRLEN], more[64] = "";
    if (suppressed)
        snprintf(more, sizeof more, " (%u similar messages suppressed)", suppressed);
    log_info("dhcp", "dropped packet from %s on %s (%s): %s%s",
             c->mac[0] ? c->mac : format_ipv4(c->meta->src_addr, src), c->meta->ifname,
             dhcp_drop_name(reason), detail, more);
    return 0;
}

static bool in_subnet(const struct conf_subnet *s, uint32_t addr)
{
    return (addr & s->netmask) == s->network;
}

static size_t subnet_index_for(const struct conf *conf, uint32_t addr)
{
    for (size_t i = 0; i < conf->n_subnets; i++)
        if (in_subnet(&conf->subnets[i], addr))
            return i;
    return SIZE_MAX;
}

/* RFC 3046 §2.0: suboption 5 (RFC 3527 link selection) names the client's
 * link when giaddr cannot (the relay's address is on another network). */
static bool relay_link_selection(const struct dhcp_packet *p, uint32_t *out)
{
    size_t n;
    const uint8_t *v = dhcp_opt(p, OPT_RELAY_AGENT, &n);
    for (size_t i = 0; v && i + 2 <= n;) {
        uint8_t code = v[i], len = v[i + 1];
        if (len > n - i - 2)
            return false;
        if (code == 5 && len == 4) {
            *out = (uint32_t)v[i + 2] << 24 | (uint32_t)v[i + 3] << 16 | (uint32_t)v[i + 4] << 8 | v[i + 5];
            return true;
        }
        i += 2 + (size_t)len;
    }
    return false;
}

/* Which of our networks the client is on: an explicit selection option
 * first, then the relay's address, then the interface it arrived on. */
static size_t choose_subnet(const struct ctx *c)
{
    const struct conf *conf = c->conf;
    uint32_t a;
    /* RFC 3011: the client names the subnet it wants (option 118). */
    if (dhcp_opt_addr(c->p, OPT_SUBNET_SELECTION, &a))
        return subnet_index_for(conf, a);
    if (c->p->giaddr && relay_link_selection(c->p, &a))
        return subnet_index_for(conf, a);
    /* RFC 2131 §4.3.1: "If the client's request arrived via a relay, the
     * server selects the subnet from giaddr". */
    if (c->p->giaddr)
        return subnet_index_for(conf, c->p->giaddr);
    for (size_t i = 0; i < conf->n_subnets; i++)
        if (conf->subnets[i].interface[0] && strcmp(conf->subnets[i].interface, c->meta->ifname) == 0)
            return i;
    if (c->meta->local_addr) {
        size_t i = subnet_index_for(conf, c->meta->local_addr);
        if (i != SIZE_MAX && !conf->subnets[i].interface[0])
            return i;
    }
    return SIZE_MAX;
}

static int cmp_res_mac(const void *a, const void *b)
{
    return memcmp(((const struct conf_reservation *)a)->mac, ((const struct conf_reservation *)b)->mac, 6);
}

static int cmp_res_addr(const void *a, const void *b)
{
    uint32_t x = ((const struct conf_reservation *)a)->address, y = ((const struct conf_reservation *)b)->address;
    return x < y ? -1 : x > y;
}

static int cmp_mac(const void *a, const void *b)
{
    return memcmp(a, b, 6);
}

/* The config's reservations first (an operator's explicit word), then the
 * inventory's static addresses. */
static const struct conf_reservation *reservation_for(const struct dhcp_server *srv, const struct client_key *k)
{
    if (k->htype != 1 || k->hlen != 6)
        return NULL;
    const struct conf *conf = srv->conf;
    for (size_t i = 0; i < conf->n_reservations; i++)
        if (memcmp(conf->reservations[i].mac, k->hw, 6) == 0)
            return &conf->reservations[i];
    struct conf_reservation key;
    memcpy(key.mac, k->hw, 6);
    return srv->n_inv ? bsearch(&key, srv->inv_by_mac, srv->n_inv, sizeof key, cmp_res_mac) : NULL;
}

static const struct conf_reservation *reservation_of_addr(const struct dhcp_server *srv, uint32_t addr)
{
    const struct conf *conf = srv->conf;
    for (size_t i = 0; i < conf->n_reservations; i++)
        if (conf->reservations[i].address == addr)
            return &conf->reservations[i];
    struct conf_reservation key = {.address = addr};
    const struct conf_reservation *r =
        srv->n_inv ? bsearch(&key, srv->inv_by_addr, srv->n_inv, sizeof key, cmp_res_addr) : NULL;
    /* The by-address copy points back to the by-MAC entry, so a client's
     * reservation compares equal whichever way it was found. */
    if (r) {
        key = *r;
        r = bsearch(&key, srv->inv_by_mac, srv->n_inv, sizeof key, cmp_res_mac);
    }
    return r;
}

static bool known_mac(const struct dhcp_server *srv, const struct client_key *k)
{
    return k->htype == 1 && k->hlen == 6 && srv->n_known &&
           bsearch(k->hw, srv->known, srv->n_known, 6, cmp_mac) != NULL;
}

static const struct san_client *san_client_for(const struct dhcp_server *srv, const struct client_key *k)
{
    if (k->htype != 1 || k->hlen != 6 || !srv->n_san)
        return NULL;
    return bsearch(k->hw, srv->san, srv->n_san, sizeof *srv->san, cmp_mac);
}

/* The SAN-booting MACs of hosts (n_san of them) into a sorted table. */
static struct san_client *san_table(const struct dhcp_inventory_host *hosts, size_t n, size_t n_san)
{
    struct san_client *t = calloc(n_san ? n_san : 1, sizeof *t);
    if (!t)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!hosts[i].root_path[0])
            continue;
        memcpy(t[k].mac, hosts[i].mac, 6);
        snprintf(t[k].root_path, sizeof t[k].root_path, "%s", hosts[i].root_path);
        snprintf(t[k].initiator, sizeof t[k].initiator, "%s", hosts[i].initiator);
        k++;
    }
    qsort(t, k, sizeof *t, cmp_mac);
    return t;
}

int dhcp_server_set_inventory(struct dhcp_server *srv, const struct dhcp_inventory_host *hosts, size_t n)
{
    size_t n_res = 0, n_san = 0;
    for (size_t i = 0; i < n; i++) {
        n_res += hosts[i].address != 0;
        n_san += hosts[i].root_path[0] != '\0';
    }
    struct conf_reservation *by_mac = calloc(n_res ? n_res : 1, sizeof *by_mac);
    struct conf_reservation *by_addr = calloc(n_res ? n_res : 1, sizeof *by_addr);
    uint8_t(*known)[6] = calloc(n ? n : 1, 6);
    struct san_client *san = san_table(hosts, n, n_san);
    if (!by_mac || !by_addr || !known || !san) {
        free(by_mac);
        free(by_addr);
        free(known);
        free(san);
        return -ENOMEM;
    }
    free(srv->san);
    srv->san = san;
    srv->n_san = n_san;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(known[i], hosts[i].mac, 6);
        if (!hosts[i].address)
            continue;
        struct conf_reservation *r = &by_mac[k++];
        memcpy(r->mac, hosts[i].mac, 6);
        r->address = hosts[i].address;
        snprintf(r->name, sizeof r->name, "%s", hosts[i].name);
        snprintf(r->hostname, sizeof r->hostname, "%s", hosts[i].name);
    }
    qsort(by_mac, k, sizeof *by_mac, cmp_res_mac);
    memcpy(by_addr, by_mac, k * sizeof *by_mac);
    qsort(by_addr, k, sizeof *by_addr, cmp_res_addr);
    qsort(known, n, 6, cmp_mac);
    free(srv->inv_by_mac);
    free(srv->inv_by_addr);
    free(srv->known);
    srv->inv_by_mac = by_mac;
    srv->inv_by_addr = by_addr;
    srv->n_inv = k;
    srv->known = known;
    srv->n_known = n;
    /* Static addresses leave the dynamic pools. One that is given up
     * stays out until the next reload rebuilds the pools: never handing
     * out an address someone may still hold beats reusing it early. */
    for (size_t i = 0; i < srv->n_pools; i++)
        for (size_t j = 0; j < k; j++)
            pool_mark_used(&srv->pools[i], by_mac[j].address);
    return 0;
}

static uint32_t next_server(const struct ctx *c);

static void decide_boot(struct ctx *c)
{
    struct boot_identity id = {.arch = -1, .known = c->res != NULL || known_mac(c->srv, &c->client)};
    const struct dhcp_packet *p = c->p;
    if (p->htype == 1 && p->hlen == 6) {
        memcpy(id.mac, p->chaddr, 6);
        id.has_mac = true;
    }
    size_t n;
    const uint8_t *v = dhcp_opt(p, OPT_CLIENT_ARCH, &n);
    /* RFC 4578 §2.1: a list of 16-bit types; the first is the one running. */
    if (v && n >= 2 && n % 2 == 0)
        id.arch = (int32_t)(v[0] << 8 | v[1]);
    id.vendor_class = dhcp_opt(p, OPT_VENDOR_CLASS, &id.vendor_class_len);
    id.user_class = dhcp_opt(p, OPT_USER_CLASS, &id.user_class_len);
    id.ipxe_options = dhcp_opt(p, OPT_IPXE_ENCAP, &n) != NULL;
    /* "{http}" URLs point where the client is told to fetch from. */
    id.server_addr = next_server(c);
    boot_decide(c->conf, &id, &c->plan);
    c->plan_arch = id.arch;
}

/* ---- addresses ---- */

enum verdict { ADDR_OK, ADDR_TAKEN, ADDR_WRONG_NET, ADDR_UNKNOWN };

/* May this client have addr? Used for every request naming an address. */
static enum verdict check_address(const struct ctx *c, uint32_t addr)
{
    if (!in_subnet(c->subnet, addr) || addr == c->subnet->network || addr == (c->subnet->network | ~c->subnet->netmask))
        return ADDR_WRONG_NET;
    const struct conf_reservation *r = reservation_of_addr(c->srv, addr);
    bool its_reservation = r && r == c->res;
    if (r && !its_reservation)
        return ADDR_TAKEN;
    if (addr == c->server_id || addr == c->subnet->router)
        return ADDR_TAKEN;
    const struct lease *l = lease_find(&c->srv->leases, addr);
    if (l) {
        if (!l->offer_only && l->s.state == LEASE_DECLINED && l->s.expires > c->now)
            return ADDR_TAKEN;
        if (!lease_owned_by(l, &c->client))
            /* A reservation outranks a stale record of someone else. */
            return its_reservation && !lease_active(l, c->now) ? ADDR_OK : ADDR_TAKEN;
        /* Ours, but the pool may have shrunk under it since. */
        return its_reservation || pool_contains(c->pool, addr) ? ADDR_OK : ADDR_TAKEN;
    }
    return its_reservation ? ADDR_OK : ADDR_UNKNOWN;
}

struct reclaim {
    const struct ctx *c;
    struct lease *best;
};

static void consider_reclaim(struct lease *l, void *arg)
{
    struct reclaim *rc = arg;
    if (!pool_contains(rc->c->pool, l->s.address) || lease_active(l, rc->c->now) ||
        reservation_of_addr(rc->c->srv, l->s.address) || l->s.address == rc->c->server_id)
        return;
    if (!rc->best || l->s.expires < rc->best->s.expires)
        rc->best = l;
}

/* RFC 2131 §4.3.1 order: the client's current or previous address, the
 * address it asks for, then a new one. */
static uint32_t choose_address(struct ctx *c)
{
    if (c->res && check_address(c, c->res->address) == ADDR_OK)
        return c->res->address;
    struct lease *own = lease_find_client(&c->srv->leases, &c->client, c->subnet->network, c->subnet->netmask);
    if (own && check_address(c, own->s.address) == ADDR_OK)
        return own->s.address;
    uint32_t want;
    if (dhcp_opt_addr(c->p, OPT_REQUESTED_ADDR, &want) && pool_contains(c->pool, want)) {
        enum verdict v = check_address(c, want);
        if (v == ADDR_OK || v == ADDR_UNKNOWN)
            return want;
    }
    for (;;) {
        uint32_t a = pool_next_free(c->pool);
        if (!a)
            break;
        pool_mark_used(c->pool, a);
        /* The interface's own address may sit inside a range by mistake. */
        if (a != c->server_id && a != c->meta->local_addr)
            return a;
    }
    /* Every address has a record: reuse the longest-unused one that nobody
     * holds. O(records), reached only when the pool is full. */
    struct reclaim rc = {c, NULL};
    lease_foreach(&c->srv->leases, consider_reclaim, &rc);
    return rc.best ? rc.best->s.address : 0;
}

/* The record for addr, created or handed to this client. */
static struct lease *take_record(struct ctx *c, uint32_t addr)
{
    struct lease *l = lease_find(&c->srv->leases, addr);
    if (!l) {
        l = lease_create(&c->srv->leases, addr, &c->client);
        if (l)
            pool_mark_used(c->pool, addr);
        return l;
    }
    if (!lease_owned_by(l, &c->client)) {
        lease_set_owner(&c->srv->leases, l, &c->client);
        l->offer_only = true;
        l->s.has_uuid = false;
    } else if (c->client.cid_len != l->s.client_id_len ||
               (c->client.cid_len && memcmp(c->client.cid, l->s.client_id, c->client.cid_len) != 0)) {
        /* Same machine, new client identifier: follow it. */
        lease_set_owner(&c->srv->leases, l, &c->client);
    }
    return l;
}

static void copy_text_opt(const struct dhcp_packet *p, uint8_t code, char *dst, size_t dstlen)
{
    size_t n;
    const uint8_t *v = dhcp_opt(p, code, &n);
    if (!v) {
        dst[0] = '\0';
        return;
    }
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* Everything the client told us, kept with the lease. */
static void record_client(struct ctx *c, struct lease *l)
{
    const struct dhcp_packet *p = c->p;
    struct store_lease *s = &l->s;
    copy_text_opt(p, OPT_HOSTNAME, s->hostname, sizeof s->hostname);
    copy_text_opt(p, OPT_VENDOR_CLASS, s->vendor_class, sizeof s->vendor_class);
    copy_text_opt(p, OPT_USER_CLASS, s->user_class, sizeof s->user_class);
    snprintf(s->subnet, sizeof s->subnet, "%s", c->subnet->name);
    s->giaddr = p->giaddr;
    size_t n;
    const uint8_t *v = dhcp_opt(p, OPT_RELAY_AGENT, &n);
    s->relay_info_len = v && n <= STORE_RELAY_MAX ? (uint16_t)n : 0;
    if (s->relay_info_len)
        memcpy(s->relay_info, v, n);
    v = dhcp_opt(p, OPT_CLIENT_ARCH, &n);
    s->arch = v && n >= 2 && n % 2 == 0 ? (int32_t)(v[0] << 8 | v[1]) : -1;
    /* RFC 4578 §2.5: type 0 then a 16-byte GUID (the SMBIOS UUID, which
     * later identifies the host at birth). */
    v = dhcp_opt(c->p, OPT_UUID, &n);
    s->has_uuid = v && n == 17 && v[0] == 0;
    if (s->has_uuid)
        memcpy(s->uuid, v + 1, 16);
}

static bool queue_write(struct ctx *c, const struct lease *l)
{
    struct dhcp_server *srv = c->srv;
    if (srv->n_pending == srv->cap_pending) {
        if (srv->cap_pending >= PENDING_MAX)
            return false;
        size_t cap = srv->cap_pending ? srv->cap_pending * 2 : 16;
        void *q = realloc(srv->pending, cap * sizeof *srv->pending);
        if (!q)
            return false;
        srv->pending = q;
        srv->cap_pending = cap;
    }
    srv->pending[srv->n_pending++] = l->s;
    return true;
}

static bool pending_full(const struct dhcp_server *srv)
{
    return srv->n_pending >= PENDING_MAX;
}

/* ---- replies ---- */

struct opt_item {
    uint8_t code;
    const void *data;
    size_t len;
};

static size_t put_addrs(uint8_t *out, const uint32_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[4 * i] = (uint8_t)(a[i] >> 24);
        out[4 * i + 1] = (uint8_t)(a[i] >> 16);
        out[4 * i + 2] = (uint8_t)(a[i] >> 8);
        out[4 * i + 3] = (uint8_t)a[i];
    }
    return 4 * n;
}

static uint32_t next_server(const struct ctx *c)
{
    if (c->subnet->next_server)
        return c->subnet->next_server;
    return c->conf->server_address ? c->conf->server_address : c->meta->local_addr;
}

/* RFC 2131 §4.1, above the code that implements it:
 *
 * "If the 'giaddr' field in a DHCP message from a client is non-zero, the
 * server sends any return messages to the 'DHCP server' port on the BOOTP
 * relay agent whose address appears in 'giaddr'. If the 'giaddr' field is
 * zero and the 'ciaddr' field is nonzero, then the server unicasts
 * DHCPOFFER and DHCPACK messages to the address in 'ciaddr'. If 'giaddr'
 * is zero and 'ciaddr' is zero, and the broadcast bit is set, then the
 * server broadcasts DHCPOFFER and DHCPACK messages to 0xffffffff. If the
 * broadcast bit is not set and 'giaddr' is zero and 'ciaddr' is zero, then
 * the server unicasts DHCPOFFER and DHCPACK messages to the client's
 * hardware address and 'yiaddr' address. In all cases, when 'giaddr' is
 * zero, the server broadcasts any DHCPNAK messages to 0xffffffff." */
static void set_destination(struct ctx *c, uint32_t yiaddr)
{
    struct dhcp_reply *r = c->reply;
    const struct dhcp_packet *p = c->p;
    uint16_t client_port = (uint16_t)(c->conf->dhcp_port + 1);
    r->dst_port = client_port;
    if (c->meta->pxe_port) {
        /* PXE 2.1, proxyDHCP beside a DHCP server: the client, which
         * has its address by now, unicasts its DHCPREQUEST to port 4011
         * and the answer goes back to that address and the port it came
         * from (ciaddr, else the packet's source; a client that has none
         * still hears a broadcast). */
        uint32_t to = p->ciaddr ? p->ciaddr : c->meta->src_addr;
        r->dest = to ? DHCP_DEST_UNICAST : DHCP_DEST_BROADCAST;
        r->dst_addr = to ? to : 0xffffffffu;
        r->dst_port = c->meta->src_port ? c->meta->src_port : client_port;
    } else if (p->giaddr) {
        r->dest = DHCP_DEST_RELAY;
        r->dst_addr = p->giaddr;
        r->dst_port = c->conf->dhcp_port;
    } else if (r->msg_type == DHCPNAK) {
        r->dest = DHCP_DEST_BROADCAST;
        r->dst_addr = 0xffffffffu;
    } else if (p->ciaddr) {
        r->dest = DHCP_DEST_UNICAST;
        r->dst_addr = p->ciaddr;
    } else if ((p->flags & DHCP_FLAG_BROADCAST) || !yiaddr) {
        r->dest = DHCP_DEST_BROADCAST;
        r->dst_addr = 0xffffffffu;
    } else {
        r->dest = DHCP_DEST_UNICAST_HW;
        r->dst_addr = yiaddr;
    }
    memcpy(r->chaddr, p->chaddr, sizeof r->chaddr);
    r->hlen = p->hlen;
    r->ifindex = c->meta->ifindex;
    r->src_addr = c->server_id;
}

static void put_item(struct ctx *c, struct dhcp_builder *b, const struct opt_item *it)
{
    /* The flight recorder tells a root path only when it went out. */
    if (dhcp_build_option(b, it->code, it->data, it->len) < 0 && it->code == OPT_ROOT_PATH)
        c->root_path = NULL;
}

#define ITEMS_MAX 14

/* Appends items: those the client asked for (option 55) in its order, then
 * the rest (RFC 2131 §4.3.1 lets the server add others). */
static void put_items(struct ctx *c, struct dhcp_builder *b, const struct opt_item *items, size_t n)
{
    bool done[ITEMS_MAX] = {false};
    size_t prl_len = 0;
    const uint8_t *prl = dhcp_opt(c->p, OPT_PARAM_LIST, &prl_len);
    for (size_t i = 0; prl && i < prl_len; i++)
        for (size_t k = 0; k < n; k++)
            if (!done[k] && items[k].code == prl[i]) {
                put_item(c, b, &items[k]);
                done[k] = true;
            }
    for (size_t k = 0; k < n; k++)
        if (!done[k])
            put_item(c, b, &items[k]);
}

/* RFC 2132 §3.19: "the path-name that contains the client's root disk" —
 * for a SAN-booting host its RFC 4173 iSCSI URI, for iPXE and for the
 * booted system alike. Option 203 is iPXE's initiator-iqn (site-specific
 * range): only iPXE gets it. Both are boot information, so a proxy reply
 * carries them too (iPXE reads a setting the lease lacks from the proxy
 * offer). Returns the new item count. */
static size_t put_san_items(struct ctx *c, struct opt_item *items, size_t n)
{
    const struct san_client *san = san_client_for(c->srv, &c->client);
    if (!san)
        return n;
    items[n++] = (struct opt_item){OPT_ROOT_PATH, san->root_path, strlen(san->root_path)};
    c->root_path = san->root_path;
    if (san->initiator[0] && c->plan.client == BOOT_CLIENT_IPXE)
        items[n++] = (struct opt_item){OPT_ISCSI_INITIATOR, san->initiator, strlen(san->initiator)};
    return n;
}

/* PXE 2.1, the "PXEClient" vendor options (option 43): sub-option 6
 * PXE_DISCOVERY_CONTROL is a bit field whose bit 3 says: a boot file name
 * is in this (proxy) offer, download it; no menu, no prompt, no boot
 * server discovery. The list ends with PXE_END (255). */
static const uint8_t pxe_vendor_boot_file[] = {6, 1, 1u << 3, 255};

/* A proxy reply's options: boot information only, nothing about the
 * network, which is the other server's to say. */
static void put_proxy_parameters(struct ctx *c, struct dhcp_builder *b)
{
    char tftp[IPV4_STRLEN];
    struct opt_item items[ITEMS_MAX];
    size_t n = 0;
    if (c->plan.client == BOOT_CLIENT_HTTP) {
        /* UEFI HTTP Boot takes an offer with no address, option 60
         * "HTTPClient" and a URI as a proxy offer (UEFI 2.5+ §24.7.2) and
         * pairs it with the DHCP server's address offer. No TFTP server,
         * no PXE vendor options. */
        items[n++] = (struct opt_item){OPT_VENDOR_CLASS, "HTTPClient", 10};
        items[n++] = (struct opt_item){OPT_BOOTFILE, c->plan.filename, strlen(c->plan.filename)};
        put_items(c, b, items, put_san_items(c, items, n));
        return;
    }
    format_ipv4(next_server(c), tftp);
    /* A reply without option 60 "PXEClient" is not a proxy offer to a
     * PXE client: it would take it for an ordinary (addressless) one. */
    items[n++] = (struct opt_item){OPT_VENDOR_CLASS, "PXEClient", 9};
    items[n++] = (struct opt_item){OPT_TFTP_SERVER, tftp, strlen(tftp)};
    items[n++] = (struct opt_item){OPT_BOOTFILE, c->plan.filename, strlen(c->plan.filename)};
    items[n++] = (struct opt_item){OPT_VENDOR_SPECIFIC, pxe_vendor_boot_file, sizeof pxe_vendor_boot_file};
    /* The client's machine identifier (RFC 4578 §2.5: type 0, 16 bytes),
     * echoed as PXE servers do; a malformed one is left out. */
    size_t ulen;
    const uint8_t *uuid = dhcp_opt(c->p, OPT_UUID, &ulen);
    if (uuid && ulen == 17 && uuid[0] == 0)
        items[n++] = (struct opt_item){OPT_UUID, uuid, ulen};
    put_items(c, b, items, put_san_items(c, items, n));
}

/* Appends the configured options for the client's subnet and, for a boot
 * client, its boot information. */
static void put_parameters(struct ctx *c, struct dhcp_builder *b, bool boot)
{
    const struct conf_subnet *s = c->subnet;
    uint8_t mask[4], router[4], dns[4 * CONF_MAX_DNS], ntp[4 * CONF_MAX_NTP], tftp[IPV4_STRLEN];
    struct opt_item items[ITEMS_MAX];
    size_t n = 0;
    put_addrs(mask, &s->netmask, 1);
    items[n++] = (struct opt_item){OPT_SUBNET_MASK, mask, 4};
    if (s->router)
        items[n++] = (struct opt_item){OPT_ROUTER, router, put_addrs(router, &s->router, 1)};
    if (s->n_dns)
        items[n++] = (struct opt_item){OPT_DNS, dns, put_addrs(dns, s->dns, s->n_dns)};
    if (s->domain[0])
        items[n++] = (struct opt_item){OPT_DOMAIN, s->domain, strlen(s->domain)};
    if (s->n_ntp)
        items[n++] = (struct opt_item){OPT_NTP, ntp, put_addrs(ntp, s->ntp, s->n_ntp)};
    if (c->res && c->res->hostname[0])
        items[n++] = (struct opt_item){OPT_HOSTNAME, c->res->hostname, strlen(c->res->hostname)};
    n = put_san_items(c, items, n);
    if (boot) {
        /* UEFI 2.5+ §24.7.2: an HTTP boot client ignores an offer whose
         * option 60 is not "HTTPClient"; its boot file is a URL, so it
         * gets no TFTP server name. */
        bool http = c->plan.client == BOOT_CLIENT_HTTP;
        const char *vc = http ? "HTTPClient" : "PXEClient";
        items[n++] = (struct opt_item){OPT_VENDOR_CLASS, vc, strlen(vc)};
        if (!http) {
            format_ipv4(next_server(c), (char *)tftp);
            items[n++] = (struct opt_item){OPT_TFTP_SERVER, tftp, strlen((char *)tftp)};
        }
        items[n++] = (struct opt_item){OPT_BOOTFILE, c->plan.filename, strlen(c->plan.filename)};
        if (c->plan.client == BOOT_CLIENT_PXE)
            items[n++] = (struct opt_item){OPT_VENDOR_SPECIFIC, pxe_vendor_boot_file, sizeof pxe_vendor_boot_file};
    }
    put_items(c, b, items, n);
}

/* Builds a reply of msg_type. yiaddr 0 and lease_time 0 for INFORM/NAK. */
static int build_reply(struct ctx *c, uint8_t msg_type, uint32_t yiaddr, uint32_t lease_time)
{
    struct dhcp_reply *r = c->reply;
    struct dhcp_builder b;
    size_t relay_len = 0;
    const uint8_t *relay = dhcp_opt(c->p, OPT_RELAY_AGENT, &relay_len);
    /* Keep room for the relay information so it always survives. */
    size_t relay_room = relay ? relay_len + 2 * ((relay_len + 254) / 255 + (relay_len == 0)) : 0;
    size_t cap = dhcp_reply_cap(c->p);
    if (cap <= relay_room + DHCP_MIN_LEN + 16)
        return drop(c, DHCP_DROP_REPLY_TOO_BIG, "option 82 of %zu bytes leaves no room", relay_len);
    r->msg_type = msg_type;
    dhcp_build_begin(&b, r->data, cap - relay_room, c->p, msg_type);
    dhcp_build_option_u32(&b, OPT_SERVER_ID, c->server_id);
    if (msg_type == DHCPNAK) {
        /* RFC 2131 §4.3.2: "if giaddr is set in the DHCPREQUEST, the server
         * MUST set the broadcast bit in the DHCPNAK" so the relay broadcasts. */
        if (c->p->giaddr)
            dhcp_build_set_flags(&b, c->p->flags | DHCP_FLAG_BROADCAST);
    } else if (c->conf->dhcp_mode == DHCP_MODE_PROXY) {
        /* yiaddr stays 0: the address is the other server's. */
        if (msg_type == DHCPACK)
            dhcp_build_set_ciaddr(&b, c->p->ciaddr);
        dhcp_build_set_siaddr(&b, next_server(c));
        dhcp_build_set_file(&b, c->plan.filename);
        put_proxy_parameters(c, &b);
    } else {
        /* RFC 2131 table 3: ciaddr is copied into the ACK (it is 0 in an
         * OFFER); INFORM gets no lease time and no yiaddr. */
        if (msg_type == DHCPACK)
            dhcp_build_set_ciaddr(&b, c->p->ciaddr);
        dhcp_build_set_yiaddr(&b, yiaddr);
        if (lease_time) {
            dhcp_build_option_u32(&b, OPT_LEASE_TIME, lease_time);
            dhcp_build_option_u32(&b, OPT_T1, lease_time / 2);
            dhcp_build_option_u32(&b, OPT_T2, (uint32_t)((uint64_t)lease_time * 7 / 8));
        }
        bool boot = c->plan.client != BOOT_CLIENT_PLAIN && c->plan.filename[0];
        if (boot) {
            dhcp_build_set_siaddr(&b, next_server(c));
            /* Long names (iPXE script URLs) only fit option 67. */
            dhcp_build_set_file(&b, c->plan.filename);
        }
        put_parameters(c, &b, boot);
    }
    /* RFC 3046 §2.2: "the DHCP server MUST copy the Relay Agent Information
     * option as received ... immediately before the End option". */
    b.cap = cap;
    if (relay && dhcp_build_option(&b, OPT_RELAY_AGENT, relay, relay_len) < 0)
        return drop(c, DHCP_DROP_REPLY_TOO_BIG, "no room to echo option 82");
    r->len = dhcp_build_finish(&b);
    if (b.overflow)
        log_debug("dhcp", "reply to %s lost options that did not fit %zu bytes", c->mac, cap);
    set_destination(c, yiaddr);
    return 1;
}

static int nak(struct ctx *c, const char *why, uint32_t addr)
{
    char a[IPV4_STRLEN];
    log_info("dhcp", "NAK %s on %s: %s %s", c->mac, c->subnet->name, why, format_ipv4(addr, a));
    c->plan.client = BOOT_CLIENT_PLAIN;
    return build_reply(c, DHCPNAK, 0, 0);
}

/* ---- message handlers ---- */

static int on_discover(struct ctx *c)
{
    uint32_t addr = choose_address(c);
    if (!addr)
        return drop(c, DHCP_DROP_POOL_EXHAUSTED, "no free address in %s", c->subnet->name);
    struct lease *l = take_record(c, addr);
    if (!l)
        return drop(c, DHCP_DROP_POOL_EXHAUSTED, "out of memory");
    /* RFC 2131 §4.3.1: the offered address is held so a concurrent client
     * is not offered it too; offer_hold bounds how long. */
    l->offer_until = c->now + c->conf->offer_hold;
    char a[IPV4_STRLEN];
    log_info("dhcp", "OFFER %s to %s on %s; boot: %s", format_ipv4(addr, a), c->mac, c->subnet->name,
             c->plan.reason);
    return build_reply(c, DHCPOFFER, addr, c->subnet->lease_time);
}

static int ack_lease(struct ctx *c, uint32_t addr)
{
    if (pending_full(c->srv))
        return drop(c, DHCP_DROP_BACKLOG, "too many uncommitted lease writes");
    struct lease *l = take_record(c, addr);
    if (!l)
        return drop(c, DHCP_DROP_BACKLOG, "out of memory");
    record_client(c, l);
    l->offer_only = false;
    l->offer_until = 0;
    l->s.state = LEASE_BOUND;
    l->s.starts = c->now;
    l->s.expires = c->now + c->subnet->lease_time;
    if (!queue_write(c, l))
        return drop(c, DHCP_DROP_BACKLOG, "cannot queue the lease write");
    char a[IPV4_STRLEN], host[LOG_ESCAPED_SIZE(64)];
    /* The name the client sent (option 12), when it sent one. */
    bool named = l->s.hostname[0] != '\0';
    log_info("dhcp", "ACK %s to %s%s%s%s on %s; boot: %s", format_ipv4(addr, a), c->mac,
             named ? " (hostname \"" : "", log_escape(host, sizeof host, l->s.hostname, strlen(l->s.hostname)),
             named ? "\")" : "", c->subnet->name, c->plan.reason);
    if (build_reply(c, DHCPACK, addr, c->subnet->lease_time) != 1)
        return 0;
    c->reply->needs_commit = true;
    return 1;
}

static int on_request(struct ctx *c)
{
    const struct dhcp_packet *p = c->p;
    uint32_t sid, want;
    bool has_sid = dhcp_opt_addr(p, OPT_SERVER_ID, &sid);
    bool has_want = dhcp_opt_addr(p, OPT_REQUESTED_ADDR, &want);
    enum verdict v;

    if (has_sid) {
        /* RFC 2131 §4.3.2 SELECTING: "If the server identifier differs from
         * the server's own, the client has chosen another server": forget
         * our offer and stay silent. */
        if (sid != c->server_id) {
            struct lease *l = lease_find_client(&c->srv->leases, &c->client, c->subnet->network, c->subnet->netmask);
            if (l)
                l->offer_until = 0;
            return drop(c, DHCP_DROP_OTHER_SERVER, "client chose another server");
        }
        if (!has_want)
            return drop(c, DHCP_DROP_BAD_REQUEST, "SELECTING without a requested address");
        v = check_address(c, want);
        /* Our offers live in memory only: after a restart the client may
         * confirm an offer we forgot. A free pool address is still fine. */
        if (v == ADDR_OK || (v == ADDR_UNKNOWN && pool_contains(c->pool, want)))
            return ack_lease(c, want);
        return nak(c, "requested address not offered to it", want);
    }

    /* INIT-REBOOT: "'server identifier' MUST NOT be filled in, 'requested IP
     * address' option MUST be filled in with client's notion of its
     * previously assigned address. 'ciaddr' MUST be zero." */
    /* RENEWING/REBINDING: no server identifier, no requested address,
     * ciaddr holds the address being extended. */
    bool init_reboot = p->ciaddr == 0;
    if (init_reboot && !has_want)
        return drop(c, DHCP_DROP_BAD_REQUEST, "REQUEST with neither ciaddr nor a requested address");
    uint32_t addr = init_reboot ? want : p->ciaddr;
    v = check_address(c, addr);
    switch (v) {
    case ADDR_OK:
        return ack_lease(c, addr);
    case ADDR_WRONG_NET:
        /* "If the client's notion of its network address is incorrect (e.g.,
         * the client has moved to a new subnet), the server SHOULD send a
         * DHCPNAK". */
        return nak(c, "address is not on the client's network:", addr);
    case ADDR_TAKEN:
        return nak(c, "address belongs to another client:", addr);
    case ADDR_UNKNOWN:
    default:
        /* "If the DHCP server has no record of this client, then it MUST
         * remain silent" — unless it is authoritative for the network, in
         * which case a NAK makes the client start over with DISCOVER
         * (and get the same address back if it is still free). */
        if (!c->conf->authoritative)
            return drop(c, DHCP_DROP_NOT_AUTHORITATIVE, "no record of this client");
        return nak(c, "no record of this client for", addr);
    }
}

static bool server_id_mismatch(const struct ctx *c)
{
    uint32_t sid;
    return dhcp_opt_addr(c->p, OPT_SERVER_ID, &sid) && sid != c->server_id;
}

static int on_decline(struct ctx *c)
{
    uint32_t addr;
    if (server_id_mismatch(c))
        return drop(c, DHCP_DROP_OTHER_SERVER, "DECLINE for another server");
    if (!dhcp_opt_addr(c->p, OPT_REQUESTED_ADDR, &addr))
        return drop(c, DHCP_DROP_BAD_REQUEST, "DECLINE without the declined address");
    struct lease *l = lease_find(&c->srv->leases, addr);
    if (!l || !lease_owned_by(l, &c->client))
        return drop(c, DHCP_DROP_NO_LEASE, "DECLINE for an address not given to this client");
    if (pending_full(c->srv))
        return drop(c, DHCP_DROP_BACKLOG, "too many uncommitted lease writes");
    /* RFC 2131 §4.3.3: "the server MUST mark the network address as not
     * available"; for decline_quarantine seconds, then it may be reused. */
    l->offer_only = false;
    l->offer_until = 0;
    l->s.state = LEASE_DECLINED;
    l->s.expires = c->now + c->conf->decline_quarantine;
    queue_write(c, l);
    char a[IPV4_STRLEN];
    log_warn("dhcp", "DECLINE of %s by %s: another host uses it; quarantined for %us", format_ipv4(addr, a),
             c->mac, c->conf->decline_quarantine);
    c->srv->last_drop = DHCP_DROP_NONE;
    return 0;
}

static int on_release(struct ctx *c)
{
    if (server_id_mismatch(c))
        return drop(c, DHCP_DROP_OTHER_SERVER, "RELEASE for another server");
    struct lease *l = lease_find(&c->srv->leases, c->p->ciaddr);
    if (!l || l->offer_only || l->s.state != LEASE_BOUND || !lease_owned_by(l, &c->client))
        return drop(c, DHCP_DROP_NO_LEASE, "RELEASE for a lease this client does not hold");
    if (pending_full(c->srv))
        return drop(c, DHCP_DROP_BACKLOG, "too many uncommitted lease writes");
    /* RFC 2131 §4.3.4: "the server marks the network address as not
     * allocated. The server SHOULD retain a record of the client's
     * initialization parameters for possible reuse". */
    l->s.state = LEASE_RELEASED;
    l->s.expires = c->now;
    queue_write(c, l);
    char a[IPV4_STRLEN];
    log_info("dhcp", "RELEASE of %s by %s", format_ipv4(l->s.address, a), c->mac);
    c->srv->last_drop = DHCP_DROP_NONE;
    return 0;
}

static int on_inform(struct ctx *c)
{
    /* RFC 2131 §4.3.5: "The server responds to a DHCPINFORM message by
     * sending a DHCPACK ... The server MUST NOT send a lease expiration
     * time to the client and SHOULD NOT fill in 'yiaddr'." */
    return build_reply(c, DHCPACK, 0, 0);
}

/* ---- proxy mode ---- */

/* Option 60 "PXEClient..." (firmware PXE; iPXE sends it too) or
 * "HTTPClient..." (UEFI HTTP Boot): the clients a proxy answers. */
static bool sends_pxeclient(const struct dhcp_packet *p)
{
    size_t n;
    const uint8_t *vc = dhcp_opt(p, OPT_VENDOR_CLASS, &n);
    return vc && ((n >= 9 && memcmp(vc, "PXEClient", 9) == 0) || (n >= 10 && memcmp(vc, "HTTPClient", 10) == 0));
}

/* Proxy mode, after the PXEClient check (dhcp_server.h). PXE 2.1: the
 * client broadcasts its DISCOVER to every server; the DHCP server offers
 * an address, the proxyDHCP server (us) an OFFER with yiaddr 0, option 60
 * "PXEClient" and the boot file. Once bound, a client that wants more
 * (UEFI's PXE when the offer has no boot menu, iPXE when it has no boot
 * file) unicasts a DHCPREQUEST to the proxy's port 4011 and gets the boot
 * file in an ACK. */
static int on_proxy(struct ctx *c)
{
    const struct dhcp_packet *p = c->p;
    bool pxe_port = c->meta->pxe_port;
    if (!pxe_port && p->msg_type != DHCPDISCOVER)
        return drop(c, DHCP_DROP_OTHER_SERVER, "%s: in proxy mode addresses are another server's",
                    dhcp_msg_type_name(p->msg_type));
    if (pxe_port && p->msg_type != DHCPREQUEST)
        return drop(c, DHCP_DROP_BAD_REQUEST, "%s on the PXE port: only DHCPREQUEST is served there",
                    dhcp_msg_type_name(p->msg_type));
    uint32_t sid;
    if (dhcp_opt_addr(p, OPT_SERVER_ID, &sid) && sid != c->server_id)
        return drop(c, DHCP_DROP_OTHER_SERVER, "REQUEST on the PXE port for another server");
    if (!c->plan.filename[0])
        return drop(c, DHCP_DROP_PROXY_NO_BOOT, "nothing to boot: %s", c->plan.reason);
    if (pxe_port) {
        char a[IPV4_STRLEN];
        log_info("dhcp", "proxy ACK to %s at %s on %s; boot: %s", c->mac,
                 format_ipv4(p->ciaddr ? p->ciaddr : c->meta->src_addr, a), c->subnet->name, c->plan.reason);
        return build_reply(c, DHCPACK, 0, 0);
    }
    log_info("dhcp", "proxy OFFER to %s on %s; boot: %s", c->mac, c->subnet->name, c->plan.reason);
    return build_reply(c, DHCPOFFER, 0, 0);
}

/* Which subnet a request on the PXE port is from: the client has its
 * address by now and may be routed to us from another link. */
static size_t choose_proxy_subnet(const struct ctx *c)
{
    if (c->meta->pxe_port && c->p->ciaddr && !c->p->giaddr)
        return subnet_index_for(c->conf, c->p->ciaddr);
    return choose_subnet(c);
}

static enum dhcp_drop parse_drop(enum dhcp_parse_error e)
{
    switch (e) {
    case DHCP_PARSE_TRUNCATED: return DHCP_DROP_TRUNCATED;
    case DHCP_PARSE_BAD_COOKIE: return DHCP_DROP_BAD_COOKIE;
    case DHCP_PARSE_OVERSIZED: return DHCP_DROP_OVERSIZED;
    case DHCP_PARSE_NOT_REQUEST: return DHCP_DROP_NOT_REQUEST;
    case DHCP_PARSE_BAD_HWADDR: return DHCP_DROP_BAD_HWADDR;
    case DHCP_PARSE_OPTION_OVERRUN: return DHCP_DROP_OPTION_OVERRUN;
    case DHCP_PARSE_NO_MSG_TYPE: return DHCP_DROP_NO_MSG_TYPE;
    case DHCP_PARSE_BAD_MSG_TYPE:
    default: return DHCP_DROP_BAD_MSG_TYPE;
    }
}

static int handle(struct dhcp_server *srv, const uint8_t *data, size_t len, const struct dhcp_rx_meta *meta,
                  int64_t now, struct dhcp_reply *reply, struct ctx *c);

int dhcp_server_handle(struct dhcp_server *srv, const uint8_t *data, size_t len, const struct dhcp_rx_meta *meta,
                       int64_t now, struct dhcp_reply *reply)
{
    struct ctx c = {0};
    int r = handle(srv, data, len, meta, now, reply, &c);
    struct dhcp_exchange *x = &srv->last;
    memset(x, 0, sizeof *x);
    x->drop = srv->last_drop;
    x->arch = -1;
    x->proxy = srv->conf->dhcp_mode == DHCP_MODE_PROXY;
    x->pxe_port = meta->pxe_port;
    if (!c.p)
        return r;
    const struct dhcp_packet *p = c.p;
    x->parsed = true;
    x->msg_type = p->msg_type;
    x->xid = p->xid;
    x->giaddr = p->giaddr;
    x->has_mac = p->htype == 1 && p->hlen == 6;
    if (x->has_mac)
        memcpy(x->mac, p->chaddr, 6);
    x->subnet = c.subnet ? c.subnet->name : NULL;
    x->client = c.plan.client;
    x->known = c.res != NULL || known_mac(srv, &c.client);
    x->arch = c.plan_arch;
    memcpy(x->file, c.plan.filename, sizeof x->file);
    if (r == 1) {
        x->reply_type = reply->msg_type;
        if (c.root_path)
            snprintf(x->root_path, sizeof x->root_path, "%s", c.root_path);
        /* yiaddr sits at bytes 16..19 of every BOOTP message. */
        x->address = (uint32_t)reply->data[16] << 24 | (uint32_t)reply->data[17] << 16 |
                     (uint32_t)reply->data[18] << 8 | reply->data[19];
    }
    /* A proxy offer has no address to tell: whatever the client asks
     * for is the other server's business. */
    if (!x->address && !(x->proxy && x->reply_type == DHCPOFFER)) {
        uint32_t want = 0;
        x->address = p->ciaddr ? p->ciaddr : dhcp_opt_addr(p, 50, &want) ? want : 0;
    }
    return r;
}

void dhcp_server_last_exchange(const struct dhcp_server *srv, struct dhcp_exchange *x)
{
    *x = srv->last;
}

struct forget {
    const uint8_t *mac;
    uint32_t keep;
    uint32_t addrs[256];
    size_t n;
};

static void find_mac(struct lease *l, void *arg)
{
    struct forget *f = arg;
    if (f->n < sizeof f->addrs / sizeof f->addrs[0] && l->s.hwtype == 1 && l->s.hwaddr_len == 6 &&
        memcmp(l->s.hwaddr, f->mac, 6) == 0 && l->s.address != f->keep)
        f->addrs[f->n++] = l->s.address;
}

unsigned dhcp_server_forget_mac(struct dhcp_server *srv, const uint8_t mac[6], uint32_t keep)
{
    struct forget f = {.mac = mac, .keep = keep};
    lease_foreach(&srv->leases, find_mac, &f);
    /* Records are never freed (dhcp_lease.h): a forgotten one belongs to
     * nobody, has ended, and is free for the next client. */
    static const uint8_t none[1];
    const struct client_key nobody = {.hw = none};
    for (size_t i = 0; i < f.n; i++) {
        struct lease *l = lease_find(&srv->leases, f.addrs[i]);
        if (!l)
            continue;
        lease_set_owner(&srv->leases, l, &nobody);
        l->offer_only = true;
        l->offer_until = 0;
        l->s.state = LEASE_EXPIRED;
        l->s.expires = 0;
        /* A write still queued for it would bring the row back. */
        size_t k = 0;
        for (size_t j = 0; j < srv->n_pending; j++)
            if (srv->pending[j].address != f.addrs[i])
                srv->pending[k++] = srv->pending[j];
        srv->n_pending = k;
    }
    return (unsigned)f.n;
}

static int handle(struct dhcp_server *srv, const uint8_t *data, size_t len, const struct dhcp_rx_meta *meta,
                  int64_t now, struct dhcp_reply *reply, struct ctx *c)
{
    *c = (struct ctx){.srv = srv, .conf = srv->conf, .meta = meta, .now = now, .reply = reply, .plan_arch = -1};
    srv->last_drop = DHCP_DROP_NONE;
    reply->len = 0;
    reply->needs_commit = false;
    enum dhcp_parse_error e = dhcp_parse(data, len, &srv->pkt);
    if (e != DHCP_PARSE_OK) {
        request_metrics[0].value++;
        return drop(c, parse_drop(e), "%s (%zu bytes)", dhcp_parse_error_name(e), len);
    }
    c->p = &srv->pkt;
    const struct dhcp_packet *p = c->p;
    request_metrics[p->msg_type].value++;
    format_hwaddr(p->chaddr, p->hlen, c->mac, sizeof c->mac);
    c->client.htype = p->htype;
    c->client.hlen = p->hlen;
    c->client.hw = p->chaddr;
    c->client.cid = dhcp_opt(p, OPT_CLIENT_ID, &c->client.cid_len);
    /* RFC 2132 §9.14: at least 2 bytes. One we cannot store is ignored and
     * the client is known by its hardware address. */
    if (c->client.cid && (c->client.cid_len < 2 || c->client.cid_len > STORE_CLIENT_ID_MAX)) {
        c->client.cid = NULL;
        c->client.cid_len = 0;
    }

    bool proxy = c->conf->dhcp_mode == DHCP_MODE_PROXY;
    if (meta->pxe_port && !proxy)
        return drop(c, DHCP_DROP_BAD_REQUEST, "the PXE port is served in proxy mode only");
    /* Before anything that logs: on a shared link most DHCP traffic is
     * ordinary clients talking to the other server. */
    if (proxy && !sends_pxeclient(p))
        return drop_quietly(c, DHCP_DROP_PROXY_NOT_PXE);

    size_t si = proxy ? choose_proxy_subnet(c) : choose_subnet(c);
    if (si == SIZE_MAX || si >= srv->n_pools)
        return drop(c, DHCP_DROP_NO_SUBNET, "%s: no subnet for this link", dhcp_msg_type_name(p->msg_type));
    c->subnet = &c->conf->subnets[si];
    c->pool = &srv->pools[si];
    c->server_id = c->conf->server_address ? c->conf->server_address : meta->local_addr;
    if (!c->server_id)
        return drop(c, DHCP_DROP_NO_SERVER_ADDRESS, "interface has no IPv4 address and server_address is unset");
    c->res = reservation_for(srv, &c->client);
    if (c->res && !in_subnet(c->subnet, c->res->address))
        c->res = NULL; /* reserved on another network: here it is a dynamic client */

    decide_boot(c);
    if (!c->plan.answer && (p->msg_type == DHCPDISCOVER || p->msg_type == DHCPREQUEST || p->msg_type == DHCPINFORM))
        return drop(c, DHCP_DROP_UNKNOWN_CLIENT, "%s", c->plan.reason);
    if (proxy)
        return on_proxy(c);

    switch (p->msg_type) {
    case DHCPDISCOVER: return on_discover(c);
    case DHCPREQUEST: return on_request(c);
    case DHCPDECLINE: return on_decline(c);
    case DHCPRELEASE: return on_release(c);
    case DHCPINFORM: return on_inform(c);
    default: return drop(c, DHCP_DROP_BAD_MSG_TYPE, "unexpected message type");
    }
}
