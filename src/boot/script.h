/* Per-host boot scripts: what iPXE runs once it is on the network.
 * Rendered from the host's build through templates whose every inserted
 * value is validated or quoted, so no host- or admin-supplied string can
 * add an iPXE command. */
#ifndef MIDWIFE_BOOT_SCRIPT_H
#define MIDWIFE_BOOT_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "store/store.h"

/* What a script request knows about the asker. */
struct script_request {
    const uint8_t *mac;   /* NULL if the request named none */
    const char *base_url; /* how the host reaches midwife, no trailing '/' */
};

/* Looks the host up by MAC (unknown hosts get [boot] default_build, or an
 * iPXE `exit`), renders its script into a malloc'd string *out (caller
 * frees). On failure returns a negative errno and a message in err naming
 * the template and line where one is at fault. */
int boot_script_for(const struct conf *conf, struct store *st, const struct script_request *req,
                    char **out, size_t *outlen, char *err, size_t errlen);

#endif
