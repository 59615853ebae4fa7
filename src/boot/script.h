/* Per-host boot scripts: what iPXE runs once it is on the network.
 * Rendered from the host's build through templates whose every inserted
 * value is validated or quoted, so no host- or admin-supplied string can
 * add an iPXE command.
 *
 * Each build kind has a built-in template (linux, esxi, chain, sanboot,
 * local, and exit for a host with no build); [boot] templates = DIR
 * overrides any of them with DIR/KIND.ipxe, and the ESXi boot.cfg with
 * DIR/esxi-boot.cfg. docs/boot-templates.md lists the variables. */
#ifndef MIDWIFE_BOOT_SCRIPT_H
#define MIDWIFE_BOOT_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "store/store.h"
#include "store/store_build.h"
#include "store/store_inventory.h"

/* What a script request knows about the asker. */
struct script_request {
    const uint8_t *mac;   /* NULL if the request named none */
    const char *base_url; /* how the host reaches midwife, no trailing '/' */
    /* The host's one-time boot token, rendered as midwife.token=TOKEN
     * ([A-Za-z0-9._:-]); NULL when this request does not start a boot. */
    const char *token;
    /* A stateless host's saved state archive (its blob's SHA-256), loaded
     * by linux builds as the last initrd module, named STATE_MODULE_NAME;
     * NULL when it has none. */
    const char *state_sha256;
    /* The agent initrd module's blob (images/agent_module.h), loaded by
     * linux builds that do not opt out (no_agent) after their own modules
     * and before the state; NULL when the server has none. */
    const char *agent_sha256;
};

#define STATE_MODULE_NAME "midwife-state.cpio.gz"
#define AGENT_MODULE_FILE "midwife-agent.cpio.gz"

/* Looks the host up by any of its MACs (unknown hosts get [boot] default_build, or an
 * iPXE `exit`), renders its script into a malloc'd string *out (caller
 * frees). On failure returns a negative errno and a message in err:
 *   -ENOENT  the host's (or the default) build does not exist;
 *   -EINVAL  a template error or a refused value ("linux.ipxe:7: ...");
 *   -E2BIG   output over its cap; -EIO an override template unreadable;
 *   -ENOMEM. */
int boot_script_for(const struct conf *conf, struct store *st, const struct script_request *req,
                    char **out, size_t *outlen, char *err, size_t errlen);

/* The pure part of boot_script_for: renders the script for host (NULL for
 * an unknown host) booting build (NULL: the exit script). Reads only an
 * override template file, never the store. */
int boot_script_render(const struct conf *conf, const struct host *host, const struct build *build,
                       const struct script_request *req, char **out, size_t *outlen, char *err, size_t errlen);

/* The ESXi boot.cfg the esxi script points its loader at, for
 * GET /boot/esxi/<aa-bb-cc-dd-ee-ff>/boot.cfg (req->mac from the path):
 *   prefix=<base_url>/boot/file
 *   kernel=<sha256>/b.b00
 *   kernelopt=<build kernelopt> [vlanid=N midwife.vlan=N] midwife.url=<base_url>
 *   modules=<sha256>/a --- <sha256>/b ...
 * Same lookups and errors as boot_script_for; -ENOENT too when the host's
 * build is not an esxi build. */
int boot_esxi_cfg_for(const struct conf *conf, struct store *st, const struct script_request *req,
                      char **out, size_t *outlen, char *err, size_t errlen);
int boot_esxi_cfg_render(const struct conf *conf, const struct host *host, const struct build *build,
                         const struct script_request *req, char **out, size_t *outlen, char *err,
                         size_t errlen);

/* Compiles every override template in [boot] templates against its
 * variables, so `serve` can refuse a broken one at startup. 0 or -EINVAL
 * with "FILE:LINE: ..." in err. */
int boot_templates_check(const struct conf *conf, char *err, size_t errlen);

#endif
