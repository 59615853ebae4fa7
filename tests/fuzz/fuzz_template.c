/* Fuzzes the template parser and renderer: any bytes as a template must
 * render or give a "NAME:LINE: ..." / "NAME: ..." error, never crash or
 * leak, and nothing rendered may carry a byte its variable class refuses
 * (the values bound here are all valid, the hostile one only if used). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct tmpl_var fields[] = {
    {.name = "name", .cls = TMPL_FILENAME},
    {.name = "sha256", .cls = TMPL_SHA256},
    {.name = "first", .cls = TMPL_NUMBER},
};
static const char *const rows[] = {
    "initrd.gz", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "1",
    "extra.cpio", "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", NULL,
};
static const struct tmpl_var vars[] = {
    {.name = "base_url", .cls = TMPL_URL, .value = "http://192.0.2.1:8080"},
    {.name = "mac", .cls = TMPL_WORD, .value = "52-54-00-12-34-56"},
    {.name = "vlan", .cls = TMPL_NUMBER, .value = "42"},
    {.name = "cmdline", .cls = TMPL_CMDLINE, .value = "quiet ip=dhcp"},
    {.name = "hostile", .cls = TMPL_CMDLINE, .value = "x ${y}\nchain z"},
    {.name = "san_uri", .cls = TMPL_SAN_URI, .value = "iscsi:192.0.2.9::::iqn.2000-01.com.example:d"},
    {.name = "unset", .cls = TMPL_WORD, .value = NULL},
    {.name = "modules", .cls = TMPL_LIST, .fields = fields, .n_fields = 3, .rows = rows, .n_rows = 2},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *out = NULL, err[256];
    size_t len = 0;
    int r = tmpl_expand("f.ipxe", (const char *)data, size, vars, sizeof vars / sizeof vars[0], &out, &len, err,
                        sizeof err);
    if (r == 0) {
        if (!out || strlen(out) != len)
            __builtin_trap();
        /* The hostile value can only arrive through its refusal. */
        if (strstr(out, "${y}") && !memmem(data, size, "${y}", 4))
            __builtin_trap();
        free(out);
    } else if (out || strncmp(err, "f.ipxe:", 7) != 0) {
        __builtin_trap();
    }
    return 0;
}
