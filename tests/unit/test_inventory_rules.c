/* Rules: what a match may say, which hosts it takes, and the one line
 * that explains the verdict either way. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/rules.h"

static const struct {
    const char *name;
    const char *match;
    const char *err; /* NULL: valid */
} validate_cases[] = {
    {"empty_object_matches_everything", "{}", NULL},
    {"every_key_at_once",
     "{\"mac\": [\"52:54:00:12:34:56\", \"52:54:00:*\", \"52:54:00:00:00:10-52:54:00:00:00:1f\"],"
     " \"uuid\": [\"4C4C4544-0042-3510-8051-B7C04F4E3332\"], \"serial\": [\"ABC\", \"XY*\"],"
     " \"vendor\": [\"QEMU\"], \"model\": [\"Standard*\"], \"circuit_id\": [\"eth1/1*\"],"
     " \"remote_id\": [\"sw1\"], \"arch\": [0, 7, 16], \"subnet\": [\"lab\"],"
     " \"labels\": {\"rack\": \"r12\", \"role\": \"*\"}}",
     NULL},
    {"dash_separated_mac_accepted", "{\"mac\": [\"52-54-00-12-34-56\", \"52-54-*\"]}", NULL},
    {"one_octet_prefix_accepted", "{\"mac\": [\"52:*\"]}", NULL},
    {"range_of_one_accepted", "{\"mac\": [\"52:54:00:00:00:10-52:54:00:00:00:10\"]}", NULL},
    {"bare_star_serial_means_any_known", "{\"serial\": [\"*\"]}", NULL},
    {"not_json", "{\"mac\": ", "match: not JSON: "},
    {"not_an_object", "[]", "match: expected an object"},
    {"duplicate_key_refused", "{\"arch\": [7], \"arch\": [9]}", "match: not JSON: "},
    {"unknown_key", "{\"colour\": [\"red\"]}", "match.colour: unknown key (expected mac, uuid"},
    {"unknown_key_escaped", "{\"a\\u0001b\": [\"x\"]}", "match.a\\x01b: unknown key"},
    {"mac_not_a_list", "{\"mac\": \"52:54:00:12:34:56\"}", "match.mac: expected a list of strings"},
    {"arch_not_a_list", "{\"arch\": 7}", "match.arch: expected a list of numbers"},
    {"empty_list_refused", "{\"serial\": []}", "match.serial: empty list (it would never match; leave the key out)"},
    {"mac_entry_not_string", "{\"mac\": [7]}", "match.mac[0]: expected a string"},
    {"malformed_mac", "{\"mac\": [\"52:54:00:12:34:56\", \"52:54:00:12:34\"]}",
     "match.mac[1]: not a MAC, MAC prefix or MAC range"},
    {"mac_with_bad_hex", "{\"mac\": [\"52:54:00:12:34:5g\"]}", "match.mac[0]: not a MAC, MAC prefix or MAC range"},
    {"prefix_of_half_octet", "{\"mac\": [\"52:5*\"]}", "match.mac[0]: not a MAC, MAC prefix or MAC range"},
    {"prefix_without_separator", "{\"mac\": [\"5254*\"]}", "match.mac[0]: not a MAC, MAC prefix or MAC range"},
    {"star_alone_is_not_a_mac", "{\"mac\": [\"*\"]}", "match.mac[0]: not a MAC, MAC prefix or MAC range"},
    {"six_octets_then_star", "{\"mac\": [\"52:54:00:12:34:56:*\"]}", "match.mac[0]: not a MAC, MAC prefix or MAC range"},
    {"star_in_middle_of_mac", "{\"mac\": [\"52:*:00:12:34:56\"]}", "match.mac[0]: not a MAC, MAC prefix or MAC range"},
    {"reversed_range", "{\"mac\": [\"52:54:00:00:00:1f-52:54:00:00:00:10\"]}",
     "match.mac[0]: range ends are reversed (the first is above the last)"},
    {"range_with_bad_end", "{\"mac\": [\"52:54:00:00:00:10-52:54:00:00:00:zz\"]}",
     "match.mac[0]: not a MAC, MAC prefix or MAC range"},
    {"uuid_malformed", "{\"uuid\": [\"4c4c4544-0042\"]}", "match.uuid[0]: not a UUID (8-4-4-4-12 hex digits)"},
    {"star_not_at_end", "{\"serial\": [\"AB*C\"]}", "match.serial[0]: '*' is allowed only at the end"},
    {"two_stars", "{\"vendor\": [\"A**\"]}", "match.vendor[0]: '*' is allowed only at the end"},
    {"empty_string_pattern", "{\"model\": [\"\"]}", "match.model[0]: empty string"},
    {"control_byte_in_pattern", "{\"serial\": [\"A\\nB\"]}", "match.serial[0]: control characters are not allowed"},
    {"nul_in_pattern_is_not_json", "{\"serial\": [\"A\\u0000B\"]}", "match: not JSON: "},
    {"subnet_takes_no_star", "{\"subnet\": [\"lab*\"]}", "match.subnet[0]: '*' is not allowed here (exact names only)"},
    {"arch_negative", "{\"arch\": [7, -1]}", "match.arch[1]: expected an integer 0..65535"},
    {"arch_too_large", "{\"arch\": [65536]}", "match.arch[0]: expected an integer 0..65535"},
    {"arch_as_string", "{\"arch\": [\"7\"]}", "match.arch[0]: expected an integer 0..65535"},
    {"labels_not_object", "{\"labels\": [\"rack\"]}", "match.labels: expected an object of strings"},
    {"labels_empty", "{\"labels\": {}}", "match.labels: empty object (leave the key out)"},
    {"label_value_not_string", "{\"labels\": {\"rack\": 12}}", "match.labels.rack: expected a string"},
    {"label_key_invalid", "{\"labels\": {\"a b\": \"x\"}}", "match.labels: key 'a b' is not [A-Za-z0-9_.-]{1,63}"},
};

static void validate_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof validate_cases / sizeof validate_cases[0]; i++) {
        char err[256] = "";
        int r = rule_match_validate(validate_cases[i].match, err, sizeof err);
        if (!validate_cases[i].err) {
            if (r != 0)
                fail_msg("%s: refused: %s", validate_cases[i].name, err);
        } else {
            if (r != -EINVAL)
                fail_msg("%s: accepted", validate_cases[i].name);
            if (strncmp(err, validate_cases[i].err, strlen(validate_cases[i].err)) != 0)
                fail_msg("%s: error '%s', expected '%s'", validate_cases[i].name, err, validate_cases[i].err);
        }
    }
}

static void oversized_list_refused(void **state)
{
    (void)state;
    char buf[8192], err[256];
    size_t o = (size_t)snprintf(buf, sizeof buf, "{\"arch\": [");
    for (int i = 0; i < 257; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%d", i ? "," : "", i);
    snprintf(buf + o, sizeof buf - o, "]}");
    assert_int_equal(rule_match_validate(buf, err, sizeof err), -EINVAL);
    assert_string_equal(err, "match.arch: 257 entries, more than 256");

    char *big = malloc(70 * 1024);
    assert_non_null(big);
    memset(big, ' ', 70 * 1024 - 3);
    big[0] = '{';
    big[70 * 1024 - 3] = '}';
    big[70 * 1024 - 2] = '\0';
    assert_int_equal(rule_match_validate(big, err, sizeof err), -EINVAL);
    assert_string_equal(err, "match: 71678 bytes, more than 65536");
    free(big);
    assert_int_equal(rule_match_validate(NULL, err, sizeof err), -EINVAL);
    assert_string_equal(err, "match: missing");
}

/* ---- matching ---- */

static const uint8_t circuit[] = {'e', 't', 'h', '1', '/', '1', '/', '7'};
static const uint8_t remote_raw[] = {0x00, 0x1b, 'S', 'W'};

static const struct rule_subject full = {
    .has_mac = true,
    .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
    .uuid = "4c4c4544-0042-3510-8051-b7c04f4e3332",
    .serial = "ABC123",
    .vendor = "QEMU",
    .model = "Standard PC (i440FX + PIIX, 1996)",
    .arch = 7,
    .subnet = "lab",
    .circuit_id = circuit,
    .circuit_id_len = sizeof circuit,
    .remote_id = remote_raw,
    .remote_id_len = sizeof remote_raw,
    .labels = "{\"rack\": \"r12\", \"role\": \"web\"}",
};
static const struct rule_subject unknown = {.arch = -1};
static const struct rule_subject edge_lo = {.has_mac = true, .mac = {0x52, 0x54, 0x00, 0x00, 0x00, 0x10}, .arch = 0};
static const struct rule_subject edge_hi = {.has_mac = true, .mac = {0x52, 0x54, 0x00, 0x00, 0x00, 0x1f}, .arch = 0};
static const struct rule_subject past_hi = {.has_mac = true, .mac = {0x52, 0x54, 0x00, 0x00, 0x00, 0x20}, .arch = 0};
static const struct rule_subject before_lo = {.has_mac = true, .mac = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0f}, .arch = 0};
static const struct rule_subject bad_labels = {.arch = -1, .labels = "[1]"};

#define RANGE "{\"mac\": [\"52:54:00:00:00:10-52:54:00:00:00:1f\"]}"

static const struct {
    const char *name;
    const char *match;
    const struct rule_subject *s;
    bool matched;
    const char *why;
} match_cases[] = {
    {"empty_match_takes_every_host", "{}", &unknown, true, "{} matches every host"},
    {"exact_mac", "{\"mac\": [\"52:54:00:12:34:56\"]}", &full, true, "mac 52:54:00:12:34:56 matches 52:54:00:12:34:56"},
    {"exact_mac_any_case_and_dashes", "{\"mac\": [\"52-54-00-12-34-56\"]}", &full, true,
     "mac 52:54:00:12:34:56 matches 52-54-00-12-34-56"},
    {"mac_prefix_and_arch", "{\"mac\": [\"52:54:00:*\"], \"arch\": [7]}", &full, true,
     "mac 52:54:00:12:34:56 matches 52:54:00:*, arch 7 matches [7]"},
    {"mac_prefix_upper_case", "{\"mac\": [\"AA:*\", \"52:54:*\"]}", &full, true, "mac 52:54:00:12:34:56 matches 52:54:*"},
    {"mac_prefix_misses", "{\"mac\": [\"52:54:01:*\"]}", &full, false, "mac: 52:54:00:12:34:56 matches none of [52:54:01:*]"},
    {"range_low_end_inclusive", RANGE, &edge_lo, true,
     "mac 52:54:00:00:00:10 matches 52:54:00:00:00:10-52:54:00:00:00:1f"},
    {"range_high_end_inclusive", RANGE, &edge_hi, true,
     "mac 52:54:00:00:00:1f matches 52:54:00:00:00:10-52:54:00:00:00:1f"},
    {"range_past_high_end", RANGE, &past_hi, false,
     "mac: 52:54:00:00:00:20 matches none of [52:54:00:00:00:10-52:54:00:00:00:1f]"},
    {"range_before_low_end", RANGE, &before_lo, false,
     "mac: 52:54:00:00:00:0f matches none of [52:54:00:00:00:10-52:54:00:00:00:1f]"},
    {"unknown_mac_never_matches", "{\"mac\": [\"52:*\"]}", &unknown, false, "mac: not known, needs one of [52:*]"},
    {"uuid_case_insensitive", "{\"uuid\": [\"4C4C4544-0042-3510-8051-B7C04F4E3332\"]}", &full, true,
     "uuid '4c4c4544-0042-3510-8051-b7c04f4e3332' matches 4C4C4544-0042-3510-8051-B7C04F4E3332"},
    {"uuid_other", "{\"uuid\": [\"00000000-0042-3510-8051-b7c04f4e3332\"]}", &full, false,
     "uuid: '4c4c4544-0042-3510-8051-b7c04f4e3332' matches none of [00000000-0042-3510-8051-b7c04f4e3332]"},
    {"serial_prefix", "{\"serial\": [\"XYZ\", \"ABC*\"]}", &full, true, "serial 'ABC123' matches ABC*"},
    {"serial_case_sensitive", "{\"serial\": [\"abc*\"]}", &full, false, "serial: 'ABC123' matches none of [abc*]"},
    {"serial_exact_is_whole", "{\"serial\": [\"ABC\"]}", &full, false, "serial: 'ABC123' matches none of [ABC]"},
    {"star_alone_takes_any_known_value", "{\"serial\": [\"*\"]}", &full, true, "serial 'ABC123' matches *"},
    {"star_alone_not_unknown_value", "{\"serial\": [\"*\"]}", &unknown, false, "serial: not known, needs one of [*]"},
    {"vendor_exact", "{\"vendor\": [\"QEMU\"]}", &full, true, "vendor 'QEMU' matches QEMU"},
    {"model_prefix_with_spaces", "{\"model\": [\"Standard PC*\"]}", &full, true,
     "model 'Standard PC (i440FX + PIIX, 1996)' matches Standard PC*"},
    {"circuit_id_raw_bytes", "{\"circuit_id\": [\"eth1/1/*\"]}", &full, true, "circuit_id 'eth1/1/7' matches eth1/1/*"},
    {"remote_id_binary_escaped", "{\"remote_id\": [\"SW\"]}", &full, false,
     "remote_id: '\\x00\\x1bSW' matches none of [SW]"},
    {"arch_list", "{\"arch\": [0, 16]}", &full, false, "arch: 7 matches none of [0, 16]"},
    {"arch_unknown", "{\"arch\": [0]}", &unknown, false, "arch: not known, needs one of [0]"},
    {"arch_zero_is_known", "{\"arch\": [0]}", &edge_lo, true, "arch 0 matches [0]"},
    {"subnet_exact", "{\"subnet\": [\"rack-12\", \"lab\"]}", &full, true, "subnet 'lab' matches lab"},
    {"labels_value_and_any", "{\"labels\": {\"rack\": \"r12\", \"role\": \"*\"}}", &full, true,
     "label rack 'r12' matches r12, label role 'web' matches *"},
    {"label_wrong_value", "{\"labels\": {\"rack\": \"r13\"}}", &full, false, "labels.rack: 'r12' is not r13"},
    {"label_missing_even_for_star", "{\"labels\": {\"zone\": \"*\"}}", &full, false, "labels.zone: not set, needs *"},
    {"labels_without_record", "{\"labels\": {\"rack\": \"*\"}}", &unknown, false, "labels: not known (no host record)"},
    {"labels_not_an_object", "{\"labels\": {\"rack\": \"*\"}}", &bad_labels, false,
     "labels: not known (no host record)"},
    {"and_of_keys_first_failure_told", "{\"mac\": [\"52:*\"], \"vendor\": [\"Dell*\"], \"arch\": [7]}", &full, false,
     "vendor: 'QEMU' matches none of [Dell*]"},
    {"keys_explained_in_fixed_order", "{\"arch\": [7], \"mac\": [\"52:*\"]}", &full, true,
     "mac 52:54:00:12:34:56 matches 52:*, arch 7 matches [7]"},
    {"invalid_match_never_matches", "{\"mac\": []}", &full, false,
     "invalid match: match.mac: empty list (it would never match; leave the key out)"},
    {"broken_json_never_matches", "{", &full, false, "invalid match: match: not JSON: "},
};

static void match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
        struct rule r;
        char why[RULE_WHY_MAX];
        assert_int_equal(rule_init(&r), 0);
        free(r.match);
        r.match = strdup(match_cases[i].match);
        bool m = rule_matches(&r, match_cases[i].s, why, sizeof why);
        if (m != match_cases[i].matched)
            fail_msg("%s: matched=%d (%s)", match_cases[i].name, m, why);
        if (strncmp(why, match_cases[i].why, strlen(match_cases[i].why)) != 0 ||
            (strcmp(match_cases[i].name, "broken_json_never_matches") != 0 && strcmp(why, match_cases[i].why) != 0))
            fail_msg("%s: why '%s', expected '%s'", match_cases[i].name, why, match_cases[i].why);
        rule_clear(&r);
    }
}

static void why_is_cut_not_overrun(void **state)
{
    (void)state;
    struct rule r;
    char why[24];
    assert_int_equal(rule_init(&r), 0);
    free(r.match);
    r.match = strdup("{\"mac\": [\"52:54:00:*\"], \"arch\": [7]}");
    assert_true(rule_matches(&r, &full, why, sizeof why));
    assert_int_equal(strlen(why), sizeof why - 1);
    assert_string_equal(why + sizeof why - 4, "...");
    assert_true(rule_matches(&r, &full, NULL, 0));
    rule_clear(&r);
}

static void first_match_wins_with_trace(void **state)
{
    (void)state;
    static const char *const matches[] = {
        "{\"vendor\": [\"Dell*\"]}", "{\"mac\": [\"52:54:00:*\"]}", "{}",
    };
    struct rule rules[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rule_init(&rules[i]), 0);
        snprintf(rules[i].name, sizeof rules[i].name, "r%d", i);
        free(rules[i].match);
        rules[i].match = strdup(matches[i]);
    }
    struct rule_trace trace[4];
    size_t n = 99;
    assert_int_equal(rules_first_match(rules, 3, &full, trace, 4, &n), 1);
    assert_int_equal(n, 2); /* up to and including the match, not beyond */
    assert_string_equal(trace[0].rule, "r0");
    assert_false(trace[0].matched);
    assert_string_equal(trace[0].why, "vendor: 'QEMU' matches none of [Dell*]");
    assert_string_equal(trace[1].rule, "r1");
    assert_true(trace[1].matched);
    assert_string_equal(trace[1].why, "mac 52:54:00:12:34:56 matches 52:54:00:*");

    /* The default rule takes a host nothing else knows. */
    assert_int_equal(rules_first_match(rules, 3, &unknown, trace, 4, &n), 2);
    assert_int_equal(n, 3);
    /* max_trace bounds the trace, not the search. */
    assert_int_equal(rules_first_match(rules, 3, &unknown, trace, 1, &n), 2);
    assert_int_equal(n, 1);
    assert_int_equal(rules_first_match(rules, 3, &unknown, NULL, 0, NULL), 2);
    /* No rule: no match. */
    assert_int_equal(rules_first_match(rules, 2, &unknown, trace, 4, &n), -1);
    assert_int_equal(n, 2);
    for (int i = 0; i < 3; i++)
        rule_clear(&rules[i]);
}

static void mac_parse_and_format(void **state)
{
    (void)state;
    uint8_t mac[6];
    char out[18];
    assert_int_equal(mac_parse("52:54:00:AB:cd:0F", mac), 0);
    assert_string_equal(mac_format(mac, out), "52:54:00:ab:cd:0f");
    assert_int_equal(mac_parse("52-54-00-ab-cd-0f", mac), 0);
    assert_string_equal(mac_format(mac, out), "52:54:00:ab:cd:0f");
    static const char *const bad[] = {"", "52:54:00:ab:cd", "52:54:00:ab:cd:0f:", "52:54:00:ab:cd:0g",
                                      "5254.00ab.cd0f", "52:54:00:ab:cd:f", " 52:54:00:ab:cd:0f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (mac_parse(bad[i], mac) != -EINVAL)
            fail_msg("'%s' parsed", bad[i]);
    assert_int_equal(mac_parse(NULL, mac), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validate_table),
        cmocka_unit_test(oversized_list_refused),
        cmocka_unit_test(match_table),
        cmocka_unit_test(why_is_cut_not_overrun),
        cmocka_unit_test(first_match_wins_with_trace),
        cmocka_unit_test(mac_parse_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
