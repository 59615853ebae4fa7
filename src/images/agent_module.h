/* The agent initrd module: midwife-agent packed as a gzip'd cpio (newc)
 * that linux builds load after their own modules (and before a stateless
 * host's saved state), so every Linux host that boots through midwife can
 * send its birth and apply its configuration without anything installed.
 *
 * Built once at `serve` start (and on SIGHUP) from [boot] agent = DIR,
 * stored as a blob (so scripts pin it by SHA-256 like every build file) and
 * served at /boot/file/SHA256/midwife-agent.cpio.gz. It holds:
 *   usr/sbin/midwife-agent                    DIR/midwife-agent (static)
 *   etc/init.d/midwife-agent                  DIR/midwife-agent.init (busybox/sysv)
 *   usr/lib/systemd/system/midwife-agent.service        DIR/midwife-agent.service
 *   etc/systemd/system/multi-user.target.wants/midwife-agent.service (symlink)
 * with every parent directory as its own entry (the kernel's unpacker does
 * not create missing parents). */
#ifndef MIDWIFE_IMAGES_AGENT_MODULE_H
#define MIDWIFE_IMAGES_AGENT_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_build.h"

#define AGENT_MODULE_NAME "midwife-agent.cpio.gz"
/* No agent binary larger than this is packed (a static agent is ~2 MiB). */
#define AGENT_MAX_BYTES (64u << 20)

/* Packs DIR's agent into the blob store. 0 with its SHA-256 and size;
 * -ENOENT when DIR has no midwife-agent (err names the file), another
 * negative errno with a message otherwise. The archive is reproducible
 * (fixed mtimes, owners and inode numbers), so the same agent gives the
 * same blob and the same script across restarts. */
int agent_module_build(const char *dir, const char *state_dir, struct store *st,
                       char sha256[SHA256_HEX_LEN + 1], uint64_t *size, char *err, size_t errlen);

#endif
