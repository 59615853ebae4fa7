/* ESXi kickstart: what midwife-agent does on Linux, done on ESXi with
 * what ESXi ships. The installer fetches ks.cfg (GET
 * /boot/esxi/MAC/TOKEN/ks.cfg, named by ks= in boot.cfg); its
 * %firstboot script (busybox sh) sends the birth and the reports with
 * busybox wget and applies the host's configuration document with
 * esxcli.
 *
 * The document is turned into esxcli lines here, at render time; the
 * script only runs them. Every value from the document, the host or the
 * request enters the script single-quoted (' written as '\''), each
 * report body is a JSON text built with jansson and quoted as a whole,
 * and a value holding a control byte is refused: no value can end its
 * word, its line or its kickstart section. The few things learnt on the
 * host (its MACs, vendor, model, serial; the software iSCSI adapter's
 * name) are cut down to fixed character sets before they are used.
 *
 * Layout (docs/boot-templates.md, "ESXi kickstart"):
 *   the preamble: vmaccepteula, install --firstdisk --overwritevmfs,
 *     network (DHCP on the boot NIC, or static when the management
 *     vSwitch has an address), reboot; no rootpw — the operator's
 *     [boot] templates DIR/esxi-ks.cfg replaces the whole preamble;
 *   %firstboot --interpreter=busybox: helpers, the birth (retried), then
 *     one step per item, each reported running, then ok, or failed
 *     (which stops the script), then {"ready": true}. */
#ifndef MIDWIFE_BOOT_KICKSTART_H
#define MIDWIFE_BOOT_KICKSTART_H

#include <stddef.h>

#include <jansson.h>

#include "conf/conf.h"
#include "store/store.h"
#include "store/store_inventory.h"

#define KS_OUT_MAX (256 * 1024) /* the whole kickstart */
#define KS_LINE_MAX (16 * 1024) /* one line of it */
#define KS_PREAMBLE_FILE "esxi-ks.cfg"

/* The line that opens the script part; everything above it is the
 * preamble, everything below the script. */
#define KS_FIRSTBOOT_LINE "%firstboot --interpreter=busybox"
/* The line after the fixed helpers, before the first step: from here on
 * every line is empty, a constant comment, or a command line. */
#define KS_STEPS_LINE "# ---- steps ----"

/* Renders the kickstart for the host whose configuration document is
 * doc (the JSON object configdoc_render makes), booting from mac (any
 * spelling parse_mac takes) with boot token token, reaching midwife at
 * base_url (no trailing '/'). The built-in preamble. *out is malloc'd
 * (caller frees); outlen may be NULL. Returns 0; -EINVAL with
 * "FIELD: what" in err for a document of the wrong shape or a value with
 * a control byte, a bad MAC, token or base URL; -E2BIG for a line over
 * KS_LINE_MAX or an output over KS_OUT_MAX; -ENOMEM. */
int boot_kickstart_render(const json_t *doc, const char *mac, const char *token, const char *base_url, char **out,
                          size_t *outlen, char *err, size_t errlen);

/* The same with preamble (len bytes, copied as it is; NUL bytes refused)
 * in place of the built-in one; NULL: the built-in. */
int boot_kickstart_render_with(const char *preamble, size_t preamble_len, const json_t *doc, const char *mac,
                               const char *token, const char *base_url, char **out, size_t *outlen, char *err,
                               size_t errlen);

/* The route's part: host h (whose token the caller has checked) booting
 * from mac with token: its build must be an esxi build (-ENOENT
 * otherwise, or when the build is gone), its profile is rendered into
 * its configuration document (-EINVAL when it does not render, -ENOENT
 * when the profile is gone), [boot] templates DIR/esxi-ks.cfg is the
 * preamble when present (-EIO unreadable, -E2BIG over 64 KiB). */
int boot_kickstart_for(const struct conf *conf, struct store *st, const struct host *h, const uint8_t mac[6],
                       const char *token, const char *base_url, char **out, size_t *outlen, char *err,
                       size_t errlen);

#endif
