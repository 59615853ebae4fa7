/* placeholder until per-host scripts land */
#include "boot/script.h"
#include <errno.h>
#include <stdio.h>
int boot_script_for(const struct conf *conf, struct store *st, const struct script_request *req,
                    char **out, size_t *outlen, char *err, size_t errlen)
{ (void)conf; (void)st; (void)req; (void)out; (void)outlen; snprintf(err, errlen, "not implemented"); return -ENOSYS; }
