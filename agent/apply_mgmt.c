/* The management VLAN: the VLAN id of the host's record, which midwife
 * hands the kernel as midwife.vlan= and the document as mgmt_vlan. A host
 * that PXE-booted on the native (provisioning) VLAN reaches midwife, and
 * is managed, over this tagged VLAN on its boot NIC: the agent brings it
 * up before the birth (run.c) and apply keeps it (apply.c, step
 * mgmt_vlan). It reuses the document steps — link up, VLAN, addresses —
 * so the same checks (an existing link of that name with another id is
 * refused, never replaced) hold. */
#include <jansson.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "apply_internal.h"
#include "apply_net.h"

void mgmt_vlan_name(const char *nic, unsigned id, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s.%u", nic, id);
    if (n < 0 || n >= IFNAMSIZ || (size_t)n >= outlen)
        snprintf(out, outlen, "vlan%u", id);
}

/* Folds one part's result into the step's: a failure wins, then a change. */
static int fold(int have, int part)
{
    if (have == RESULT_FAILED || part == RESULT_FAILED)
        return RESULT_FAILED;
    return have == RESULT_CHANGED || part == RESULT_CHANGED ? RESULT_CHANGED : RESULT_UNCHANGED;
}

int net_mgmt_vlan(struct net *n, const uint8_t mac[6], unsigned id, unsigned dhcp_timeout_s, char *vlan_name,
                  size_t namelen, char *msg, size_t msglen)
{
    msg[0] = '\0';
    if (namelen)
        vlan_name[0] = '\0';
    if (id < 1 || id > 4094) {
        snprintf(msg, msglen, "VLAN %u is outside 1..4094", id);
        return RESULT_FAILED;
    }
    char nic[IFNAMSIZ + 1], part[STEP_MSG_MAX];
    if (net_nic_by_mac(n, mac, nic, sizeof nic, part, sizeof part) < 0) {
        snprintf(msg, msglen, "boot NIC: %s", part);
        return RESULT_FAILED;
    }
    char name[IFNAMSIZ + 8];
    mgmt_vlan_name(nic, id, name, sizeof name);
    snprintf(vlan_name, namelen, "%s", name);

    int res = RESULT_UNCHANGED;
    json_t *link = json_pack("{s:s}", "name", nic);
    json_t *vlan = json_pack("{s:s,s:s,s:I}", "name", name, "link", nic, "id", (json_int_t)id);
    json_t *addr = json_pack("{s:s,s:b}", "name", name, "dhcp", 1);
    if (!link || !vlan || !addr) {
        snprintf(msg, msglen, "out of memory");
        res = RESULT_FAILED;
        goto out;
    }
    /* Each part in turn; the message keeps what each one did. */
    const struct {
        const char *what;
        const json_t *entry;
    } parts[] = {{nic, link}, {name, vlan}, {"address", addr}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0] && res != RESULT_FAILED; i++) {
        part[0] = '\0';
        int r = i == 0   ? net_interface(n, parts[i].entry, part, sizeof part)
                : i == 1 ? net_vlan(n, parts[i].entry, part, sizeof part)
                         : net_addresses(n, parts[i].entry, dhcp_timeout_s, part, sizeof part);
        if (r != RESULT_UNCHANGED && part[0])
            msg_append(msg, msglen, "%s: %s", parts[i].what, part);
        res = fold(res, r);
    }
out:
    json_decref(link);
    json_decref(vlan);
    json_decref(addr);
    return res;
}
