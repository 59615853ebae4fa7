/* The few rtnetlink requests libnl-route 3.7 has no call for, built with
 * libnl-3's message API: a link's permanent MAC (a bond rewrites its
 * members' addresses, so finding a NIC by MAC must look at the permanent
 * one) and a bond's mode (libnl 3.7 neither sets nor parses it). */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/rtnl.h>

#include "apply_net.h"

/* Kernel numbering (include/uapi/linux/if_bonding.h BOND_MODE_*). */
static const char *const bond_modes[] = {"balance-rr", "active-backup", "balance-xor", "broadcast",
                                         "802.3ad",    "balance-tlb",   "balance-alb"};

int bond_mode_number(const char *name)
{
    for (size_t i = 0; i < sizeof bond_modes / sizeof bond_modes[0]; i++)
        if (strcmp(bond_modes[i], name) == 0)
            return (int)i;
    return -1;
}

const char *bond_mode_name(int mode)
{
    if (mode < 0 || (size_t)mode >= sizeof bond_modes / sizeof bond_modes[0])
        return "unknown";
    return bond_modes[mode];
}

struct extras_acc {
    struct link_extra *v;
    size_t n, cap;
    int err;
};

/* Fills e from IFLA_LINKINFO: the bond mode of a bond, the permanent
 * address a bond keeps for each member. */
static void parse_linkinfo(struct nlattr *linkinfo, struct link_extra *e)
{
    struct nlattr *info[IFLA_INFO_MAX + 1];
    if (nla_parse_nested(info, IFLA_INFO_MAX, linkinfo, NULL) < 0)
        return;
    if (info[IFLA_INFO_KIND] && info[IFLA_INFO_DATA] && strcmp(nla_get_string(info[IFLA_INFO_KIND]), "bond") == 0) {
        struct nlattr *bond[IFLA_BOND_MAX + 1];
        if (nla_parse_nested(bond, IFLA_BOND_MAX, info[IFLA_INFO_DATA], NULL) == 0 && bond[IFLA_BOND_MODE] &&
            nla_len(bond[IFLA_BOND_MODE]) >= 1)
            e->bond_mode = nla_get_u8(bond[IFLA_BOND_MODE]);
    }
    if (!e->has_perm && info[IFLA_INFO_SLAVE_KIND] && info[IFLA_INFO_SLAVE_DATA] &&
        strcmp(nla_get_string(info[IFLA_INFO_SLAVE_KIND]), "bond") == 0) {
        struct nlattr *slave[IFLA_BOND_SLAVE_MAX + 1];
        if (nla_parse_nested(slave, IFLA_BOND_SLAVE_MAX, info[IFLA_INFO_SLAVE_DATA], NULL) == 0 &&
            slave[IFLA_BOND_SLAVE_PERM_HWADDR] && nla_len(slave[IFLA_BOND_SLAVE_PERM_HWADDR]) == 6) {
            memcpy(e->perm, nla_data(slave[IFLA_BOND_SLAVE_PERM_HWADDR]), 6);
            e->has_perm = true;
        }
    }
}

static int on_link(struct nl_msg *msg, void *arg)
{
    struct extras_acc *acc = arg;
    struct nlmsghdr *nlh = nlmsg_hdr(msg);
    if (nlh->nlmsg_type != RTM_NEWLINK || nlmsg_datalen(nlh) < (int)sizeof(struct ifinfomsg))
        return NL_SKIP;
    struct ifinfomsg *ifi = nlmsg_data(nlh);
    struct nlattr *tb[IFLA_MAX + 1];
    if (nlmsg_parse(nlh, sizeof *ifi, tb, IFLA_MAX, NULL) < 0)
        return NL_SKIP;
    if (acc->n == acc->cap) {
        size_t cap = acc->cap ? acc->cap * 2 : 32;
        if (cap > 65536) {
            acc->err = -NLE_NOMEM;
            return NL_STOP;
        }
        struct link_extra *v = realloc(acc->v, cap * sizeof *v);
        if (!v) {
            acc->err = -NLE_NOMEM;
            return NL_STOP;
        }
        acc->v = v;
        acc->cap = cap;
    }
    struct link_extra *e = &acc->v[acc->n++];
    memset(e, 0, sizeof *e);
    e->ifindex = ifi->ifi_index;
    e->bond_mode = -1;
    /* The kernel sends IFLA_PERM_ADDRESS only when the driver has one
     * (real NICs do; veth, dummy do not). */
    if (tb[IFLA_PERM_ADDRESS] && nla_len(tb[IFLA_PERM_ADDRESS]) == 6) {
        static const uint8_t zero[6];
        if (memcmp(nla_data(tb[IFLA_PERM_ADDRESS]), zero, 6) != 0) {
            memcpy(e->perm, nla_data(tb[IFLA_PERM_ADDRESS]), 6);
            e->has_perm = true;
        }
    }
    if (tb[IFLA_LINKINFO])
        parse_linkinfo(tb[IFLA_LINKINFO], e);
    return NL_OK;
}

int net_link_extras(struct net *n, struct link_extra **out, size_t *count)
{
    struct extras_acc acc = {0};
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_DUMP);
    if (!msg)
        return -NLE_NOMEM;
    int e = nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO);
    if (e == 0)
        e = nl_send_auto(n->sock, msg);
    nlmsg_free(msg);
    if (e < 0)
        return e;
    struct nl_cb *own = nl_socket_get_cb(n->sock); /* a reference */
    struct nl_cb *cb = own ? nl_cb_clone(own) : NULL;
    if (own)
        nl_cb_put(own);
    if (!cb)
        return -NLE_NOMEM;
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_link, &acc);
    e = nl_recvmsgs(n->sock, cb);
    nl_cb_put(cb);
    if (e >= 0 && acc.err < 0)
        e = acc.err;
    if (e < 0) {
        free(acc.v);
        return e;
    }
    *out = acc.v;
    *count = acc.n;
    return 0;
}

/* RTM_NEWLINK with IFLA_LINKINFO {kind bond, data {mode}}: creates the bond
 * when name is given, else changes the mode of ifindex (the kernel wants
 * the bond down and without members for that). */
static int bond_request(struct net *n, const char *name, int ifindex, int mode)
{
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, name ? NLM_F_CREATE | NLM_F_EXCL : 0);
    if (!msg)
        return -NLE_NOMEM;
    int e = -NLE_MSGSIZE;
    if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0)
        goto out;
    if (name && nla_put_string(msg, IFLA_IFNAME, name) < 0)
        goto out;
    struct nlattr *linkinfo = nla_nest_start(msg, IFLA_LINKINFO);
    if (!linkinfo || nla_put_string(msg, IFLA_INFO_KIND, "bond") < 0)
        goto out;
    struct nlattr *data = nla_nest_start(msg, IFLA_INFO_DATA);
    if (!data || nla_put_u8(msg, IFLA_BOND_MODE, (uint8_t)mode) < 0)
        goto out;
    nla_nest_end(msg, data);
    nla_nest_end(msg, linkinfo);
    e = nl_send_auto(n->sock, msg);
    if (e >= 0)
        e = nl_wait_for_ack(n->sock);
out:
    nlmsg_free(msg);
    return e < 0 ? e : 0;
}

int net_bond_create(struct net *n, const char *name, int mode)
{
    return bond_request(n, name, 0, mode);
}

int net_bond_set_mode(struct net *n, int ifindex, int mode)
{
    return bond_request(n, NULL, ifindex, mode);
}
