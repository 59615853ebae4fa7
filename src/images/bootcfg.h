/* ESXi boot.cfg: the loader's own description of an ESXi image.
 *
 *   bootstate=0
 *   title=Loading ESXi installer
 *   timeout=5
 *   prefix=
 *   kernel=/b.b00
 *   kernelopt=runweasel cdromBoot
 *   modules=/jumpstrt.gz --- /useropts.gz --- /features.gz --- /k.b00 ...
 *
 * A pure parser: bytes in, a struct out, nothing else touched. */
#ifndef MIDWIFE_IMAGES_BOOTCFG_H
#define MIDWIFE_IMAGES_BOOTCFG_H

#include <stddef.h>

#include "store/store_build.h"

#define BOOTCFG_MAX_MODULES 128
#define BOOTCFG_PATH_MAX 256
#define BOOTCFG_MAX_BYTES (256 * 1024) /* larger files are refused */

struct bootcfg_module {
    char path[BOOTCFG_PATH_MAX]; /* as written, e.g. "/jumpstrt.gz" */
    char args[256];              /* anything after the path, trimmed */
};

struct bootcfg {
    char title[128];
    char prefix[BOOTCFG_PATH_MAX];
    char kernel[BOOTCFG_PATH_MAX];
    char kernelopt[BUILD_CMDLINE_MAX];
    size_t n_modules;
    struct bootcfg_module modules[BOOTCFG_MAX_MODULES]; /* in boot order */
};

/* Parses len bytes of boot.cfg (need not be NUL-terminated). Lines are
 * key=value with optional spaces around '=' and either line ending; '#'
 * starts a comment line; keys are case-insensitive; a repeated key
 * replaces the earlier value; unknown keys and lines without '=' are
 * ignored (boot.cfg has many keys midwife does not need). Returns 0, or
 * -EINVAL with "boot.cfg:LINE: reason" in err: no kernel, a control byte,
 * a value too long, an empty module between "---" separators, too many
 * modules. */
int bootcfg_parse(const char *text, size_t len, struct bootcfg *out, char *err, size_t errlen);

#endif
