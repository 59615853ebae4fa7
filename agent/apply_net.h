/* The network part of apply, over one rtnetlink socket (libnl-route-3).
 * Each function is one step for one document entry and returns a
 * step_result (apply_internal.h) with msg. */
#ifndef MIDWIFE_AGENT_APPLY_NET_H
#define MIDWIFE_AGENT_APPLY_NET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl_sock;
struct nl_cache;
struct rtnl_link;

struct net {
    struct nl_sock *sock;
    struct nl_cache *links;
    struct nl_cache *addrs;  /* allocated on first use */
    struct nl_cache *routes; /* allocated on first use */
};

int net_open(struct net *n, char *msg, size_t msglen);
void net_close(struct net *n);

/* Links (apply_net.c). */
int net_interface(struct net *n, const json_t *iface, char *msg, size_t msglen);
int net_bond(struct net *n, const json_t *bond, char *msg, size_t msglen);
int net_vlan(struct net *n, const json_t *vlan, char *msg, size_t msglen);
int net_bridge(struct net *n, const json_t *bridge, char *msg, size_t msglen);

/* The name of the NIC whose permanent (else current) MAC is mac. 0, or
 * -1 with msg (no such NIC, or two). */
int net_nic_by_mac(struct net *n, const uint8_t mac[6], char *name, size_t namelen, char *msg, size_t msglen);

/* The management VLAN (apply_mgmt.c): the boot NIC (by mac) up, VLAN id
 * on it, an IPv4 address on that (a DHCP lease when it has none). A step
 * result with msg; *vlan_name gets the VLAN link's name (mgmt_vlan_name). */
int net_mgmt_vlan(struct net *n, const uint8_t mac[6], unsigned id, unsigned dhcp_timeout_s, char *vlan_name,
                  size_t namelen, char *msg, size_t msglen);
/* "NIC.ID" when it fits an interface name (15 bytes), else "vlanID". */
void mgmt_vlan_name(const char *nic, unsigned id, char *out, size_t outlen);

/* The link named name from a freshly refilled cache (a reference the
 * caller puts), or NULL. */
struct rtnl_link *net_link_by_name(struct net *n, const char *name);

/* Addresses and routes (apply_ip.c). dhcp_timeout_s bounds the DHCP
 * client. */
int net_addresses(struct net *n, const json_t *dev, unsigned dhcp_timeout_s, char *msg, size_t msglen);
int net_route(struct net *n, const json_t *route, char *msg, size_t msglen);

/* The routes through ifindex that the kernel drops when the link goes
 * down (all but its own connected ones), kept across a rename so a host
 * renaming its boot NIC keeps its way to midwife. */
#define SAVED_ROUTES_MAX 64
struct rtnl_route;
struct saved_routes {
    struct rtnl_route *r[SAVED_ROUTES_MAX];
    int n;
};
int net_save_routes(struct net *n, int ifindex, struct saved_routes *s);
/* Puts them back (those already there again are left); returns how many
 * were added, and frees s. */
int net_restore_routes(struct net *n, struct saved_routes *s);

/* "a.b.c.d" (prefix 32) or "a.b.c.d/N" into a network-order address and
 * prefix. 0 or -1. */
int parse_ipv4_prefix(const char *s, uint32_t *addr_be, unsigned *prefix);

/* Raw rtnetlink where libnl-route 3.7 has no API (apply_net_raw.c). */
struct link_extra {
    int ifindex;
    bool has_perm;  /* permanent MAC (IFLA_PERM_ADDRESS or a bond slave's) */
    uint8_t perm[6];
    int bond_mode;  /* IFLA_BOND_MODE, -1 when not a bond */
};
/* All links' extras into a malloc'ed array (*out, *count). 0 or a libnl
 * error code (< 0). */
int net_link_extras(struct net *n, struct link_extra **out, size_t *count);
/* Creates bond name with mode (a kernel BOND_MODE_* number). */
int net_bond_create(struct net *n, const char *name, int mode);
int net_bond_set_mode(struct net *n, int ifindex, int mode);
/* The kernel number of a mode name ("802.3ad": 4), or -1. */
int bond_mode_number(const char *name);
const char *bond_mode_name(int mode);

#endif
