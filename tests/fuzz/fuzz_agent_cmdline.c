/* Fuzzes the agent's kernel command line parser. Whatever the bytes, the
 * values it takes are bounded and of the characters it promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    struct agent_cmdline c;
    char err[256];
    if (cmdline_parse(buf, size, &c, err, sizeof err) == 0) {
        if (strlen(c.url) >= sizeof c.url || strlen(c.token) >= sizeof c.token || c.vlan > 4094 ||
            c.birth_timeout_s < 1 || c.birth_timeout_s > 86400)
            abort();
        for (const char *p = c.token; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  strchr("._-", *p)))
                abort();
        /* An URL taken is http:// and printable ASCII without blanks. */
        if (c.url[0] && strncmp(c.url, "http://", 7) != 0)
            abort();
        for (const char *p = c.url; *p; p++)
            if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
                abort();
    }
    free(buf);
    return 0;
}
