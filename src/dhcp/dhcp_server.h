/* The DHCPv4 server as a pure handler: packet bytes and where they came
 * from in, reply bytes and where they go out. No sockets, no store: lease
 * writes are queued as pending store writes that the I/O shell commits
 * before it sends the replies that depend on them.
 *
 * State: every address midwife has handed out (bound, offered, released,
 * expired, declined) is one record, indexed by address and by client
 * (client identifier and hardware address), so a returning client gets its
 * previous address back. */
#ifndef MIDWIFE_DHCP_DHCP_SERVER_H
#define MIDWIFE_DHCP_DHCP_SERVER_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "boot/boot.h"
#include "boot/san.h"
#include "dhcp/dhcp_packet.h"
#include "store/store.h"

struct dhcp_server;

/* Where a packet came from. Addresses host byte order. */
struct dhcp_rx_meta {
    int ifindex;
    char ifname[IF_NAMESIZE];
    uint32_t local_addr; /* address of the receiving interface, 0 if none */
    uint32_t src_addr;
    uint16_t src_port;
    /* Arrived on the PXE boot server port ([dhcp] pxe_port, 4011), which
     * only proxy mode listens on. */
    bool pxe_port;
};

enum dhcp_dest {
    DHCP_DEST_RELAY,     /* unicast to giaddr at the server port */
    DHCP_DEST_BROADCAST, /* 255.255.255.255 at the client port */
    DHCP_DEST_UNICAST,   /* to dst_addr (ciaddr) at dst_port: the client port, or
                          * on the PXE port the port the request came from */
    /* to yiaddr at the client port, delivered to chaddr: the client has no
     * address yet so it cannot answer ARP; the shell adds an ARP entry. */
    DHCP_DEST_UNICAST_HW,
};

struct dhcp_reply {
    uint8_t data[DHCP_PACKET_MAX];
    size_t len;
    uint8_t msg_type;          /* DHCPOFFER, DHCPACK or DHCPNAK */
    enum dhcp_dest dest;
    uint32_t dst_addr;
    uint16_t dst_port;
    uint32_t src_addr;         /* our server identifier: send from it */
    uint8_t chaddr[16], hlen;  /* for DHCP_DEST_UNICAST_HW */
    int ifindex;
    /* Must not leave before the pending lease writes are committed. */
    bool needs_commit;
};

/* Why a packet got no answer; each is a midwife_dhcp_dropped_total reason. */
enum dhcp_drop {
    DHCP_DROP_NONE = 0,
    DHCP_DROP_TRUNCATED,
    DHCP_DROP_BAD_COOKIE,
    DHCP_DROP_OVERSIZED,
    DHCP_DROP_NOT_REQUEST,
    DHCP_DROP_BAD_HWADDR,
    DHCP_DROP_OPTION_OVERRUN,
    DHCP_DROP_NO_MSG_TYPE,
    DHCP_DROP_BAD_MSG_TYPE,
    DHCP_DROP_NO_SUBNET,         /* no configured subnet serves the link */
    DHCP_DROP_NO_SERVER_ADDRESS, /* no address to identify ourselves with */
    DHCP_DROP_POOL_EXHAUSTED,
    DHCP_DROP_OTHER_SERVER,      /* REQUEST/DECLINE meant for another server */
    DHCP_DROP_UNKNOWN_CLIENT,    /* unknown_clients = ignore */
    DHCP_DROP_NOT_AUTHORITATIVE, /* no record and not authoritative: silence */
    DHCP_DROP_BAD_REQUEST,       /* a field the message type needs is missing */
    DHCP_DROP_NO_LEASE,          /* RELEASE/DECLINE for a lease not theirs */
    DHCP_DROP_BACKLOG,           /* too many uncommitted lease writes */
    DHCP_DROP_REPLY_TOO_BIG,
    DHCP_DROP_PROXY_NOT_PXE,     /* proxy mode: not a PXE client (counted, not logged) */
    DHCP_DROP_PROXY_NO_BOOT,     /* proxy mode: nothing to boot, so nothing to say */
    DHCP_DROP_COUNT
};

const char *dhcp_drop_name(enum dhcp_drop d);
/* The midwife_dhcp_dropped_total{reason=d} counter value. */
uint64_t dhcp_drop_count(enum dhcp_drop d);
/* Counts a reply as sent (midwife_dhcp_replies_total{type}); the shell calls
 * this after sendmsg succeeded. */
void dhcp_count_reply_sent(uint8_t msg_type);

/* conf must outlive the server or be replaced with dhcp_server_set_conf. */
int dhcp_server_new(const struct conf *conf, struct dhcp_server **out);
void dhcp_server_free(struct dhcp_server *srv);
/* Switches to a new config: pools are rebuilt, lease records kept. */
int dhcp_server_set_conf(struct dhcp_server *srv, const struct conf *conf);
/* The inventory as DHCP sees it: every MAC of every host record is a
 * known client (unknown_clients = ignore does not apply to it); a host
 * with a static address has it reserved, like a [reservation] (those
 * come first when both name a MAC). A SAN-booting host's MACs carry its
 * root path (boot_san_dhcp): every reply to them has option 17, and
 * those to iPXE option 203 with the initiator name too. Replaces the
 * previous set. */
struct dhcp_inventory_host {
    uint8_t mac[6];
    uint32_t address; /* 0: none */
    char name[CONF_NAME_MAX];
    char root_path[BOOT_ROOT_PATH_MAX];  /* "": none */
    char initiator[BOOT_ISCSI_NAME_MAX]; /* "": none */
};
int dhcp_server_set_inventory(struct dhcp_server *srv, const struct dhcp_inventory_host *hosts, size_t n);

/* Adds a lease read from the store (at start). */
int dhcp_server_load_lease(struct dhcp_server *srv, const struct store_lease *lease);

/* Proxy mode ([dhcp] mode = proxy): another server hands out addresses.
 * Only PXE clients (option 60 "PXEClient...", iPXE included) get an
 * answer: a DISCOVER on the server port gets an OFFER with yiaddr 0 and
 * the boot file (for iPXE the script URL), a DHCPREQUEST on the PXE port
 * an ACK with the same, sent back to where it came from. Nothing else is
 * answered, no lease record is made or written. */

/* Handles one packet received at wall-clock time now (seconds). Returns 1
 * with *reply filled, or 0 if the packet gets no answer (then
 * dhcp_server_last_drop says why, or DHCP_DROP_NONE for a silent but
 * successful RELEASE/DECLINE). */
int dhcp_server_handle(struct dhcp_server *srv, const uint8_t *data, size_t len,
                       const struct dhcp_rx_meta *meta, int64_t now, struct dhcp_reply *reply);
enum dhcp_drop dhcp_server_last_drop(const struct dhcp_server *srv);

/* What the last dhcp_server_handle call saw and did, for the flight
 * recorder. Valid until the next call. */
struct dhcp_exchange {
    bool parsed;                /* false: the packet was not DHCP at all */
    uint8_t msg_type;           /* what the client sent */
    uint8_t reply_type;         /* DHCPOFFER/ACK/NAK sent, 0 = none */
    bool has_mac;               /* Ethernet chaddr */
    uint8_t mac[6];
    uint32_t xid;
    uint32_t address;           /* yiaddr offered/acked, or ciaddr/requested for the rest */
    uint32_t giaddr;
    const char *subnet;         /* NULL: none chosen */
    enum boot_client client;
    bool known;                 /* a [reservation] or a host record has this MAC */
    int32_t arch;
    char file[CONF_URL_MAX];    /* boot file handed out, "" = none */
    char root_path[BOOT_ROOT_PATH_MAX]; /* option 17 handed out, "" = none */
    enum dhcp_drop drop;
    bool proxy;                 /* proxy mode: a reply carries boot information only */
    bool pxe_port;              /* it arrived on the PXE boot server port */
};
void dhcp_server_last_exchange(const struct dhcp_server *srv, struct dhcp_exchange *x);

/* Forgets every lease of the Ethernet address mac except the one at
 * keep (0: none) and queues their deletion as pending writes; returns how
 * many. The birth's cleanup of stale leases. */
unsigned dhcp_server_forget_mac(struct dhcp_server *srv, const uint8_t mac[6], uint32_t keep);

/* Lease writes queued since the last clear, in order. */
size_t dhcp_server_pending(const struct dhcp_server *srv, const struct store_lease **writes);
void dhcp_server_clear_pending(struct dhcp_server *srv);

/* The record for an address, if any (for tests and `explain`). */
const struct store_lease *dhcp_server_lease(const struct dhcp_server *srv, uint32_t address);
size_t dhcp_server_lease_count(const struct dhcp_server *srv);

#endif
