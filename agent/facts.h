/* What the agent tells midwife about this machine at birth and in its
 * ready report (docs/api.md, "Birth request"). Every reader takes a root
 * prefix for /sys and /proc ("" on a real host) so tests run them on a
 * fake tree. Values from firmware are cut to printable ASCII: a board's
 * serial can hold any byte. */
#ifndef MIDWIFE_AGENT_FACTS_H
#define MIDWIFE_AGENT_FACTS_H

#include <ifaddrs.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* uuid, serial, vendor, model from ROOT/sys/class/dmi/id ("" when absent). */
int facts_dmi(const char *root, json_t *out);
/* cpus, cpu_model from ROOT/proc/cpuinfo; memory_bytes from ROOT/proc/meminfo. */
int facts_cpu_memory(const char *root, json_t *out);
/* Physical NICs (ROOT/sys/class/net/X/device exists), sorted by name:
 * [{"name","mac","driver","link","speed_mbps"?}]. */
json_t *facts_nics(const char *root);
/* Every interface, sorted by name: [{"name","mac","kind","vlan_id"?,
 * "master"?,"mtu","up","addresses"}]; addresses (IPv4 "a.b.c.d/prefix")
 * from ifa, the list getifaddrs(3) gives (NULL: none). */
json_t *facts_links(const char *root, const struct ifaddrs *ifa);
/* Block devices of ROOT/sys/block but loop*, ram*, zram*:
 * [{"name","size_bytes","model"}]. */
json_t *facts_disks(const char *root);

/* The NIC the host booted from: boot_mac when given, else the one holding
 * the default route (ROOT/proc/net/route), else the first NIC with an
 * IPv4 address, else the first NIC. "" when there is no NIC. */
void facts_boot_mac(const char *root, const json_t *nics, const struct ifaddrs *ifa, const uint8_t *boot_mac,
                    char out[18]);

/* Everything, as sent at birth: the fields above plus "macs" (every NIC's
 * MAC, the boot MAC first), "boot_mac", "links", "hostname" and "agent".
 * boot_mac: midwife.mac= or NULL. NULL only when out of memory. */
json_t *facts_collect(const char *root, const uint8_t *boot_mac);

#endif
