/* DHCPv4 wire format (RFC 2131, RFC 2132): a parser that reads through a
 * bounded cursor and a builder that never writes past its buffer.
 *
 * Addresses in struct dhcp_packet are host byte order, like everywhere else
 * in midwife; the conversion happens here and nowhere else. */
#ifndef MIDWIFE_DHCP_DHCP_PACKET_H
#define MIDWIFE_DHCP_DHCP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_FIXED_LEN 236      /* op .. file, before the magic cookie */
#define DHCP_MIN_LEN 240        /* fixed part + magic cookie */
#define DHCP_MAGIC 0x63825363u
/* The largest packet we accept or build: an Ethernet MTU minus IP and UDP
 * headers. Nothing legitimate in DHCPv4 is bigger. */
#define DHCP_PACKET_MAX 1472
#define DHCP_IP_UDP_HDR 28
/* RFC 2131 §2: "A DHCP client must be prepared to receive DHCP messages
 * with an 'options' field of at least length 312 octets", i.e. a 576-byte
 * IP datagram. Option 57 may allow more. */
#define DHCP_DEFAULT_MAX_MSG 576
/* RFC 1542 §3.4 (BOOTP): some relays and old clients drop messages
 * shorter than 300 bytes, so replies are padded to this. */
#define DHCP_BOOTP_MIN_LEN 300

#define BOOTREQUEST 1
#define BOOTREPLY 2
#define DHCP_FLAG_BROADCAST 0x8000

enum dhcp_msg_type {
    DHCPDISCOVER = 1,
    DHCPOFFER = 2,
    DHCPREQUEST = 3,
    DHCPDECLINE = 4,
    DHCPACK = 5,
    DHCPNAK = 6,
    DHCPRELEASE = 7,
    DHCPINFORM = 8,
};

enum dhcp_option {
    OPT_PAD = 0,
    OPT_SUBNET_MASK = 1,
    OPT_ROUTER = 3,
    OPT_DNS = 6,
    OPT_HOSTNAME = 12,
    OPT_ROOT_PATH = 17,
    OPT_DOMAIN = 15,
    OPT_NTP = 42,
    OPT_VENDOR_SPECIFIC = 43,
    OPT_REQUESTED_ADDR = 50,
    OPT_LEASE_TIME = 51,
    OPT_OVERLOAD = 52,
    OPT_MSG_TYPE = 53,
    OPT_SERVER_ID = 54,
    OPT_PARAM_LIST = 55,
    OPT_MESSAGE = 56,
    OPT_MAX_MSG_SIZE = 57,
    OPT_T1 = 58,
    OPT_T2 = 59,
    OPT_VENDOR_CLASS = 60,
    OPT_CLIENT_ID = 61,
    OPT_TFTP_SERVER = 66,
    OPT_BOOTFILE = 67,
    OPT_USER_CLASS = 77,
    OPT_RELAY_AGENT = 82,
    OPT_CLIENT_ARCH = 93,
    OPT_CLIENT_NDI = 94,
    OPT_UUID = 97,
    OPT_SUBNET_SELECTION = 118,
    OPT_IPXE_ENCAP = 175,
    OPT_ISCSI_INITIATOR = 203, /* iPXE's initiator-iqn setting */
    OPT_END = 255,
};

/* Why a packet was refused by the parser. */
enum dhcp_parse_error {
    DHCP_PARSE_OK = 0,
    DHCP_PARSE_TRUNCATED,      /* shorter than the fixed part + cookie */
    DHCP_PARSE_BAD_COOKIE,     /* not a DHCP packet (or plain BOOTP) */
    DHCP_PARSE_OVERSIZED,      /* longer than DHCP_PACKET_MAX */
    DHCP_PARSE_NOT_REQUEST,    /* op is not BOOTREQUEST */
    DHCP_PARSE_BAD_HWADDR,     /* hlen 0 or > 16, or Ethernet with hlen != 6 */
    DHCP_PARSE_OPTION_OVERRUN, /* an option's length runs past its area */
    DHCP_PARSE_NO_MSG_TYPE,    /* option 53 missing */
    DHCP_PARSE_BAD_MSG_TYPE,   /* option 53 malformed or not a client message */
};

const char *dhcp_parse_error_name(enum dhcp_parse_error e);

/* One option after RFC 3396 concatenation: its bytes live in the packet's
 * optbuf at [off, off + len). */
struct dhcp_opt {
    uint16_t off, len;
    bool present;
};

struct dhcp_packet {
    uint8_t op, htype, hlen, hops;
    uint32_t xid;
    uint16_t secs, flags;
    uint32_t ciaddr, yiaddr, siaddr, giaddr;
    uint8_t chaddr[16];
    uint8_t msg_type;
    struct dhcp_opt opts[256];
    /* Concatenated option data. Each byte of option data comes from a
     * distinct packet byte, so the packet's own size caps it. */
    uint8_t optbuf[DHCP_PACKET_MAX];
    uint16_t optbuf_len;
};

/* Parses len bytes into *p. Returns DHCP_PARSE_OK or the reason it refused. */
enum dhcp_parse_error dhcp_parse(const uint8_t *data, size_t len, struct dhcp_packet *p);

/* The option's bytes and length, or NULL if absent. */
const uint8_t *dhcp_opt(const struct dhcp_packet *p, uint8_t code, size_t *len);
/* Options with a fixed size: false if absent or of the wrong length
 * (a malformed option is treated as absent). */
bool dhcp_opt_addr(const struct dhcp_packet *p, uint8_t code, uint32_t *out);
bool dhcp_opt_u16(const struct dhcp_packet *p, uint8_t code, uint16_t *out);

/* Reply builder. Every write is checked against `cap`; an option that
 * does not fit is left out whole, sets `overflow` and returns -ENOSPC, so
 * later, smaller options may still fit. Room for the End option is always
 * kept. */
struct dhcp_builder {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

/* Starts a BOOTREPLY to req in buf (cap bytes, at least DHCP_MIN_LEN + 4):
 * copies xid, flags, giaddr, htype/hlen/chaddr and writes option 53. */
int dhcp_build_begin(struct dhcp_builder *b, uint8_t *buf, size_t cap, const struct dhcp_packet *req,
                     uint8_t msg_type);
void dhcp_build_set_ciaddr(struct dhcp_builder *b, uint32_t addr);
void dhcp_build_set_yiaddr(struct dhcp_builder *b, uint32_t addr);
void dhcp_build_set_siaddr(struct dhcp_builder *b, uint32_t addr);
void dhcp_build_set_flags(struct dhcp_builder *b, uint16_t flags);
/* Copies a NUL-terminated name into the 128-byte file field; -ENOSPC if it
 * does not fit (the field is left empty then). */
int dhcp_build_set_file(struct dhcp_builder *b, const char *file);
/* Appends an option; data longer than 255 bytes is split into consecutive
 * instances (RFC 3396). */
int dhcp_build_option(struct dhcp_builder *b, uint8_t code, const void *data, size_t len);
int dhcp_build_option_u32(struct dhcp_builder *b, uint8_t code, uint32_t v);
/* Writes the End option and pads to DHCP_BOOTP_MIN_LEN. Returns the length. */
size_t dhcp_build_finish(struct dhcp_builder *b);

/* The largest reply (DHCP message, without IP/UDP) the client accepts. */
size_t dhcp_reply_cap(const struct dhcp_packet *req);

const char *dhcp_msg_type_name(uint8_t type);

#endif
