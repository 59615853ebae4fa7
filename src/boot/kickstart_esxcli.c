/* The kickstart's esxcli steps (see kickstart.h and kickstart_write.h):
 * the host's configuration document as esxcli lines, each step reported
 * to midwife as it runs. The lines follow the ESXi 7/8 esxcli reference;
 * `system ntp set` needs 7.0 U1 or later. */
#include "boot/kickstart_write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char ks_esxcli_helpers[] =
    "# midwife: the birth, the reports and the configuration of this host,\n"
    "# as midwife-agent does them on Linux. Every value below is single-quoted\n"
    "# and every report body was made by midwife. A failed step is reported\n"
    "# and stops the script; its output is in ESXi's own log.\n"
    "mw_post() {\n"
    "    wget -q -O /dev/null --header \"Authorization: Bearer $MW_TOKEN\" --header \"Content-Type: application/json\""
    " --post-data \"$1\" \"$MW_URL/api/v1/report\" || echo \"midwife: a report did not reach $MW_URL\" >&2\n"
    "}\n"
    "mw_begin() {\n"
    "    MW_FAILED=\"$2\"\n"
    "    mw_post \"$1\"\n"
    "}\n"
    "mw_end() {\n"
    "    mw_post \"$1\"\n"
    "}\n"
    "mw_fail() {\n"
    "    mw_post \"$MW_FAILED\"\n"
    "    echo \"midwife: configuration stopped at a failed step\" >&2\n"
    "    exit 1\n"
    "}\n"
    "# Adding what the installer made already (vSwitch0, its first uplink, the\n"
    "# Management Network port group) is no failure.\n"
    "mw_add() {\n"
    "    mw_out=$(\"$@\" 2>&1) && return 0\n"
    "    case \"$mw_out\" in\n"
    "    *\"already exist\"*) return 0 ;;\n"
    "    esac\n"
    "    printf '%s\\n' \"$mw_out\" >&2\n"
    "    return 1\n"
    "}\n"
    "# The profile's commands are shell commands: each runs as one sh -c.\n"
    "mw_sh() {\n"
    "    /bin/sh -c \"$1\"\n"
    "}\n"
    "# The software iSCSI adapter's name (vmhbaNN), once it is enabled.\n"
    "mw_iscsi_hba() {\n"
    "    MW_HBA=$(esxcli iscsi adapter list 2>/dev/null | awk '$2 == \"iscsi_vmk\" { print $1; exit }' |"
    " tr -cd 'A-Za-z0-9')\n"
    "    [ -n \"$MW_HBA\" ]\n"
    "}\n"
    "# What the host tells at birth, cut down to characters that need no\n"
    "# escaping inside a JSON string.\n"
    "mw_platform() {\n"
    "    printf '%s\\n' \"$MW_PLATFORM\" | sed -n \"s/^ *$1: *//p\" | head -n 1 | tr -cd 'A-Za-z0-9 ._,:()+-' |"
    " cut -c1-96\n"
    "}\n"
    "mw_facts() {\n"
    "    mw_macs=''\n"
    "    for mw_m in $(esxcli network nic list 2>/dev/null | grep -o -E '([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}' |"
    " tr 'A-F' 'a-f' | head -n 32); do\n"
    "        mw_macs=\"$mw_macs${mw_macs:+,}\\\"$mw_m\\\"\"\n"
    "    done\n"
    "    MW_PLATFORM=$(esxcli hardware platform get 2>/dev/null)\n"
    "    printf '{\"macs\":[%s],\"boot_mac\":\"%s\",\"vendor\":\"%s\",\"model\":\"%s\",\"serial\":\"%s\","
    "\"os\":\"esxi\"}' \"$mw_macs\" \"$MW_BOOT_MAC\" \"$(mw_platform 'Vendor Name')\""
    " \"$(mw_platform 'Product Name')\" \"$(mw_platform 'Serial Number')\"\n"
    "}\n"
    "# The birth spends the token and answers with the configuration document\n"
    "# (kept in /tmp/midwife-doc.json for the profile's commands). A refusal is\n"
    "# final; the tries are for a network still coming up.\n"
    "mw_birth() {\n"
    "    mw_try=0\n"
    "    while [ \"$mw_try\" -lt 6 ]; do\n"
    "        wget -q -O /tmp/midwife-doc.json --header \"Authorization: Bearer $MW_TOKEN\""
    " --header \"Content-Type: application/json\" --post-data \"$(mw_facts)\" \"$MW_URL/api/v1/birth\" && return 0\n"
    "        mw_try=$((mw_try + 1))\n"
    "        sleep 10\n"
    "    done\n"
    "    echo \"midwife: no birth (refused, or $MW_URL unreachable): nothing configured\" >&2\n"
    "    exit 1\n"
    "}\n";

static void do_hostname(struct ks *k, const json_t *doc)
{
    const char *hn = ks_str(k, doc, "hostname", "", false);
    if (!hn || !*hn)
        return;
    char c[MSG_VALUE_MAX + 8];
    ks_step_begin(k, "hostname", "hostname %s", ks_clip(hn, c, sizeof c));
    /* A name with a dot is a FQDN; esxcli sets host and domain from it. */
    ks_w(k, strchr(hn, '.') ? "esxcli system hostname set --fqdn=" : "esxcli system hostname set --host=");
    ks_q(k, hn);
    ks_or_fail(k);
    ks_step_end(k);
}

/* A bond named as an uplink stands for its members: a vSwitch teams its
 * uplinks itself. */
static void uplink(struct ks *k, const char *name, const char *bridge)
{
    for (size_t i = 0; i < json_array_size(k->bonds); i++) {
        const json_t *b = json_array_get(k->bonds, i);
        const char *bn = json_string_value(json_object_get(b, "name"));
        const json_t *members = json_object_get(b, "members");
        if (bn && strcmp(bn, name) == 0 && json_is_array(members)) {
            char where[48];
            snprintf(where, sizeof where, "bonds[%zu].members", i);
            for (size_t m = 0; m < json_array_size(members); m++) {
                const char *mn = ks_str_at(k, members, m, where);
                if (!mn)
                    return;
                ks_w(k, "mw_add esxcli network vswitch standard uplink add --uplink-name=");
                ks_q(k, mn);
                ks_w(k, " --vswitch-name=");
                ks_q(k, bridge);
                ks_or_fail(k);
            }
            return;
        }
    }
    ks_w(k, "mw_add esxcli network vswitch standard uplink add --uplink-name=");
    ks_q(k, name);
    ks_w(k, " --vswitch-name=");
    ks_q(k, bridge);
    ks_or_fail(k);
}

static void portgroup_add(struct ks *k, const char *pg, const char *bridge, long long vlan)
{
    ks_w(k, "mw_add esxcli network vswitch standard portgroup add --portgroup-name=");
    ks_q(k, pg);
    ks_w(k, " --vswitch-name=");
    ks_q(k, bridge);
    ks_or_fail(k);
    ks_w(k, "esxcli network vswitch standard portgroup set --portgroup-name=");
    ks_q(k, pg);
    ks_w(k, " --vlan-id=");
    ks_qnum(k, vlan);
    ks_or_fail(k);
}

/* A vmkernel NIC on port group pg for an item (a bridge or a VLAN) with
 * an address or DHCP; new_pg: the port group is made here too. */
static void vmknic(struct ks *k, const json_t *item, const char *where, const char *pg, const char *new_pg_bridge)
{
    const json_t *addrs = ks_list(k, item, "addresses", where);
    const json_t *dhcp = ks_field(k, item, "dhcp", JSON_TRUE, where, false);
    const char *first = NULL;
    char aw[96];
    snprintf(aw, sizeof aw, "%s.addresses", where);
    if (json_array_size(addrs))
        first = ks_str_at(k, addrs, 0, aw);
    if (k->rc || (!first && !json_is_true(dhcp)))
        return;
    char ip[IPV4_STRLEN], mask[IPV4_STRLEN];
    snprintf(aw, sizeof aw, "%s.addresses[0]", where);
    if (first && !ks_address(k, first, aw, ip, mask))
        return;
    int n = k->vmk++;
    char step[64], c[MSG_VALUE_MAX + 8];
    snprintf(step, sizeof step, "vmk.%d", n);
    ks_step_begin(k, step, "vmk%d on port group %s", n, ks_clip(pg, c, sizeof c));
    if (new_pg_bridge)
        portgroup_add(k, pg, new_pg_bridge, 0);
    ks_w(k, "mw_add esxcli network ip interface add --interface-name=vmk");
    ks_wnum(k, n);
    ks_w(k, " --portgroup-name=");
    ks_q(k, pg);
    ks_or_fail(k);
    ks_w(k, "esxcli network ip interface ipv4 set --interface-name=vmk");
    ks_wnum(k, n);
    if (first) {
        ks_w(k, " --ipv4=");
        ks_q(k, ip);
        ks_w(k, " --netmask=");
        ks_q(k, mask);
        ks_w(k, " --type=static");
    } else {
        ks_w(k, " --type=dhcp");
    }
    ks_or_fail(k);
    long long mtu;
    if (ks_num(k, item, "mtu", where, 68, 65535, &mtu)) {
        ks_w(k, "esxcli network ip interface set --interface-name=vmk");
        ks_wnum(k, n);
        ks_w(k, " --mtu=");
        ks_qnum(k, mtu);
        ks_or_fail(k);
    }
    ks_step_end(k);
}

static void do_bridges(struct ks *k)
{
    for (size_t i = 0; !k->rc && i < json_array_size(k->bridges); i++) {
        const json_t *b = json_array_get(k->bridges, i);
        char where[64], step[64], c[MSG_VALUE_MAX + 8];
        snprintf(where, sizeof where, "bridges[%zu]", i);
        if (!json_is_object(b)) {
            ks_failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        const char *name = ks_str(k, b, "name", where, true);
        const json_t *uplinks = ks_list(k, b, "uplinks", where);
        const json_t *pgs = ks_list(k, b, "port_groups", where);
        if (!name)
            return;
        snprintf(step, sizeof step, "bridge.%zu", i);
        ks_step_begin(k, step, "vSwitch %s", ks_clip(name, c, sizeof c));
        ks_w(k, "mw_add esxcli network vswitch standard add --vswitch-name=");
        ks_q(k, name);
        ks_or_fail(k);
        long long mtu;
        if (ks_num(k, b, "mtu", where, 68, 65535, &mtu)) {
            ks_w(k, "esxcli network vswitch standard set --vswitch-name=");
            ks_q(k, name);
            ks_w(k, " --mtu=");
            ks_qnum(k, mtu);
            ks_or_fail(k);
        }
        char uw[96];
        snprintf(uw, sizeof uw, "%s.uplinks", where);
        for (size_t u = 0; !k->rc && u < json_array_size(uplinks); u++) {
            const char *un = ks_str_at(k, uplinks, u, uw);
            if (un)
                uplink(k, un, name);
        }
        ks_step_end(k);

        for (size_t j = 0; !k->rc && j < json_array_size(pgs); j++) {
            const json_t *pg = json_array_get(pgs, j);
            char pw[128];
            snprintf(pw, sizeof pw, "%s.port_groups[%zu]", where, j);
            if (!json_is_object(pg)) {
                ks_failf(k, -EINVAL, "%s: expected an object", pw);
                return;
            }
            const char *pn = ks_str(k, pg, "name", pw, true);
            long long vlan = 0;
            ks_num(k, pg, "vlan", pw, 0, 4095, &vlan);
            if (!pn || k->rc)
                return;
            char c2[MSG_VALUE_MAX + 8];
            snprintf(step, sizeof step, "portgroup.%zu.%zu", i, j);
            ks_step_begin(k, step, "port group %s on %s, VLAN %lld", ks_clip(pn, c, sizeof c), ks_clip(name, c2, sizeof c2),
                       vlan);
            portgroup_add(k, pn, name, vlan);
            ks_step_end(k);
        }
        /* vmk0, made by the installer from the network line, is the
         * management bridge's address. */
        if ((int)i == k->mgmt)
            continue;
        const char *first_pg = json_array_size(pgs) ? json_string_value(json_object_get(json_array_get(pgs, 0), "name"))
                                                    : NULL;
        vmknic(k, b, where, first_pg ? first_pg : name, first_pg ? NULL : name);
    }
}

static bool is_bridge(struct ks *k, const char *name)
{
    for (size_t i = 0; i < json_array_size(k->bridges); i++) {
        const char *bn = json_string_value(json_object_get(json_array_get(k->bridges, i), "name"));
        if (bn && strcmp(bn, name) == 0)
            return true;
    }
    return false;
}

/* A VLAN on a vSwitch is a port group with its id (named after the VLAN)
 * and, with an address, a vmkernel NIC on it. ESXi has no VLAN on a bare
 * NIC or a bond: those are reported skipped. */
static void do_vlans(struct ks *k, const json_t *doc)
{
    const json_t *vlans = ks_list(k, doc, "vlans", "");
    for (size_t i = 0; !k->rc && i < json_array_size(vlans); i++) {
        const json_t *v = json_array_get(vlans, i);
        char where[64], step[64], c[MSG_VALUE_MAX + 8], c2[MSG_VALUE_MAX + 8];
        snprintf(where, sizeof where, "vlans[%zu]", i);
        if (!json_is_object(v)) {
            ks_failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        const char *name = ks_str(k, v, "name", where, true);
        const char *link = ks_str(k, v, "link", where, true);
        long long id = 0;
        if (!ks_num(k, v, "id", where, 1, 4094, &id) && !k->rc)
            ks_failf(k, -EINVAL, "%s.id: missing, expected an integer", where);
        if (k->rc)
            return;
        snprintf(step, sizeof step, "vlan.%zu", i);
        if (!is_bridge(k, link)) {
            ks_step_skipped(k, step, "ESXi puts VLANs on vSwitch port groups; this one is not on a vSwitch");
            continue;
        }
        ks_step_begin(k, step, "VLAN %lld as port group %s on %s", id, ks_clip(name, c, sizeof c), ks_clip(link, c2, sizeof c2));
        portgroup_add(k, name, link, id);
        ks_step_end(k);
        vmknic(k, v, where, name, NULL);
    }
}

static void do_routes(struct ks *k, const json_t *doc)
{
    const json_t *routes = ks_list(k, doc, "routes", "");
    for (size_t i = 0; !k->rc && i < json_array_size(routes); i++) {
        const json_t *r = json_array_get(routes, i);
        char where[64], step[64], c[MSG_VALUE_MAX + 8];
        snprintf(where, sizeof where, "routes[%zu]", i);
        if (!json_is_object(r)) {
            ks_failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        const char *to = ks_str(k, r, "to", where, true);
        const char *via = ks_str(k, r, "via", where, false);
        if (k->rc)
            return;
        snprintf(step, sizeof step, "route.%zu", i);
        if (to == k->gateway_to)
            continue; /* the network line's --gateway */
        if (!via) {
            ks_step_skipped(k, step, "ESXi routes need a gateway (via)");
            continue;
        }
        ks_step_begin(k, step, "route to %s", ks_clip(to, c, sizeof c));
        ks_w(k, "mw_add esxcli network ip route ipv4 add --network=");
        if (strchr(to, '/')) {
            ks_q(k, to);
        } else {
            char net[300];
            snprintf(net, sizeof net, "%.280s/32", to);
            ks_q(k, net);
        }
        ks_w(k, " --gateway=");
        ks_q(k, via);
        ks_or_fail(k);
        ks_step_end(k);
    }
}

static void do_dns(struct ks *k, const json_t *doc)
{
    const json_t *dns = ks_field(k, doc, "dns", JSON_OBJECT, "", false);
    const json_t *servers = dns ? ks_list(k, dns, "servers", "dns") : NULL;
    const json_t *search = dns ? ks_list(k, dns, "search", "dns") : NULL;
    if (k->rc || (!json_array_size(servers) && !json_array_size(search)))
        return;
    ks_step_begin(k, "dns", "DNS servers and search domains");
    for (size_t i = 0; i < json_array_size(servers); i++) {
        const char *s = ks_str_at(k, servers, i, "dns.servers");
        if (!s)
            return;
        ks_w(k, "mw_add esxcli network ip dns server add --server=");
        ks_q(k, s);
        ks_or_fail(k);
    }
    for (size_t i = 0; i < json_array_size(search); i++) {
        const char *s = ks_str_at(k, search, i, "dns.search");
        if (!s)
            return;
        ks_w(k, "mw_add esxcli network ip dns search add --domain=");
        ks_q(k, s);
        ks_or_fail(k);
    }
    ks_step_end(k);
}

static void do_ntp(struct ks *k, const json_t *doc)
{
    const json_t *ntp = ks_list(k, doc, "ntp", "");
    if (!json_array_size(ntp))
        return;
    ks_step_begin(k, "ntp", "NTP servers");
    ks_w(k, "esxcli system ntp set");
    for (size_t i = 0; i < json_array_size(ntp); i++) {
        const char *s = ks_str_at(k, ntp, i, "ntp");
        if (!s)
            return;
        ks_w(k, " --server=");
        ks_q(k, s);
    }
    ks_w(k, " --enabled=true");
    ks_or_fail(k);
    ks_step_end(k);
}

/* Does the comma-separated options list hold opt (or opt=...)? */
static bool has_option(const char *opts, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = opts; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= n && strncmp(p, opt, n) == 0 && (len == n || opt[n - 1] == '='))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* NFS exports as datastores named after the last part of their mount
 * path; "vers=4"/"vers=4.1" mounts with NFS 4.1 (ESXi has no 4.0), "ro"
 * read-only; other options have no ESXi counterpart. */
static void do_nfs(struct ks *k, const json_t *storage)
{
    const json_t *nfs = storage ? ks_list(k, storage, "nfs", "storage") : NULL;
    for (size_t i = 0; !k->rc && i < json_array_size(nfs); i++) {
        const json_t *e = json_array_get(nfs, i);
        char where[64], step[64], c[MSG_VALUE_MAX + 8], c2[MSG_VALUE_MAX + 8];
        snprintf(where, sizeof where, "storage.nfs[%zu]", i);
        if (!json_is_object(e)) {
            ks_failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        const char *server = ks_str(k, e, "server", where, true);
        const char *export = ks_str(k, e, "export", where, true);
        const char *mount = ks_str(k, e, "mount", where, true);
        const char *opts = ks_str(k, e, "options", where, false);
        if (k->rc)
            return;
        const char *vol = strrchr(mount, '/');
        vol = vol ? vol + 1 : mount;
        char fallback[32];
        if (!*vol) {
            snprintf(fallback, sizeof fallback, "nfs%zu", i);
            vol = fallback;
        }
        bool v41 = has_option(opts, "vers=4") || has_option(opts, "vers=4.1") || has_option(opts, "nfsvers=4") ||
                   has_option(opts, "nfsvers=4.1");
        snprintf(step, sizeof step, "nfs.%zu", i);
        ks_step_begin(k, step, "NFS datastore %s from %s", ks_clip(vol, c, sizeof c), ks_clip(server, c2, sizeof c2));
        ks_w(k, v41 ? "mw_add esxcli storage nfs41 add --hosts=" : "mw_add esxcli storage nfs add --host=");
        ks_q(k, server);
        ks_w(k, " --share=");
        ks_q(k, export);
        ks_w(k, " --volume-name=");
        ks_q(k, vol);
        if (has_option(opts, "ro"))
            ks_w(k, " --readonly");
        ks_or_fail(k);
        ks_step_end(k);
    }
}

/* Software iSCSI: the adapter enabled, each portal added for SendTargets
 * discovery (once), then a rescan finds the targets' LUNs. */
static void do_iscsi(struct ks *k, const json_t *storage)
{
    const json_t *iscsi = storage ? ks_list(k, storage, "iscsi", "storage") : NULL;
    if (!json_array_size(iscsi))
        return;
    for (size_t i = 0; i < json_array_size(iscsi); i++) {
        char where[64];
        snprintf(where, sizeof where, "storage.iscsi[%zu]", i);
        if (!json_is_object(json_array_get(iscsi, i))) {
            ks_failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        ks_str(k, json_array_get(iscsi, i), "portal", where, true);
        ks_str(k, json_array_get(iscsi, i), "target", where, false);
    }
    if (k->rc)
        return;
    ks_step_begin(k, "iscsi", "software iSCSI");
    ks_line(k, "esxcli iscsi software set --enabled=true || mw_fail");
    ks_line(k, "mw_iscsi_hba || mw_fail");
    for (size_t i = 0; i < json_array_size(iscsi); i++) {
        const char *portal = json_string_value(json_object_get(json_array_get(iscsi, i), "portal"));
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(portal, json_string_value(json_object_get(json_array_get(iscsi, j), "portal"))) == 0;
        if (seen)
            continue;
        ks_w(k, "mw_add esxcli iscsi adapter discovery sendtarget add --adapter=\"$MW_HBA\" --address=");
        ks_q(k, portal);
        ks_or_fail(k);
    }
    ks_line(k, "esxcli storage core adapter rescan --adapter=\"$MW_HBA\" || mw_fail");
    ks_step_end(k);
}

static void do_commands(struct ks *k, const json_t *doc)
{
    const json_t *cmds = ks_list(k, doc, "commands", "");
    for (size_t i = 0; !k->rc && i < json_array_size(cmds); i++) {
        const char *cmd = ks_str_at(k, cmds, i, "commands");
        if (!cmd)
            return;
        char step[64];
        snprintf(step, sizeof step, "command.%zu", i);
        ks_step_begin(k, step, "commands[%zu]", i);
        ks_w(k, "mw_sh ");
        ks_q(k, cmd);
        ks_or_fail(k);
        ks_step_end(k);
    }
}


void ks_esxcli_steps(struct ks *k, const json_t *doc)
{
    const json_t *storage = ks_field(k, doc, "storage", JSON_OBJECT, "", false);
    do_hostname(k, doc);
    do_bridges(k);
    do_vlans(k, doc);
    do_routes(k, doc);
    do_dns(k, doc);
    do_ntp(k, doc);
    do_nfs(k, storage);
    do_iscsi(k, storage);
    do_commands(k, doc);
}
