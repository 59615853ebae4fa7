#include "dhcp/dhcp_lease.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 256

static size_t hash_bytes(const uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ seed; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static size_t hash_addr(uint32_t a)
{
    return (size_t)(a * 2654435761u);
}

static size_t hw_slot(const struct lease_table *t, uint8_t htype, uint8_t hlen, const uint8_t *hw)
{
    return hash_bytes(hw, hlen, htype) & (t->n_buckets - 1);
}

static size_t cid_slot(const struct lease_table *t, const uint8_t *cid, size_t len)
{
    return hash_bytes(cid, len, 0) & (t->n_buckets - 1);
}

static void link_all(struct lease_table *t, struct lease *l)
{
    size_t a = hash_addr(l->s.address) & (t->n_buckets - 1);
    l->next_addr = t->by_addr[a];
    t->by_addr[a] = l;
    size_t h = hw_slot(t, l->s.hwtype, l->s.hwaddr_len, l->s.hwaddr);
    l->next_hw = t->by_hw[h];
    t->by_hw[h] = l;
    l->next_cid = NULL;
    if (l->s.client_id_len) {
        size_t c = cid_slot(t, l->s.client_id, l->s.client_id_len);
        l->next_cid = t->by_cid[c];
        t->by_cid[c] = l;
    }
}

static void unlink_client(struct lease_table *t, struct lease *l)
{
    struct lease **pp = &t->by_hw[hw_slot(t, l->s.hwtype, l->s.hwaddr_len, l->s.hwaddr)];
    for (; *pp; pp = &(*pp)->next_hw)
        if (*pp == l) {
            *pp = l->next_hw;
            break;
        }
    if (l->s.client_id_len) {
        pp = &t->by_cid[cid_slot(t, l->s.client_id, l->s.client_id_len)];
        for (; *pp; pp = &(*pp)->next_cid)
            if (*pp == l) {
                *pp = l->next_cid;
                break;
            }
    }
}

static int alloc_buckets(struct lease_table *t, size_t n)
{
    struct lease **a = calloc(n, sizeof *a), **h = calloc(n, sizeof *h), **c = calloc(n, sizeof *c);
    if (!a || !h || !c) {
        free(a);
        free(h);
        free(c);
        return -ENOMEM;
    }
    t->by_addr = a;
    t->by_hw = h;
    t->by_cid = c;
    t->n_buckets = n;
    return 0;
}

int lease_table_init(struct lease_table *t)
{
    memset(t, 0, sizeof *t);
    return alloc_buckets(t, INITIAL_BUCKETS);
}

/* Keeps chains short: doubles the buckets when records outnumber them. */
static int grow(struct lease_table *t)
{
    struct lease **old = t->by_addr, **oh = t->by_hw, **oc = t->by_cid;
    size_t n = t->n_buckets;
    if (alloc_buckets(t, n * 2) < 0)
        return -ENOMEM; /* t unchanged: slower, still correct */
    for (size_t i = 0; i < n; i++)
        for (struct lease *l = old[i], *next; l; l = next) {
            next = l->next_addr;
            link_all(t, l);
        }
    free(old);
    free(oh);
    free(oc);
    return 0;
}

void lease_foreach(const struct lease_table *t, void (*fn)(struct lease *, void *), void *arg)
{
    for (size_t i = 0; i < t->n_buckets; i++)
        for (struct lease *l = t->by_addr[i], *next; l; l = next) {
            next = l->next_addr;
            fn(l, arg);
        }
}

static void free_one(struct lease *l, void *arg)
{
    (void)arg;
    free(l);
}

void lease_table_free(struct lease_table *t)
{
    if (!t->by_addr)
        return;
    lease_foreach(t, free_one, NULL);
    free(t->by_addr);
    free(t->by_hw);
    free(t->by_cid);
    memset(t, 0, sizeof *t);
}

struct lease *lease_find(const struct lease_table *t, uint32_t addr)
{
    for (struct lease *l = t->by_addr[hash_addr(addr) & (t->n_buckets - 1)]; l; l = l->next_addr)
        if (l->s.address == addr)
            return l;
    return NULL;
}

static void set_key(struct lease *l, const struct client_key *c)
{
    l->s.hwtype = c->htype;
    l->s.hwaddr_len = c->hlen <= STORE_HWADDR_MAX ? c->hlen : STORE_HWADDR_MAX;
    memcpy(l->s.hwaddr, c->hw, l->s.hwaddr_len);
    l->s.client_id_len = (uint16_t)(c->cid_len <= STORE_CLIENT_ID_MAX ? c->cid_len : 0);
    if (l->s.client_id_len)
        memcpy(l->s.client_id, c->cid, l->s.client_id_len);
}

struct lease *lease_create(struct lease_table *t, uint32_t addr, const struct client_key *c)
{
    if (t->count >= t->n_buckets)
        grow(t);
    struct lease *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->s.address = addr;
    l->s.arch = -1;
    l->offer_only = true;
    set_key(l, c);
    link_all(t, l);
    t->count++;
    return l;
}

void lease_set_owner(struct lease_table *t, struct lease *l, const struct client_key *c)
{
    /* The address chain is keyed by address, which does not change: only
     * the client chains move. */
    unlink_client(t, l);
    set_key(l, c);
    size_t h = hw_slot(t, l->s.hwtype, l->s.hwaddr_len, l->s.hwaddr);
    l->next_hw = t->by_hw[h];
    t->by_hw[h] = l;
    l->next_cid = NULL;
    if (l->s.client_id_len) {
        size_t k = cid_slot(t, l->s.client_id, l->s.client_id_len);
        l->next_cid = t->by_cid[k];
        t->by_cid[k] = l;
    }
}

int lease_load(struct lease_table *t, const struct store_lease *s)
{
    struct lease *l = lease_find(t, s->address);
    if (l) {
        unlink_client(t, l);
        struct client_key c = {s->client_id, s->client_id_len, s->hwtype, s->hwaddr_len, s->hwaddr};
        l->s = *s;
        l->offer_only = false;
        l->offer_until = 0;
        lease_set_owner(t, l, &c);
        return 0;
    }
    if (t->count >= t->n_buckets)
        grow(t);
    l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->s = *s;
    if (l->s.hwaddr_len > STORE_HWADDR_MAX)
        l->s.hwaddr_len = STORE_HWADDR_MAX;
    if (l->s.client_id_len > STORE_CLIENT_ID_MAX)
        l->s.client_id_len = 0;
    link_all(t, l);
    t->count++;
    return 0;
}

bool lease_owned_by(const struct lease *l, const struct client_key *c)
{
    if (c->cid_len && l->s.client_id_len == c->cid_len && memcmp(l->s.client_id, c->cid, c->cid_len) == 0)
        return true;
    /* The same network card is the same machine: a host that changes its
     * client identifier between boot stages (firmware, iPXE, installer,
     * OS) keeps one address. */
    return l->s.hwtype == c->htype && l->s.hwaddr_len == c->hlen && memcmp(l->s.hwaddr, c->hw, c->hlen) == 0;
}

static bool better(const struct lease *a, const struct lease *b)
{
    if (!b)
        return true;
    bool ab = !a->offer_only && a->s.state == LEASE_BOUND, bb = !b->offer_only && b->s.state == LEASE_BOUND;
    if (ab != bb)
        return ab;
    return a->s.expires > b->s.expires;
}

static bool usable_record(const struct lease *l, uint32_t network, uint32_t netmask)
{
    /* A declined address is not handed back to the client that declined it. */
    return (l->s.address & netmask) == network && (l->offer_only || l->s.state != LEASE_DECLINED);
}

struct lease *lease_find_client(const struct lease_table *t, const struct client_key *c, uint32_t network,
                                uint32_t netmask)
{
    struct lease *best = NULL;
    /* RFC 2131 §4.2: the client identifier, if sent, names the client. */
    if (c->cid_len && c->cid_len <= STORE_CLIENT_ID_MAX) {
        for (struct lease *l = t->by_cid[cid_slot(t, c->cid, c->cid_len)]; l; l = l->next_cid)
            if (l->s.client_id_len == c->cid_len && memcmp(l->s.client_id, c->cid, c->cid_len) == 0 &&
                usable_record(l, network, netmask) && better(l, best))
                best = l;
        if (best)
            return best;
    }
    for (struct lease *l = t->by_hw[hw_slot(t, c->htype, c->hlen, c->hw)]; l; l = l->next_hw)
        if (l->s.hwtype == c->htype && l->s.hwaddr_len == c->hlen && memcmp(l->s.hwaddr, c->hw, c->hlen) == 0 &&
            usable_record(l, network, netmask) && better(l, best))
            best = l;
    return best;
}

bool lease_active(const struct lease *l, int64_t now)
{
    if (l->offer_until > now)
        return true;
    if (l->offer_only)
        return false;
    return (l->s.state == LEASE_BOUND || l->s.state == LEASE_DECLINED) && l->s.expires > now;
}

/* ---- pools ---- */

int pool_init(struct pool *p, const struct conf_subnet *s)
{
    memset(p, 0, sizeof *p);
    p->subnet = s;
    p->ranges = calloc(s->n_ranges ? s->n_ranges : 1, sizeof *p->ranges);
    if (!p->ranges)
        return -ENOMEM;
    p->n_ranges = s->n_ranges;
    for (size_t i = 0; i < s->n_ranges; i++) {
        struct pool_range *r = &p->ranges[i];
        r->first = s->ranges[i].first;
        r->last = s->ranges[i].last;
        size_t words = ((size_t)(r->last - r->first) + 64) / 64;
        r->used = calloc(words, sizeof *r->used);
        if (!r->used) {
            pool_free(p);
            return -ENOMEM;
        }
    }
    /* RFC 950: the all-zeros and all-ones host numbers are the network and
     * its broadcast; the router is taken. */
    pool_mark_used(p, s->network);
    pool_mark_used(p, s->network | ~s->netmask);
    if (s->router)
        pool_mark_used(p, s->router);
    if (s->next_server)
        pool_mark_used(p, s->next_server);
    return 0;
}

void pool_free(struct pool *p)
{
    for (size_t i = 0; p->ranges && i < p->n_ranges; i++)
        free(p->ranges[i].used);
    free(p->ranges);
    p->ranges = NULL;
    p->n_ranges = 0;
}

bool pool_contains(const struct pool *p, uint32_t addr)
{
    for (size_t i = 0; i < p->n_ranges; i++)
        if (addr >= p->ranges[i].first && addr <= p->ranges[i].last)
            return true;
    return false;
}

void pool_mark_used(struct pool *p, uint32_t addr)
{
    for (size_t i = 0; i < p->n_ranges; i++) {
        struct pool_range *r = &p->ranges[i];
        if (addr >= r->first && addr <= r->last) {
            uint32_t off = addr - r->first;
            r->used[off / 64] |= (uint64_t)1 << (off % 64);
        }
    }
}

static bool range_find(struct pool_range *r, uint32_t from, uint32_t to, uint32_t *off)
{
    /* Scans offsets [from, to]: skips full words 64 addresses at a time. */
    for (uint32_t o = from; o <= to;) {
        uint64_t w = r->used[o / 64] | (((uint64_t)1 << (o % 64)) - 1);
        if (w != UINT64_MAX) {
            uint32_t cand = (o & ~63u) + (uint32_t)__builtin_ctzll(~w);
            if (cand > to)
                return false;
            *off = cand;
            return true;
        }
        uint32_t next = (o | 63u) + 1;
        if (next <= o)
            return false; /* wrapped at the end of the address space */
        o = next;
    }
    return false;
}

uint32_t pool_next_free(struct pool *p)
{
    for (size_t i = 0; i < p->n_ranges; i++) {
        struct pool_range *r = &p->ranges[i];
        uint32_t size_m1 = r->last - r->first, off;
        uint32_t start = r->cursor <= size_m1 ? r->cursor : 0;
        if (range_find(r, start, size_m1, &off) || (start > 0 && range_find(r, 0, start - 1, &off))) {
            r->cursor = off + 1;
            return r->first + off;
        }
    }
    return 0;
}
