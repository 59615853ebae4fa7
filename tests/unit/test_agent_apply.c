/* agent/apply: a configuration document applied inside a network, UTS and
 * mount namespace of the test's own. veth pairs with chosen MACs stand in
 * for NICs; what apply did is read back through libnl, the files under a
 * temporary root. Needs root; skipped without it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "apply.h"
#include "apply_internal.h"
#include "apply_net.h"

/* ---- a reporter that records ---- */

#define REC_MAX 256
struct rec_entry {
    char step[128];
    enum step_status status;
    char msg[STEP_MSG_MAX];
};
struct rec {
    int n;
    struct rec_entry e[REC_MAX];
};

static int rec_step(void *ctx, const char *step, enum step_status status, const char *message)
{
    struct rec *r = ctx;
    if (r->n >= REC_MAX)
        return -1;
    struct rec_entry *e = &r->e[r->n++];
    snprintf(e->step, sizeof e->step, "%s", step);
    e->status = status;
    snprintf(e->msg, sizeof e->msg, "%s", message ? message : "");
    return 0;
}

/* The final report of step (not the running one), or NULL. */
static const struct rec_entry *rec_final(const struct rec *r, const char *step)
{
    const struct rec_entry *last = NULL;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->e[i].step, step) == 0 && r->e[i].status != STEP_RUNNING)
            last = &r->e[i];
    return last;
}

/* The final report of step, failing the test when there is none. */
static const struct rec_entry *final_of(const struct rec *r, const char *step)
{
    static const struct rec_entry none = {.status = STEP_RUNNING};
    const struct rec_entry *e = rec_final(r, step);
    if (!e)
        fail_msg("step %s was not reported", step);
    return e ? e : &none;
}

/* Every step is reported running and then once finished, in pairs. */
static void assert_pairs(const struct rec *r)
{
    assert_true(r->n % 2 == 0);
    for (int i = 0; i < r->n; i += 2) {
        assert_int_equal(r->e[i].status, STEP_RUNNING);
        assert_string_equal(r->e[i].step, r->e[i + 1].step);
        assert_int_not_equal(r->e[i + 1].status, STEP_RUNNING);
    }
}

static void assert_all_unchanged(const struct rec *r)
{
    assert_true(r->n > 0);
    for (int i = 1; i < r->n; i += 2) {
        bool same = r->e[i].status == STEP_SKIPPED || (r->e[i].status == STEP_OK && strcmp(r->e[i].msg, "unchanged") == 0);
        if (!same)
            fail_msg("step %s: %s '%s', expected ok 'unchanged' (or skipped again)", r->e[i].step, step_status_name(r->e[i].status),
                     r->e[i].msg);
    }
}

/* report.c belongs to the agent core; the test needs only the names. */
const char *step_status_name(enum step_status s)
{
    static const char *const names[] = {"running", "ok", "skipped", "failed"};
    return (unsigned)s < 4 ? names[s] : "?";
}

/* ---- the namespace and the stand-in NICs ---- */

static bool have_ns, have_uts;
static struct nl_sock *sk;
static char root[256];
static char saved_path[4096];

static int group_setup(void **state)
{
    (void)state;
    const char *p = getenv("PATH");
    snprintf(saved_path, sizeof saved_path, "%s", p ? p : "/usr/sbin:/usr/bin:/sbin:/bin");
    if (geteuid() != 0)
        return 0;
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
        have_ns = true;
    have_uts = unshare(CLONE_NEWUTS) == 0;
    if (!have_ns)
        return 0;
    sk = nl_socket_alloc();
    if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0)
        have_ns = false;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (sk)
        nl_socket_free(sk);
    return 0;
}

static struct nl_cache *links_now(void)
{
    struct nl_cache *c = NULL;
    assert_int_equal(rtnl_link_alloc_cache(sk, AF_UNSPEC, &c), 0);
    return c;
}

static void remove_all_links(void)
{
    struct nl_cache *c = links_now();
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        struct rtnl_link *l = (struct rtnl_link *)o;
        if (strcmp(rtnl_link_get_name(l), "lo") != 0)
            rtnl_link_delete(sk, l);
    }
    nl_cache_free(c);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *path)
{
    assert_int_equal(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT), 0);
}

static int test_setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/midwife-apply-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    setenv("PATH", saved_path, 1);
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    if (have_ns) {
        umount2(root, MNT_DETACH);
        remove_all_links();
    }
    rm_tree(root);
    setenv("PATH", saved_path, 1);
    return 0;
}

#define NEED_NS()                                                                                                      \
    do {                                                                                                               \
        if (!have_ns) {                                                                                                \
            print_message("needs root and network namespaces\n");                                                      \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

static struct nl_addr *mac_addr(const char *mac)
{
    struct nl_addr *a = NULL;
    assert_int_equal(nl_addr_parse(mac, AF_LLC, &a), 0);
    return a;
}

static void set_up(const char *name)
{
    struct nl_cache *c = links_now();
    struct rtnl_link *l = rtnl_link_get_by_name(c, name), *ch = rtnl_link_alloc();
    assert_non_null(l);
    rtnl_link_set_flags(ch, IFF_UP);
    assert_int_equal(rtnl_link_change(sk, l, ch, 0), 0);
    rtnl_link_put(ch);
    rtnl_link_put(l);
    nl_cache_free(c);
}

/* A veth pair: name (with mac, up) and its peer (up, so name has carrier). */
static void make_nic(const char *name, const char *peer, const char *mac)
{
    int e = rtnl_link_veth_add(sk, name, peer, getpid());
    if (e < 0)
        fail_msg("creating veth %s: %s", name, nl_geterror(e));
    struct nl_cache *c = links_now();
    struct rtnl_link *l = rtnl_link_get_by_name(c, name), *ch = rtnl_link_alloc();
    assert_non_null(l);
    struct nl_addr *a = mac_addr(mac);
    rtnl_link_set_addr(ch, a);
    nl_addr_put(a);
    assert_int_equal(rtnl_link_change(sk, l, ch, 0), 0);
    rtnl_link_put(ch);
    rtnl_link_put(l);
    nl_cache_free(c);
    set_up(name);
    set_up(peer);
}

struct link_info {
    bool exists;
    int ifindex, master, parent;
    unsigned mtu, flags;
    char mac[32], kind[32];
};

static struct link_info link_info(const char *name)
{
    struct link_info li = {0};
    struct nl_cache *c = links_now();
    struct rtnl_link *l = rtnl_link_get_by_name(c, name);
    if (l) {
        li.exists = true;
        li.ifindex = rtnl_link_get_ifindex(l);
        li.master = rtnl_link_get_master(l);
        li.parent = rtnl_link_get_link(l);
        li.mtu = rtnl_link_get_mtu(l);
        li.flags = rtnl_link_get_flags(l);
        nl_addr2str(rtnl_link_get_addr(l), li.mac, sizeof li.mac);
        snprintf(li.kind, sizeof li.kind, "%s", rtnl_link_get_type(l) ? rtnl_link_get_type(l) : "");
        rtnl_link_put(l);
    }
    nl_cache_free(c);
    return li;
}

static void add_addr(const char *dev, const char *cidr)
{
    struct nl_addr *local = NULL;
    assert_int_equal(nl_addr_parse(cidr, AF_INET, &local), 0);
    struct rtnl_addr *a = rtnl_addr_alloc();
    rtnl_addr_set_ifindex(a, link_info(dev).ifindex);
    rtnl_addr_set_local(a, local);
    int e = rtnl_addr_add(sk, a, 0);
    if (e < 0)
        fail_msg("adding %s to %s: %s", cidr, dev, nl_geterror(e));
    rtnl_addr_put(a);
    nl_addr_put(local);
}

/* The IPv4 addresses of dev, "a/p a/p ...", in the kernel's order. */
static void addrs_of(const char *dev, char *out, size_t outlen)
{
    int idx = link_info(dev).ifindex;
    struct nl_cache *c = NULL;
    assert_int_equal(rtnl_addr_alloc_cache(sk, &c), 0);
    out[0] = '\0';
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        if (rtnl_addr_get_family(a) != AF_INET || rtnl_addr_get_ifindex(a) != idx)
            continue;
        char s[64];
        nl_addr2str(rtnl_addr_get_local(a), s, sizeof s);
        size_t l = strlen(out);
        snprintf(out + l, outlen - l, "%s%s", l ? " " : "", s);
    }
    nl_cache_free(c);
}

static bool has_addr(const char *dev, const char *cidr)
{
    char all[1024], pad[1100], want[80];
    addrs_of(dev, all, sizeof all);
    snprintf(pad, sizeof pad, " %s ", all);
    snprintf(want, sizeof want, " %s ", cidr);
    return strstr(pad, want) != NULL;
}

/* "dst via gw dev N metric M" for the main table's route to dst (a/p), or "". */
static void route_to(const char *dst, char *out, size_t outlen)
{
    struct nl_cache *c = NULL, *lc = links_now();
    assert_int_equal(rtnl_route_alloc_cache(sk, AF_INET, 0, &c), 0);
    out[0] = '\0';
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        struct rtnl_route *r = (struct rtnl_route *)o;
        char d[64] = "0.0.0.0/0";
        if (nl_addr_get_prefixlen(rtnl_route_get_dst(r)) > 0)
            nl_addr2str(rtnl_route_get_dst(r), d, sizeof d);
        if (rtnl_route_get_table(r) != RT_TABLE_MAIN || strcmp(d, dst) != 0)
            continue;
        struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
        char gw[64] = "-", dev[IFNAMSIZ + 1] = "?";
        if (rtnl_route_nh_get_gateway(nh))
            nl_addr2str(rtnl_route_nh_get_gateway(nh), gw, sizeof gw);
        rtnl_link_i2name(lc, rtnl_route_nh_get_ifindex(nh), dev, sizeof dev);
        snprintf(out, outlen, "%s via %s dev %s metric %u", d, gw, dev, rtnl_route_get_priority(r));
    }
    nl_cache_free(c);
    nl_cache_free(lc);
}

/* Everything apply may change, as text: links, addresses, routes. */
static void snapshot(char *out, size_t outlen)
{
    size_t at = 0;
    out[0] = '\0';
    struct nl_cache *c = links_now();
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        struct rtnl_link *l = (struct rtnl_link *)o;
        char mac[32];
        nl_addr2str(rtnl_link_get_addr(l), mac, sizeof mac);
        at += (size_t)snprintf(out + at, outlen - at, "link %s %d mtu %u up %d master %d mac %s\n",
                               rtnl_link_get_name(l), rtnl_link_get_ifindex(l), rtnl_link_get_mtu(l),
                               !!(rtnl_link_get_flags(l) & IFF_UP), rtnl_link_get_master(l), mac);
    }
    nl_cache_free(c);
    assert_int_equal(rtnl_addr_alloc_cache(sk, &c), 0);
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        char s[64];
        nl_addr2str(rtnl_addr_get_local((struct rtnl_addr *)o), s, sizeof s);
        at += (size_t)snprintf(out + at, outlen - at, "addr %d %s\n", rtnl_addr_get_ifindex((struct rtnl_addr *)o), s);
    }
    nl_cache_free(c);
    assert_int_equal(rtnl_route_alloc_cache(sk, AF_INET, 0, &c), 0);
    for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
        struct rtnl_route *r = (struct rtnl_route *)o;
        char d[64], gw[64] = "-";
        nl_addr2str(rtnl_route_get_dst(r), d, sizeof d);
        struct rtnl_nexthop *nh = rtnl_route_get_nnexthops(r) ? rtnl_route_nexthop_n(r, 0) : NULL;
        if (nh && rtnl_route_nh_get_gateway(nh))
            nl_addr2str(rtnl_route_nh_get_gateway(nh), gw, sizeof gw);
        at += (size_t)snprintf(out + at, outlen - at, "route %u %s %u %s %d\n", rtnl_route_get_table(r), d,
                               rtnl_route_get_priority(r), gw, nh ? rtnl_route_nh_get_ifindex(nh) : 0);
    }
    nl_cache_free(c);
    assert_true(at < outlen);
}

/* ---- documents and files ---- */

/* A configuration document: the given keys over the defaults. */
static json_t *doc_of(const char *partial)
{
    json_error_t je;
    json_t *doc = json_loads("{\"version\": 1, \"host\": \"h1\", \"host_id\": 1, \"boot_id\": 1,"
                             " \"hostname\": \"h1\", \"interfaces\": [], \"bonds\": [], \"vlans\": [],"
                             " \"bridges\": [], \"routes\": [], \"dns\": {\"servers\": [], \"search\": []},"
                             " \"ntp\": [], \"storage\": {\"nfs\": [], \"iscsi\": []}, \"cluster\": \"\","
                             " \"persist\": [], \"commands\": []}",
                             0, &je);
    json_t *p = json_loads(partial, 0, &je);
    if (!p)
        fail_msg("test document: %s", je.text);
    assert_int_equal(json_object_update(doc, p), 0);
    json_decref(p);
    return doc;
}

static struct apply_env env_for_test(void)
{
    return (struct apply_env){.root = root, .set_kernel_hostname = false, .storage_and_commands = true,
                              .command_timeout_s = 10};
}

static int run(const char *partial, const struct apply_env *env, struct rec *rec, char *err, size_t errlen,
               const char **failed)
{
    json_t *doc = doc_of(partial);
    struct reporter rep = {.step = rec_step, .ctx = rec};
    memset(rec, 0, sizeof *rec);
    int rc = apply_document(doc, env, &rep, err, errlen, failed);
    json_decref(doc);
    assert_pairs(rec);
    return rc;
}

static void under(const char *rel, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", root, rel);
}

static void mkdirs(const char *rel)
{
    char p[512];
    under(rel, p, sizeof p);
    assert_int_equal(mkdir_parents(p, true), 0);
}

static void write_under(const char *rel, const char *content)
{
    char p[512];
    under(rel, p, sizeof p);
    assert_int_equal(mkdir_parents(p, false), 0);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void assert_file(const char *rel, const char *want)
{
    char p[512], buf[8192];
    size_t len;
    under(rel, p, sizeof p);
    if (read_small_file(p, buf, sizeof buf, &len) != 0)
        fail_msg("%s was not written", rel);
    assert_string_equal(buf, want);
}

static ino_t inode_of(const char *rel)
{
    char p[512];
    struct stat st;
    under(rel, p, sizeof p);
    assert_int_equal(stat(p, &st), 0);
    return st.st_ino;
}

static bool exists_rel(const char *rel)
{
    char p[512];
    struct stat st;
    under(rel, p, sizeof p);
    return stat(p, &st) == 0;
}

/* ---- pure parts ---- */

static void ipv4_prefix_parses_bare_as_32_and_refuses_junk(void **state)
{
    (void)state;
    uint32_t a;
    unsigned p;
    assert_int_equal(parse_ipv4_prefix("10.0.0.5", &a, &p), 0);
    assert_int_equal(p, 32);
    assert_int_equal(a, htonl(0x0a000005));
    assert_int_equal(parse_ipv4_prefix("0.0.0.0/0", &a, &p), 0);
    assert_int_equal(p, 0);
    assert_int_equal(parse_ipv4_prefix("10.1.0.0/16", &a, &p), 0);
    assert_int_equal(p, 16);
    static const char *const bad[] = {"", "/24", "10.0.0.1/33", "10.0.0.1/", "10.0.0.1/2x", "10.0.0.256",
                                      "10.0.0.1/-1", "10.0.0.1/024", "a.b.c.d", "10.0.0.1 /24"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse_ipv4_prefix(bad[i], &a, &p) == 0)
            fail_msg("'%s' was accepted", bad[i]);
}

static void root_path_joins_clean_absolute_paths_only(void **state)
{
    (void)state;
    struct apply_env env = {.root = "/tmp/r/"};
    char out[64];
    assert_int_equal(root_path(&env, "/etc/resolv.conf", out, sizeof out), 0);
    assert_string_equal(out, "/tmp/r/etc/resolv.conf");
    env.root = NULL;
    assert_int_equal(root_path(&env, "/mnt/iso", out, sizeof out), 0);
    assert_string_equal(out, "/mnt/iso");
    static const char *const bad[] = {"etc/x", "/etc/../x", "/..", "/a/./b", "/a//b", "/a/", "/a/\n", "",
                                      "/a/b/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (root_path(&env, bad[i], out, sizeof out) == 0)
            fail_msg("'%s' was accepted", bad[i]);
    env.root = "/tmp/r";
    char small[12];
    assert_int_equal(root_path(&env, "/etc/hostname", small, sizeof small), -1);
}

static void nfs_options_turn_generic_ones_into_flags_and_add_addr(void **state)
{
    (void)state;
    char out[128];
    unsigned long flags;
    assert_int_equal(nfs_mount_options("ro,vers=4,nosuid,addr=9.9.9.9", "10.0.0.9", out, sizeof out, &flags), 0);
    assert_string_equal(out, "vers=4,addr=10.0.0.9");
    assert_true(flags == (MS_RDONLY | MS_NOSUID));
    assert_int_equal(nfs_mount_options("", "10.0.0.9", out, sizeof out, &flags), 0);
    assert_string_equal(out, "addr=10.0.0.9");
    assert_true(flags == 0);
    assert_int_equal(nfs_mount_options("soft,,timeo=1", "127.0.0.1", out, sizeof out, &flags), 0);
    assert_string_equal(out, "soft,timeo=1,addr=127.0.0.1");
    assert_int_equal(nfs_mount_options("ro sec=sys", "10.0.0.9", out, sizeof out, &flags), -1);
    assert_int_equal(nfs_mount_options("ro", "not-an-ip", out, sizeof out, &flags), -1);
    char tiny[8];
    assert_int_equal(nfs_mount_options("vers=4", "10.0.0.9", tiny, sizeof tiny, &flags), -1);
}

static void mountinfo_lookup_finds_the_last_entry_and_unescapes(void **state)
{
    (void)state;
    const char text[] = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
                        "40 22 0:35 / /mnt/iso rw shared:1 - tmpfs tmpfs rw\n"
                        "41 40 0:36 / /mnt/iso rw master:2 shared:3 - nfs4 10.0.0.9:/vol/iso rw,vers=4\n"
                        "42 1 0:37 / /mnt/with\\040space rw - nfs 10.0.0.9:/a\\040b rw\n"
                        "garbage line\n";
    char src[128], type[32];
    FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
    assert_int_equal(mountinfo_lookup(f, "/mnt/iso", src, sizeof src, type, sizeof type), 1);
    assert_string_equal(src, "10.0.0.9:/vol/iso");
    assert_string_equal(type, "nfs4");
    fclose(f);
    f = fmemopen((void *)text, sizeof text - 1, "r");
    assert_int_equal(mountinfo_lookup(f, "/mnt/with space", src, sizeof src, type, sizeof type), 1);
    assert_string_equal(src, "10.0.0.9:/a b");
    fclose(f);
    f = fmemopen((void *)text, sizeof text - 1, "r");
    assert_int_equal(mountinfo_lookup(f, "/mnt", src, sizeof src, type, sizeof type), 0);
    fclose(f);
}

static void last_line_is_one_clean_line(void **state)
{
    (void)state;
    char out[16];
    last_line("first\nsecond line\n\n", out, sizeof out);
    assert_string_equal(out, "second line");
    last_line("a\x1b[31mred\tx\r\n", out, sizeof out);
    assert_string_equal(out, "a?[31mred?x");
    last_line("caf\xc3\xa9 \xff\xc2\x85 end", out, sizeof out);
    assert_string_equal(out, "caf\xc3\xa9 ?\x3f? end");
    last_line("0123456789abcdefghij", out, sizeof out);
    assert_string_equal(out, "0123456789abcde");
    last_line("", out, sizeof out);
    assert_string_equal(out, "");
    char m[] = "mount a\nb\x7f \xc3(\xe2\x82\xac";
    make_one_line(m);
    assert_string_equal(m, "mount a?b? ?(\xe2\x82\xac");
}

static void resolv_conf_has_one_line_per_value_and_refuses_other_shapes(void **state)
{
    (void)state;
    char out[256], msg[128];
    json_t *dns = json_loads("{\"servers\": [\"10.0.0.53\", \"10.0.0.54\"], \"search\": [\"lab.example\", \"b\"]}",
                             0, NULL);
    int n = render_resolv_conf(dns, out, sizeof out, msg, sizeof msg);
    assert_true(n > 0);
    assert_string_equal(out, "# written by midwife-agent\nnameserver 10.0.0.53\nnameserver 10.0.0.54\n"
                             "search lab.example b\n");
    json_decref(dns);
    dns = json_loads("{\"servers\": [\"10.0.0.53\\nnameserver 6.6.6.6\"], \"search\": []}", 0, NULL);
    assert_int_equal(render_resolv_conf(dns, out, sizeof out, msg, sizeof msg), -1);
    assert_string_equal(msg, "dns.servers[0] is not an IPv4 address");
    json_decref(dns);
    dns = json_loads("{\"servers\": [], \"search\": [\"a b\"]}", 0, NULL);
    assert_int_equal(render_resolv_conf(dns, out, sizeof out, msg, sizeof msg), -1);
    json_decref(dns);
    assert_true(is_host_name("pve-r12-01.lab.example"));
    assert_false(is_host_name("-a"));
    assert_false(is_host_name("a..b"));
    assert_false(is_host_name("a-.b"));
}

/* ---- files ---- */

static void dns_ntp_hostname_files_are_written_once(void **state)
{
    (void)state;
    mkdirs("/etc/chrony");
    write_under("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\told-name\n::1\tlocalhost ip6-localhost\n");
    struct apply_env env = env_for_test();
    struct rec rec;
    char err[512];
    const char *doc = "{\"hostname\": \"pve-01.lab.example\","
                      " \"dns\": {\"servers\": [\"10.0.0.53\"], \"search\": [\"lab.example\"]},"
                      " \"ntp\": [\"10.0.0.1\", \"ntp.lab.example\"]}";
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, NULL), 0);
    assert_int_equal(final_of(&rec, "hostname")->status, STEP_OK);
    assert_int_equal(final_of(&rec, "dns")->status, STEP_OK);
    assert_int_equal(final_of(&rec, "ntp")->status, STEP_OK);
    assert_string_equal(final_of(&rec, "ntp")->msg, "/etc/chrony/sources.d/midwife.sources written (chrony)");
    assert_file("/etc/hostname", "pve-01.lab.example\n");
    assert_file("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tpve-01.lab.example pve-01\n"
                              "::1\tlocalhost ip6-localhost\n");
    assert_file("/etc/resolv.conf", "# written by midwife-agent\nnameserver 10.0.0.53\nsearch lab.example\n");
    assert_file("/etc/chrony/sources.d/midwife.sources",
                "# written by midwife-agent\nserver 10.0.0.1 iburst\nserver ntp.lab.example iburst\n");
    assert_false(exists_rel("/etc/ntp.conf"));
    ino_t before = inode_of("/etc/resolv.conf");

    assert_int_equal(run(doc, &env, &rec, err, sizeof err, NULL), 0);
    assert_all_unchanged(&rec);
    assert_true(inode_of("/etc/resolv.conf") == before); /* not rewritten */
}

static void ntp_goes_to_timesyncd_or_ntp_conf_and_empty_lists_skip(void **state)
{
    (void)state;
    struct apply_env env = env_for_test();
    struct rec rec;
    char err[512];
    write_under("/etc/systemd/timesyncd.conf", "[Time]\n");
    assert_int_equal(run("{\"ntp\": [\"10.0.0.1\", \"10.0.0.2\"]}", &env, &rec, err, sizeof err, NULL), 0);
    assert_file("/etc/systemd/timesyncd.conf.d/midwife.conf", "# written by midwife-agent\n[Time]\nNTP=10.0.0.1 10.0.0.2\n");

    char other[300];
    snprintf(other, sizeof other, "%s/plain", root);
    assert_int_equal(mkdir(other, 0755), 0);
    env.root = other;
    char p[512];
    snprintf(p, sizeof p, "%s/etc/ntp.conf", other);
    assert_int_equal(mkdir_parents(p, false), 0);
    FILE *f = fopen(p, "w");
    fputs("driftfile /var/lib/ntp/drift\npool 0.debian.pool.ntp.org iburst\n  server 1.2.3.4\nrestrict default\n", f);
    fclose(f);
    assert_int_equal(run("{\"ntp\": [\"10.0.0.1\"]}", &env, &rec, err, sizeof err, NULL), 0);
    assert_file("/plain/etc/ntp.conf", "driftfile /var/lib/ntp/drift\nrestrict default\nserver 10.0.0.1 iburst\n");
    assert_int_equal(run("{\"ntp\": [\"10.0.0.1\"]}", &env, &rec, err, sizeof err, NULL), 0);
    assert_all_unchanged(&rec);

    assert_int_equal(run("{\"hostname\": \"\"}", &env, &rec, err, sizeof err, NULL), 0);
    assert_int_equal(final_of(&rec, "ntp")->status, STEP_SKIPPED);
    assert_int_equal(final_of(&rec, "dns")->status, STEP_SKIPPED);
    assert_int_equal(final_of(&rec, "hostname")->status, STEP_SKIPPED);
    assert_int_equal(rec.n, 6); /* no network steps for a document without network */
}

static void kernel_host_name_is_set_in_a_uts_namespace(void **state)
{
    (void)state;
    if (!have_uts)
        skip();
    struct apply_env env = env_for_test();
    env.set_kernel_hostname = true;
    struct rec rec;
    char err[512], name[256];
    assert_int_equal(run("{\"hostname\": \"esx-07\"}", &env, &rec, err, sizeof err, NULL), 0);
    assert_int_equal(gethostname(name, sizeof name), 0);
    assert_string_equal(name, "esx-07");
    assert_file("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tesx-07\n");
    assert_int_equal(run("{\"hostname\": \"esx-07\"}", &env, &rec, err, sizeof err, NULL), 0);
    assert_all_unchanged(&rec);
}

/* ---- network ---- */

static const char net_doc[] =
    "{\"interfaces\": ["
    "  {\"name\": \"eno1\", \"mac\": \"02:00:00:00:00:02\", \"mtu\": 1400, \"dhcp\": false, \"addresses\": []},"
    "  {\"name\": \"nic0\", \"dhcp\": false, \"addresses\": [\"10.1.0.5/24\", \"10.1.0.6\"]}],"
    " \"bridges\": [{\"name\": \"br0\", \"uplinks\": [\"eno1\"], \"dhcp\": false,"
    "               \"addresses\": [\"10.2.0.5/24\"], \"port_groups\": []}],"
    " \"routes\": [{\"to\": \"10.50.0.0/16\", \"via\": \"10.2.0.1\", \"dev\": \"br0\"},"
    "              {\"to\": \"10.60.0.0/16\", \"dev\": \"nic0\", \"metric\": 5},"
    "              {\"to\": \"10.70.0.0/16\", \"via\": \"10.1.0.1\"},"
    "              {\"to\": \"0.0.0.0/0\", \"via\": \"10.2.0.1\"}]}";

static void network_is_applied_and_a_second_apply_changes_nothing(void **state)
{
    (void)state;
    NEED_NS();
    make_nic("nic0", "peer0", "02:00:00:00:00:01");
    make_nic("tmpname", "peer1", "02:00:00:00:00:02");
    add_addr("nic0", "10.1.0.5/24");
    add_addr("nic0", "10.1.0.99/24");
    add_addr("peer0", "10.9.0.1/24");
    /* A route the document replaces (other gateway) and one it does not
     * mention, which stays. */
    struct rec rec;
    char err[512];
    struct apply_env env = env_for_test();
    assert_int_equal(run("{\"routes\": [{\"to\": \"10.70.0.0/16\", \"dev\": \"peer0\"},"
                         " {\"to\": \"10.80.0.0/16\", \"dev\": \"nic0\"}]}",
                         &env, &rec, err, sizeof err, NULL),
                     0);
    char r[128];
    route_to("10.70.0.0/16", r, sizeof r);
    assert_string_equal(r, "10.70.0.0/16 via - dev peer0 metric 0");

    int rc = run(net_doc, &env, &rec, err, sizeof err, NULL);
    if (rc != 0)
        fail_msg("apply failed: %s", err);
    static const char *const order[] = {"hostname", "link:eno1", "link:nic0", "bridge:br0", "address:eno1",
                                        "address:nic0", "address:br0", "route:10.50.0.0/16", "route:10.60.0.0/16",
                                        "route:10.70.0.0/16", "route:0.0.0.0/0", "dns", "ntp"};
    assert_int_equal(rec.n, 2 * (int)(sizeof order / sizeof order[0]));
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        assert_string_equal(rec.e[2 * i].step, order[i]);
    assert_string_equal(final_of(&rec, "link:eno1")->msg, "renamed tmpname to eno1; mtu 1500 -> 1400; up");
    assert_string_equal(final_of(&rec, "address:nic0")->msg, "removed 10.1.0.99/24; added 10.1.0.6/32");
    assert_string_equal(final_of(&rec, "route:10.70.0.0/16")->msg,
                        "replaced via 10.1.0.1 metric 0 (was dev peer0)");

    struct link_info eno1 = link_info("eno1"), br0 = link_info("br0");
    assert_true(eno1.exists);
    assert_false(link_info("tmpname").exists);
    assert_string_equal(eno1.mac, "02:00:00:00:00:02");
    assert_int_equal(eno1.mtu, 1400);
    assert_true(eno1.flags & IFF_UP);
    assert_true(br0.exists);
    assert_string_equal(br0.kind, "bridge");
    assert_true(br0.flags & IFF_UP);
    assert_int_equal(eno1.master, br0.ifindex);
    char a[256];
    addrs_of("nic0", a, sizeof a);
    assert_string_equal(a, "10.1.0.5/24 10.1.0.6"); /* libnl prints /32 bare */
    addrs_of("br0", a, sizeof a);
    assert_string_equal(a, "10.2.0.5/24");
    assert_true(has_addr("peer0", "10.9.0.1/24")); /* not named by the document: left alone */
    route_to("10.50.0.0/16", r, sizeof r);
    assert_string_equal(r, "10.50.0.0/16 via 10.2.0.1 dev br0 metric 0");
    route_to("10.60.0.0/16", r, sizeof r);
    assert_string_equal(r, "10.60.0.0/16 via - dev nic0 metric 5");
    route_to("10.70.0.0/16", r, sizeof r);
    assert_string_equal(r, "10.70.0.0/16 via 10.1.0.1 dev nic0 metric 0");
    route_to("0.0.0.0/0", r, sizeof r);
    assert_string_equal(r, "0.0.0.0/0 via 10.2.0.1 dev br0 metric 0");
    route_to("10.80.0.0/16", r, sizeof r);
    assert_string_equal(r, "10.80.0.0/16 via - dev nic0 metric 0");

    static char before[65536], after[65536];
    snapshot(before, sizeof before);
    rc = run(net_doc, &env, &rec, err, sizeof err, NULL);
    if (rc != 0)
        fail_msg("second apply failed: %s", err);
    for (int i = 1; i < rec.n; i += 2) {
        if (strcmp(rec.e[i].step, "hostname") == 0 || strcmp(rec.e[i].step, "dns") == 0 ||
            strcmp(rec.e[i].step, "ntp") == 0)
            continue; /* written or skipped the first time, checked elsewhere */
        if (rec.e[i].status != STEP_OK || strcmp(rec.e[i].msg, "unchanged") != 0)
            fail_msg("%s: %s", rec.e[i].step, rec.e[i].msg);
    }
    snapshot(after, sizeof after);
    assert_string_equal(before, after);
}

static void add_route_via(const char *dst, const char *gw)
{
    struct nl_addr *d = NULL, *g = NULL;
    assert_int_equal(nl_addr_parse(dst, AF_INET, &d), 0);
    assert_int_equal(nl_addr_parse(gw, AF_INET, &g), 0);
    struct rtnl_route *r = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    rtnl_route_set_dst(r, d);
    rtnl_route_nh_set_gateway(nh, g);
    rtnl_route_add_nexthop(r, nh);
    int e = rtnl_route_add(sk, r, NLM_F_EXCL);
    if (e < 0)
        fail_msg("route %s via %s: %s", dst, gw, nl_geterror(e));
    rtnl_route_put(r);
    nl_addr_put(d);
    nl_addr_put(g);
}

static void a_renamed_boot_nic_keeps_its_address_and_routes(void **state)
{
    (void)state;
    NEED_NS();
    make_nic("eth0", "peer0", "02:00:00:00:06:01");
    add_addr("eth0", "10.4.0.2/24");
    add_route_via("0.0.0.0/0", "10.4.0.1");
    add_route_via("10.91.0.0/16", "10.4.0.254");
    struct rec rec;
    char err[512];
    struct apply_env env = env_for_test();
    const char *doc = "{\"interfaces\": [{\"name\": \"mgmt0\", \"mac\": \"02:00:00:00:06:01\", \"dhcp\": true,"
                      " \"addresses\": []}]}";
    if (run(doc, &env, &rec, err, sizeof err, NULL) != 0)
        fail_msg("%s", err);
    assert_string_equal(final_of(&rec, "link:mgmt0")->msg, "renamed eth0 to mgmt0; up; 2 routes kept");
    assert_string_equal(final_of(&rec, "address:mgmt0")->msg, "unchanged");
    char r[128];
    route_to("0.0.0.0/0", r, sizeof r);
    assert_string_equal(r, "0.0.0.0/0 via 10.4.0.1 dev mgmt0 metric 0");
    route_to("10.91.0.0/16", r, sizeof r);
    assert_string_equal(r, "10.91.0.0/16 via 10.4.0.254 dev mgmt0 metric 0");
    assert_true(has_addr("mgmt0", "10.4.0.2/24"));
}

static void a_nic_moves_between_bridges_and_a_dhcp_interface_keeps_its_address(void **state)
{
    (void)state;
    NEED_NS();
    make_nic("up1", "peer1", "02:00:00:00:01:01");
    make_nic("dyn0", "peer2", "02:00:00:00:01:02");
    add_addr("dyn0", "192.168.7.7/24");
    struct rec rec;
    char err[512];
    struct apply_env env = env_for_test();
    assert_int_equal(run("{\"bridges\": [{\"name\": \"brA\", \"uplinks\": [\"up1\"], \"dhcp\": false, "
                         "\"addresses\": []}]}",
                         &env, &rec, err, sizeof err, NULL),
                     0);
    assert_int_equal(link_info("up1").master, link_info("brA").ifindex);
    const char *doc = "{\"interfaces\": [{\"name\": \"dyn0\", \"dhcp\": true, \"addresses\": []}],"
                      " \"bridges\": [{\"name\": \"brB\", \"uplinks\": [\"up1\"], \"mtu\": 1450, \"dhcp\": false,"
                      " \"addresses\": []}]}";
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, NULL), 0);
    assert_int_equal(link_info("up1").master, link_info("brB").ifindex);
    assert_string_equal(final_of(&rec, "bridge:brB")->msg, "created; moved up1 from brA; mtu 1500 -> 1450; up");
    assert_string_equal(final_of(&rec, "address:dyn0")->msg, "unchanged");
    assert_true(has_addr("dyn0", "192.168.7.7/24"));
    assert_int_equal(link_info("brB").mtu, 1450);
}

static void dhcp_without_a_client_fails_and_the_client_gets_its_arguments(void **state)
{
    (void)state;
    NEED_NS();
    make_nic("dyn1", "peer1", "02:00:00:00:02:01");
    char bin[300];
    snprintf(bin, sizeof bin, "%s/bin", root);
    assert_int_equal(mkdir(bin, 0755), 0);
    setenv("PATH", bin, 1);
    struct rec rec;
    char err[512];
    const char *failed = NULL;
    struct apply_env env = env_for_test();
    const char *doc = "{\"interfaces\": [{\"name\": \"dyn1\", \"dhcp\": true, \"addresses\": []}]}";
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, &failed), -1);
    assert_string_equal(failed, "address:dyn1");
    assert_string_equal(err, "address:dyn1: no DHCP client on this host (udhcpc, dhclient)");
    assert_int_equal(final_of(&rec, "address:dyn1")->status, STEP_FAILED);
    assert_null(rec_final(&rec, "dns")); /* nothing after the failure */

    /* A stand-in udhcpc that records its arguments and finds no server. */
    char script[400], args[400];
    snprintf(script, sizeof script, "%s/udhcpc", bin);
    snprintf(args, sizeof args, "%s/args", root);
    FILE *f = fopen(script, "w");
    fprintf(f, "#!/bin/sh\necho \"$@\" > %s\necho 'udhcpc: no lease, failing'\nexit 1\n", args);
    fclose(f);
    chmod(script, 0755);
    char path[4500];
    snprintf(path, sizeof path, "%s:%s", bin, saved_path);
    setenv("PATH", path, 1);
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, &failed), -1);
    assert_string_equal(err, "address:dyn1: udhcpc on dyn1: exit 1: udhcpc: no lease, failing");
    assert_file("/args", "-i dyn1 -n -q -t 5\n");
}

static void missing_nics_and_taken_names_fail_their_step(void **state)
{
    (void)state;
    NEED_NS();
    make_nic("nicx", "peerx", "02:00:00:00:03:01");
    make_nic("eno5", "peery", "02:00:00:00:03:02");
    struct rec rec;
    char err[512];
    const char *failed = NULL;
    struct apply_env env = env_for_test();
    assert_int_equal(run("{\"interfaces\": [{\"name\": \"eno9\", \"mac\": \"02:00:00:00:03:99\", \"dhcp\": false,"
                         " \"addresses\": []}]}",
                         &env, &rec, err, sizeof err, &failed),
                     -1);
    assert_string_equal(failed, "link:eno9");
    assert_string_equal(err, "link:eno9: no NIC with MAC 02:00:00:00:03:99");
    assert_int_equal(run("{\"interfaces\": [{\"name\": \"eth7\", \"dhcp\": false, \"addresses\": []}]}", &env, &rec,
                         err, sizeof err, &failed),
                     -1);
    assert_string_equal(err, "link:eth7: no interface named eth7");
    /* nicx's MAC names eno5, which is another NIC: nothing is renamed. */
    assert_int_equal(run("{\"interfaces\": [{\"name\": \"eno5\", \"mac\": \"02:00:00:00:03:01\", \"dhcp\": false,"
                         " \"addresses\": []}]}",
                         &env, &rec, err, sizeof err, &failed),
                     -1);
    assert_non_null(strstr(err, "cannot rename nicx to eno5"));
    assert_true(link_info("nicx").exists);
    assert_true(link_info("nicx").flags & IFF_UP);
}

static bool kernel_has(const char *kind)
{
    struct nl_cache *c = links_now();
    struct rtnl_link *lo = rtnl_link_get_by_name(c, "lo");
    struct rtnl_link *l = rtnl_link_alloc();
    rtnl_link_set_name(l, "probe0");
    int e;
    if (strcmp(kind, "vlan") == 0) {
        rtnl_link_put(l);
        l = rtnl_link_vlan_alloc();
        rtnl_link_set_name(l, "probe0");
        rtnl_link_set_link(l, rtnl_link_get_ifindex(lo));
        rtnl_link_vlan_set_id(l, 5);
    } else {
        rtnl_link_set_type(l, kind);
    }
    e = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
    if (e == 0)
        rtnl_link_delete(sk, l);
    rtnl_link_put(l);
    rtnl_link_put(lo);
    nl_cache_free(c);
    return e == 0;
}

static void links_of_another_kind_or_vlan_are_conflicts_not_changed(void **state)
{
    (void)state;
    NEED_NS();
    make_nic("base0", "peerb", "02:00:00:00:04:01");
    make_nic("vlan42", "peerv", "02:00:00:00:04:02");
    make_nic("bond0", "peerd", "02:00:00:00:04:03");
    struct rec rec;
    char err[512];
    const char *failed = NULL;
    struct apply_env env = env_for_test();
    assert_int_equal(run("{\"vlans\": [{\"name\": \"vlan42\", \"link\": \"base0\", \"id\": 42, \"dhcp\": false,"
                         " \"addresses\": []}]}",
                         &env, &rec, err, sizeof err, &failed),
                     -1);
    assert_string_equal(failed, "vlan:vlan42");
    assert_string_equal(err, "vlan:vlan42: vlan42 exists and is a veth link, not a VLAN; not changed");
    assert_string_equal(link_info("vlan42").kind, "veth");
    assert_int_equal(run("{\"bonds\": [{\"name\": \"bond0\", \"mode\": \"802.3ad\", \"members\": [\"base0\"],"
                         " \"dhcp\": false, \"addresses\": []}]}",
                         &env, &rec, err, sizeof err, &failed),
                     -1);
    assert_string_equal(failed, "bond:bond0");
    assert_string_equal(err, "bond:bond0: bond0 exists and is a veth link, not a bond; not changed");
    assert_int_equal(run("{\"bridges\": [{\"name\": \"base0\", \"uplinks\": [], \"dhcp\": false,"
                         " \"addresses\": []}]}",
                         &env, &rec, err, sizeof err, &failed),
                     -1);
    assert_string_equal(failed, "bridge:base0");

    if (!kernel_has("bond")) {
        assert_int_equal(run("{\"bonds\": [{\"name\": \"bond1\", \"mode\": \"802.3ad\", \"members\": [\"base0\"],"
                             " \"dhcp\": false, \"addresses\": []}]}",
                             &env, &rec, err, sizeof err, &failed),
                         -1);
        assert_string_equal(err, "bond:bond1: creating bond bond1: Operation not supported (no bonding in this kernel?)");
    }
    if (!kernel_has("vlan")) {
        /* Creating one is reported as the kernel's refusal. */
        assert_int_equal(run("{\"vlans\": [{\"name\": \"vlan7\", \"link\": \"base0\", \"id\": 7, \"dhcp\": false,"
                             " \"addresses\": []}]}",
                             &env, &rec, err, sizeof err, &failed),
                         -1);
        assert_string_equal(failed, "vlan:vlan7");
        print_message("no 802.1Q in this kernel: %s\n", err);
        return;
    }
    const char *doc7 = "{\"vlans\": [{\"name\": \"vlan7\", \"link\": \"base0\", \"id\": 7, \"mtu\": 1400,"
                       " \"dhcp\": false, \"addresses\": [\"10.7.0.1/24\"]}]}";
    assert_int_equal(run(doc7, &env, &rec, err, sizeof err, &failed), 0);
    struct link_info v = link_info("vlan7");
    assert_true(v.exists);
    assert_string_equal(v.kind, "vlan");
    assert_int_equal(v.parent, link_info("base0").ifindex);
    assert_int_equal(v.mtu, 1400);
    assert_true(has_addr("vlan7", "10.7.0.1/24"));
    assert_int_equal(run(doc7, &env, &rec, err, sizeof err, &failed), 0);
    assert_string_equal(final_of(&rec, "vlan:vlan7")->msg, "unchanged");
    assert_int_equal(run("{\"vlans\": [{\"name\": \"vlan7\", \"link\": \"base0\", \"id\": 8, \"dhcp\": false,"
                         " \"addresses\": []}]}",
                         &env, &rec, err, sizeof err, &failed),
                     -1);
    assert_string_equal(err, "vlan:vlan7: vlan7 exists with id 7 on base0, the document wants id 8 on base0; "
                             "not changed");
}

/* The management VLAN (mgmt_vlan): "NIC.ID" on the NIC with the boot
 * MAC; skipped without a boot MAC or when the document's vlans have that
 * id; an unknown MAC or a kernel without 802.1Q fails the step; an
 * existing one with an address is kept as it is. */
static void management_vlan_goes_on_the_boot_nic(void **state)
{
    (void)state;
    char nm[32];
    mgmt_vlan_name("eth0", 42, nm, sizeof nm);
    assert_string_equal(nm, "eth0.42");
    mgmt_vlan_name("enp0s3", 4094, nm, sizeof nm);
    assert_string_equal(nm, "enp0s3.4094");
    mgmt_vlan_name("enp0s31f6abcd", 4094, nm, sizeof nm); /* 18 bytes: too long */
    assert_string_equal(nm, "vlan4094");
    NEED_NS();
    make_nic("boot0", "peerm", "02:00:00:00:07:01");
    struct rec rec;
    char err[512];
    const char *failed = NULL;
    struct apply_env env = env_for_test();
    assert_int_equal(run("{\"mgmt_vlan\": 42}", &env, &rec, err, sizeof err, &failed), 0);
    assert_int_equal(final_of(&rec, "mgmt_vlan")->status, STEP_SKIPPED);
    assert_non_null(strstr(final_of(&rec, "mgmt_vlan")->msg, "midwife.mac="));
    /* No mgmt_vlan (or 0): no step at all. */
    assert_int_equal(run("{\"mgmt_vlan\": 0}", &env, &rec, err, sizeof err, &failed), 0);
    assert_null(rec_final(&rec, "mgmt_vlan"));

    static const uint8_t stranger[6] = {0x02, 0, 0, 0, 0x07, 0x99};
    env.boot_mac = stranger;
    assert_int_equal(run("{\"mgmt_vlan\": 42}", &env, &rec, err, sizeof err, &failed), -1);
    assert_string_equal(failed, "mgmt_vlan");
    assert_string_equal(err, "mgmt_vlan: boot NIC: no NIC with MAC 02:00:00:00:07:99");

    static const uint8_t boot[6] = {0x02, 0, 0, 0, 0x07, 0x01};
    env.boot_mac = boot;
    if (!kernel_has("vlan")) {
        assert_int_equal(run("{\"mgmt_vlan\": 42}", &env, &rec, err, sizeof err, &failed), -1);
        assert_string_equal(failed, "mgmt_vlan");
        assert_non_null(strstr(err, "creating VLAN boot0.42 (id 42 on boot0)"));
        assert_non_null(strstr(err, "no 802.1Q in this kernel?"));
        assert_false(link_info("boot0.42").exists);
        /* The birth-time call says the same through apply.h. */
        char name[32], msg[512];
        assert_int_equal(apply_mgmt_vlan(boot, 42, 1, name, sizeof name, msg, sizeof msg), -1);
        assert_string_equal(name, "boot0.42");
        assert_non_null(strstr(msg, "no 802.1Q in this kernel?"));
        print_message("no 802.1Q in this kernel: %s\n", err);
        return;
    }
    /* The document has its own VLAN with that id: that one is it. */
    assert_int_equal(run("{\"mgmt_vlan\": 42, \"vlans\": [{\"name\": \"m42\", \"link\": \"boot0\", \"id\": 42,"
                         " \"dhcp\": false, \"addresses\": [\"10.42.0.6/24\"]}]}",
                         &env, &rec, err, sizeof err, &failed),
                     0);
    assert_int_equal(final_of(&rec, "mgmt_vlan")->status, STEP_SKIPPED);
    assert_false(link_info("boot0.42").exists);
    /* Made before the birth, with its lease: kept, unchanged. */
    struct rtnl_link *v = rtnl_link_vlan_alloc();
    rtnl_link_set_name(v, "boot0.42");
    rtnl_link_set_link(v, link_info("boot0").ifindex);
    rtnl_link_vlan_set_id(v, 43);
    assert_int_equal(rtnl_link_add(sk, v, NLM_F_CREATE | NLM_F_EXCL), 0);
    rtnl_link_put(v);
    /* With another id it is a conflict, never replaced. */
    assert_int_equal(run("{\"mgmt_vlan\": 42}", &env, &rec, err, sizeof err, &failed), -1);
    assert_non_null(strstr(err, "boot0.42 exists with id 43 on boot0"));
}

static void bonds_get_their_mode_and_members(void **state)
{
    (void)state;
    NEED_NS();
    if (!kernel_has("bond")) {
        print_message("no bonding in this kernel\n");
        skip();
    }
    make_nic("tmpa", "peera", "02:00:00:00:05:01");
    make_nic("tmpb", "peerb", "02:00:00:00:05:02");
    struct rec rec;
    char err[512];
    struct apply_env env = env_for_test();
    const char *doc = "{\"interfaces\": ["
                      "  {\"name\": \"eno1\", \"mac\": \"02:00:00:00:05:01\", \"dhcp\": false, \"addresses\": []},"
                      "  {\"name\": \"eno2\", \"mac\": \"02:00:00:00:05:02\", \"dhcp\": false, \"addresses\": []}],"
                      " \"bonds\": [{\"name\": \"bond0\", \"mode\": \"802.3ad\", \"members\": [\"eno1\", \"eno2\"],"
                      "   \"mtu\": 1400, \"dhcp\": false, \"addresses\": [\"10.8.0.2/24\"]}]}";
    if (run(doc, &env, &rec, err, sizeof err, NULL) != 0)
        fail_msg("%s", err);
    struct link_info b = link_info("bond0");
    assert_string_equal(b.kind, "bond");
    assert_int_equal(link_info("eno1").master, b.ifindex);
    assert_int_equal(link_info("eno2").master, b.ifindex);
    assert_int_equal(b.mtu, 1400);
    struct net n;
    char msg[128];
    assert_int_equal(net_open(&n, msg, sizeof msg), 0);
    struct link_extra *ex;
    size_t nex;
    int mode = -1;
    assert_int_equal(net_link_extras(&n, &ex, &nex), 0);
    for (size_t i = 0; i < nex; i++)
        if (ex[i].ifindex == b.ifindex)
            mode = ex[i].bond_mode;
    free(ex);
    net_close(&n);
    assert_int_equal(mode, 4);
    static char before[65536], after[65536];
    snapshot(before, sizeof before);
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, NULL), 0);
    snapshot(after, sizeof after);
    assert_string_equal(before, after);
    for (int i = 1; i < rec.n; i += 2)
        if (strncmp(rec.e[i].step, "link:", 5) == 0 || strncmp(rec.e[i].step, "bond:", 5) == 0)
            assert_string_equal(rec.e[i].msg, "unchanged");
}

/* ---- storage and commands ---- */

static void storage_reports_missing_iscsiadm_and_nfs_failures(void **state)
{
    (void)state;
    NEED_NS();
    char bin[300];
    snprintf(bin, sizeof bin, "%s/bin", root);
    assert_int_equal(mkdir(bin, 0755), 0);
    setenv("PATH", bin, 1);
    struct rec rec;
    char err[512];
    const char *failed = NULL;
    struct apply_env env = env_for_test();
    assert_int_equal(run("{\"storage\": {\"nfs\": [], \"iscsi\": [{\"portal\": \"10.0.0.10:3260\","
                         " \"target\": \"iqn.2000-01.com.example:pve\", \"lun\": 0}]}}",
                         &env, &rec, err, sizeof err, NULL),
                     0);
    const struct rec_entry *e = final_of(&rec, "storage.iscsi:iqn.2000-01.com.example:pve");
    assert_non_null(e);
    assert_int_equal(e->status, STEP_SKIPPED);
    assert_string_equal(e->msg, "iscsiadm not found");

    /* Nobody serves NFS inside this namespace: the mount fails fast. */
    time_t t0 = time(NULL);
    assert_int_equal(run("{\"storage\": {\"nfs\": [{\"server\": \"127.0.0.1\", \"export\": \"/vol/iso\","
                         " \"mount\": \"/mnt/iso\", \"options\": \"soft,timeo=1,retrans=0,vers=3,nolock,port=1,"
                         "mountport=1,proto=tcp,mountproto=tcp\"}], \"iscsi\": []}}",
                         &env, &rec, err, sizeof err, &failed),
                     -1);
    assert_true(time(NULL) - t0 < 10);
    assert_string_equal(failed, "storage.nfs:/mnt/iso");
    assert_non_null(strstr(err, "storage.nfs:/mnt/iso: mount 127.0.0.1:/vol/iso on /mnt/iso: "));
    assert_true(exists_rel("/mnt/iso"));

    /* Something else mounted there is a conflict, not replaced. */
    char target[400];
    under("/mnt/iso", target, sizeof target);
    assert_int_equal(mount("tmpfs", target, "tmpfs", 0, "size=64k"), 0);
    assert_int_equal(run("{\"storage\": {\"nfs\": [{\"server\": \"10.0.0.9\", \"export\": \"/vol/iso\","
                         " \"mount\": \"/mnt/iso\", \"options\": \"\"}], \"iscsi\": []}}",
                         &env, &rec, err, sizeof err, &failed),
                     -1);
    assert_string_equal(err, "storage.nfs:/mnt/iso: /mnt/iso already has tmpfs (tmpfs) mounted; not changed");
    umount2(target, MNT_DETACH);

    env.storage_and_commands = false;
    assert_int_equal(run("{\"storage\": {\"nfs\": [{\"server\": \"10.0.0.9\", \"export\": \"/vol/iso\","
                         " \"mount\": \"/mnt/iso\", \"options\": \"\"}], \"iscsi\": []}, \"commands\": [\"false\"]}",
                         &env, &rec, err, sizeof err, &failed),
                     0);
    assert_int_equal(final_of(&rec, "storage.nfs:/mnt/iso")->status, STEP_SKIPPED);
    assert_int_equal(final_of(&rec, "command:1")->status, STEP_SKIPPED);
}

/* A stand-in iscsiadm: lists one session (or none: exit 21) and logs
 * every call. */
static void fake_iscsiadm(const char *bin, bool has_session)
{
    char script[400];
    snprintf(script, sizeof script, "%s/iscsiadm", bin);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f,
            "#!/bin/sh\n"
            "echo \"$@\" >> %s/calls\n"
            "if [ \"$2\" = session ]; then\n"
            "  %s\n"
            "fi\n"
            "exit 0\n",
            root,
            has_session ? "echo 'tcp: [1] 10.0.0.10:3260,1 iqn.2000-01.com.example:pve (non-flash)'; exit 0"
                        : "echo 'iscsiadm: No active sessions.'; exit 21");
    fclose(f);
    chmod(script, 0755);
}

static void iscsi_logs_in_once_and_leaves_existing_sessions(void **state)
{
    (void)state;
    char bin[300], path[4500];
    snprintf(bin, sizeof bin, "%s/bin", root);
    assert_int_equal(mkdir(bin, 0755), 0);
    snprintf(path, sizeof path, "%s:%s", bin, saved_path);
    setenv("PATH", path, 1);
    const char *doc = "{\"storage\": {\"nfs\": [], \"iscsi\": [{\"portal\": \"10.0.0.10:3260\","
                      " \"target\": \"iqn.2000-01.com.example:pve\", \"lun\": 0}]}}";
    struct rec rec;
    char err[512];
    struct apply_env env = env_for_test();
    fake_iscsiadm(bin, false);
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, NULL), 0);
    const struct rec_entry *e = final_of(&rec, "storage.iscsi:iqn.2000-01.com.example:pve");
    assert_int_equal(e->status, STEP_OK);
    assert_string_equal(e->msg, "logged in to iqn.2000-01.com.example:pve at 10.0.0.10:3260");
    assert_file("/calls", "-m session\n"
                          "-m discovery -t sendtargets -p 10.0.0.10:3260\n"
                          "-m node -T iqn.2000-01.com.example:pve -p 10.0.0.10:3260 --login\n");
    char calls[400];
    under("/calls", calls, sizeof calls);
    unlink(calls);
    fake_iscsiadm(bin, true);
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, NULL), 0);
    assert_string_equal(final_of(&rec, "storage.iscsi:iqn.2000-01.com.example:pve")->msg, "unchanged");
    assert_file("/calls", "-m session\n");
}

static void commands_run_in_order_and_the_first_failure_stops(void **state)
{
    (void)state;
    struct rec rec;
    char err[512], doc[1024];
    const char *failed = NULL;
    struct apply_env env = env_for_test();
    snprintf(doc, sizeof doc,
             "{\"commands\": [\"echo one; echo two > %s/first; echo two\", \"echo bad >&2; exit 3\","
             " \"touch %s/never\"]}",
             root, root);
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, &failed), -1);
    assert_string_equal(failed, "command:2");
    assert_string_equal(err, "command:2: exit 3: bad");
    assert_int_equal(final_of(&rec, "command:1")->status, STEP_OK);
    assert_string_equal(final_of(&rec, "command:1")->msg, "two");
    assert_true(exists_rel("/first"));
    assert_null(rec_final(&rec, "command:3"));
    assert_false(exists_rel("/never"));

    /* Long output: the report shows its last line. */
    assert_int_equal(run("{\"commands\": [\"i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done\"]}", &env,
                         &rec, err, sizeof err, &failed),
                     0);
    assert_string_equal(final_of(&rec, "command:1")->msg, "line 1999");
}

static void a_command_past_its_timeout_is_killed_with_its_children(void **state)
{
    (void)state;
    struct rec rec;
    char err[512], doc[512];
    const char *failed = NULL;
    struct apply_env env = env_for_test();
    env.command_timeout_s = 1;
    snprintf(doc, sizeof doc, "{\"commands\": [\"sleep 30 & echo $! > %s/pid; echo started; wait\"]}", root);
    time_t t0 = time(NULL);
    assert_int_equal(run(doc, &env, &rec, err, sizeof err, &failed), -1);
    assert_true(time(NULL) - t0 <= 4);
    assert_string_equal(failed, "command:1");
    assert_string_equal(err, "command:1: killed after 1 s: started");
    char p[400], buf[32];
    size_t len;
    under("/pid", p, sizeof p);
    assert_int_equal(read_small_file(p, buf, sizeof buf, &len), 0);
    pid_t child = (pid_t)atoi(buf);
    assert_true(child > 0);
    /* The background sleep went with the group: gone, or a zombie. */
    bool gone = false;
    for (int i = 0; i < 50 && !gone; i++) {
        char stat_path[64], st[256] = "";
        snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)child);
        FILE *f = fopen(stat_path, "r");
        if (!f) {
            gone = true;
            break;
        }
        if (!fgets(st, sizeof st, f))
            st[0] = '\0';
        fclose(f);
        const char *rp = strrchr(st, ')');
        gone = rp && rp[1] == ' ' && rp[2] == 'Z';
        if (!gone)
            usleep(20000);
    }
    assert_true(gone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_prefix_parses_bare_as_32_and_refuses_junk),
        cmocka_unit_test(root_path_joins_clean_absolute_paths_only),
        cmocka_unit_test(nfs_options_turn_generic_ones_into_flags_and_add_addr),
        cmocka_unit_test(mountinfo_lookup_finds_the_last_entry_and_unescapes),
        cmocka_unit_test(last_line_is_one_clean_line),
        cmocka_unit_test(resolv_conf_has_one_line_per_value_and_refuses_other_shapes),
        cmocka_unit_test_setup_teardown(dns_ntp_hostname_files_are_written_once, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(ntp_goes_to_timesyncd_or_ntp_conf_and_empty_lists_skip, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(kernel_host_name_is_set_in_a_uts_namespace, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(network_is_applied_and_a_second_apply_changes_nothing, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(a_renamed_boot_nic_keeps_its_address_and_routes, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(a_nic_moves_between_bridges_and_a_dhcp_interface_keeps_its_address,
                                        test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(dhcp_without_a_client_fails_and_the_client_gets_its_arguments, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(missing_nics_and_taken_names_fail_their_step, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(links_of_another_kind_or_vlan_are_conflicts_not_changed, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(management_vlan_goes_on_the_boot_nic, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(bonds_get_their_mode_and_members, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(storage_reports_missing_iscsiadm_and_nfs_failures, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(iscsi_logs_in_once_and_leaves_existing_sessions, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(commands_run_in_order_and_the_first_failure_stops, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(a_command_past_its_timeout_is_killed_with_its_children, test_setup,
                                        test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
