/* The boot decision: what a network-booting client gets, and why.
 *
 * Pure: a client's identity and the config in, a plan with a human reason
 * out. DHCP asks it for every packet; `midwife explain` and the TFTP/HTTP
 * rooms can ask it the same question and get the same answer. */
#ifndef MIDWIFE_BOOT_BOOT_H
#define MIDWIFE_BOOT_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* What the client told us about itself. Byte strings are raw, as received
 * (not NUL-terminated); NULL/0 when absent. */
struct boot_identity {
    uint8_t mac[6];
    bool has_mac;           /* Ethernet chaddr */
    int32_t arch;           /* option 93 (first entry), -1 if absent */
    const uint8_t *vendor_class; /* option 60 */
    size_t vendor_class_len;
    const uint8_t *user_class;   /* option 77 */
    size_t user_class_len;
    bool ipxe_options;      /* option 175 (iPXE encapsulated options) present */
    bool known;             /* has a reservation */
    /* Where the client reaches us: the next-server handed out (the
     * receiving interface's address unless configured). Fills "{http}"
     * when [http] public_url is unset; 0 = unknown. Host byte order. */
    uint32_t server_addr;
};

enum boot_client {
    BOOT_CLIENT_PLAIN,  /* an ordinary DHCP client: addresses only */
    BOOT_CLIENT_PXE,    /* firmware PXE (vendor class "PXEClient...") */
    BOOT_CLIENT_HTTP,   /* UEFI HTTP boot (vendor class "HTTPClient...") */
    BOOT_CLIENT_IPXE,   /* already running iPXE */
};

#define BOOT_REASON_MAX 192

struct boot_plan {
    enum boot_client client;
    /* false: stay silent towards this client (unknown_clients = ignore). */
    bool answer;
    /* The boot file name or URL to hand out; "" for none. */
    char filename[CONF_URL_MAX];
    /* One line for people: "arch 7 (EFI x86-64) → snponly.efi". */
    char reason[BOOT_REASON_MAX];
};

void boot_decide(const struct conf *conf, const struct boot_identity *id, struct boot_plan *plan);

/* "EFI x86-64" for 7, "unknown" for what RFC 4578 and IANA do not name. */
const char *boot_arch_name(int32_t arch);

/* Copies tmpl into out replacing every "{mac}" with aa-bb-cc-dd-ee-ff.
 * Returns 0, or -ENOSPC if the result does not fit. */
int boot_expand_mac(const char *tmpl, const uint8_t mac[6], char *out, size_t outlen);

/* As boot_expand_mac, and every "{http}" becomes http (NULL: left as is). */
int boot_expand(const char *tmpl, const uint8_t mac[6], const char *http, char *out, size_t outlen);

/* How booting hosts reach midwife over HTTP: [http] public_url, else
 * "http://ADDR" plus ":PORT" unless the port is 80, with ADDR the address
 * the request arrived on (host byte order). Returns 0; -EADDRNOTAVAIL
 * when there is no public_url and addr is 0; -ENOSPC. The HTTP room uses
 * it for script_request.base_url too, so DHCP and scripts agree. */
int boot_http_base(const struct conf *conf, uint32_t addr, char *out, size_t outlen);

/* UEFI HTTP boot architectures (RFC 4578 / IANA types 15, 16, 18, 19)
 * boot the same programs as their PXE counterparts (6, 7, 10, 11); any
 * other type maps to itself. */
int32_t boot_http_arch_program_arch(int32_t arch);

#endif
