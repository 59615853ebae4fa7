/* The configuration: an INI file parsed here and nowhere else into a typed,
 * validated struct. Every key is documented in examples/midwife.conf.
 *
 * Errors name the file and line: "midwife.conf:12: lease_time: too large". */
#ifndef MIDWIFE_CONF_CONF_H
#define MIDWIFE_CONF_CONF_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

#define CONF_NAME_MAX 64
#define CONF_MAX_DNS 8
#define CONF_MAX_NTP 8
#define CONF_DOMAIN_MAX 254
#define CONF_FILENAME_MAX 128 /* fits the BOOTP file field with its NUL */
#define CONF_URL_MAX 512

enum store_sync { STORE_SYNC_NORMAL, STORE_SYNC_FULL };
enum unknown_clients { UNKNOWN_BOOT, UNKNOWN_IGNORE };
/* full: midwife hands out addresses. proxy: another DHCP server does;
 * midwife only answers PXE clients with boot information (proxyDHCP, PXE
 * 2.1) and never hands out, stores or NAKs an address. */
enum dhcp_mode { DHCP_MODE_FULL, DHCP_MODE_PROXY };

struct conf_range {
    uint32_t first, last; /* host byte order, inclusive */
};

struct conf_subnet {
    char name[CONF_NAME_MAX];
    int line; /* of its [subnet NAME] header, for messages */
    uint32_t network;
    unsigned prefix;
    uint32_t netmask;
    struct conf_range *ranges; /* none in proxy mode: the other server's */
    size_t n_ranges;
    uint32_t router; /* 0: none */
    uint32_t dns[CONF_MAX_DNS];
    size_t n_dns;
    uint32_t ntp[CONF_MAX_NTP];
    size_t n_ntp;
    char domain[CONF_DOMAIN_MAX + 1];
    uint32_t lease_time; /* seconds */
    uint32_t next_server; /* 0: the address the request arrived on */
    char interface[IF_NAMESIZE]; /* "": matched by address or relay */
};

struct conf_reservation {
    char name[CONF_NAME_MAX];
    int line;
    uint8_t mac[6];
    uint32_t address;
    char hostname[CONF_NAME_MAX];
};

/* Boot program per client system architecture (RFC 4578 option 93). */
struct conf_arch_boot {
    uint16_t arch;
    char filename[CONF_FILENAME_MAX];
};

/* One hook (src/lifecycle/hooks.h). */
enum conf_hook_kind { CONF_HOOK_EXEC, CONF_HOOK_WEBHOOK };
#define CONF_TRANSITION_MAX 16
#define CONF_MAX_HOOKS 64 /* exec hooks plus webhook × transition, in all */
struct conf_hook {
    char transition[CONF_TRANSITION_MAX]; /* discovered booting born ready failed retired */
    enum conf_hook_kind kind;
    char target[PATH_MAX];                /* absolute path of an executable, or an http:// URL */
    int line;
};

struct conf {
    char path[PATH_MAX];

    /* [server] */
    char state_dir[PATH_MAX];
    enum log_format log_format;
    enum log_level log_level;
    uint32_t server_address; /* 0: the address of the receiving interface */
    enum store_sync sync;

    /* [dhcp] */
    bool dhcp_enabled;
    char (*dhcp_interfaces)[IF_NAMESIZE];
    size_t n_dhcp_interfaces;
    uint16_t dhcp_port;        /* server port; clients are at port + 1 */
    enum dhcp_mode dhcp_mode;
    uint16_t dhcp_pxe_port;    /* proxy mode: the PXE boot server port (4011) */
    bool authoritative;        /* NAK requests for addresses we do not know */
    enum unknown_clients unknown_clients;
    uint32_t offer_hold;       /* seconds an offered address stays reserved */
    uint32_t decline_quarantine; /* seconds a declined address is not offered */

    struct conf_subnet *subnets;
    size_t n_subnets;
    struct conf_reservation *reservations;
    size_t n_reservations;

    /* [pxe] */
    struct conf_arch_boot *arch_boot;
    size_t n_arch_boot;
    /* What a client that already runs iPXE gets instead of a boot program.
     * "{mac}" is replaced by the client MAC (aa-bb-cc-dd-ee-ff). Default:
     * the per-host script over HTTP when [http] is enabled ("{http}" is
     * the public URL, see http_public_url), else "boot.ipxe" over TFTP. */
    char ipxe_script[CONF_URL_MAX];

    /* [tftp] */
    bool tftp_enabled;
    char tftp_root[PATH_MAX];
    uint32_t tftp_address; /* bind address, 0 = any */
    uint16_t tftp_port;
    unsigned tftp_max_transfers;
    unsigned tftp_timeout_ms;  /* first retransmission; doubles each retry */
    unsigned tftp_retries;
    unsigned tftp_max_blksize;
    unsigned tftp_max_windowsize;

    /* [http] */
    bool http_enabled;
    uint32_t http_address; /* bind address, 0 = any */
    uint16_t http_port;
    /* How booting hosts reach midwife over HTTP, e.g. "http://192.0.2.1:8080".
     * "": http://ADDRESS:PORT with ADDRESS the local address the request
     * (DHCP or HTTP) arrived on. */
    char http_public_url[CONF_URL_MAX];
    unsigned http_max_header_bytes;
    unsigned http_max_body_bytes;
    unsigned http_idle_timeout; /* seconds a connection may sit idle */
    unsigned http_max_connections;

    /* [boot] */
    /* The build an unknown host (no host record) boots; "" = none: its
     * script exits to the firmware's next boot device. */
    char boot_default_build[CONF_NAME_MAX];
    /* Extra kernel arguments for every linux build, after the build's own. */
    char boot_extra_cmdline[CONF_URL_MAX];
    /* A directory of operator templates overriding the built-in ones:
     * KIND.ipxe (linux, esxi, chain, sanboot, local, exit) and
     * esxi-boot.cfg. "" = built-ins only. */
    char boot_templates[PATH_MAX];
    /* Where midwife-agent and its init files are (agent_module.h): "" =
     * look next to the midwife binary (DIR/agent, a build tree), then in
     * the installed MIDWIFE_AGENT_DIR; boot_agent_off: `agent = none`, no
     * agent module. */
    char boot_agent[PATH_MAX];
    bool boot_agent_off;

    /* [lifecycle] */
    unsigned token_ttl;        /* seconds a boot token lives; default 3600 */
    uint64_t events_keep;      /* events kept at most; default 200000 */
    unsigned events_max_age;   /* seconds; 0 = no age bound; default 30 days */
    unsigned birth_timeout;    /* seconds from kernel fetch to birth before explain calls it lost; default 600 */
    uint64_t state_max_bytes;  /* a saved state archive's cap; default 64 MiB */
    bool born_hook_holds;      /* a failing born hook holds the host in configuring; default true */

    /* [hooks]: KEY = PATH... per transition, webhook = URL... for the
     * transitions in webhook_events (default all), timeout. */
    struct conf_hook *hooks;
    size_t n_hooks;
    unsigned hook_timeout;     /* seconds; default 30 */
};

/* Parses and validates path. On failure returns a negative errno and writes
 * "FILE:LINE: what is wrong" into err. */
int conf_load(const char *path, struct conf **out, char *err, size_t errlen);
void conf_free(struct conf *conf);

/* The boot program for an architecture, or NULL if the map has none. */
const char *conf_boot_program(const struct conf *conf, uint16_t arch);

#endif
