/* Profiles: every key of the document, every refusal and how it reads,
 * and the configuration document a host gets once ${VAR} is substituted. */
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

#include "inventory/profile.h"

#define J(...) #__VA_ARGS__

/* A profile using every key, valid as written. */
static const char full_doc[] = J({
    "hostname": "pve-${label.rack}-${index}",
    "interfaces": [{"name": "eno1", "mac": "${mac}", "mtu": 9000, "dhcp": false, "addresses": []},
                   {"name": "eno2", "mac": "52-54-00-AA-BB-02", "mtu": "${mtu}"}],
    "bonds": [{"name": "bond0", "mode": "802.3ad", "members": ["eno1", "eno2"], "mtu": 9000}],
    "vlans": [{"name": "vlan${vlan}", "link": "bond0", "id": "${vlan}", "addresses": ["${address}/24"]}],
    "bridges": [{"name": "vmbr0", "uplinks": ["bond0"], "addresses": ["10.0.1.5/24", "10.0.2.5"], "dhcp": false,
                 "port_groups": [{"name": "VM Network", "vlan": 0}, {"name": "Trunk", "vlan": 4095}]}],
    "routes": [{"to": "0.0.0.0/0", "via": "${gw}"}, {"to": "192.168.0.0/16", "dev": "vmbr0", "metric": 10}],
    "dns": {"servers": ["10.0.0.53"], "search": ["lab.example"]},
    "ntp": ["10.0.0.1", "pool.example"],
    "storage": {"nfs": [{"server": "10.0.0.9", "export": "/vol/iso", "mount": "/mnt/iso", "options": "ro,vers=4"}],
                "iscsi": [{"portal": "10.0.0.10:3260", "target": "iqn.2000-01.com.example:${name}", "lun": 3}]},
    "cluster": "pve-lab",
    "persist": ["/etc/ssh", "/var/lib/pve-cluster"],
    "commands": ["pvecm status", "echo $${HOME} costs $$5"]
});

static const struct {
    const char *name;
    const char *doc;
    const char *err; /* NULL: valid */
} validate_cases[] = {
    {"every_key_valid", full_doc, NULL},
    {"empty_document_valid", "{}", NULL},
    {"not_json", "{\"hostname\": ", "document: not JSON: "},
    {"not_an_object", "[1]", "document: expected an object"},
    {"duplicate_key", "{\"cluster\": \"a\", \"cluster\": \"b\"}", "document: not JSON: "},
    {"unknown_top_key", "{\"colour\": 1}", "colour: unknown key"},
    {"unknown_nested_key", "{\"interfaces\": [{\"name\": \"e0\", \"nmae\": 1}]}", "interfaces[0].nmae: unknown key"},
    {"unknown_key_escaped", "{\"a\\nb\": 1}", "a\\x0ab: unknown key"},
    {"hostname_not_string", "{\"hostname\": 5}", "hostname: expected a string"},
    {"hostname_shape", "{\"hostname\": \"-bad\"}", "hostname: '-bad' is not a host name"},
    {"hostname_empty", "{\"hostname\": \"\"}", "hostname: must not be empty"},
    {"interfaces_not_list", "{\"interfaces\": {}}", "interfaces: expected a list"},
    {"interface_not_object", "{\"interfaces\": [\"eth0\"]}", "interfaces[0]: expected an object"},
    {"interface_name_missing", "{\"interfaces\": [{\"mtu\": 1500}]}", "interfaces[0].name: missing"},
    {"interface_name_too_long", "{\"interfaces\": [{\"name\": \"abcdefghijklmnop\"}]}",
     "interfaces[0].name: longer than 15 bytes"},
    {"interface_name_bad_char", "{\"interfaces\": [{\"name\": \"eth 0\"}]}",
     "interfaces[0].name: 'eth 0' is not an interface name ([A-Za-z0-9_.:-]{1,15})"},
    {"interface_name_dotdot", "{\"interfaces\": [{\"name\": \"..\"}]}", "interfaces[0].name: '..' is not an interface name"},
    {"interface_mac", "{\"interfaces\": [{\"name\": \"e0\", \"mac\": \"52:54:00\"}]}",
     "interfaces[0].mac: '52:54:00' is not a MAC address"},
    {"mtu_low", "{\"interfaces\": [{\"name\": \"e0\", \"mtu\": 67}]}", "interfaces[0].mtu: 67 is not an integer 68..65535"},
    {"mtu_high", "{\"bonds\": [{\"name\": \"b\", \"members\": [\"e\"], \"mtu\": 65536}]}",
     "bonds[0].mtu: 65536 is not an integer 68..65535"},
    {"mtu_as_plain_string", "{\"interfaces\": [{\"name\": \"e0\", \"mtu\": \"9000\"}]}",
     "interfaces[0].mtu: expected an integer 68..65535"},
    {"mtu_float", "{\"interfaces\": [{\"name\": \"e0\", \"mtu\": 1500.5}]}", "interfaces[0].mtu: expected an integer"},
    {"dhcp_not_bool", "{\"interfaces\": [{\"name\": \"e0\", \"dhcp\": 1}]}", "interfaces[0].dhcp: expected true or false"},
    {"address_octet", "{\"interfaces\": [{\"name\": \"e0\"}, {\"name\": \"e1\", \"addresses\": [\"10.0.0.300/24\"]}]}",
     "interfaces[1].addresses[0]: '10.0.0.300/24' is not an IPv4 address with prefix"},
    {"address_prefix", "{\"bonds\": [{\"name\": \"b\", \"members\": [\"e\"], \"addresses\": [\"10.0.0.1/33\"]}]}",
     "bonds[0].addresses[0]: '10.0.0.1/33' is not an IPv4 address with prefix"},
    {"address_plain_bad", "{\"vlans\": [{\"name\": \"v\", \"link\": \"e\", \"id\": 2, \"addresses\": [\"10.0.0\"]}]}",
     "vlans[0].addresses[0]: '10.0.0' is not an IPv4 address"},
    {"address_leading_zero_prefix", "{\"bridges\": [{\"name\": \"br\", \"addresses\": [\"10.0.0.1/024\"]}]}",
     "bridges[0].addresses[0]: '10.0.0.1/024' is not an IPv4 address with prefix"},
    {"too_many_addresses",
     "{\"bridges\": [{\"name\": \"br\", \"addresses\": [\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\","
     "\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\","
     "\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\","
     "\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\",\"1.1.1.1\","
     "\"1.1.1.1\"]}]}",
     "bridges[0].addresses: 33 entries, more than 32"},
    {"bond_mode", "{\"bonds\": [{\"name\": \"bond0\", \"members\": [\"e0\"], \"mode\": \"lacp\"}]}",
     "bonds[0].mode: expected one of 802.3ad, active-backup, balance-rr, balance-xor, broadcast, balance-tlb, "
     "balance-alb"},
    {"bond_members_missing", "{\"bonds\": [{\"name\": \"bond0\"}]}", "bonds[0].members: missing"},
    {"bond_members_empty", "{\"bonds\": [{\"name\": \"bond0\", \"members\": []}]}", "bonds[0].members: must not be empty"},
    {"bond_member_name", "{\"bonds\": [{\"name\": \"bond0\", \"members\": [\"e0\", \"e/1\"]}]}",
     "bonds[0].members[1]: 'e/1' is not an interface name"},
    {"vlan_id_missing", "{\"vlans\": [{\"name\": \"v\", \"link\": \"e\"}]}", "vlans[0].id: missing"},
    {"vlan_link_missing", "{\"vlans\": [{\"name\": \"v\", \"id\": 5}]}", "vlans[0].link: missing"},
    {"vlan_id_zero", "{\"vlans\": [{\"name\": \"v\", \"link\": \"e\", \"id\": 0}]}",
     "vlans[0].id: 0 is not an integer 1..4094"},
    {"vlan_id_4095", "{\"vlans\": [{\"name\": \"v\", \"link\": \"e\", \"id\": 4095}]}",
     "vlans[0].id: 4095 is not an integer 1..4094"},
    {"vlan_id_4094_ok", "{\"vlans\": [{\"name\": \"v\", \"link\": \"e\", \"id\": 4094}]}", NULL},
    {"port_group_vlan", "{\"bridges\": [{\"name\": \"vSwitch0\", \"port_groups\": [{\"name\": \"x\", \"vlan\": 4096}]}]}",
     "bridges[0].port_groups[0].vlan: 4096 is not an integer 0..4095"},
    {"port_group_name_missing", "{\"bridges\": [{\"name\": \"vSwitch0\", \"port_groups\": [{\"vlan\": 1}]}]}",
     "bridges[0].port_groups[0].name: missing"},
    {"port_group_name_long",
     "{\"bridges\": [{\"name\": \"s\", \"port_groups\": [{\"name\": "
     "\"0123456789012345678901234567890123456789012345678901234567890123\"}]}]}",
     "bridges[0].port_groups[0].name: longer than 63 bytes"},
    {"route_needs_to", "{\"routes\": [{\"via\": \"10.0.0.1\"}]}", "routes[0].to: missing"},
    {"route_needs_via_or_dev", "{\"routes\": [{\"to\": \"10.0.0.0/8\"}]}", "routes[0]: needs via or dev"},
    {"route_host_bits", "{\"routes\": [{\"to\": \"10.0.0.1/8\", \"via\": \"10.0.0.1\"}]}",
     "routes[0].to: '10.0.0.1/8' has host bits set (not a network)"},
    {"route_via", "{\"routes\": [{\"to\": \"0.0.0.0/0\", \"via\": \"10.0.0.1/24\"}]}",
     "routes[0].via: '10.0.0.1/24' is not an IPv4 address"},
    {"route_metric", "{\"routes\": [{\"to\": \"0.0.0.0/0\", \"dev\": \"e\", \"metric\": -1}]}",
     "routes[0].metric: -1 is not an integer 0..4294967295"},
    {"dns_not_object", "{\"dns\": [\"10.0.0.53\"]}", "dns: expected an object"},
    {"dns_server", "{\"dns\": {\"servers\": [\"ns1.example\"]}}", "dns.servers[0]: 'ns1.example' is not an IPv4 address"},
    {"dns_search", "{\"dns\": {\"search\": [\"lab..example\"]}}", "dns.search[0]: 'lab..example' is not a host name"},
    {"ntp_server", "{\"ntp\": [\"10.0.0.256\"]}", "ntp[0]: '10.0.0.256' is not an IPv4 address or a host name"},
    {"ntp_too_many", "{\"ntp\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
     "ntp: 17 entries, more than 16"},
    {"nfs_export_relative", "{\"storage\": {\"nfs\": [{\"server\": \"nas\", \"export\": \"vol/iso\", \"mount\": \"/mnt\"}]}}",
     "storage.nfs[0].export: 'vol/iso' is not an absolute path"},
    {"nfs_mount_dotdot", "{\"storage\": {\"nfs\": [{\"server\": \"nas\", \"export\": \"/v\", \"mount\": \"/mnt/../etc\"}]}}",
     "storage.nfs[0].mount: '/mnt/../etc' is not an absolute path without '.', '..', '//' or a trailing '/'"},
    {"nfs_mount_missing", "{\"storage\": {\"nfs\": [{\"server\": \"nas\", \"export\": \"/v\"}]}}",
     "storage.nfs[0].mount: missing"},
    {"nfs_options", "{\"storage\": {\"nfs\": [{\"server\": \"nas\", \"export\": \"/v\", \"mount\": \"/m\", \"options\": \"ro;rm\"}]}}",
     "storage.nfs[0].options: 'ro;rm' is not a list of mount options"},
    {"iscsi_portal", "{\"storage\": {\"iscsi\": [{\"portal\": \"10.0.0.10:70000\", \"target\": \"iqn.x\"}]}}",
     "storage.iscsi[0].portal: '10.0.0.10:70000' is not an iSCSI portal"},
    {"iscsi_target", "{\"storage\": {\"iscsi\": [{\"portal\": \"10.0.0.10\", \"target\": \"disk1\"}]}}",
     "storage.iscsi[0].target: 'disk1' is not an iSCSI name"},
    {"iscsi_lun", "{\"storage\": {\"iscsi\": [{\"portal\": \"san\", \"target\": \"iqn.x\", \"lun\": 65536}]}}",
     "storage.iscsi[0].lun: 65536 is not an integer 0..65535"},
    {"storage_unknown", "{\"storage\": {\"ceph\": []}}", "storage.ceph: unknown key"},
    {"cluster_control_byte", "{\"cluster\": \"a\\u0007b\"}", "cluster: 'a\\x07b' holds a control character"},
    {"cluster_c1_control", "{\"cluster\": \"a\\u0085b\"}", "cluster: 'a\\xc2\\x85b' holds a control character"},
    {"persist_relative", "{\"persist\": [\"etc/ssh\"]}", "persist[0]: 'etc/ssh' is not an absolute path"},
    {"persist_dotdot", "{\"persist\": [\"/etc/..\"]}", "persist[0]: '/etc/..' is not an absolute path"},
    {"persist_double_slash", "{\"persist\": [\"/etc//ssh\"]}", "persist[0]: '/etc//ssh' is not an absolute path"},
    {"persist_root", "{\"persist\": [\"/\"]}", "persist[0]: '/' is not an absolute path"},
    {"persist_dot", "{\"persist\": [\"/etc/./ssh\"]}", "persist[0]: '/etc/./ssh' is not an absolute path"},
    {"command_newline", "{\"commands\": [\"a\\nb\"]}", "commands[0]: 'a\\x0ab' holds a control character"},
    {"command_empty", "{\"commands\": [\"\"]}", "commands[0]: must not be empty"},
    {"duplicate_link_name", "{\"interfaces\": [{\"name\": \"bond0\"}], \"bonds\": [{\"name\": \"bond0\", \"members\": [\"e\"]}]}",
     "bonds[0].name: 'bond0' is already interfaces[0].name"},
    {"lone_dollar", "{\"hostname\": \"a$b\"}",
     "hostname: '$' must be followed by '{' or '$' (write $$ for a literal $)"},
    {"trailing_dollar", "{\"commands\": [\"echo $\"]}", "commands[0]: '$' must be followed by '{' or '$'"},
    {"unterminated_var", "{\"hostname\": \"a${rack\"}", "hostname: unterminated ${"},
    {"nested_var", "{\"hostname\": \"${a${b}}\"}", "hostname: nested ${ is not allowed"},
    {"nested_var_at_start", "{\"hostname\": \"${${b}}\"}", "hostname: nested ${ is not allowed"},
    {"empty_var", "{\"hostname\": \"${}\"}", "hostname: empty ${}"},
    {"bad_var_char", "{\"hostname\": \"${ra ck}\"}", "hostname: ${...} holds a character that is not [A-Za-z0-9_.-]"},
    {"var_in_int_checked_for_syntax", "{\"vlans\": [{\"name\": \"v\", \"link\": \"e\", \"id\": \"${vlan\"}]}",
     "vlans[0].id: unterminated ${"},
};

static void validate_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof validate_cases / sizeof validate_cases[0]; i++) {
        char err[256] = "";
        int r = profile_validate(validate_cases[i].doc, err, sizeof err);
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

static void too_many_interfaces_refused(void **state)
{
    (void)state;
    char buf[4096], err[256];
    size_t o = (size_t)snprintf(buf, sizeof buf, "{\"interfaces\": [");
    for (int i = 0; i < 65; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s{\"name\": \"e%d\"}", i ? "," : "", i);
    snprintf(buf + o, sizeof buf - o, "]}");
    assert_int_equal(profile_validate(buf, err, sizeof err), -EINVAL);
    assert_string_equal(err, "interfaces: 65 entries, more than 64");
}

static void oversized_document_refused(void **state)
{
    (void)state;
    char err[256];
    size_t n = PROFILE_DOC_MAX + 1;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    assert_int_equal(profile_validate(big, err, sizeof err), -EINVAL);
    assert_string_equal(err, "document: 262145 bytes, more than 262144");
    big[n - 1] = ' ';
    big[n - 2] = '}'; /* exactly at the cap: fine */
    big[n - 1] = '\0';
    assert_int_equal(profile_validate(big, err, sizeof err), 0);
    free(big);
}

/* ---- rendering ---- */

static void host_fixture(struct host *h)
{
    assert_int_equal(host_init(h), 0);
    snprintf(h->name, sizeof h->name, "pve-01");
    h->id = 12;
    h->boot_id = 3;
    h->n_macs = 2;
    memcpy(h->macs[0], (uint8_t[6]){0x52, 0x54, 0x00, 0xaa, 0xbb, 0x01}, 6);
    memcpy(h->macs[1], (uint8_t[6]){0x52, 0x54, 0x00, 0xaa, 0xbb, 0x02}, 6);
    snprintf(h->uuid, sizeof h->uuid, "4c4c4544-0042-3510-8051-b7c04f4e3332");
    snprintf(h->serial, sizeof h->serial, "SN 42");
    snprintf(h->build, sizeof h->build, "pve8");
    h->build_version = 2;
    snprintf(h->profile, sizeof h->profile, "pve-lab");
    h->address = 0x0a000005; /* 10.0.0.5 */
    h->vlan = 42;
    free(h->labels);
    free(h->vars);
    h->labels = strdup("{\"rack\": \"r12\"}");
    h->vars = strdup("{\"index\": \"01\", \"gw\": \"10.0.0.1\", \"mtu\": \"9000\", \"nic\": \"eth 0\","
                     " \"bad_ip\": \"10.0.0.300\", \"ctl\": \"a\\u0001b\", \"name\": \"spoof\", \"zero\": \"0\","
                     " \"lead\": \"09000\", \"dollar\": \"${mac}\"}");
}

static const struct configdoc_ctx ctx = {.base_url = "http://10.0.0.1:8080", .now_ms = 1};

static const struct {
    const char *name;
    const char *doc;    /* NULL: no profile */
    const char *expect; /* JSON object: each key must equal the output's; NULL: an error */
    const char *err;
} render_cases[] = {
    {"no_profile_is_empty_config", NULL,
     J({"version": 1, "host": "pve-01", "host_id": 12, "boot_id": 3, "hostname": "pve-01", "interfaces": [],
        "bonds": [], "vlans": [], "bridges": [], "routes": [], "dns": {"servers": [], "search": []}, "ntp": [],
        "storage": {"nfs": [], "iscsi": []}, "cluster": "", "persist": [], "commands": [], "mgmt_vlan": 42,
        "report_url": "http://10.0.0.1:8080/api/v1/report", "state_url": "http://10.0.0.1:8080/api/v1/state"}),
     NULL},
    {"every_key_rendered", full_doc,
     J({"hostname": "pve-r12-01",
        "interfaces": [{"name": "eno1", "mac": "52:54:00:aa:bb:01", "mtu": 9000, "dhcp": false, "addresses": []},
                       {"name": "eno2", "mac": "52:54:00:aa:bb:02", "mtu": 9000, "dhcp": false, "addresses": []}],
        "bonds": [{"name": "bond0", "mode": "802.3ad", "members": ["eno1", "eno2"], "mtu": 9000, "dhcp": false,
                   "addresses": []}],
        "vlans": [{"name": "vlan42", "link": "bond0", "id": 42, "dhcp": false, "addresses": ["10.0.0.5/24"]}],
        "bridges": [{"name": "vmbr0", "uplinks": ["bond0"], "dhcp": false, "addresses": ["10.0.1.5/24", "10.0.2.5"],
                     "port_groups": [{"name": "VM Network", "vlan": 0}, {"name": "Trunk", "vlan": 4095}]}],
        "routes": [{"to": "0.0.0.0/0", "via": "10.0.0.1"}, {"to": "192.168.0.0/16", "dev": "vmbr0", "metric": 10}],
        "dns": {"servers": ["10.0.0.53"], "search": ["lab.example"]}, "ntp": ["10.0.0.1", "pool.example"],
        "storage": {"nfs": [{"server": "10.0.0.9", "export": "/vol/iso", "mount": "/mnt/iso", "options": "ro,vers=4"}],
                    "iscsi": [{"portal": "10.0.0.10:3260", "target": "iqn.2000-01.com.example:pve-01", "lun": 3}]},
        "cluster": "pve-lab", "persist": ["/etc/ssh", "/var/lib/pve-cluster"],
        "commands": ["pvecm status", "echo ${HOME} costs $5"]}),
     NULL},
    {"defaults_fill_items", "{\"bonds\": [{\"name\": \"b0\", \"members\": [\"e0\"]}], \"storage\": {\"nfs\": "
                            "[{\"server\": \"nas\", \"export\": \"/v\", \"mount\": \"/m\"}]}}",
     J({"bonds": [{"name": "b0", "mode": "active-backup", "members": ["e0"], "dhcp": false, "addresses": []}],
        "storage": {"nfs": [{"server": "nas", "export": "/v", "mount": "/m", "options": ""}], "iscsi": []}}),
     NULL},
    {"builtins", "{\"commands\": [\"${name} ${mac} ${mac0} ${mac1} ${uuid} ${serial} ${address} ${vlan} ${build} "
                 "${profile} ${boot_id} ${label.rack}\"]}",
     "{\"commands\": [\"pve-01 52:54:00:aa:bb:01 52:54:00:aa:bb:01 52:54:00:aa:bb:02 "
     "4c4c4544-0042-3510-8051-b7c04f4e3332 SN 42 10.0.0.5 42 pve8 pve-lab 3 r12\"]}",
     NULL},
    {"builtins_win_over_vars", "{\"hostname\": \"${name}\"}", J({"hostname": "pve-01"}), NULL},
    {"substituted_dollar_is_not_expanded_again", "{\"commands\": [\"${dollar}\"]}", J({"commands": ["${mac}"]}), NULL},
    {"double_dollar", "{\"cluster\": \"$$$$x$$\"}", J({"cluster": "$$x$"}), NULL},
    {"unknown_variable", "{\"hostname\": \"${rak}\"}", NULL, "hostname: unknown variable ${rak}"},
    {"unknown_variable_deep", "{\"storage\": {\"iscsi\": [{\"portal\": \"san\", \"target\": \"iqn.${lun}\"}]}}", NULL,
     "storage.iscsi[0].target: unknown variable ${lun}"},
    {"mac_beyond_host", "{\"interfaces\": [{\"name\": \"e0\", \"mac\": \"${mac2}\"}]}", NULL,
     "interfaces[0].mac: ${mac2} is not set for host pve-01"},
    {"label_not_set", "{\"cluster\": \"${label.zone}\"}", NULL, "cluster: ${label.zone} is not set for host pve-01"},
    {"substitution_gives_bad_ifname", "{\"interfaces\": [{\"name\": \"${nic}\"}]}", NULL,
     "interfaces[0].name: 'eth 0' is not an interface name ([A-Za-z0-9_.:-]{1,15})"},
    {"substitution_gives_bad_address", "{\"interfaces\": [{\"name\": \"e0\"}, {\"name\": \"e1\", \"addresses\": [\"${bad_ip}/24\"]}]}",
     NULL, "interfaces[1].addresses[0]: '10.0.0.300/24' is not an IPv4 address with prefix"},
    {"substitution_gives_control_byte", "{\"commands\": [\"echo ${ctl}\"]}", NULL,
     "commands[0]: 'echo a\\x01b' holds a control character"},
    {"substitution_too_long", "{\"interfaces\": [{\"name\": \"${uuid}\"}]}", NULL,
     "interfaces[0].name: longer than 15 bytes after substitution"},
    {"substitution_gives_int", "{\"interfaces\": [{\"name\": \"e0\", \"mtu\": \"${mtu}\"}]}",
     J({"interfaces": [{"name": "e0", "mtu": 9000, "dhcp": false, "addresses": []}]}), NULL},
    {"substitution_gives_out_of_range_int", "{\"vlans\": [{\"name\": \"v\", \"link\": \"e\", \"id\": \"${zero}\"}]}",
     NULL, "vlans[0].id: 0 is not an integer 1..4094"},
    {"substitution_gives_non_integer", "{\"vlans\": [{\"name\": \"v\", \"link\": \"e\", \"id\": \"${gw}\"}]}", NULL,
     "vlans[0].id: '10.0.0.1' is not an integer 1..4094"},
    {"substitution_gives_leading_zero", "{\"interfaces\": [{\"name\": \"e\", \"mtu\": \"${lead}\"}]}", NULL,
     "interfaces[0].mtu: '09000' is not an integer 68..65535"},
    {"substituted_names_must_stay_unique", "{\"interfaces\": [{\"name\": \"vlan42\"}], \"vlans\": [{\"name\": "
                                           "\"vlan${vlan}\", \"link\": \"e\", \"id\": 42}]}",
     NULL, "vlans[0].name: 'vlan42' is already interfaces[0].name"},
    {"invalid_profile_refused_at_render", "{\"bonds\": [{\"name\": \"b\", \"members\": [\"e\"], \"mode\": \"x\"}]}",
     NULL, "bonds[0].mode: expected one of 802.3ad"},
};

static void render_table(void **state)
{
    (void)state;
    struct host h;
    host_fixture(&h);
    for (size_t i = 0; i < sizeof render_cases / sizeof render_cases[0]; i++) {
        char err[256] = "", *out = (char *)1;
        int r = configdoc_render(render_cases[i].doc, &h, &ctx, &out, err, sizeof err);
        if (!render_cases[i].expect) {
            if (r != -EINVAL || out)
                fail_msg("%s: rendered (r=%d)", render_cases[i].name, r);
            if (strncmp(err, render_cases[i].err, strlen(render_cases[i].err)) != 0)
                fail_msg("%s: error '%s', expected '%s'", render_cases[i].name, err, render_cases[i].err);
            continue;
        }
        if (r != 0)
            fail_msg("%s: refused: %s", render_cases[i].name, err);
        json_t *got = json_loads(out, 0, NULL), *want = json_loads(render_cases[i].expect, 0, NULL);
        assert_non_null(got);
        assert_non_null(want);
        const char *key;
        json_t *val;
        json_object_foreach(want, key, val) {
            if (!json_equal(val, json_object_get(got, key))) {
                char *g = json_dumps(json_object_get(got, key), JSON_COMPACT | JSON_ENCODE_ANY);
                fail_msg("%s: %s is %s", render_cases[i].name, key, g ? g : "(absent)");
            }
        }
        json_decref(got);
        json_decref(want);
        free(out);
    }
    host_clear(&h);
}

static void output_keys_in_order(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "version", "host", "host_id", "boot_id", "hostname", "interfaces", "bonds", "vlans", "bridges", "routes",
        "dns", "ntp", "storage", "cluster", "persist", "persist_interval", "commands", "mgmt_vlan", "report_url", "state_url",
    };
    struct host h;
    char err[256], *out;
    host_fixture(&h);
    assert_int_equal(configdoc_render("{\"commands\": [\"x\"], \"hostname\": \"a\"}", &h, &ctx, &out, err, sizeof err), 0);
    json_t *got = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(got);
    assert_int_equal(json_object_size(got), sizeof keys / sizeof keys[0]);
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(got, key, val)
        assert_string_equal(key, keys[i++]);
    json_decref(got);
    free(out);

    /* No VLAN: no mgmt_vlan. */
    h.vlan = 0;
    assert_int_equal(configdoc_render(NULL, &h, &ctx, &out, err, sizeof err), 0);
    got = json_loads(out, 0, NULL);
    assert_null(json_object_get(got, "mgmt_vlan"));
    json_decref(got);
    free(out);
    host_clear(&h);
}

static void hostname_defaults_to_host_name_checked(void **state)
{
    (void)state;
    struct host h;
    char err[256], *out;
    host_fixture(&h);
    snprintf(h.name, sizeof h.name, "node-");
    assert_int_equal(configdoc_render("{}", &h, &ctx, &out, err, sizeof err), -EINVAL);
    assert_null(out);
    assert_string_equal(err, "hostname: 'node-' is not a host name (labels of letters, digits, '-' and '_' between dots)");
    /* Giving a hostname in the profile mends it. */
    assert_int_equal(configdoc_render("{\"hostname\": \"node-1\"}", &h, &ctx, &out, err, sizeof err), 0);
    free(out);
    host_clear(&h);
}

static void base_url_checked(void **state)
{
    (void)state;
    struct host h;
    char err[256], *out;
    host_fixture(&h);
    const struct configdoc_ctx bad = {.base_url = "http://x/\n"};
    assert_int_equal(configdoc_render(NULL, &h, &bad, &out, err, sizeof err), -EINVAL);
    assert_string_equal(err, "base_url: holds a control character or a space");
    host_clear(&h);
}

/* 256 commands of 4 KiB each stay under PROFILE_DOC_MAX only through
 * substitution; the rendered document is then capped. */
static void oversized_rendering_refused(void **state)
{
    (void)state;
    struct host h;
    char err[256], *out;
    host_fixture(&h);
    char *v = malloc(1100);
    assert_non_null(v);
    memset(v, 'x', 1000);
    v[1000] = '\0';
    json_t *vars = json_pack("{s:s}", "k", v);
    free(h.vars);
    h.vars = json_dumps(vars, JSON_COMPACT);
    json_decref(vars);
    json_t *doc = json_pack("{s:[]}", "commands");
    for (int i = 0; i < 256; i++)
        json_array_append_new(json_object_get(doc, "commands"), json_string("${k}${k}${k}${k}${k}"));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_int_equal(profile_validate(text, err, sizeof err), 0);
    assert_int_equal(configdoc_render(text, &h, &ctx, &out, err, sizeof err), -EINVAL);
    assert_string_equal(err, "commands[0]: longer than 4096 bytes after substitution");

    /* Four ${k} and 96 bytes fill a command to its cap; 256 of them
     * make a document over 1 MiB. */
    free(text);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "${k}${k}${k}${k}%096d", 0);
    doc = json_pack("{s:[]}", "commands");
    for (int i = 0; i < 256; i++)
        json_array_append_new(json_object_get(doc, "commands"), json_string(cmd));
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_int_equal(configdoc_render(text, &h, &ctx, &out, err, sizeof err), -EINVAL);
    assert_null(out);
    assert_string_equal(err, "document: more than 1048576 bytes once rendered");
    free(text);
    free(v);
    host_clear(&h);
}

/* The examples in docs/profiles.md validate and render: the reference
 * cannot drift from the code unnoticed. */
static void documented_examples_render(void **state)
{
    (void)state;
    FILE *f = fopen("../../docs/profiles.md", "r");
    assert_non_null(f);
    static char text[64 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    struct host h;
    host_fixture(&h);
    free(h.vars);
    h.vars = strdup("{\"index\": \"01\"}");
    int examples = 0;
    for (char *p = strstr(text, "\n## Example"); p; p = strstr(p + 1, "\n## Example")) {
        char *start = strstr(p, "```json\n"), *end = start ? strstr(start + 8, "```") : NULL;
        if (!start || !end) {
            fail_msg("example %d has no json block", examples);
            break;
        }
        *end = '\0';
        char err[256], *out;
        if (profile_validate(start + 8, err, sizeof err) != 0)
            fail_msg("example %d: %s", examples, err);
        if (configdoc_render(start + 8, &h, &ctx, &out, err, sizeof err) != 0)
            fail_msg("example %d: %s", examples, err);
        free(out);
        *end = '`';
        examples++;
    }
    assert_int_equal(examples, 2);
    host_clear(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(validate_table),
        cmocka_unit_test(too_many_interfaces_refused),
        cmocka_unit_test(oversized_document_refused),
        cmocka_unit_test(render_table),
        cmocka_unit_test(output_keys_in_order),
        cmocka_unit_test(hostname_defaults_to_host_name_checked),
        cmocka_unit_test(base_url_checked),
        cmocka_unit_test(oversized_rendering_refused),
        cmocka_unit_test(documented_examples_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
