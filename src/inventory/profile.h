/* Profiles and the configuration document a host gets at birth.
 *
 * A profile is a JSON object (every key optional; docs/profiles.md has the
 * full reference and an example):
 *   "hostname":   "esx-${rack}-${index}"
 *   "interfaces": [{"name": "mgmt0", "mac": "${mac}", "mtu": 9000,
 *                   "dhcp": false, "addresses": ["10.0.0.5/24"]}]
 *   "bonds":      [{"name": "bond0", "mode": "802.3ad"|"active-backup"|"balance-rr"|
 *                   "balance-xor"|"broadcast"|"balance-tlb"|"balance-alb",
 *                   "members": ["eth0", "eth1"], "mtu": 9000, "addresses": [...]}]
 *   "vlans":      [{"name": "vlan42", "link": "bond0", "id": 42, "addresses": [...]}]
 *   "bridges":    [{"name": "vmbr0", "uplinks": ["eth1"], "addresses": [...],
 *                   "port_groups": [{"name": "VM Network", "vlan": 0}]}]
 *   "routes":     [{"to": "0.0.0.0/0", "via": "10.0.0.1", "dev": "vmbr0"}]
 *   "dns":        {"servers": ["10.0.0.53"], "search": ["lab.example"]}
 *   "ntp":        ["10.0.0.1", "pool.example"]
 *   "storage":    {"nfs":   [{"server": "10.0.0.9", "export": "/vol/iso", "mount": "/mnt/iso",
 *                            "options": "ro,vers=4"}],
 *                  "iscsi": [{"portal": "10.0.0.10:3260", "target": "iqn....", "lun": 0}]}
 *   "cluster":    "pve-lab"
 *   "persist":    ["/etc/ssh", "/var/lib/pve-cluster"]    absolute, no "..", no "//"
 *   "commands":   ["pvecm status"]                          run by the agent, in order
 *
 * Any string may use ${VAR}: the host's variables and the built-ins name,
 * mac (primary MAC, aa:bb:cc:dd:ee:ff), mac0..mac7, uuid, serial, address
 * (static address or ""), vlan, build, profile, boot_id, label.KEY.
 * "$$" is a literal "$". An integer field (mtu, id, vlan, lun, metric)
 * may be a string of ${...} that must substitute to an integer in range. */
#ifndef MIDWIFE_INVENTORY_PROFILE_H
#define MIDWIFE_INVENTORY_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_inventory.h"

#define PROFILE_DOC_MAX (256 * 1024) /* bytes of profile JSON */
#define CONFIGDOC_MAX (1024 * 1024)  /* bytes of a rendered configuration document */

/* Checks the shape of a profile document (types, known keys, enum values,
 * counts, names shaped like interface names, ${...} well formed). Values
 * that hold ${...} are checked again after substitution, at render time.
 * 0, or -EINVAL with "FIELD: what" in err ("bonds[0].mode: expected one of
 * 802.3ad, active-backup, ..."). */
int profile_validate(const char *doc_json, char *err, size_t errlen);

/* What the document says about the server side. */
struct configdoc_ctx {
    const char *base_url; /* midwife as the host reaches it, no trailing '/' */
    int64_t now_ms;
};

/* Renders the configuration document for host h from profile doc_json
 * (NULL: no profile, an empty configuration). The result is a JSON object
 * (malloc'd text in *out):
 *   {"version": 1, "host": NAME, "host_id": N, "boot_id": N,
 *    "hostname": ..., "interfaces": [...], "bonds": [...], "vlans": [...],
 *    "bridges": [...], "routes": [...], "dns": {...}, "ntp": [...],
 *    "storage": {...}, "cluster": ..., "persist": [...], "commands": [...],
 *    "mgmt_vlan": N (when the host has one),
 *    "report_url": BASE/api/v1/report, "state_url": BASE/api/v1/state}
 * with every ${VAR} substituted and every substituted value checked again
 * (an interface name still shaped like one, an address still an address,
 * no control bytes anywhere). -EINVAL with "FIELD: what" in err for an
 * unknown variable or a value that no longer fits; -ENOMEM. */
int configdoc_render(const char *doc_json, const struct host *h, const struct configdoc_ctx *ctx, char **out,
                     char *err, size_t errlen);

#endif
