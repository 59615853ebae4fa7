/* SAN boot per host: what a host's sanboot build opens, under which
 * iSCSI initiator name, and the root path DHCP hands it.
 *
 * A sanboot build names a SAN URI: RFC 4173 "iscsi:server:proto:port:lun:
 * target" or an http(s) URL of a disk image. A host's vars make it its
 * own: iscsi_target (an IQN/EUI/NAA name replacing the URI's target, so
 * one build serves every host of a storage array) and iscsi_initiator
 * (the name the host logs in with; default BOOT_ISCSI_INITIATOR_PREFIX +
 * its name). The script (sanboot.ipxe) and DHCP (option 17, and 203 for
 * iPXE) get the same values from here. */
#ifndef MIDWIFE_BOOT_SAN_H
#define MIDWIFE_BOOT_SAN_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "store/store.h"
#include "store/store_build.h"
#include "store/store_inventory.h"

#define BOOT_ISCSI_NAME_MAX 224 /* RFC 3720 §3.2.6.1: at most 223 bytes, plus the NUL */
#define BOOT_ROOT_PATH_MAX 256  /* DHCP option 17 holds at most 255 bytes */
/* The initiator name of a host without an iscsi_initiator var: this
 * prefix and its name, lowercase, each '_' written as '-'. */
#define BOOT_ISCSI_INITIATOR_PREFIX "iqn.2026-12.midwife:"

/* An iSCSI name in one of its RFC 3720 §3.2.6.3 shapes, strictly:
 *   iqn.YYYY-MM.AUTHORITY[:NAME]  AUTHORITY a reversed domain name (labels
 *                                 of [a-z0-9-], dot-separated), NAME of
 *                                 [a-z0-9.:-]: lowercase, since names
 *                                 compare after case folding (RFC 3722);
 *   eui.XXXXXXXXXXXXXXXX          16 hex digits (an EUI-64);
 *   naa.XXXX…                     16 or 32 hex digits (RFC 3980);
 * at most 223 bytes. On refusal why says what is wrong. */
bool boot_iscsi_name_valid(const char *s, char *why, size_t whylen);

struct boot_san {
    /* What `sanboot` opens: the build's san_uri, its target replaced by
     * the host's iscsi_target when it has one. */
    char uri[BUILD_URI_MAX];
    bool iscsi;                          /* an iscsi: URI (else http(s)) */
    char initiator[BOOT_ISCSI_NAME_MAX]; /* iSCSI and a host: its initiator name; else "" */
};

/* The SAN host boots with build, a sanboot build. host NULL (an unknown
 * host): the build's URI as it is, no initiator. iscsi_target and
 * iscsi_initiator must pass boot_iscsi_name_valid and go with an iscsi:
 * URI only; the resulting URI must pass the san_uri template class (and
 * name a target). Returns 0, or -EINVAL with the reason in err. */
int boot_san_for(const struct host *host, const struct build *build, struct boot_san *out, char *err,
                 size_t errlen);

/* What DHCP hands host: 1 with *out filled when host is in mode sanboot
 * and its build (or [boot] default_build) is a sanboot build with an
 * iscsi: URI of at most 255 bytes; 0 when it gets nothing; a negative
 * errno with err set when the build is missing or a value is refused. */
int boot_san_dhcp(const struct conf *conf, struct store *st, const struct host *host, struct boot_san *out,
                  char *err, size_t errlen);

#endif
