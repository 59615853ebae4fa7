/* The script request, seen by the lifecycle: GET /boot/ipxe?mac=... is
 * where a powered-on machine first asks for something only midwife can
 * decide. An unknown machine is matched against the rules (a match
 * creates its record, state discovered); a known one starts a boot
 * (a token, state booting) when the request comes from the address
 * midwife leased to that MAC (in proxy mode: see lifecycle_proxy_answered)
 * — anyone else asking for a MAC's script gets the script without a
 * token, so it cannot take over the host's birth. */
#ifndef MIDWIFE_LIFECYCLE_DISCOVER_H
#define MIDWIFE_LIFECYCLE_DISCOVER_H

#include <stddef.h>
#include <stdint.h>

#include "lifecycle/lifecycle.h"

struct script_ask {
    uint8_t mac[6];
    uint32_t peer;         /* host byte order */
    const char *base_url;  /* midwife as this client reaches it */
    /* What iPXE told about the machine in the query (NULL: not sent). */
    const char *uuid, *serial, *vendor, *model;
    /* The query came from the identity script below (?asked=1): do not
     * ask again, whatever it holds. */
    bool asked;
};

/* An unknown machine's first script request carries only its MAC, but
 * rules may match its UUID, serial, vendor or model, which iPXE knows. So
 * when rules exist and the request did not say them, the answer is a
 * two-line iPXE script that asks again with them (iPXE fills ${uuid},
 * ${serial}, ${manufacturer}, ${product}); the second request decides. */

/* Proxy mode ([dhcp] mode = proxy): the address a booting host asks from
 * was leased by the site's DHCP server, so there is no lease of midwife's
 * to bind a boot to. What midwife saw stands in for it: a known host's
 * script request starts a boot when it comes from an address on one of
 * the [subnet] networks and midwife answered a PXE DHCP exchange of that
 * MAC (a proxy offer or ACK) within LIFECYCLE_PROXY_SEEN_S seconds. The
 * DHCP room reports each answer here. */
#define LIFECYCLE_PROXY_SEEN_S 300
void lifecycle_proxy_answered(struct lifecycle *lc, const uint8_t mac[6]);

/* Proxy mode: the MAC whose boot was bound to a script asked from addr in
 * the last LIFECYCLE_PROXY_BOOT_S seconds (0), else -ENOENT. What the
 * flight recorder uses instead of a lease to tell whose files an address
 * fetches. */
#define LIFECYCLE_PROXY_BOOT_S 3600
int lifecycle_proxy_mac_at(struct lifecycle *lc, uint32_t addr, uint8_t mac[6]);

/* The script for ask into a malloc'd *out; same errors as
 * boot_script_for (-ENOENT no such build, -EINVAL template or value). */
int lifecycle_script_for(struct lifecycle *lc, const struct script_ask *ask, char **out, size_t *outlen, char *err,
                         size_t errlen);

/* The rules' view of a machine from what midwife knows about its MAC
 * (its lease: architecture, subnet, option 82, UUID) plus ask's extras.
 * Fills the subject's strings into the caller's buffers in *keep. Used by
 * the script request and by explain. */
struct rule_subject;
struct subject_keep {
    char uuid[HOST_UUID_LEN + 1];
    char subnet[CONF_NAME_MAX];
    uint8_t relay[255];
    size_t relay_len;
};
void lifecycle_subject_for(struct lifecycle *lc, const uint8_t mac[6], const char *uuid, const char *serial,
                           const char *vendor, const char *model, struct rule_subject *s, struct subject_keep *keep);

/* First matching rule for s, loaded from the store: index into *rules
 * (caller frees with lifecycle_rules_free) or -1. */
struct rule;
int lifecycle_rules_load(struct lifecycle *lc, struct rule **rules, size_t *n);
void lifecycle_rules_free(struct rule *rules, size_t n);

#endif
