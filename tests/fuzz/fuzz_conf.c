/* Fuzzes the config parser: any bytes as a config file must give either a
 * config or a "FILE:LINE: ..." error, never a crash or a leak. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_conf.%d.conf", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct conf *c = NULL;
    char err[512];
    if (conf_load(path, &c, err, sizeof err) == 0) {
        conf_free(c);
    } else if (strncmp(err, path, strlen(path)) != 0) {
        /* Every error must name the file. */
        __builtin_trap();
    }
    return 0;
}
