/* Fuzzes the ESXi boot.cfg parser: whatever bytes, it must return 0 or
 * -EINVAL, write a message on failure, and on success leave NUL-terminated
 * fields within their bounds and a kernel. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "images/bootcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bootcfg cfg;
    char err[128] = "";
    int r = bootcfg_parse((const char *)data, size, &cfg, err, sizeof err);
    if (r != 0 && r != -EINVAL)
        abort();
    if (r < 0) {
        if (strncmp(err, "boot.cfg:", 9) != 0)
            abort();
        return 0;
    }
    if (!cfg.kernel[0] || cfg.n_modules > BOOTCFG_MAX_MODULES ||
        strnlen(cfg.kernel, sizeof cfg.kernel) == sizeof cfg.kernel ||
        strnlen(cfg.kernelopt, sizeof cfg.kernelopt) == sizeof cfg.kernelopt ||
        strnlen(cfg.prefix, sizeof cfg.prefix) == sizeof cfg.prefix ||
        strnlen(cfg.title, sizeof cfg.title) == sizeof cfg.title)
        abort();
    for (size_t i = 0; i < cfg.n_modules; i++) {
        const struct bootcfg_module *m = &cfg.modules[i];
        if (!m->path[0] || strnlen(m->path, sizeof m->path) == sizeof m->path ||
            strnlen(m->args, sizeof m->args) == sizeof m->args || strchr(m->path, ' '))
            abort();
    }
    return 0;
}
