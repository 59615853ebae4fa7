/* A stand-in for agent/apply_*.c in the agent's run tests: it records
 * that it was called and reports one step, so the order of a run (birth,
 * restore, apply, ready) can be checked without touching the network; the
 * management VLAN call before the birth is recorded the same way. */
#include "apply.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int apply_stub_calls;
const char *apply_stub_fail; /* non-NULL: fail with this */
bool apply_stub_had_boot_mac; /* the last apply_document's env had one */

int apply_document(const json_t *doc, const struct apply_env *env, const struct reporter *rep, char *err,
                   size_t errlen, const char **failed_step)
{
    apply_stub_calls++;
    apply_stub_had_boot_mac = env->boot_mac != NULL;
    if (apply_stub_fail) {
        report_step(rep, "stub", STEP_FAILED, "%s", apply_stub_fail);
        snprintf(err, errlen, "stub: %s", apply_stub_fail);
        if (failed_step)
            *failed_step = "stub";
        return -1;
    }
    report_step(rep, "stub", STEP_OK, "root %s", env->root && env->root[0] ? "set" : "/");
    return 0;
}

int apply_stub_mgmt_vlan_calls;
unsigned apply_stub_mgmt_vlan_id;
uint8_t apply_stub_mgmt_vlan_mac[6];

int apply_mgmt_vlan(const uint8_t mac[6], unsigned id, unsigned dhcp_timeout_s, char *name, size_t namelen,
                    char *msg, size_t msglen)
{
    (void)dhcp_timeout_s;
    apply_stub_mgmt_vlan_calls++;
    apply_stub_mgmt_vlan_id = id;
    memcpy(apply_stub_mgmt_vlan_mac, mac, 6);
    snprintf(name, namelen, "stub.%u", id);
    snprintf(msg, msglen, "stub");
    return 1;
}
