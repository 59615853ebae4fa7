/* Hosts, profiles and rules as JSON: the shapes written, every refusal
 * naming its field, PUT vs PATCH, read-only fields, and round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inventory/model_json.h"

#define J(...) #__VA_ARGS__
#define T_2026_12_01 1796160600000LL /* 2026-12-01T21:30:00Z */

static void times_are_rfc3339_ms(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *text; /* NULL: null */
    } cases[] = {
        {0, NULL},
        {T_2026_12_01, "2026-12-01T21:30:00.000Z"},
        {T_2026_12_01 + 7, "2026-12-01T21:30:00.007Z"},
        {T_2026_12_01 + 59999, "2026-12-01T21:30:59.999Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {INT64_MAX, NULL}, /* beyond year 9999: not a time a person can read */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_time_ms(cases[i].ms);
        if (!cases[i].text)
            assert_true(json_is_null(j));
        else
            assert_string_equal(json_string_value(j), cases[i].text);
        json_decref(j);
    }
}

static void host_fixture(struct host *h)
{
    assert_int_equal(host_init(h), 0);
    h->id = 5;
    snprintf(h->name, sizeof h->name, "esx-01");
    h->n_macs = 2;
    memcpy(h->macs[0], (uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, 6);
    memcpy(h->macs[1], (uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x57}, 6);
    snprintf(h->uuid, sizeof h->uuid, "4c4c4544-0042-3510-8051-b7c04f4e3332");
    snprintf(h->serial, sizeof h->serial, "ABC 123");
    snprintf(h->build, sizeof h->build, "esxi8");
    h->build_version = 3;
    snprintf(h->profile, sizeof h->profile, "esx-lab");
    h->mode = HOST_MODE_STATEFUL;
    h->address = 0x0a000005;
    h->vlan = 42;
    free(h->labels);
    free(h->vars);
    free(h->facts);
    h->labels = strdup("{\"rack\":\"r1\"}");
    h->vars = strdup("{\"index\":\"01\"}");
    h->facts = strdup("{\"cpus\":2}");
    h->state = HOST_READY;
    snprintf(h->state_reason, sizeof h->state_reason, "agent reported ready");
    h->state_since = T_2026_12_01;
    h->last_seen = T_2026_12_01 + 1000;
    h->boot_id = 3;
    h->created = T_2026_12_01 - 86400000;
    h->updated = T_2026_12_01;
}

static void host_written_as_documented(void **state)
{
    (void)state;
    struct host h;
    host_fixture(&h);
    json_t *got = host_to_json(&h);
    json_t *want = json_loads(J({"name": "esx-01", "macs": ["52:54:00:12:34:56", "52:54:00:12:34:57"],
                                 "uuid": "4c4c4544-0042-3510-8051-b7c04f4e3332", "serial": "ABC 123",
                                 "build": "esxi8@3", "profile": "esx-lab", "mode": "stateful",
                                 "address": "10.0.0.5", "vlan": 42, "labels": {"rack": "r1"}, "vars": {"index": "01"},
                                 "state": "ready", "state_reason": "agent reported ready",
                                 "state_since": "2026-12-01T21:30:00.000Z", "last_seen": "2026-12-01T21:30:01.000Z",
                                 "boot_id": 3, "facts": {"cpus": 2}, "created": "2026-11-30T21:30:00.000Z",
                                 "updated": "2026-12-01T21:30:00.000Z"}),
                              0, NULL);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT);
        fail_msg("got %s", g);
    }
    json_decref(got);
    json_decref(want);

    /* The empty forms: latest build, DHCP, never seen. */
    struct host e;
    assert_int_equal(host_init(&e), 0);
    snprintf(e.build, sizeof e.build, "pve8");
    got = host_to_json(&e);
    assert_string_equal(json_string_value(json_object_get(got, "build")), "pve8");
    assert_string_equal(json_string_value(json_object_get(got, "address")), "");
    assert_true(json_is_null(json_object_get(got, "last_seen")));
    assert_int_equal(json_array_size(json_object_get(got, "macs")), 0);
    assert_string_equal(json_string_value(json_object_get(got, "mode")), "stateless");
    json_decref(got);
    host_clear(&e);
    host_clear(&h);
}

static void assert_hosts_equal(const struct host *a, const struct host *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->n_macs, b->n_macs);
    assert_memory_equal(a->macs, b->macs, sizeof a->macs[0] * a->n_macs);
    assert_string_equal(a->uuid, b->uuid);
    assert_string_equal(a->serial, b->serial);
    assert_string_equal(a->build, b->build);
    assert_int_equal(a->build_version, b->build_version);
    assert_string_equal(a->profile, b->profile);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->address, b->address);
    assert_int_equal(a->vlan, b->vlan);
    json_t *la = json_loads(a->labels, 0, NULL), *lb = json_loads(b->labels, 0, NULL);
    json_t *va = json_loads(a->vars, 0, NULL), *vb = json_loads(b->vars, 0, NULL);
    assert_true(json_equal(la, lb));
    assert_true(json_equal(va, vb));
    json_decref(la);
    json_decref(lb);
    json_decref(va);
    json_decref(vb);
}

static void host_round_trip(void **state)
{
    (void)state;
    struct host h, back;
    char err[256];
    host_fixture(&h);
    json_t *j = host_to_json(&h);
    /* host → JSON → a fresh host: the writable fields come back, and the
     * read-only ones may be sent back unchanged (GET, edit, PUT). */
    assert_int_equal(host_init(&back), 0);
    json_object_del(j, "state");
    json_object_del(j, "state_reason");
    json_object_del(j, "state_since");
    json_object_del(j, "last_seen");
    json_object_del(j, "boot_id");
    json_object_del(j, "facts");
    json_object_del(j, "created");
    json_object_del(j, "updated");
    assert_int_equal(host_from_json(j, &back, false, err, sizeof err), 0);
    assert_hosts_equal(&h, &back);
    /* JSON → host → JSON is stable too. */
    json_t *again = host_to_json(&back);
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
        assert_true(json_equal(val, json_object_get(again, key)));
    json_decref(again);
    json_decref(j);

    /* The whole GET body back onto the stored host is accepted. */
    j = host_to_json(&h);
    assert_int_equal(host_from_json(j, &h, false, err, sizeof err), 0);
    assert_hosts_equal(&h, &back);
    json_decref(j);
    host_clear(&back);
    host_clear(&h);
}

static void put_resets_absent_fields_patch_keeps_them(void **state)
{
    (void)state;
    struct host h;
    char err[256];
    host_fixture(&h);
    json_t *j = json_loads("{\"vlan\": 7}", 0, NULL);
    assert_int_equal(host_from_json(j, &h, true, err, sizeof err), 0);
    assert_int_equal(h.vlan, 7);
    assert_int_equal(h.n_macs, 2);
    assert_string_equal(h.build, "esxi8");
    assert_int_equal(h.build_version, 3);
    assert_string_equal(h.labels, "{\"rack\":\"r1\"}");
    assert_int_equal(h.mode, HOST_MODE_STATEFUL);

    assert_int_equal(host_from_json(j, &h, false, err, sizeof err), 0);
    assert_int_equal(h.vlan, 7);
    assert_string_equal(h.name, "esx-01"); /* the name a PUT's path gave */
    assert_int_equal(h.n_macs, 0);
    assert_string_equal(h.uuid, "");
    assert_string_equal(h.serial, "");
    assert_string_equal(h.build, "");
    assert_int_equal(h.build_version, 0);
    assert_string_equal(h.profile, "");
    assert_int_equal(h.mode, HOST_MODE_STATELESS);
    assert_int_equal(h.address, 0);
    assert_string_equal(h.labels, "{}");
    assert_string_equal(h.vars, "{}");
    assert_string_equal(h.facts, "{\"cpus\":2}"); /* not writable: untouched */
    assert_int_equal(h.state, HOST_READY);
    json_decref(j);

    /* PATCH with null clears a string field. */
    host_clear(&h);
    host_fixture(&h);
    j = json_loads("{\"uuid\": null, \"address\": \"\", \"build\": \"esxi7\"}", 0, NULL);
    assert_int_equal(host_from_json(j, &h, true, err, sizeof err), 0);
    assert_string_equal(h.uuid, "");
    assert_int_equal(h.address, 0);
    assert_string_equal(h.build, "esxi7");
    assert_int_equal(h.build_version, 0);
    json_decref(j);
    host_clear(&h);
}

static void host_field_normalised(void **state)
{
    (void)state;
    struct host h;
    char err[256];
    assert_int_equal(host_init(&h), 0);
    json_t *j = json_loads(J({"name": "n1", "macs": ["52-54-00-AB-CD-EF"], "uuid": "4C4C4544-0042-3510-8051-B7C04F4E3332",
                              "build": "b@12", "address": "192.0.2.7", "mode": "sanboot"}),
                           0, NULL);
    assert_int_equal(host_from_json(j, &h, false, err, sizeof err), 0);
    assert_int_equal(h.macs[0][3], 0xab);
    assert_string_equal(h.uuid, "4c4c4544-0042-3510-8051-b7c04f4e3332");
    assert_string_equal(h.build, "b");
    assert_int_equal(h.build_version, 12);
    assert_int_equal(h.address, 0xc0000207);
    assert_int_equal(h.mode, HOST_MODE_SANBOOT);
    json_decref(j);
    host_clear(&h);
}

static const struct {
    const char *name;
    const char *body;
    bool partial;
    const char *err;
} host_errors[] = {
    {"not_an_object", "[]", false, "host: expected an object"},
    {"unknown_field", "{\"colour\": \"red\"}", true, "colour: unknown field"},
    {"id_is_not_a_field", "{\"id\": 5}", true, "id: unknown field"},
    {"read_only_state_differs", "{\"state\": \"failed\"}", true, "state: read-only (set by midwife, not by a request)"},
    {"read_only_boot_id_differs", "{\"boot_id\": 4}", true, "boot_id: read-only"},
    {"read_only_created_differs", "{\"created\": \"2026-11-30T21:30:00.001Z\"}", true, "created: read-only"},
    {"read_only_facts_differ", "{\"facts\": {}}", true, "facts: read-only"},
    {"name_missing_on_new_host", NULL, false, "name: missing"},
    {"name_invalid", "{\"name\": \".hidden\"}", true, "name: '.hidden' is not a name"},
    {"name_not_string", "{\"name\": 5}", true, "name: expected a string"},
    {"name_too_long", "{\"name\": \"0123456789012345678901234567890123456789012345678901234567890123\"}", true,
     "name: '0123456789012345678901234567890123456789012345678901234567890123' is not a name"},
    {"macs_not_list", "{\"macs\": \"52:54:00:12:34:56\"}", true, "macs: expected a list of MAC addresses"},
    {"mac_malformed", "{\"macs\": [\"52:54:00:12:34:56\", \"52:54:00:12:34\"]}", true, "macs[1]: not a MAC address"},
    {"mac_not_string", "{\"macs\": [1]}", true, "macs[0]: not a MAC address"},
    {"mac_duplicate", "{\"macs\": [\"52:54:00:12:34:56\", \"52-54-00-12-34-56\"]}", true,
     "macs[1]: the same MAC as macs[0]"},
    {"too_many_macs",
     "{\"macs\": [\"00:00:00:00:00:01\",\"00:00:00:00:00:02\",\"00:00:00:00:00:03\",\"00:00:00:00:00:04\","
     "\"00:00:00:00:00:05\",\"00:00:00:00:00:06\",\"00:00:00:00:00:07\",\"00:00:00:00:00:08\",\"00:00:00:00:00:09\"]}",
     true, "macs: 9 entries, more than 8"},
    {"uuid_malformed", "{\"uuid\": \"4c4c4544-0042-3510-8051\"}", true, "uuid: not a UUID (8-4-4-4-12 hex digits)"},
    {"uuid_not_hex", "{\"uuid\": \"4c4c4544-0042-3510-8051-b7c04f4e333g\"}", true, "uuid: not a UUID"},
    {"serial_invalid", "{\"serial\": \"a;b\"}", true, "serial: not a serial number"},
    {"build_version_zero", "{\"build\": \"esxi8@0\"}", true, "build: 'esxi8@0' is not a build (NAME or NAME@VERSION)"},
    {"build_version_junk", "{\"build\": \"esxi8@1x\"}", true, "build: 'esxi8@1x' is not a build"},
    {"build_without_name", "{\"build\": \"@3\"}", true, "build: '@3' is not a build"},
    {"build_bad_name", "{\"build\": \"a b\"}", true, "build: 'a b' is not a build"},
    {"profile_bad_name", "{\"profile\": \"a/b\"}", true, "profile: 'a/b' is not a name"},
    {"mode_unknown", "{\"mode\": \"diskless\"}", true, "mode: expected one of stateless, stateful, sanboot, local"},
    {"mode_not_string", "{\"mode\": 1}", true, "mode: expected one of stateless, stateful, sanboot, local"},
    {"address_malformed", "{\"address\": \"10.0.0.300\"}", true,
     "address: '10.0.0.300' is not an IPv4 host address (a.b.c.d, or \"\" for DHCP)"},
    {"address_zero", "{\"address\": \"0.0.0.0\"}", true, "address: '0.0.0.0' is not an IPv4 host address"},
    {"address_with_prefix", "{\"address\": \"10.0.0.5/24\"}", true, "address: '10.0.0.5/24' is not an IPv4 host address"},
    {"vlan_too_large", "{\"vlan\": 4095}", true, "vlan: expected an integer 0..4094 (0: none)"},
    {"vlan_negative", "{\"vlan\": -1}", true, "vlan: expected an integer 0..4094"},
    {"vlan_string", "{\"vlan\": \"42\"}", true, "vlan: expected an integer 0..4094"},
    {"labels_not_object", "{\"labels\": [\"a\"]}", true, "labels: expected an object of strings"},
    {"label_key_invalid", "{\"labels\": {\"a b\": \"x\"}}", true, "labels: key 'a b' is not [A-Za-z0-9_.-]{1,63}"},
    {"label_key_too_long",
     "{\"labels\": {\"0123456789012345678901234567890123456789012345678901234567890123\": \"x\"}}", true,
     "labels: key '0123456789012345678901234567890123456789012345678901234567890123' is not"},
    {"label_value_not_string", "{\"labels\": {\"rack\": 1}}", true, "labels.rack: expected a string"},
    {"var_control_byte", "{\"vars\": {\"x\": \"a\\tb\"}}", true, "vars.x: holds a control character"},
    {"var_key_escaped", "{\"vars\": {\"\\u001b[31m\": \"x\"}}", true, "vars: key '\\x1b[31m' is not"},
};

static void host_errors_name_the_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof host_errors / sizeof host_errors[0]; i++) {
        struct host h;
        char err[256] = "";
        if (host_errors[i].body)
            host_fixture(&h);
        else
            assert_int_equal(host_init(&h), 0);
        json_t *j = json_loads(host_errors[i].body ? host_errors[i].body : "{\"vlan\": 1}", JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        json_t *before = host_to_json(&h);
        int r = host_from_json(j, &h, host_errors[i].partial, err, sizeof err);
        if (r != -EINVAL)
            fail_msg("%s: accepted", host_errors[i].name);
        if (strncmp(err, host_errors[i].err, strlen(host_errors[i].err)) != 0)
            fail_msg("%s: error '%s', expected '%s'", host_errors[i].name, err, host_errors[i].err);
        /* A refused body changes nothing. */
        json_t *after = host_to_json(&h);
        if (!json_equal(before, after))
            fail_msg("%s: the host changed", host_errors[i].name);
        json_decref(before);
        json_decref(after);
        json_decref(j);
        host_clear(&h);
    }
}

static void labels_capped(void **state)
{
    (void)state;
    struct host h;
    char err[256];
    assert_int_equal(host_init(&h), 0);
    snprintf(h.name, sizeof h.name, "n");
    json_t *labels = json_object();
    char key[16];
    for (int i = 0; i < 64; i++) {
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(labels, key, json_string("v"));
    }
    json_t *j = json_pack("{s:O}", "labels", labels);
    assert_int_equal(host_from_json(j, &h, true, err, sizeof err), 0);
    json_object_set_new(labels, "one_more", json_string("v"));
    json_object_set(j, "labels", labels);
    assert_int_equal(host_from_json(j, &h, true, err, sizeof err), -EINVAL);
    assert_string_equal(err, "labels: 65 entries, more than 64");
    json_decref(j);

    char big[1100];
    memset(big, 'x', 1025);
    big[1025] = '\0';
    j = json_pack("{s:{s:s}}", "vars", "k", big);
    assert_int_equal(host_from_json(j, &h, true, err, sizeof err), -EINVAL);
    assert_string_equal(err, "vars.k: longer than 1024 bytes");
    json_decref(j);
    json_decref(labels);
    host_clear(&h);
}

/* ---- profiles ---- */

static void profile_round_trip_and_errors(void **state)
{
    (void)state;
    struct profile p = {0}, back = {0};
    char err[256];
    json_t *j = json_loads(J({"name": "esx-lab", "doc": {"hostname": "${name}", "ntp": ["10.0.0.1"]}}), 0, NULL);
    assert_int_equal(profile_from_json(j, &p, err, sizeof err), 0);
    assert_string_equal(p.name, "esx-lab");
    assert_string_equal(p.doc, "{\"hostname\":\"${name}\",\"ntp\":[\"10.0.0.1\"]}");
    p.created = T_2026_12_01;
    json_t *out = profile_to_json(&p);
    assert_true(json_equal(json_object_get(out, "doc"), json_object_get(j, "doc")));
    assert_string_equal(json_string_value(json_object_get(out, "created")), "2026-12-01T21:30:00.000Z");
    assert_true(json_is_null(json_object_get(out, "updated")));
    /* Sent back as read: accepted, and the same profile comes back. */
    back.created = T_2026_12_01;
    assert_int_equal(profile_from_json(out, &back, err, sizeof err), 0);
    assert_string_equal(back.doc, p.doc);
    json_decref(out);
    json_decref(j);

    static const struct {
        const char *body, *err;
    } bad[] = {
        {"{\"doc\": {}}", "name: missing"},
        {"{\"name\": \"x\"}", "doc: missing"},
        {"{\"name\": \"x y\", \"doc\": {}}", "name: 'x y' is not a name"},
        {"{\"name\": \"x\", \"doc\": []}", "doc: expected an object"},
        {"{\"name\": \"x\", \"doc\": {}, \"extra\": 1}", "extra: unknown field"},
        {"{\"name\": \"x\", \"doc\": {}, \"created\": \"2026-12-01T21:30:00.001Z\"}", "created: read-only"},
        {"{\"name\": \"x\", \"doc\": {\"bonds\": [{\"name\": \"b\", \"members\": [\"e\"], \"mode\": \"lacp\"}]}}",
         "doc.bonds[0].mode: expected one of 802.3ad, active-backup, balance-rr, balance-xor, broadcast, "
         "balance-tlb, balance-alb"},
        {"{\"name\": \"x\", \"doc\": {\"hostname\": \"${a${b}}\"}}", "doc.hostname: nested ${ is not allowed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i].body, 0, NULL);
        assert_non_null(j);
        char *doc_before = p.doc;
        assert_int_equal(profile_from_json(j, &p, err, sizeof err), -EINVAL);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fail_msg("%s: error '%s', expected '%s'", bad[i].body, err, bad[i].err);
        assert_ptr_equal(p.doc, doc_before);
        json_decref(j);
    }
    profile_clear(&p);
    profile_clear(&back);
}

/* ---- rules ---- */

static void rule_round_trip_and_errors(void **state)
{
    (void)state;
    struct rule r, back;
    char err[256];
    assert_int_equal(rule_init(&r), 0);
    assert_int_equal(rule_init(&back), 0);
    json_t *j = json_loads(J({"name": "lab-vms", "rank": 10, "match": {"mac": ["52:54:00:*"], "arch": [7]},
                              "build": "esxi8@2", "profile": "esx-lab", "mode": "stateless", "labels": {"rack": "r1"}}),
                           0, NULL);
    assert_int_equal(rule_from_json(j, &r, err, sizeof err), 0);
    assert_string_equal(r.name, "lab-vms");
    assert_int_equal(r.rank, 10);
    assert_string_equal(r.match, "{\"mac\":[\"52:54:00:*\"],\"arch\":[7]}");
    assert_string_equal(r.build, "esxi8");
    assert_int_equal(r.build_version, 2);
    assert_int_equal(r.mode, HOST_MODE_STATELESS);
    json_t *out = rule_to_json(&r);
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
        if (!json_equal(val, json_object_get(out, key)))
            fail_msg("%s differs", key);
    assert_true(json_is_null(json_object_get(out, "created")));
    assert_int_equal(rule_from_json(out, &back, err, sizeof err), 0);
    assert_string_equal(back.match, r.match);
    assert_string_equal(back.labels, r.labels);
    json_decref(out);
    json_decref(j);

    /* The defaults: match every host, leave the mode. */
    j = json_loads("{\"name\": \"default\", \"rank\": 1000, \"mode\": null}", 0, NULL);
    assert_int_equal(rule_from_json(j, &r, err, sizeof err), 0);
    assert_string_equal(r.match, "{}");
    assert_int_equal(r.mode, -1);
    assert_string_equal(r.build, "");
    assert_string_equal(r.labels, "{}");
    out = rule_to_json(&r);
    assert_true(json_is_null(json_object_get(out, "mode")));
    json_decref(out);
    json_decref(j);

    static const struct {
        const char *body, *err;
    } bad[] = {
        {"{\"rank\": 1}", "name: missing"},
        {"{\"name\": \"r\"}", "rank: missing"},
        {"{\"name\": \"r\", \"rank\": \"1\"}", "rank: expected an integer -1000000..1000000"},
        {"{\"name\": \"r\", \"rank\": 1000001}", "rank: expected an integer"},
        {"{\"name\": \"r\", \"rank\": 1, \"match\": []}", "match: expected an object"},
        {"{\"name\": \"r\", \"rank\": 1, \"match\": {\"mac\": [\"x\"]}}",
         "match.mac[0]: not a MAC, MAC prefix or MAC range"},
        {"{\"name\": \"r\", \"rank\": 1, \"match\": {\"serial\": []}}", "match.serial: empty list"},
        {"{\"name\": \"r\", \"rank\": 1, \"mode\": \"x\"}", "mode: expected one of stateless, stateful, sanboot, local"},
        {"{\"name\": \"r\", \"rank\": 1, \"build\": \"b@\"}", "build: 'b@' is not a build"},
        {"{\"name\": \"r\", \"rank\": 1, \"labels\": {\"k\": 1}}", "labels.k: expected a string"},
        {"{\"name\": \"r\", \"rank\": 1, \"hosts\": []}", "hosts: unknown field"},
        {"{\"name\": \"r\", \"rank\": 1, \"updated\": \"2026-12-01T21:30:00.000Z\"}", "updated: read-only"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i].body, 0, NULL);
        assert_non_null(j);
        char *match_before = r.match;
        assert_int_equal(rule_from_json(j, &r, err, sizeof err), -EINVAL);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fail_msg("%s: error '%s', expected '%s'", bad[i].body, err, bad[i].err);
        assert_ptr_equal(r.match, match_before);
        assert_string_equal(r.name, "default");
        json_decref(j);
    }
    rule_clear(&r);
    rule_clear(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times_are_rfc3339_ms),
        cmocka_unit_test(host_written_as_documented),
        cmocka_unit_test(host_round_trip),
        cmocka_unit_test(put_resets_absent_fields_patch_keeps_them),
        cmocka_unit_test(host_field_normalised),
        cmocka_unit_test(host_errors_name_the_field),
        cmocka_unit_test(labels_capped),
        cmocka_unit_test(profile_round_trip_and_errors),
        cmocka_unit_test(rule_round_trip_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
