/* Links: physical NICs (found by MAC or name, renamed, MTU, up), bonds,
 * VLANs and bridges, through libnl-route-3. Each step reads the kernel's
 * state afresh, changes only what differs from the document and says
 * what it changed. */
#include <errno.h>
#include <linux/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/vlan.h>

#include "apply_internal.h"
#include "apply_net.h"

int net_open(struct net *n, char *msg, size_t msglen)
{
    memset(n, 0, sizeof *n);
    n->sock = nl_socket_alloc();
    if (!n->sock) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    int e = nl_connect(n->sock, NETLINK_ROUTE);
    if (e == 0)
        e = rtnl_link_alloc_cache(n->sock, AF_UNSPEC, &n->links);
    if (e < 0) {
        snprintf(msg, msglen, "rtnetlink: %s", nl_geterror(e));
        net_close(n);
        return -1;
    }
    return 0;
}

void net_close(struct net *n)
{
    if (n->routes)
        nl_cache_free(n->routes);
    if (n->addrs)
        nl_cache_free(n->addrs);
    if (n->links)
        nl_cache_free(n->links);
    if (n->sock)
        nl_socket_free(n->sock);
    memset(n, 0, sizeof *n);
}

static int refill_links(struct net *n)
{
    return nl_cache_refill(n->sock, n->links);
}

struct rtnl_link *net_link_by_name(struct net *n, const char *name)
{
    if (refill_links(n) < 0)
        return NULL;
    return rtnl_link_get_by_name(n->links, name);
}

static const char *link_kind(struct rtnl_link *l)
{
    const char *k = rtnl_link_get_type(l);
    return k ? k : "physical";
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (strlen(s) != 17 ||
        sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}

/* Links stacked on others carry a copy of a lower link's MAC (a bond its
 * first member's, a VLAN its parent's, a bridge a port's), so they are
 * never the NIC a MAC names. */
static bool is_stacked_kind(const char *kind)
{
    static const char *const stacked[] = {"bond", "bridge", "vlan", "macvlan", "macvtap",
                                          "ipvlan", "ipvtap", "team", "vrf", "openvswitch"};
    if (!kind)
        return false;
    for (size_t i = 0; i < sizeof stacked / sizeof stacked[0]; i++)
        if (strcmp(kind, stacked[i]) == 0)
            return true;
    return false;
}

static bool link_has_mac(struct rtnl_link *l, const struct link_extra *ex, size_t nex, const uint8_t mac[6])
{
    int idx = rtnl_link_get_ifindex(l);
    for (size_t i = 0; i < nex; i++)
        if (ex[i].ifindex == idx && ex[i].has_perm)
            return memcmp(ex[i].perm, mac, 6) == 0;
    struct nl_addr *a = rtnl_link_get_addr(l);
    return a && nl_addr_get_len(a) == 6 && memcmp(nl_addr_get_binary_addr(a), mac, 6) == 0;
}

/* The NIC whose permanent (else current) MAC is mac, preferring one
 * already called want; a reference, or NULL with msg. */
static struct rtnl_link *find_by_mac(struct net *n, const char *macstr, const char *want, char *msg, size_t msglen)
{
    uint8_t mac[6];
    if (parse_mac(macstr, mac) < 0) {
        snprintf(msg, msglen, "'%s' is not a MAC address", macstr);
        return NULL;
    }
    struct link_extra *ex = NULL;
    size_t nex = 0;
    int e = net_link_extras(n, &ex, &nex);
    if (e == 0)
        e = refill_links(n);
    if (e < 0) {
        free(ex);
        snprintf(msg, msglen, "reading links: %s", nl_geterror(e));
        return NULL;
    }
    /* One NIC has the MAC; when several do (a copy on a virtual link of
     * a kind not listed above), the one already called want is it. */
    struct rtnl_link *found = NULL, *named = NULL;
    int matches = 0;
    char names[2][IFNAMSIZ + 1] = {"", ""};
    for (struct nl_object *o = nl_cache_get_first(n->links); o; o = nl_cache_get_next(o)) {
        struct rtnl_link *l = (struct rtnl_link *)o;
        if (is_stacked_kind(rtnl_link_get_type(l)) || !link_has_mac(l, ex, nex, mac))
            continue;
        if (matches < 2)
            snprintf(names[matches], sizeof names[0], "%s", rtnl_link_get_name(l));
        matches++;
        found = l;
        if (strcmp(rtnl_link_get_name(l), want) == 0)
            named = l;
    }
    free(ex);
    if (named)
        found = named;
    else if (matches > 1) {
        snprintf(msg, msglen, "MAC %s is on both %s and %s", macstr, names[0], names[1]);
        return NULL;
    }
    if (!found) {
        /* A bond member without a permanent address the kernel reports
         * has the bond's MAC now; its name, given to it by an earlier
         * apply, is then the best evidence left. */
        struct rtnl_link *byname = rtnl_link_get_by_name(n->links, want);
        if (byname && rtnl_link_get_master(byname) > 0)
            return byname;
        if (byname)
            rtnl_link_put(byname);
        snprintf(msg, msglen, "no NIC with MAC %s", macstr);
        return NULL;
    }
    nl_object_get((struct nl_object *)found);
    return found;
}

int net_nic_by_mac(struct net *n, const uint8_t mac[6], char *name, size_t namelen, char *msg, size_t msglen)
{
    char macstr[18];
    snprintf(macstr, sizeof macstr, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    struct rtnl_link *l = find_by_mac(n, macstr, "", msg, msglen);
    if (!l)
        return -1;
    snprintf(name, namelen, "%s", rtnl_link_get_name(l));
    rtnl_link_put(l);
    return 0;
}

static int link_change(struct net *n, struct rtnl_link *orig, struct rtnl_link *changes, const char *what,
                       char *msg, size_t msglen)
{
    int e = rtnl_link_change(n->sock, orig, changes, 0);
    if (e < 0) {
        snprintf(msg, msglen, "%s %s: %s", what, rtnl_link_get_name(orig), nl_geterror(e));
        return -1;
    }
    return 0;
}

static int link_set_up(struct net *n, struct rtnl_link *l, bool up, char *msg, size_t msglen)
{
    struct rtnl_link *c = rtnl_link_alloc();
    if (!c) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    if (up)
        rtnl_link_set_flags(c, IFF_UP);
    else
        rtnl_link_unset_flags(c, IFF_UP);
    int r = link_change(n, l, c, up ? "setting up" : "setting down", msg, msglen);
    rtnl_link_put(c);
    return r;
}

/* Sets the MTU the document gives (if any) and the link up: the last
 * part of every link step. changed says whether anything was done. */
static int settle_link(struct net *n, const char *name, const json_t *mtu_j, bool *changed, char *msg, size_t msglen)
{
    struct rtnl_link *l = net_link_by_name(n, name);
    if (!l) {
        snprintf(msg, msglen, "%s disappeared", name);
        return -1;
    }
    int r = 0;
    if (json_is_integer(mtu_j)) {
        unsigned want = (unsigned)json_integer_value(mtu_j);
        unsigned have = rtnl_link_get_mtu(l);
        if (want != have) {
            struct rtnl_link *c = rtnl_link_alloc();
            if (!c) {
                snprintf(msg, msglen, "out of memory");
                r = -1;
                goto out;
            }
            rtnl_link_set_mtu(c, want);
            char what[32];
            snprintf(what, sizeof what, "setting mtu %u on", want);
            r = link_change(n, l, c, what, msg, msglen);
            rtnl_link_put(c);
            if (r < 0)
                goto out;
            msg_append(msg, msglen, "mtu %u -> %u", have, want);
            *changed = true;
        }
    }
    if (!(rtnl_link_get_flags(l) & IFF_UP)) {
        char err[STEP_MSG_MAX];
        if (link_set_up(n, l, true, err, sizeof err) < 0) {
            snprintf(msg, msglen, "%s", err);
            r = -1;
            goto out;
        }
        msg_append(msg, msglen, "up");
        *changed = true;
    }
out:
    rtnl_link_put(l);
    return r;
}

static int rename_link(struct net *n, struct rtnl_link *l, const char *to, char *msg, size_t msglen)
{
    struct rtnl_link *taken = rtnl_link_get_by_name(n->links, to);
    if (taken) {
        snprintf(msg, msglen, "cannot rename %s to %s: %s is another link (ifindex %d)", rtnl_link_get_name(l), to,
                 to, rtnl_link_get_ifindex(taken));
        rtnl_link_put(taken);
        return -1;
    }
    /* The kernel renames only links that are down. */
    if ((rtnl_link_get_flags(l) & IFF_UP) && link_set_up(n, l, false, msg, msglen) < 0)
        return -1;
    struct rtnl_link *c = rtnl_link_alloc();
    if (!c) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    rtnl_link_set_name(c, to);
    int r = link_change(n, l, c, "renaming", msg, msglen);
    rtnl_link_put(c);
    return r;
}

int net_interface(struct net *n, const json_t *iface, char *msg, size_t msglen)
{
    const char *name = json_string_value(json_object_get(iface, "name"));
    const char *mac = json_string_value(json_object_get(iface, "mac"));
    if (!name) {
        snprintf(msg, msglen, "interface without a name");
        return RESULT_FAILED;
    }
    struct rtnl_link *l;
    if (mac) {
        l = find_by_mac(n, mac, name, msg, msglen);
    } else {
        l = net_link_by_name(n, name);
        if (!l)
            snprintf(msg, msglen, "no interface named %s", name);
    }
    if (!l)
        return RESULT_FAILED;
    bool changed = false;
    char from[IFNAMSIZ + 1];
    snprintf(from, sizeof from, "%s", rtnl_link_get_name(l));
    msg[0] = '\0';
    struct saved_routes saved = {.n = 0};
    if (strcmp(from, name) != 0) {
        /* Renaming takes the link down, and the kernel drops the routes
         * through it (a DHCP default route, say). */
        if ((rtnl_link_get_flags(l) & IFF_UP))
            net_save_routes(n, rtnl_link_get_ifindex(l), &saved);
        int r = rename_link(n, l, name, msg, msglen);
        if (r < 0) {
            /* Back as it was, as far as it goes. */
            char scratch[STEP_MSG_MAX];
            if ((rtnl_link_get_flags(l) & IFF_UP))
                link_set_up(n, l, true, scratch, sizeof scratch);
            net_restore_routes(n, &saved);
            rtnl_link_put(l);
            return RESULT_FAILED;
        }
        msg[0] = '\0';
        msg_append(msg, msglen, "renamed %s to %s", from, name);
        changed = true;
    }
    rtnl_link_put(l);
    int r = settle_link(n, name, json_object_get(iface, "mtu"), &changed, msg, msglen);
    int restored = net_restore_routes(n, &saved);
    if (r < 0)
        return RESULT_FAILED;
    if (restored > 0)
        msg_append(msg, msglen, "%d route%s kept", restored, restored == 1 ? "" : "s");
    return changed ? RESULT_CHANGED : RESULT_UNCHANGED;
}

/* Makes member a port of master (ifindex); a bond wants its members down
 * while they are enslaved and brings them up itself. Moving a link that
 * is a port elsewhere is one request: the kernel releases it first. */
static int enslave(struct net *n, const char *member, int master, const char *master_name, bool down_first,
                   bool *changed, char *msg, size_t msglen)
{
    struct rtnl_link *m = net_link_by_name(n, member);
    if (!m) {
        snprintf(msg, msglen, "%s: no link named %s", master_name, member);
        return -1;
    }
    int r = 0;
    int had = rtnl_link_get_master(m);
    if (had == master)
        goto out;
    if (down_first && (rtnl_link_get_flags(m) & IFF_UP) && (r = link_set_up(n, m, false, msg, msglen)) < 0)
        goto out;
    r = rtnl_link_enslave_ifindex(n->sock, master, rtnl_link_get_ifindex(m));
    if (r < 0) {
        snprintf(msg, msglen, "enslaving %s to %s: %s", member, master_name, nl_geterror(r));
        r = -1;
        goto out;
    }
    char from[IFNAMSIZ + 1] = "";
    if (had > 0)
        rtnl_link_i2name(n->links, had, from, sizeof from);
    if (had > 0)
        msg_append(msg, msglen, "moved %s from %s", member, from[0] ? from : "another master");
    else
        msg_append(msg, msglen, "enslaved %s", member);
    *changed = true;
out:
    rtnl_link_put(m);
    return r;
}

/* The last part of a bond's or a bridge's step: every name in its list
 * (members, uplinks) enslaved to it, then its MTU and up. */
static int enslave_all_and_settle(struct net *n, const json_t *master_doc, const char *list, int idx,
                                  const char *name, bool down_first, bool changed, char *msg, size_t msglen)
{
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(master_doc, list), i, m) {
        if (!json_is_string(m))
            continue;
        if (enslave(n, json_string_value(m), idx, name, down_first, &changed, msg, msglen) < 0)
            return RESULT_FAILED;
    }
    if (settle_link(n, name, json_object_get(master_doc, "mtu"), &changed, msg, msglen) < 0)
        return RESULT_FAILED;
    return changed ? RESULT_CHANGED : RESULT_UNCHANGED;
}

static int bond_mode_of(struct net *n, int ifindex)
{
    struct link_extra *ex = NULL;
    size_t nex = 0;
    int mode = -1;
    if (net_link_extras(n, &ex, &nex) < 0)
        return -1;
    for (size_t i = 0; i < nex; i++)
        if (ex[i].ifindex == ifindex)
            mode = ex[i].bond_mode;
    free(ex);
    return mode;
}

/* The kernel changes a bond's mode only while it is down and has no
 * members: release them, change it, and let the step enslave them again. */
static int bond_change_mode(struct net *n, struct rtnl_link *bond, int mode, char *msg, size_t msglen)
{
    int idx = rtnl_link_get_ifindex(bond);
    if ((rtnl_link_get_flags(bond) & IFF_UP) && link_set_up(n, bond, false, msg, msglen) < 0)
        return -1;
    for (struct nl_object *o = nl_cache_get_first(n->links); o; o = nl_cache_get_next(o)) {
        struct rtnl_link *l = (struct rtnl_link *)o;
        if (rtnl_link_get_master(l) != idx)
            continue;
        int e = rtnl_link_release_ifindex(n->sock, rtnl_link_get_ifindex(l));
        if (e < 0) {
            snprintf(msg, msglen, "releasing %s to change the mode: %s", rtnl_link_get_name(l), nl_geterror(e));
            return -1;
        }
    }
    int e = net_bond_set_mode(n, idx, mode);
    if (e < 0) {
        snprintf(msg, msglen, "setting mode %s: %s", bond_mode_name(mode), nl_geterror(e));
        return -1;
    }
    return 0;
}

int net_bond(struct net *n, const json_t *bond, char *msg, size_t msglen)
{
    const char *name = json_string_value(json_object_get(bond, "name"));
    const char *mode_s = json_string_value(json_object_get(bond, "mode"));
    if (!name) {
        snprintf(msg, msglen, "bond without a name");
        return RESULT_FAILED;
    }
    int mode = bond_mode_number(mode_s ? mode_s : "active-backup");
    if (mode < 0) {
        snprintf(msg, msglen, "unknown bond mode");
        return RESULT_FAILED;
    }
    bool changed = false;
    msg[0] = '\0';
    struct rtnl_link *l = net_link_by_name(n, name);
    if (l && strcmp(link_kind(l), "bond") != 0) {
        snprintf(msg, msglen, "%s exists and is a %s link, not a bond; not changed", name, link_kind(l));
        rtnl_link_put(l);
        return RESULT_FAILED;
    }
    if (!l) {
        int e = net_bond_create(n, name, mode);
        if (e < 0) {
            snprintf(msg, msglen, "creating bond %s: %s%s", name, nl_geterror(e),
                     e == -NLE_OPNOTSUPP ? " (no bonding in this kernel?)" : "");
            return RESULT_FAILED;
        }
        msg_append(msg, msglen, "created (%s)", bond_mode_name(mode));
        changed = true;
    } else {
        int have = bond_mode_of(n, rtnl_link_get_ifindex(l));
        if (have != mode) {
            if (bond_change_mode(n, l, mode, msg, msglen) < 0) {
                rtnl_link_put(l);
                return RESULT_FAILED;
            }
            msg_append(msg, msglen, "mode %s -> %s", bond_mode_name(have), bond_mode_name(mode));
            changed = true;
        }
        rtnl_link_put(l);
    }
    l = net_link_by_name(n, name);
    if (!l) {
        snprintf(msg, msglen, "%s disappeared after creation", name);
        return RESULT_FAILED;
    }
    int idx = rtnl_link_get_ifindex(l);
    rtnl_link_put(l);
    return enslave_all_and_settle(n, bond, "members", idx, name, true, changed, msg, msglen);
}

int net_vlan(struct net *n, const json_t *vlan, char *msg, size_t msglen)
{
    const char *name = json_string_value(json_object_get(vlan, "name"));
    const char *parent = json_string_value(json_object_get(vlan, "link"));
    json_int_t id = json_integer_value(json_object_get(vlan, "id"));
    if (!name || !parent || id < 1 || id > 4094) {
        snprintf(msg, msglen, "vlan needs name, link and an id 1..4094");
        return RESULT_FAILED;
    }
    msg[0] = '\0';
    bool changed = false;
    struct rtnl_link *p = net_link_by_name(n, parent);
    if (!p) {
        snprintf(msg, msglen, "no link named %s to carry %s", parent, name);
        return RESULT_FAILED;
    }
    int pidx = rtnl_link_get_ifindex(p);
    rtnl_link_put(p);
    struct rtnl_link *l = rtnl_link_get_by_name(n->links, name);
    if (l) {
        /* An existing link of that name is the document's VLAN, or a
         * conflict left for people to resolve: deleting it could cut the
         * host off. */
        int r = 0;
        if (!rtnl_link_is_vlan(l)) {
            snprintf(msg, msglen, "%s exists and is a %s link, not a VLAN; not changed", name, link_kind(l));
            r = -1;
        } else if (rtnl_link_vlan_get_id(l) != id || rtnl_link_get_link(l) != pidx) {
            char have[IFNAMSIZ + 1] = "?";
            rtnl_link_i2name(n->links, rtnl_link_get_link(l), have, sizeof have);
            snprintf(msg, msglen, "%s exists with id %d on %s, the document wants id %d on %s; not changed", name,
                     rtnl_link_vlan_get_id(l), have, (int)id, parent);
            r = -1;
        }
        rtnl_link_put(l);
        if (r < 0)
            return RESULT_FAILED;
    } else {
        l = rtnl_link_vlan_alloc();
        if (!l) {
            snprintf(msg, msglen, "out of memory");
            return RESULT_FAILED;
        }
        rtnl_link_set_name(l, name);
        rtnl_link_set_link(l, pidx);
        rtnl_link_vlan_set_id(l, (uint16_t)id);
        int e = rtnl_link_add(n->sock, l, NLM_F_CREATE | NLM_F_EXCL);
        rtnl_link_put(l);
        if (e < 0) {
            snprintf(msg, msglen, "creating VLAN %s (id %d on %s): %s%s", name, (int)id, parent, nl_geterror(e),
                     e == -NLE_OPNOTSUPP ? " (no 802.1Q in this kernel?)" : "");
            return RESULT_FAILED;
        }
        msg_append(msg, msglen, "created (id %d on %s)", (int)id, parent);
        changed = true;
    }
    if (settle_link(n, name, json_object_get(vlan, "mtu"), &changed, msg, msglen) < 0)
        return RESULT_FAILED;
    return changed ? RESULT_CHANGED : RESULT_UNCHANGED;
}

int net_bridge(struct net *n, const json_t *bridge, char *msg, size_t msglen)
{
    const char *name = json_string_value(json_object_get(bridge, "name"));
    if (!name) {
        snprintf(msg, msglen, "bridge without a name");
        return RESULT_FAILED;
    }
    msg[0] = '\0';
    bool changed = false;
    struct rtnl_link *l = net_link_by_name(n, name);
    if (l && !rtnl_link_is_bridge(l)) {
        snprintf(msg, msglen, "%s exists and is a %s link, not a bridge; not changed", name, link_kind(l));
        rtnl_link_put(l);
        return RESULT_FAILED;
    }
    if (!l) {
        int e = rtnl_link_bridge_add(n->sock, name);
        if (e < 0) {
            snprintf(msg, msglen, "creating bridge %s: %s", name, nl_geterror(e));
            return RESULT_FAILED;
        }
        msg_append(msg, msglen, "created");
        changed = true;
        l = net_link_by_name(n, name);
        if (!l) {
            snprintf(msg, msglen, "%s disappeared after creation", name);
            return RESULT_FAILED;
        }
    }
    int idx = rtnl_link_get_ifindex(l);
    rtnl_link_put(l);
    return enslave_all_and_settle(n, bridge, "uplinks", idx, name, false, changed, msg, msglen);
}
