/* Fuzzes profiles: any bytes as a profile document must validate or be
 * refused with a message; a valid one rendered for a fixed host (whose
 * vars hold hostile values) must give a JSON object with no control byte
 * in any string, or a refusal. Validation and rendering walk one schema,
 * so what validation refuses rendering must refuse too. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inventory/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool clean(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                                      (unsigned char)s[i + 1] <= 0x9f))
            return false;
    }
    return true;
}

static bool strings_clean(json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    switch (json_typeof(j)) {
    case JSON_STRING: return clean(json_string_value(j), json_string_length(j));
    case JSON_ARRAY:
        json_array_foreach(j, i, v)
            if (!strings_clean(v))
                return false;
        return true;
    case JSON_OBJECT:
        json_object_foreach(j, key, v)
            if (!clean(key, strlen(key)) || !strings_clean(v))
                return false;
        return true;
    default: return true;
    }
}

static struct host host;

static void host_setup(void)
{
    if (host.labels)
        return;
    host_init(&host);
    memcpy(host.name, "pve-01", 7);
    host.id = 9;
    host.boot_id = 2;
    host.n_macs = 2;
    memcpy(host.macs[0], "\x52\x54\x00\x12\x34\x56", 6);
    memcpy(host.macs[1], "\x52\x54\x00\x12\x34\x57", 6);
    memcpy(host.uuid, "4c4c4544-0042-3510-8051-b7c04f4e3332", 37);
    memcpy(host.serial, "SN 1", 5);
    host.address = 0x0a000005;
    host.vlan = 42;
    free(host.labels);
    free(host.vars);
    host.labels = strdup("{\"rack\":\"r12\",\"ctl\":\"a\\u0001b\"}");
    host.vars = strdup("{\"index\":\"01\",\"mtu\":\"9000\",\"nic\":\"eth 0\",\"ctl\":\"x\\u001by\",\"c1\":\"\\u0085\","
                       "\"dollar\":\"${mac}\",\"ip\":\"10.0.0.9\",\"id\":\"42\",\"nl\":\"a\\nb\"}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct configdoc_ctx ctx = {.base_url = "http://192.0.2.1:8080", .now_ms = 1};
    char err[256] = "", rerr[256] = "", *out = NULL;
    char *doc = malloc(size + 1);
    if (!doc)
        return 0;
    memcpy(doc, data, size);
    doc[size] = '\0';
    host_setup();

    int v = profile_validate(doc, err, sizeof err);
    if (v != 0 && v != -EINVAL)
        abort();
    if (v < 0 && (!err[0] || !clean(err, strlen(err))))
        abort();

    int r = configdoc_render(doc, &host, &ctx, &out, rerr, sizeof rerr);
    if (r != 0 && r != -EINVAL)
        abort();
    if (v < 0 && r == 0) /* rendering never takes what validation refused */
        abort();
    if (r < 0) {
        if (out || !rerr[0] || !clean(rerr, strlen(rerr)))
            abort();
    } else {
        if (!out || !clean(out, strlen(out)) || strlen(out) > CONFIGDOC_MAX)
            abort();
        json_t *j = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(j) || !strings_clean(j) || json_integer_value(json_object_get(j, "version")) != 1 ||
            !json_is_array(json_object_get(j, "interfaces")) || !json_is_string(json_object_get(j, "hostname")))
            abort();
        json_decref(j);
    }
    free(out);
    free(doc);
    return 0;
}
