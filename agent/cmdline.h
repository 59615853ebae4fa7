/* What midwife handed this host on its kernel command line (the per-host
 * script writes it): where midwife is, the boot token, the boot NIC, the
 * management VLAN and how long the birth may take. */
#ifndef MIDWIFE_AGENT_CMDLINE_H
#define MIDWIFE_AGENT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest /proc/cmdline read (the kernel's own limit is smaller). */
#define CMDLINE_MAX 8192
#define CMDLINE_URL_MAX 1024
#define CMDLINE_TOKEN_MAX 256
/* Default bound on the birth's fast retries, in seconds. */
#define CMDLINE_BIRTH_TIMEOUT_DEFAULT 300

struct agent_cmdline {
    char url[CMDLINE_URL_MAX];     /* midwife.url=, no trailing '/'; "" when absent */
    char token[CMDLINE_TOKEN_MAX]; /* midwife.token=; "" when absent */
    bool has_mac;
    uint8_t mac[6];                /* midwife.mac= (aa-bb-.. or aa:bb:..) */
    unsigned vlan;                 /* midwife.vlan= (0: none) */
    unsigned birth_timeout_s;      /* midwife.birth_timeout= */
};

/* Parses len bytes of a kernel command line (words separated by blanks,
 * a value may be "double quoted"). Unknown words are ignored. 0, or
 * -EINVAL with "midwife.KEY: what is wrong" in err for a midwife.* word
 * whose value is malformed (an URL that is not http://, a token with
 * characters other than [A-Za-z0-9._-], a bad MAC, a VLAN outside
 * 0..4094, a timeout outside 1..86400). A later word overrides an earlier
 * one, as the kernel does. */
int cmdline_parse(const char *text, size_t len, struct agent_cmdline *c, char *err, size_t errlen);

/* Reads path (NULL: /proc/cmdline) and parses it. -ENOENT with a message
 * when url or token is missing (this boot did not come from midwife). */
int cmdline_load(const char *path, struct agent_cmdline *c, char *err, size_t errlen);

#endif
