/* Fuzzes the template parser and renderer: any bytes as a template must
 * render or give a "NAME:LINE: ..." / "NAME: ..." error, never crash or
 * leak, and nothing rendered may carry a value its class refuses.
 *
 * The last check is differential: the same template is rendered twice with
 * two different refused values for "hostile". A refused value must never
 * reach the output, so both runs must agree exactly. (Looking for the
 * hostile bytes in the output would be wrong: literal template text may
 * spell them itself, e.g. "${y{{#if unset}}x{{/if}}}".)
 *
 * And the parsed form that the script path keeps (tmpl_parse once, then
 * tmpl_render per request) must give exactly what the one-shot
 * tmpl_expand gives, for both values, from one parse. */
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
enum { HOSTILE = 4 };
static struct tmpl_var vars[] = {
    {.name = "base_url", .cls = TMPL_URL, .value = "http://192.0.2.1:8080"},
    {.name = "mac", .cls = TMPL_WORD, .value = "52-54-00-12-34-56"},
    {.name = "vlan", .cls = TMPL_NUMBER, .value = "42"},
    {.name = "cmdline", .cls = TMPL_CMDLINE, .value = "quiet ip=dhcp"},
    [HOSTILE] = {.name = "hostile", .cls = TMPL_CMDLINE},
    {.name = "san_uri", .cls = TMPL_SAN_URI, .value = "iscsi:192.0.2.9::::iqn.2000-01.com.example:d"},
    {.name = "unset", .cls = TMPL_WORD, .value = NULL},
    {.name = "modules", .cls = TMPL_LIST, .fields = fields, .n_fields = 3, .rows = rows, .n_rows = 2},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t n_vars = sizeof vars / sizeof vars[0];
    char *out = NULL, *out2 = NULL, err[256], err2[256];
    size_t len = 0, len2 = 0;

    vars[HOSTILE].value = "x ${y}\nchain z";
    int r = tmpl_expand("f.ipxe", (const char *)data, size, vars, n_vars, &out, &len, err, sizeof err);
    vars[HOSTILE].value = "imgfetch `id` ; boot";
    int r2 = tmpl_expand("f.ipxe", (const char *)data, size, vars, n_vars, &out2, &len2, err2, sizeof err2);

    if (r != r2)
        __builtin_trap();

    struct tmpl *t = NULL;
    char perr[256];
    int rp = tmpl_parse("f.ipxe", (const char *)data, size, true, vars, n_vars, &t, perr, sizeof perr);
    if (rp < 0) {
        if (t || rp != r || strcmp(perr, err) != 0)
            __builtin_trap();
    } else {
        const char *hostile[2] = {"x ${y}\nchain z", "imgfetch `id` ; boot"};
        const char *want[2] = {out, out2};
        size_t want_len[2] = {len, len2};
        for (int i = 0; i < 2; i++) {
            char *o = NULL, e[256];
            size_t ol = 0;
            vars[HOSTILE].value = hostile[i];
            int rr = tmpl_render(t, vars, n_vars, &o, &ol, e, sizeof e);
            if (rr != r || (rr == 0 && (ol != want_len[i] || memcmp(o, want[i], ol) != 0)) ||
                (rr < 0 && (o || strcmp(e, i ? err2 : err) != 0)))
                __builtin_trap();
            free(o);
        }
        tmpl_free(t);
    }
    if (r == 0) {
        if (!out || strlen(out) != len || !out2 || len != len2 || memcmp(out, out2, len) != 0)
            __builtin_trap();
    } else if (out || out2 || strncmp(err, "f.ipxe:", 7) != 0) {
        __builtin_trap();
    }
    free(out);
    free(out2);
    return 0;
}
