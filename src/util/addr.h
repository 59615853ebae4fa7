/* IPv4 and MAC address helpers. Addresses are kept in host byte order
 * (uint32_t) inside midwife and converted only at the packet boundary. */
#ifndef MIDWIFE_UTIL_ADDR_H
#define MIDWIFE_UTIL_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define IPV4_STRLEN 16
#define MAC_STRLEN 18 /* "aa:bb:cc:dd:ee:ff" + NUL */

int parse_ipv4(const char *s, uint32_t *out);
/* "10.0.0.0/24" -> network and prefix length; host bits must be zero. */
int parse_cidr(const char *s, uint32_t *network, unsigned *prefix);
int parse_mac(const char *s, uint8_t mac[6]); /* ':' or '-' separated */
uint32_t prefix_to_mask(unsigned prefix);

const char *format_ipv4(uint32_t addr, char out[IPV4_STRLEN]);
const char *format_mac(const uint8_t mac[6], char out[MAC_STRLEN]);
/* Any hardware address up to 16 bytes: "aa:bb:..." ; out needs 3*len bytes (min 1). */
const char *format_hwaddr(const uint8_t *hw, size_t len, char *out, size_t outlen);

#endif
