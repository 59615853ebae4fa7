/* Fuzzes the SAN boot values (boot/san.c): the iSCSI name check and what
 * a host's sanboot build, with its iscsi_target and iscsi_initiator vars,
 * resolves to. The input is up to four '\n'-separated fields: a name for
 * boot_iscsi_name_valid, the build's san_uri, the host's iscsi_target and
 * its iscsi_initiator (a missing field leaves the var unset). Held:
 *   - a name accepted is 1..223 printable non-space bytes starting iqn.,
 *     eui. or naa.; a refusal always says why;
 *   - an accepted resolution of a build URI that passes the san_uri
 *     template class passes it too, ends with the target var when one was
 *     given, and an iSCSI URI comes with an initiator that itself passes
 *     the check; an unknown host gets no initiator. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "boot/san.h"
#include "boot/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static void check_name(const char *name)
{
    char why[160] = "";
    if (boot_iscsi_name_valid(name, why, sizeof why)) {
        size_t n = strlen(name);
        if (n == 0 || n > 223 || !printable(name) ||
            (strncmp(name, "iqn.", 4) && strncmp(name, "eui.", 4) && strncmp(name, "naa.", 4)))
            abort();
    } else if (!why[0]) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *field[4] = {NULL, NULL, NULL, NULL};
    char *p = buf;
    for (int i = 0; i < 4 && p; i++) {
        field[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    check_name(field[0]);

    struct build b;
    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "san");
    b.kind = BUILD_SANBOOT;
    b.version = 1;
    snprintf(b.san_uri, sizeof b.san_uri, "%s", field[1] ? field[1] : "");
    json_t *vars = json_object();
    /* json_string refuses invalid UTF-8: then the var is not set. */
    bool target_set = field[2] && json_object_set_new(vars, "iscsi_target", json_string(field[2])) == 0;
    if (field[3])
        json_object_set_new(vars, "iscsi_initiator", json_string(field[3]));
    struct host h;
    memset(&h, 0, sizeof h);
    snprintf(h.name, sizeof h.name, "host_A-01");
    h.vars = json_dumps(vars, JSON_COMPACT);
    json_decref(vars);
    if (!h.vars) {
        free(buf);
        return 0;
    }

    struct boot_san out;
    char err[512] = "", why[160];
    bool uri_ok = tmpl_value_ok(TMPL_SAN_URI, b.san_uri, why, sizeof why);
    for (int known = 0; known < 2; known++) {
        memset(&out, 0, sizeof out);
        err[0] = '\0';
        if (boot_san_for(known ? &h : NULL, &b, &out, err, sizeof err) < 0) {
            if (!err[0])
                abort();
            continue;
        }
        /* The build's URI is checked where it is used (the san_uri class,
         * as the script and DHCP do): when it passes, the URI with the
         * host's target in it passes too. */
        if (!out.uri[0] || (uri_ok && !tmpl_value_ok(TMPL_SAN_URI, out.uri, why, sizeof why)))
            abort();
        const char *target = known && target_set && out.iscsi ? field[2] : NULL;
        if (target && (strlen(out.uri) < strlen(target) ||
                       strcmp(out.uri + strlen(out.uri) - strlen(target), target) != 0))
            abort();
        if (known && out.iscsi && !boot_iscsi_name_valid(out.initiator, why, sizeof why))
            abort();
        if (!known && out.initiator[0])
            abort();
    }
    free(h.vars);
    free(buf);
    return 0;
}
