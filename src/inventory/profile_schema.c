/* The profile document (docs/profiles.md is its reference; keep the two
 * in step). Counts are capped so a document's rendered size is bounded. */
#include "inventory/profile_schema.h"

#include <stdio.h>
#include <string.h>

#include "inventory/inv_text.h"

#define LIST(n_max, e) {.kind = NODE_LIST, .min = 0, .max = (n_max), .elem = (e)}
#define STR(sh, lo, hi) {.kind = NODE_STRING, .shape = (sh), .min = (lo), .max = (hi)}
#define INT(lo, hi) {.kind = NODE_INT, .min = (lo), .max = (hi)}

static const struct node ifname = STR(SHAPE_IFNAME, 1, 15);
static const struct node mac = STR(SHAPE_MAC, 1, 17);
static const struct node mtu = INT(68, 65535);
static const struct node boolean = {.kind = NODE_BOOL};
static const struct node address = STR(SHAPE_ADDRESS, 1, 18);
static const struct node addresses = LIST(32, &address);
static const struct node ifnames = LIST(64, &ifname);
static const struct node members_list = {.kind = NODE_LIST, .min = 1, .max = 64, .elem = &ifname};
static const struct node ipv4 = STR(SHAPE_IPV4, 1, 15);
static const struct node server = STR(SHAPE_SERVER, 1, 253);
static const struct node domain = STR(SHAPE_HOSTNAME, 1, 253);

static const struct member interface_members[] = {
    {"name", &ifname, true, NULL},
    {"mac", &mac, false, NULL},
    {"mtu", &mtu, false, NULL},
    {"dhcp", &boolean, false, "false"},
    {"addresses", &addresses, false, "[]"},
    {NULL, NULL, false, NULL},
};
static const struct node interface = {.kind = NODE_OBJECT, .members = interface_members};

static const struct node bond_mode = STR(SHAPE_BOND_MODE, 1, 32);
static const struct member bond_members[] = {
    {"name", &ifname, true, NULL},
    {"mode", &bond_mode, false, "\"active-backup\""},
    {"members", &members_list, true, NULL},
    {"mtu", &mtu, false, NULL},
    {"dhcp", &boolean, false, "false"},
    {"addresses", &addresses, false, "[]"},
    {NULL, NULL, false, NULL},
};
static const struct node bond = {.kind = NODE_OBJECT, .members = bond_members};

static const struct node vlan_id = INT(1, 4094);
static const struct member vlan_members[] = {
    {"name", &ifname, true, NULL},
    {"link", &ifname, true, NULL},
    {"id", &vlan_id, true, NULL},
    {"mtu", &mtu, false, NULL},
    {"dhcp", &boolean, false, "false"},
    {"addresses", &addresses, false, "[]"},
    {NULL, NULL, false, NULL},
};
static const struct node vlan = {.kind = NODE_OBJECT, .members = vlan_members};

/* ESXi: 0 = untagged, 4095 = every VLAN passed to the guest (VGT). */
static const struct node port_group_vlan = INT(0, 4095);
static const struct node port_group_name = STR(SHAPE_TEXT, 1, 63);
static const struct member port_group_members[] = {
    {"name", &port_group_name, true, NULL},
    {"vlan", &port_group_vlan, false, "0"},
    {NULL, NULL, false, NULL},
};
static const struct node port_group = {.kind = NODE_OBJECT, .members = port_group_members};
static const struct node port_groups = LIST(256, &port_group);

static const struct member bridge_members[] = {
    {"name", &ifname, true, NULL},
    {"uplinks", &ifnames, false, "[]"},
    {"mtu", &mtu, false, NULL},
    {"dhcp", &boolean, false, "false"},
    {"addresses", &addresses, false, "[]"},
    {"port_groups", &port_groups, false, "[]"},
    {NULL, NULL, false, NULL},
};
static const struct node bridge = {.kind = NODE_OBJECT, .members = bridge_members};

static int route_needs_via_or_dev(const json_t *obj, const char *path, bool literal, char *err, size_t errlen)
{
    if (!json_object_get(obj, "via") && !json_object_get(obj, "dev"))
        return inv_fail(err, errlen, "%s: needs via or dev", path);
    return 0;
}

static const struct node network = STR(SHAPE_NETWORK, 1, 18);
static const struct member route_members[] = {
    {"to", &network, true, NULL},
    {"via", &ipv4, false, NULL},
    {"dev", &ifname, false, NULL},
    {"metric", &(const struct node)INT(0, 4294967295LL), false, NULL},
    {NULL, NULL, false, NULL},
};
static const struct node route = {.kind = NODE_OBJECT, .members = route_members, .check = route_needs_via_or_dev};

static const struct member dns_members[] = {
    {"servers", &(const struct node)LIST(8, &ipv4), false, "[]"},
    {"search", &(const struct node)LIST(16, &domain), false, "[]"},
    {NULL, NULL, false, NULL},
};

static const struct member nfs_members[] = {
    {"server", &server, true, NULL},
    {"export", &(const struct node)STR(SHAPE_ABS_PATH, 1, 1024), true, NULL},
    {"mount", &(const struct node)STR(SHAPE_SAFE_PATH, 1, 1024), true, NULL},
    {"options", &(const struct node)STR(SHAPE_MOUNT_OPTIONS, 0, 255), false, "\"\""},
    {NULL, NULL, false, NULL},
};
static const struct member iscsi_members[] = {
    {"portal", &(const struct node)STR(SHAPE_PORTAL, 1, 259), true, NULL},
    {"target", &(const struct node)STR(SHAPE_ISCSI_NAME, 1, 223), true, NULL},
    {"lun", &(const struct node)INT(0, 65535), false, "0"},
    {NULL, NULL, false, NULL},
};
static const struct node nfs = {.kind = NODE_OBJECT, .members = nfs_members};
static const struct node iscsi = {.kind = NODE_OBJECT, .members = iscsi_members};
static const struct member storage_members[] = {
    {"nfs", &(const struct node)LIST(32, &nfs), false, "[]"},
    {"iscsi", &(const struct node)LIST(32, &iscsi), false, "[]"},
    {NULL, NULL, false, NULL},
};

/* interfaces, bonds, vlans and bridges share one name space on the host:
 * two links of one name would make the agent configure one twice. */
static int link_names_unique(const json_t *doc, const char *path, bool literal, char *err, size_t errlen)
{
    static const char *const kinds[] = {"interfaces", "bonds", "vlans", "bridges"};
    struct seen {
        const char *name;
        const char *kind;
        size_t index;
    } seen[64 + 64 + 256 + 64];
    size_t n_seen = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const json_t *list = json_object_get(doc, kinds[k]);
        for (size_t i = 0; i < json_array_size(list); i++) {
            const char *name = json_string_value(json_object_get(json_array_get(list, i), "name"));
            if (!name || (literal && strchr(name, '$')))
                continue; /* substituted later; checked again at render */
            for (size_t j = 0; j < n_seen; j++)
                if (strcmp(seen[j].name, name) == 0)
                    return inv_fail(err, errlen, "%s[%zu].name: '%s' is already %s[%zu].name", kinds[k], i, name,
                                    seen[j].kind, seen[j].index);
            if (n_seen < sizeof seen / sizeof seen[0])
                seen[n_seen++] = (struct seen){name, kinds[k], i};
        }
    }
    return 0;
}

static const struct node command = STR(SHAPE_TEXT, 1, 4096);

static const struct member top_members[] = {
    {"hostname", &domain, false, NULL},
    {"interfaces", &(const struct node)LIST(64, &interface), false, "[]"},
    {"bonds", &(const struct node)LIST(64, &bond), false, "[]"},
    {"vlans", &(const struct node)LIST(256, &vlan), false, "[]"},
    {"bridges", &(const struct node)LIST(64, &bridge), false, "[]"},
    {"routes", &(const struct node)LIST(256, &route), false, "[]"},
    {"dns", &(const struct node){.kind = NODE_OBJECT, .members = dns_members}, false, "{}"},
    {"ntp", &(const struct node)LIST(16, &server), false, "[]"},
    {"storage", &(const struct node){.kind = NODE_OBJECT, .members = storage_members}, false, "{}"},
    {"cluster", &(const struct node)STR(SHAPE_TEXT, 0, 63), false, "\"\""},
    {"persist", &(const struct node)LIST(256, &(const struct node)STR(SHAPE_SAFE_PATH, 1, 1024)), false, "[]"},
    /* Seconds between periodic saves of the persist paths; 0: only on
     * request and at a clean shutdown. */
    {"persist_interval", &(const struct node)INT(0, 604800), false, "0"},
    {"commands", &(const struct node)LIST(256, &command), false, "[]"},
    {NULL, NULL, false, NULL},
};

const struct node profile_schema = {.kind = NODE_OBJECT, .members = top_members, .check = link_names_unique};
