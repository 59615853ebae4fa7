/* agent/doc: the check of the configuration document before anything is
 * applied. Real documents (docs/profiles.md's examples as midwife
 * renders them) pass; each hostile change is refused naming its field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "doc.h"

#define CORPUS "../fuzz/corpus/fuzz_agent_doc/"

static json_t *load(const char *name)
{
    json_error_t e;
    json_t *j = json_load_file(name, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("%s: %s", name, e.text);
    return j;
}

static void real_documents_pass(void **state)
{
    static const char *const docs[] = {CORPUS "proxmox.json", CORPUS "esxi.json", CORPUS "empty.json",
                                       CORPUS "midwife-rendered.json", CORPUS "midwife-rendered-esx.json"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *d = load(docs[i]);
        char err[256] = "";
        if (doc_check(d, err, sizeof err) != 0)
            fail_msg("%s refused: %s", docs[i], err);
        json_decref(d);
    }
}

static void unknown_keys_and_absent_lists_are_fine(void **state)
{
    json_t *d = json_pack("{s:i, s:s, s:s, s:{s:s}, s:I}", "version", 1, "report_url", "http://10.0.0.1/r",
                          "state_url", "http://10.0.0.1/s", "newer_feature", "x", "y", "persist_interval",
                          (json_int_t)3600);
    char err[256];
    assert_int_equal(doc_check(d, err, sizeof err), 0);
    json_decref(d);
}

/* Walks "a.b[2].c" in doc and replaces (or, with value NULL, removes)
 * the last step. */
static void set_at(json_t *doc, const char *path, json_t *value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = doc;
    char *p = buf;
    for (;;) {
        size_t klen = strcspn(p, ".[");
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)klen, p);
        p += klen;
        long idx = -1;
        if (*p == '[') {
            idx = strtol(p + 1, &p, 10);
            p++; /* ']' */
        }
        bool last = *p == '\0';
        if (last && idx < 0) {
            if (value)
                json_object_set_new(cur, key, value);
            else
                json_object_del(cur, key);
            return;
        }
        json_t *next = json_object_get(cur, key);
        if (idx >= 0) {
            if (last) {
                json_array_set_new(next, (size_t)idx, value);
                return;
            }
            next = json_array_get(next, (size_t)idx);
        }
        assert_non_null(next);
        cur = next;
        if (*p == '.')
            p++;
    }
}

struct hostile {
    const char *path;
    const char *value; /* JSON text; NULL: remove the key */
    const char *field; /* the error must start with "field:" */
};

static json_t *list_of(size_t n, const char *elem_json)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_loads(elem_json, JSON_DECODE_ANY, NULL));
    return a;
}

static void hostile_changes_are_refused_naming_the_field(void **state)
{
    static const struct hostile cases[] = {
        {"version", "2", "version"},
        {"version", NULL, "version"},
        {"version", "\"1\"", "version"},
        {"report_url", "\"https://10.0.0.1/api/v1/report\"", "report_url"},
        {"state_url", NULL, "state_url"},
        {"state_url", "\"http://h/a b\"", "state_url"},
        {"hostname", "\"a/b\"", "hostname"},
        {"hostname", "\"-bad.example\"", "hostname"},
        {"hostname", "\"a..b\"", "hostname"},
        {"hostname", "\"\"", "hostname"},
        {"hostname", "42", "hostname"},
        {"interfaces[0].name", "\"eth/0\"", "interfaces[0].name"},
        {"interfaces[0].name", "\"..\"", "interfaces[0].name"},
        {"interfaces[0].name", "\".\"", "interfaces[0].name"},
        {"interfaces[0].name", "\"abcdefghijklmnop\"", "interfaces[0].name"},
        {"interfaces[0].name", NULL, "interfaces[0].name"},
        {"interfaces[1].mac", "\"52:54:00:12:34\"", "interfaces[1].mac"},
        {"interfaces[1].mac", "\"52:54-00:12:34:57\"", "interfaces[1].mac"},
        {"interfaces[0].mtu", "67", "interfaces[0].mtu"},
        {"interfaces[0].mtu", "9000.5", "interfaces[0].mtu"},
        {"interfaces[0].dhcp", "\"yes\"", "interfaces[0].dhcp"},
        {"interfaces[0].addresses", "[\"10.0.0.300/24\"]", "interfaces[0].addresses[0]"},
        {"interfaces[0].addresses", "[\"10.0.0.1/33\"]", "interfaces[0].addresses[0]"},
        {"interfaces[0].addresses", "[\"010.0.0.1\"]", "interfaces[0].addresses[0]"},
        {"interfaces[0].addresses", "\"10.0.0.1/24\"", "interfaces[0].addresses"},
        {"interfaces", "{}", "interfaces"},
        {"bonds[0].mode", "\"fastest\"", "bonds[0].mode"},
        {"bonds[0].members", "[]", "bonds[0].members"},
        {"bonds[0].members", "[\"eno1\", \"a;b\"]", "bonds[0].members[1]"},
        {"vlans[0].id", "4095", "vlans[0].id"},
        {"vlans[0].id", "\"42\"", "vlans[0].id"},
        {"vlans[0].link", NULL, "vlans[0].link"},
        {"vlans[0].name", "\"eno1\"", "vlans[0].name"}, /* already interfaces[0].name */
        {"bridges[0].port_groups", "[{\"name\": \"x\", \"vlan\": 4096}]", "bridges[0].port_groups[0].vlan"},
        {"bridges[0].port_groups", "[{\"name\": \"\"}]", "bridges[0].port_groups[0].name"},
        {"routes[0].to", "\"10.0.0.1/8\"", "routes[0].to"},
        {"routes[0].via", "\"gateway\"", "routes[0].via"},
        {"routes", "[{\"to\": \"10.0.0.0/8\"}]", "routes[0]"},
        {"routes[0].metric", "-1", "routes[0].metric"},
        {"dns.servers", "[\"dns.example\"]", "dns.servers[0]"},
        {"dns.search", "[\"a b\"]", "dns.search[0]"},
        {"ntp", "[\"a_b..c\"]", "ntp[0]"},
        {"storage.nfs[0].mount", "\"mnt/iso\"", "storage.nfs[0].mount"},
        {"storage.nfs[0].mount", "\"/mnt/../etc\"", "storage.nfs[0].mount"},
        {"storage.nfs[0].mount", "\"/mnt/iso/\"", "storage.nfs[0].mount"},
        {"storage.nfs[0].export", "\"vol\"", "storage.nfs[0].export"},
        {"storage.nfs[0].options", "\"ro;reboot\"", "storage.nfs[0].options"},
        {"storage.iscsi", "[{\"portal\": \"10.0.0.1:99999\", \"target\": \"iqn.x\"}]", "storage.iscsi[0].portal"},
        {"storage.iscsi", "[{\"portal\": \"10.0.0.1\", \"target\": \"target\"}]", "storage.iscsi[0].target"},
        {"cluster", "\"0123456789012345678901234567890123456789012345678901234567890123\"", "cluster"},
        {"persist", "[\"etc/ssh\"]", "persist[0]"},
        {"persist", "[\"/etc/../root\"]", "persist[0]"},
        {"persist", "[\"/etc//ssh\"]", "persist[0]"},
        {"persist", "[\"/etc/ssh/\"]", "persist[0]"},
        {"persist", "[\"/\"]", "persist[0]"},
        {"persist", "[\"/etc/./ssh\"]", "persist[0]"},
        {"persist_interval", "-5", "persist_interval"},
        {"commands", "[\"echo a\\u0007\"]", "commands[0]"},
        {"commands", "[\"echo \\u0085\"]", "commands[0]"},
        {"commands", "[\"a\\u0000b\"]", "commands[0]"},
        {"commands", "[\"\\u007f\"]", "commands[0]"},
        {"commands", "[42]", "commands[0]"},
        {"mgmt_vlan", "5000", "mgmt_vlan"},
        {"host", "\"a\\nb\"", "host"},
        {"unknown", "{\"deep\": \"\\u001b[31m\"}", "unknown.deep"},
    };
    json_t *base = load(CORPUS "proxmox.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *d = json_deep_copy(base);
        json_t *v = NULL;
        if (cases[i].value) {
            json_error_t e;
            v = json_loads(cases[i].value, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
            if (!v)
                fail_msg("case %zu: bad JSON %s", i, e.text);
        }
        set_at(d, cases[i].path, v);
        char err[512] = "";
        int r = doc_check(d, err, sizeof err);
        size_t fl = strlen(cases[i].field);
        if (r != -1 || strncmp(err, cases[i].field, fl) != 0 || err[fl] != ':')
            fail_msg("case %zu (%s = %s): got %d '%s'", i, cases[i].path, cases[i].value ? cases[i].value : "(removed)",
                     r, err);
        json_decref(d);
    }
    json_decref(base);
}

static void oversize_lists_and_strings_are_refused(void **state)
{
    struct {
        const char *key;
        size_t n;
        const char *elem;
        const char *field;
    } cases[] = {
        {"interfaces", 65, "{\"name\": \"x\"}", "interfaces"},
        {"persist", 257, "\"/etc/x\"", "persist"},
        {"commands", 257, "\"true\"", "commands"},
        {"ntp", 17, "\"10.0.0.1\"", "ntp"},
    };
    json_t *base = load(CORPUS "empty.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *d = json_deep_copy(base);
        json_object_set_new(d, cases[i].key, list_of(cases[i].n, cases[i].elem));
        char err[256];
        assert_int_equal(doc_check(d, err, sizeof err), -1);
        size_t fl = strlen(cases[i].field);
        if (strncmp(err, cases[i].field, fl) != 0 || !strstr(err, "entries"))
            fail_msg("%s: '%s'", cases[i].key, err);
        json_decref(d);
    }
    /* Any string over 4096 bytes, even under a key the agent ignores. */
    char *big = malloc(5000);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    json_t *d = json_deep_copy(base);
    json_object_set_new(d, "future", json_string(big));
    char err[256];
    assert_int_equal(doc_check(d, err, sizeof err), -1);
    assert_non_null(strstr(err, "future: a string of 4999 bytes"));
    json_decref(d);
    big[4096] = '\0';
    d = json_deep_copy(base);
    json_object_set_new(d, "commands", json_pack("[s]", big));
    assert_int_equal(doc_check(d, err, sizeof err), 0);
    json_decref(d);
    free(big);
    json_decref(base);
}

static void not_an_object_and_too_deep(void **state)
{
    char err[256];
    json_t *a = json_array();
    assert_int_equal(doc_check(a, err, sizeof err), -1);
    assert_string_equal(err, "document: expected a JSON object");
    json_decref(a);
    json_t *d = load(CORPUS "hostile-deep.json");
    assert_int_equal(doc_check(d, err, sizeof err), -1);
    assert_non_null(strstr(err, "nested deeper"));
    json_decref(d);
}

static void a_short_error_buffer_is_safe(void **state)
{
    json_t *d = load(CORPUS "hostile-ifname.json");
    char err[8];
    assert_int_equal(doc_check(d, err, sizeof err), -1);
    assert_int_equal(strlen(err), 7);
    assert_int_equal(doc_check(d, NULL, 0), -1);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_documents_pass),
        cmocka_unit_test(unknown_keys_and_absent_lists_are_fine),
        cmocka_unit_test(hostile_changes_are_refused_naming_the_field),
        cmocka_unit_test(oversize_lists_and_strings_are_refused),
        cmocka_unit_test(not_an_object_and_too_deep),
        cmocka_unit_test(a_short_error_buffer_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
