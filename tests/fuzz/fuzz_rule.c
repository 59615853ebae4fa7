/* Fuzzes rule matches: any bytes as a match must validate or be refused
 * with a "match..." message. A valid match is tried on fixed subjects
 * (one knows everything, one nothing, one carries hostile bytes): the
 * verdict and its reason must be the same on a second try, and the reason
 * holds no control byte. An invalid match never matches. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t circuit[] = {'e', 't', 'h', '1', '/', '1'};
static const uint8_t hostile[] = {0x00, '\n', 0x1b, '[', '3', '1', 'm', 0xff, '*'};

static const struct rule_subject subjects[] = {
    {.has_mac = true,
     .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
     .uuid = "4c4c4544-0042-3510-8051-b7c04f4e3332",
     .serial = "ABC123",
     .vendor = "QEMU",
     .model = "Standard PC",
     .arch = 7,
     .subnet = "lab",
     .circuit_id = circuit,
     .circuit_id_len = sizeof circuit,
     .remote_id = circuit,
     .remote_id_len = sizeof circuit,
     .labels = "{\"rack\":\"r12\",\"role\":\"web\"}"},
    {.arch = -1},
    {.has_mac = true,
     .mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     .uuid = "4C4C4544-0042-3510-8051-B7C04F4E3332",
     .serial = "A\nB\x1b",
     .vendor = "\x7f",
     .model = "",
     .arch = 65535,
     .subnet = "lab\t",
     .circuit_id = hostile,
     .circuit_id_len = sizeof hostile,
     .remote_id = hostile,
     .remote_id_len = sizeof hostile,
     .labels = "{\"rack\":\"\\u0001\",\"role\":5}"},
    {.has_mac = true, .mac = {0x52, 0x54, 0x00, 0x00, 0x00, 0x10}, .arch = 0, .labels = "not json"},
};

static bool clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    struct rule r;
    if (rule_init(&r) < 0)
        return 0;
    free(r.match);
    r.match = malloc(size + 1);
    if (!r.match)
        abort();
    memcpy(r.match, data, size);
    r.match[size] = '\0';

    int v = rule_match_validate(r.match, err, sizeof err);
    if (v != 0 && v != -EINVAL)
        abort();
    if (v < 0 && (strncmp(err, "match", 5) != 0 || !clean(err)))
        abort();
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
        char why[RULE_WHY_MAX], why2[RULE_WHY_MAX];
        bool m = rule_matches(&r, &subjects[i], why, sizeof why);
        bool m2 = rule_matches(&r, &subjects[i], why2, sizeof why2);
        if (m != m2 || strcmp(why, why2) != 0 || !why[0] || !clean(why))
            abort();
        if (v < 0 && (m || strncmp(why, "invalid match: ", 15) != 0))
            abort();
        if (v == 0 && strncmp(why, "invalid match", 13) == 0)
            abort();
    }
    /* The trace tells the same story. */
    struct rule_trace trace[1];
    size_t n = 0;
    int first = rules_first_match(&r, 1, &subjects[0], trace, 1, &n);
    char why[RULE_WHY_MAX];
    bool m = rule_matches(&r, &subjects[0], why, sizeof why);
    if (n != 1 || trace[0].matched != m || (first == 0) != m || strcmp(trace[0].why, why) != 0)
        abort();
    rule_clear(&r);
    return 0;
}
