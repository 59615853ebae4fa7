/* The templates compiled into the binary. */
#ifndef MIDWIFE_BOOT_SCRIPT_BUILTIN_H
#define MIDWIFE_BOOT_SCRIPT_BUILTIN_H

#include <stddef.h>

/* "linux.ipxe" ... "exit.ipxe", "esxi-boot.cfg": its text, or NULL. */
const char *boot_builtin_template(const char *name, size_t *len);
/* The i-th built-in template's name, NULL past the last. */
const char *boot_builtin_template_name(size_t i);

#endif
