/* The shapes a profile string can take (an interface name, an address,
 * a path, ...), checked on the literal text at validation and again on
 * the substituted text at render. Internal to src/inventory/. */
#ifndef MIDWIFE_INVENTORY_SHAPES_H
#define MIDWIFE_INVENTORY_SHAPES_H

#include <stdbool.h>
#include <stddef.h>

enum shape {
    SHAPE_TEXT,          /* anything without control bytes */
    SHAPE_HOSTNAME,      /* labels of [A-Za-z0-9_-], dots between, at most 253 */
    SHAPE_IFNAME,        /* [A-Za-z0-9_.:-]{1,15}, not "." or ".." */
    SHAPE_MAC,           /* aa:bb:cc:dd:ee:ff (or '-'), rendered lowercase with ':' */
    SHAPE_ADDRESS,       /* a.b.c.d or a.b.c.d/prefix */
    SHAPE_NETWORK,       /* a.b.c.d or a.b.c.d/prefix with the host bits zero */
    SHAPE_IPV4,          /* a.b.c.d */
    SHAPE_SERVER,        /* a.b.c.d or a host name */
    SHAPE_PORTAL,        /* a server with an optional :port */
    SHAPE_ISCSI_NAME,    /* iqn./eui./naa. name */
    SHAPE_ABS_PATH,      /* starts with '/' */
    SHAPE_SAFE_PATH,     /* absolute, no '.', '..' or empty component, no trailing '/' */
    SHAPE_MOUNT_OPTIONS, /* [A-Za-z0-9,=._:/+-]* */
    SHAPE_BOND_MODE,     /* one of the kernel's bonding modes */
};

/* What is wrong with s for shape, or NULL when it fits. When *quote is
 * set the caller prints the value before the text ("'x' is not a MAC
 * address"); else the text stands alone ("expected one of ..."). */
const char *shape_problem(enum shape sh, const char *s, size_t n, bool *quote);

/* A MAC in its one output form, for SHAPE_MAC values (out[18]). */
int shape_mac_normal(const char *s, char out[18]);

#endif
