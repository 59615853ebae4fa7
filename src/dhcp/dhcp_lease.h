/* Lease records and address pools: the server's memory, without any DHCP
 * message logic. Internal to src/dhcp/.
 *
 * One record per address ever handed out. Records are never freed while
 * the server lives: an expired or released record remembers whose address
 * it was, so that client gets it back. Memory is bounded by the pools:
 * records only exist for addresses inside configured subnets. */
#ifndef MIDWIFE_DHCP_DHCP_LEASE_H
#define MIDWIFE_DHCP_DHCP_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "store/store.h"

struct lease {
    struct store_lease s;  /* s.state is meaningless while offer_only */
    bool offer_only;       /* offered, never bound: not in the store */
    int64_t offer_until;   /* wall seconds; the offer holds the address */
    struct lease *next_addr, *next_hw, *next_cid;
};

/* Who is asking: the client identifier if sent, and the hardware address. */
struct client_key {
    const uint8_t *cid;
    size_t cid_len;
    uint8_t htype, hlen;
    const uint8_t *hw;
};

struct lease_table {
    struct lease **by_addr, **by_hw, **by_cid;
    size_t n_buckets, count;
};

int lease_table_init(struct lease_table *t);
void lease_table_free(struct lease_table *t);
struct lease *lease_find(const struct lease_table *t, uint32_t addr);
/* Creates the record for addr (which must have none), owned by c. */
struct lease *lease_create(struct lease_table *t, uint32_t addr, const struct client_key *c);
/* Hands an existing record to another client (re-indexes it). */
void lease_set_owner(struct lease_table *t, struct lease *l, const struct client_key *c);
/* Adds a record read from the store; replaces one at the same address. */
int lease_load(struct lease_table *t, const struct store_lease *s);
bool lease_owned_by(const struct lease *l, const struct client_key *c);
/* The client's best record inside [network, network|~mask]: a bound one
 * first, else the most recent. NULL if none. */
struct lease *lease_find_client(const struct lease_table *t, const struct client_key *c, uint32_t network,
                                uint32_t netmask);
/* Calls fn for every record. */
void lease_foreach(const struct lease_table *t, void (*fn)(struct lease *, void *), void *arg);

/* Someone holds this address right now: a bound unexpired lease, a
 * pending offer, or a declined address still in quarantine. */
bool lease_active(const struct lease *l, int64_t now);

/* The free-address map of one subnet: a bit per address of each range,
 * set when the address has a record, is reserved or is excluded. Finding
 * a free address is a word-at-a-time scan from a moving cursor. */
struct pool_range {
    uint32_t first, last;
    uint64_t *used;
    uint32_t cursor; /* offset where the next search starts */
};

struct pool {
    const struct conf_subnet *subnet;
    struct pool_range *ranges;
    size_t n_ranges;
};

int pool_init(struct pool *p, const struct conf_subnet *s);
void pool_free(struct pool *p);
bool pool_contains(const struct pool *p, uint32_t addr); /* inside a range */
void pool_mark_used(struct pool *p, uint32_t addr);
/* A never-used address, or 0 if every bit is set. */
uint32_t pool_next_free(struct pool *p);

#endif
