/* Turning a client's filename into an open file beneath the TFTP root.
 *
 * Two layers (STYLE.md rule 9): string checks first, so obviously hostile
 * names are refused and logged with a clear reason; then the kernel
 * enforces the real boundary with openat2(RESOLVE_BENEATH), which also
 * catches what strings cannot see (symlinks pointing out of the root). */
#ifndef MIDWIFE_TFTP_TFTP_PATH_H
#define MIDWIFE_TFTP_TFTP_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "tftp/tftp_packet.h"

/* Checks a requested name. On success returns 0 and *rel points at the name
 * with leading '/' removed (inside name). On refusal returns -EACCES and
 * *why is a short reason ("dotdot", "control_byte", "backslash", "empty"). */
int tftp_path_check(const char *name, size_t len, const char **rel, const char **why);

/* Opens rel (already checked) read-only beneath rootfd. Only regular files.
 * Returns 0 with *fd and *size set, or a negative errno with *code set to
 * the TFTP error to send (1 for missing, 2 for refused, 0 otherwise). */
int tftp_path_open(int rootfd, const char *rel, int *fd, uint64_t *size, enum tftp_errcode *code);

#endif
