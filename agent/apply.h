/* Applying a configuration document (docs/profiles.md) to this host.
 * The document has passed doc_check (doc.h): every field has its type,
 * names are interface names, paths are absolute without "." or "..".
 *
 * Applying is idempotent: each step compares what is there with what the
 * document asks for and changes only the difference, so applying the same
 * document twice changes nothing the second time (the step is reported
 * "ok" with message "unchanged").
 *
 * Order: hostname; links (physical NICs found by MAC when the document
 * gives one, and renamed to the document's name if they are called
 * otherwise; else by name; MTU; up); bonds (create, mode, enslave); VLANs; the management VLAN
 * (mgmt_vlan: tagged on the boot NIC, "NIC.ID", with a DHCP lease unless
 * it has an address, as the agent set it up before the birth; skipped
 * when the document's vlans already have that id); bridges (create, enslave
 * uplinks); addresses (add missing, remove other global IPv4 addresses on
 * interfaces the document names with "dhcp": false; an interface with
 * "dhcp": true keeps what it has and, when it has no IPv4 address, gets a
 * lease from a DHCP client found on the host: udhcpc, dhclient); routes; DNS (resolv.conf); NTP (config
 * for the time daemon found: chrony, systemd-timesyncd, else a plain
 * ntp.conf); storage (NFS with mount(2), iSCSI with iscsiadm when present,
 * "skipped" when not); then the profile's commands (/bin/sh -c, in order,
 * stopping at the first that fails). Network changes use netlink
 * (libnl-route), never the `ip` command. */
#ifndef MIDWIFE_AGENT_APPLY_H
#define MIDWIFE_AGENT_APPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

struct apply_env {
    /* Where files go: "" (or NULL) for "/", a test directory otherwise.
     * resolv.conf is ROOT/etc/resolv.conf, /etc/hostname ROOT/etc/hostname,
     * NFS mount points ROOT/<mount>. */
    const char *root;
    /* false: do not call sethostname(2) (tests outside a UTS namespace). */
    bool set_kernel_hostname;
    /* false: skip storage (NFS, iSCSI) and commands, reported "skipped". */
    bool storage_and_commands;
    /* Seconds one command may run before it is killed (0: 300). */
    unsigned command_timeout_s;
    /* The boot NIC's MAC (midwife.mac=), which carries the document's
     * mgmt_vlan; NULL: that step is skipped. */
    const uint8_t *boot_mac;
};

/* Applies doc. Returns 0 when every step is ok or skipped; -1 when one
 * failed: then err holds "STEP: what went wrong" and *failed_step (if not
 * NULL) points at a static copy of the step's name. Steps before the
 * failure stay applied (the next apply finishes the job). */
int apply_document(const json_t *doc, const struct apply_env *env, const struct reporter *rep, char *err,
                   size_t errlen, const char **failed_step);

/* The management VLAN on its own, before the birth (run.c): the NIC with
 * MAC mac up, VLAN id on it ("NIC.ID", in *name), an IPv4 address on that
 * (a DHCP lease within dhcp_timeout_s when it has none). 0 when it was
 * already so (msg empty), 1 when something changed (msg says what), -1
 * with msg. */
int apply_mgmt_vlan(const uint8_t mac[6], unsigned id, unsigned dhcp_timeout_s, char *name, size_t namelen,
                    char *msg, size_t msglen);

#endif
