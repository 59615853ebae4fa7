/* IPv4 addresses (static, or a lease from the host's DHCP client) and
 * static routes, through libnl-route-3. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "apply_internal.h"
#include "apply_net.h"

int parse_ipv4_prefix(const char *s, uint32_t *addr_be, unsigned *prefix)
{
    char buf[INET_ADDRSTRLEN];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof buf)
        return -1;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    struct in_addr in;
    if (inet_pton(AF_INET, buf, &in) != 1)
        return -1;
    unsigned p = 32;
    if (slash) {
        const char *d = slash + 1;
        size_t dl = strlen(d);
        if (dl < 1 || dl > 2 || strspn(d, "0123456789") != dl)
            return -1;
        p = (unsigned)atoi(d);
        if (p > 32)
            return -1;
    }
    *addr_be = in.s_addr;
    *prefix = p;
    return 0;
}

static uint32_t nl_addr_be(struct nl_addr *a)
{
    uint32_t v = 0;
    if (a && nl_addr_get_len(a) == 4)
        memcpy(&v, nl_addr_get_binary_addr(a), 4);
    return v;
}

static void fmt_ipv4(uint32_t be, char out[INET_ADDRSTRLEN])
{
    struct in_addr in = {.s_addr = be};
    inet_ntop(AF_INET, &in, out, INET_ADDRSTRLEN);
}

static int refill(struct net *n, struct nl_cache **cache, bool routes)
{
    if (*cache)
        return nl_cache_refill(n->sock, *cache);
    return routes ? rtnl_route_alloc_cache(n->sock, AF_INET, 0, cache) : rtnl_addr_alloc_cache(n->sock, cache);
}

static bool is_ipv4_on(struct rtnl_addr *a, int ifindex)
{
    return rtnl_addr_get_family(a) == AF_INET && rtnl_addr_get_ifindex(a) == ifindex;
}

static int count_ipv4(struct net *n, int ifindex, char *first, size_t firstlen)
{
    int count = 0;
    for (struct nl_object *o = nl_cache_get_first(n->addrs); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        if (!is_ipv4_on(a, ifindex))
            continue;
        if (count++ == 0 && first) {
            char ip[INET_ADDRSTRLEN];
            fmt_ipv4(nl_addr_be(rtnl_addr_get_local(a)), ip);
            snprintf(first, firstlen, "%s/%d", ip, rtnl_addr_get_prefixlen(a));
        }
    }
    return count;
}

/* A lease from udhcpc or dhclient, whichever the host has. */
static int run_dhcp_client(struct net *n, const char *ifname, int ifindex, unsigned timeout_s, char *msg,
                           size_t msglen)
{
    char path[4096];
    const char *client;
    char *argv[8];
    if (find_on_path("udhcpc", path, sizeof path) == 0) {
        client = "udhcpc";
        char *a[] = {path, "-i", (char *)ifname, "-n", "-q", "-t", "5", NULL};
        memcpy(argv, a, sizeof a);
    } else if (find_on_path("dhclient", path, sizeof path) == 0) {
        client = "dhclient";
        char *a[] = {path, "-1", (char *)ifname, NULL};
        memcpy(argv, a, sizeof a);
    } else {
        snprintf(msg, msglen, "no DHCP client on this host (udhcpc, dhclient)");
        return RESULT_FAILED;
    }
    char out[2048];
    struct proc_result r = {.out = out, .outcap = sizeof out};
    if (proc_run(argv, timeout_s, &r, msg, msglen) < 0)
        return RESULT_FAILED;
    char line[200];
    last_line(out, line, sizeof line);
    if (r.timed_out) {
        snprintf(msg, msglen, "%s on %s: no lease within %u s", client, ifname, timeout_s);
        return RESULT_FAILED;
    }
    if (!r.exited || r.exit_code != 0) {
        snprintf(msg, msglen, "%s on %s: %s %d%s%s", client, ifname, r.exited ? "exit" : "signal",
                 r.exited ? r.exit_code : r.term_signal, line[0] ? ": " : "", line);
        return RESULT_FAILED;
    }
    char got[INET_ADDRSTRLEN + 4] = "";
    if (refill(n, &n->addrs, false) < 0 || count_ipv4(n, ifindex, got, sizeof got) == 0) {
        snprintf(msg, msglen, "%s on %s succeeded but left no IPv4 address%s%s", client, ifname,
                 line[0] ? "; it said: " : "", line);
        return RESULT_FAILED;
    }
    snprintf(msg, msglen, "lease %s from %s", got, client);
    return RESULT_CHANGED;
}

static bool wanted(const json_t *addrs, uint32_t be, unsigned prefix)
{
    size_t i;
    const json_t *v;
    json_array_foreach(addrs, i, v) {
        uint32_t w;
        unsigned p;
        if (json_is_string(v) && parse_ipv4_prefix(json_string_value(v), &w, &p) == 0 && w == be && p == prefix)
            return true;
    }
    return false;
}

static bool present(struct net *n, int ifindex, uint32_t be, unsigned prefix)
{
    for (struct nl_object *o = nl_cache_get_first(n->addrs); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        if (is_ipv4_on(a, ifindex) && nl_addr_be(rtnl_addr_get_local(a)) == be &&
            (unsigned)rtnl_addr_get_prefixlen(a) == prefix)
            return true;
    }
    return false;
}

static int add_address(struct net *n, int ifindex, uint32_t be, unsigned prefix, char *msg, size_t msglen)
{
    struct rtnl_addr *a = rtnl_addr_alloc();
    struct nl_addr *local = nl_addr_build(AF_INET, &be, 4);
    int e = -NLE_NOMEM;
    if (a && local) {
        nl_addr_set_prefixlen(local, (int)prefix);
        rtnl_addr_set_ifindex(a, ifindex);
        rtnl_addr_set_family(a, AF_INET);
        e = rtnl_addr_set_local(a, local);
        if (e == 0) {
            rtnl_addr_set_prefixlen(a, (int)prefix);
            e = rtnl_addr_add(n->sock, a, 0);
        }
    }
    if (local)
        nl_addr_put(local);
    if (a)
        rtnl_addr_put(a);
    char ip[INET_ADDRSTRLEN];
    fmt_ipv4(be, ip);
    if (e < 0) {
        snprintf(msg, msglen, "adding %s/%u: %s", ip, prefix, nl_geterror(e));
        return -1;
    }
    msg_append(msg, msglen, "added %s/%u", ip, prefix);
    return 0;
}

/* Global IPv4 addresses the document does not list go first: removing a
 * primary address takes its secondaries with it, and the adding pass
 * below then puts back any the document wants. */
static int remove_stale(struct net *n, int ifindex, const json_t *addrs, bool *changed, char *msg, size_t msglen)
{
    for (struct nl_object *o = nl_cache_get_first(n->addrs); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        if (!is_ipv4_on(a, ifindex) || rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE)
            continue;
        uint32_t be = nl_addr_be(rtnl_addr_get_local(a));
        unsigned p = (unsigned)rtnl_addr_get_prefixlen(a);
        if (wanted(addrs, be, p))
            continue;
        char ip[INET_ADDRSTRLEN];
        fmt_ipv4(be, ip);
        int e = rtnl_addr_delete(n->sock, a, 0);
        /* Gone already: it was a secondary of one removed before. */
        if (e < 0 && e != -NLE_NOADDR && e != -NLE_OBJ_NOTFOUND) {
            snprintf(msg, msglen, "removing %s/%u: %s", ip, p, nl_geterror(e));
            return -1;
        }
        msg_append(msg, msglen, "removed %s/%u", ip, p);
        *changed = true;
    }
    return 0;
}

int net_addresses(struct net *n, const json_t *dev, unsigned dhcp_timeout_s, char *msg, size_t msglen)
{
    const char *name = json_string_value(json_object_get(dev, "name"));
    if (!name) {
        snprintf(msg, msglen, "no name");
        return RESULT_FAILED;
    }
    struct rtnl_link *l = net_link_by_name(n, name);
    if (!l) {
        snprintf(msg, msglen, "no link named %s", name);
        return RESULT_FAILED;
    }
    int ifindex = rtnl_link_get_ifindex(l);
    rtnl_link_put(l);
    int e = refill(n, &n->addrs, false);
    if (e < 0) {
        snprintf(msg, msglen, "reading addresses: %s", nl_geterror(e));
        return RESULT_FAILED;
    }
    msg[0] = '\0';
    if (json_is_true(json_object_get(dev, "dhcp"))) {
        if (count_ipv4(n, ifindex, NULL, 0) > 0)
            return RESULT_UNCHANGED;
        return run_dhcp_client(n, name, ifindex, dhcp_timeout_s, msg, msglen);
    }
    const json_t *addrs = json_object_get(dev, "addresses");
    size_t i;
    const json_t *v;
    json_array_foreach(addrs, i, v) {
        uint32_t be;
        unsigned p;
        if (!json_is_string(v) || parse_ipv4_prefix(json_string_value(v), &be, &p) < 0) {
            snprintf(msg, msglen, "addresses[%zu] is not a.b.c.d[/prefix]", i);
            return RESULT_FAILED;
        }
    }
    bool changed = false;
    if (remove_stale(n, ifindex, addrs, &changed, msg, msglen) < 0)
        return RESULT_FAILED;
    if (changed && (e = refill(n, &n->addrs, false)) < 0) {
        snprintf(msg, msglen, "reading addresses: %s", nl_geterror(e));
        return RESULT_FAILED;
    }
    json_array_foreach(addrs, i, v) {
        uint32_t be;
        unsigned p;
        parse_ipv4_prefix(json_string_value(v), &be, &p);
        if (present(n, ifindex, be, p))
            continue;
        if (add_address(n, ifindex, be, p, msg, msglen) < 0)
            return RESULT_FAILED;
        changed = true;
        /* A list naming one address twice adds it once. */
        if ((e = refill(n, &n->addrs, false)) < 0) {
            snprintf(msg, msglen, "reading addresses: %s", nl_geterror(e));
            return RESULT_FAILED;
        }
    }
    return changed ? RESULT_CHANGED : RESULT_UNCHANGED;
}

struct route_want {
    uint32_t dst;
    unsigned plen;
    bool has_via;
    uint32_t via;
    int oif; /* 0: any */
    uint32_t metric;
};

static struct rtnl_route *find_route(struct net *n, const struct route_want *w)
{
    for (struct nl_object *o = nl_cache_get_first(n->routes); o; o = nl_cache_get_next(o)) {
        struct rtnl_route *r = (struct rtnl_route *)o;
        struct nl_addr *d = rtnl_route_get_dst(r);
        if (rtnl_route_get_family(r) != AF_INET || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
            rtnl_route_get_type(r) != RTN_UNICAST || rtnl_route_get_tos(r) != 0 ||
            rtnl_route_get_priority(r) != w->metric)
            continue;
        if ((unsigned)(d ? nl_addr_get_prefixlen(d) : 0) != w->plen || nl_addr_be(d) != w->dst)
            continue;
        return r;
    }
    return NULL;
}

static bool route_matches(struct rtnl_route *r, const struct route_want *w)
{
    if (rtnl_route_get_nnexthops(r) != 1)
        return false;
    struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
    struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
    if (w->has_via ? (!gw || nl_addr_be(gw) != w->via) : gw != NULL)
        return false;
    return w->oif == 0 || rtnl_route_nh_get_ifindex(nh) == w->oif;
}

static void describe_route(struct net *n, struct rtnl_route *r, char *out, size_t outlen)
{
    out[0] = '\0';
    if (rtnl_route_get_nnexthops(r) < 1)
        return;
    struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
    char ip[INET_ADDRSTRLEN] = "";
    char dev[IFNAMSIZ + 1] = "";
    if (rtnl_route_nh_get_gateway(nh))
        fmt_ipv4(nl_addr_be(rtnl_route_nh_get_gateway(nh)), ip);
    if (rtnl_route_nh_get_ifindex(nh) > 0)
        rtnl_link_i2name(n->links, rtnl_route_nh_get_ifindex(nh), dev, sizeof dev);
    snprintf(out, outlen, "%s%s%s%s", ip[0] ? "via " : "", ip, ip[0] && dev[0] ? " " : "",
             dev[0] ? "dev " : "");
    size_t l = strlen(out);
    snprintf(out + l, outlen - l, "%s", dev);
}

static int install_route(struct net *n, const struct route_want *w, bool replace)
{
    struct rtnl_route *r = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    struct nl_addr *dst = nl_addr_build(AF_INET, &w->dst, 4);
    struct nl_addr *gw = w->has_via ? nl_addr_build(AF_INET, &w->via, 4) : NULL;
    int e = -NLE_NOMEM;
    if (!r || !nh || !dst || (w->has_via && !gw))
        goto out;
    nl_addr_set_prefixlen(dst, (int)w->plen);
    rtnl_route_set_family(r, AF_INET);
    rtnl_route_set_table(r, RT_TABLE_MAIN);
    rtnl_route_set_type(r, RTN_UNICAST);
    rtnl_route_set_protocol(r, RTPROT_STATIC);
    rtnl_route_set_scope(r, w->has_via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    rtnl_route_set_priority(r, w->metric);
    if ((e = rtnl_route_set_dst(r, dst)) < 0)
        goto out;
    if (w->oif > 0)
        rtnl_route_nh_set_ifindex(nh, w->oif);
    if (gw)
        rtnl_route_nh_set_gateway(nh, gw);
    rtnl_route_add_nexthop(r, nh);
    nh = NULL; /* the route owns it now */
    e = rtnl_route_add(n->sock, r, replace ? NLM_F_REPLACE : NLM_F_EXCL);
out:
    if (nh)
        rtnl_route_nh_free(nh);
    if (r)
        rtnl_route_put(r);
    if (dst)
        nl_addr_put(dst);
    if (gw)
        nl_addr_put(gw);
    return e;
}

int net_route(struct net *n, const json_t *route, char *msg, size_t msglen)
{
    struct route_want w = {0};
    const char *to = json_string_value(json_object_get(route, "to"));
    const char *via = json_string_value(json_object_get(route, "via"));
    const char *dev = json_string_value(json_object_get(route, "dev"));
    const json_t *metric = json_object_get(route, "metric");
    if (!to || parse_ipv4_prefix(to, &w.dst, &w.plen) < 0) {
        snprintf(msg, msglen, "'to' is not a.b.c.d[/prefix]");
        return RESULT_FAILED;
    }
    if (w.plen < 32 && (ntohl(w.dst) & (0xffffffffu >> w.plen)) != 0) {
        snprintf(msg, msglen, "%s has host bits set", to);
        return RESULT_FAILED;
    }
    if (via) {
        unsigned p;
        if (parse_ipv4_prefix(via, &w.via, &p) < 0 || p != 32 || strchr(via, '/')) {
            snprintf(msg, msglen, "'via' is not an IPv4 address");
            return RESULT_FAILED;
        }
        w.has_via = true;
    }
    if (json_is_integer(metric)) {
        json_int_t m = json_integer_value(metric);
        if (m < 0 || m > 4294967295LL) {
            snprintf(msg, msglen, "metric out of range");
            return RESULT_FAILED;
        }
        w.metric = (uint32_t)m;
    }
    if (!via && !dev) {
        snprintf(msg, msglen, "a route needs via or dev");
        return RESULT_FAILED;
    }
    if (dev) {
        struct rtnl_link *l = net_link_by_name(n, dev);
        if (!l) {
            snprintf(msg, msglen, "no link named %s", dev);
            return RESULT_FAILED;
        }
        w.oif = rtnl_link_get_ifindex(l);
        rtnl_link_put(l);
    }
    int e = refill(n, &n->routes, true);
    if (e < 0) {
        snprintf(msg, msglen, "reading routes: %s", nl_geterror(e));
        return RESULT_FAILED;
    }
    struct rtnl_route *have = find_route(n, &w);
    if (have && route_matches(have, &w))
        return RESULT_UNCHANGED;
    char was[64] = "";
    if (have)
        describe_route(n, have, was, sizeof was);
    e = install_route(n, &w, have != NULL);
    if (e < 0) {
        snprintf(msg, msglen, "%s %s: %s", have ? "replacing" : "adding", to, nl_geterror(e));
        return RESULT_FAILED;
    }
    char gw[INET_ADDRSTRLEN] = "";
    if (w.has_via)
        fmt_ipv4(w.via, gw);
    snprintf(msg, msglen, "%s%s%s%s%s metric %u%s%s%s", have ? "replaced" : "added", w.has_via ? " via " : "", gw,
             dev ? " dev " : "", dev ? dev : "", w.metric, have ? " (was " : "", was, have ? ")" : "");
    return RESULT_CHANGED;
}

int net_save_routes(struct net *n, int ifindex, struct saved_routes *s)
{
    s->n = 0;
    int e = refill(n, &n->routes, true);
    if (e < 0)
        return e;
    for (struct nl_object *o = nl_cache_get_first(n->routes); o && s->n < SAVED_ROUTES_MAX;
         o = nl_cache_get_next(o)) {
        struct rtnl_route *r = (struct rtnl_route *)o;
        if (rtnl_route_get_family(r) != AF_INET || rtnl_route_get_table(r) != RT_TABLE_MAIN ||
            rtnl_route_get_type(r) != RTN_UNICAST || rtnl_route_get_protocol(r) == RTPROT_KERNEL)
            continue;
        bool through = false;
        for (int i = 0; i < rtnl_route_get_nnexthops(r); i++)
            through = through || rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, i)) == ifindex;
        if (!through)
            continue;
        struct rtnl_route *copy = (struct rtnl_route *)nl_object_clone(o);
        if (copy)
            s->r[s->n++] = copy;
    }
    return 0;
}

int net_restore_routes(struct net *n, struct saved_routes *s)
{
    int added = 0;
    for (int i = 0; i < s->n; i++) {
        if (rtnl_route_add(n->sock, s->r[i], NLM_F_EXCL) == 0)
            added++;
        rtnl_route_put(s->r[i]);
    }
    s->n = 0;
    return added;
}
