/* agent/facts: what the agent reads from a fake /sys and /proc tree —
 * DMI, CPUs and memory, physical NICs, every link with its kind, disks —
 * and which NIC counts as the boot NIC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "facts.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX], dir[PATH_MAX];
    snprintf(path, sizeof path, "%s%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    if (text) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    } else {
        mkdir(path, 0755);
    }
}

static void put_link(const char *rel, const char *target)
{
    char path[PATH_MAX];
    put(rel, NULL);
    snprintf(path, sizeof path, "%s%s", root, rel);
    rmdir(path);
    assert_int_equal(symlink(target, path), 0);
}

static void net(const char *name, const char *mac, const char *mtu, const char *flags)
{
    char rel[128];
    snprintf(rel, sizeof rel, "/sys/class/net/%s/address", name);
    put(rel, mac);
    snprintf(rel, sizeof rel, "/sys/class/net/%s/mtu", name);
    put(rel, mtu);
    snprintf(rel, sizeof rel, "/sys/class/net/%s/flags", name);
    put(rel, flags);
    snprintf(rel, sizeof rel, "/sys/class/net/%s/ifindex", name);
    put(rel, "1\n");
}

static int setup(void **state)
{
    snprintf(root, sizeof root, "/tmp/mwt-facts.XXXXXX");
    assert_non_null(mkdtemp(root));
    put("/sys/class/dmi/id/product_uuid", "4C4C4544-0042-3510-8051-B7C04F4E3332\n");
    put("/sys/class/dmi/id/product_serial", "SER\x01IAL \n");
    put("/sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
    put("/sys/class/dmi/id/product_name", "PowerEdge R740\n");
    put("/proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6130\n\n"
                         "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6130\n\n");
    put("/proc/meminfo", "MemTotal:        2048 kB\nMemFree:          100 kB\n");
    net("eth0", "52:54:00:00:00:0a\n", "1500\n", "0x1003\n");
    put("/sys/class/net/eth0/device", NULL);
    put_link("/sys/class/net/eth0/device/driver", "../../../bus/pci/drivers/virtio_net");
    put("/sys/class/net/eth0/carrier", "1\n");
    put("/sys/class/net/eth0/speed", "1000\n");
    put("/sys/class/net/eth0/type", "1\n");
    net("eth1", "52:54:00:00:00:0b\n", "9000\n", "0x1002\n");
    put("/sys/class/net/eth1/device", NULL);
    put_link("/sys/class/net/eth1/device/driver", "../../../bus/pci/drivers/ixgbe");
    put("/sys/class/net/eth1/carrier", "0\n");
    put("/sys/class/net/eth1/speed", "-1\n");
    put_link("/sys/class/net/eth1/master", "../bond0");
    net("bond0", "52:54:00:00:00:0b\n", "9000\n", "0x1403\n");
    put("/sys/class/net/bond0/bonding", NULL);
    net("bond0.42", "52:54:00:00:00:0b\n", "9000\n", "0x1003\n");
    put("/sys/class/net/bond0.42/uevent", "DEVTYPE=vlan\nINTERFACE=bond0.42\n");
    put("/proc/net/vlan/bond0.42", "bond0.42  VID: 42\t REF : 1  regdev: 1\n");
    put_link("/sys/class/net/bond0.42/master", "../br0");
    net("br0", "52:54:00:00:00:0b\n", "9000\n", "0x1003\n");
    put("/sys/class/net/br0/bridge", NULL);
    net("lo", "00:00:00:00:00:00\n", "65536\n", "0x9\n");
    put("/sys/class/net/lo/type", "772\n");
    net("dummy0", "aa:aa:aa:aa:aa:aa\n", "1500\n", "0x82\n");
    /* Not a link: the bonding module's control file sits beside them. */
    put("/sys/class/net/bonding_masters", "bond0\n");
    put("/sys/block/sda/size", "2048\n");
    put("/sys/block/sda/device/model", "QEMU HARDDISK   \n");
    put("/sys/block/vda/size", "8\n");
    put("/sys/block/loop0/size", "100\n");
    put("/sys/block/ram0/size", "100\n");
    put("/sys/block/zram0/size", "100\n");
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s)
        fail_msg("no string %s", k);
    return s;
}

static void dmi_cpu_and_memory(void **state)
{
    json_t *f = json_object();
    facts_dmi(root, f);
    facts_cpu_memory(root, f);
    assert_string_equal(str(f, "uuid"), "4c4c4544-0042-3510-8051-b7c04f4e3332");
    assert_string_equal(str(f, "serial"), "SER?IAL"); /* the control byte replaced, blanks trimmed */
    assert_string_equal(str(f, "vendor"), "Dell Inc.");
    assert_string_equal(str(f, "model"), "PowerEdge R740");
    assert_int_equal(json_integer_value(json_object_get(f, "cpus")), 2);
    assert_string_equal(str(f, "cpu_model"), "Intel(R) Xeon(R) Gold 6130");
    assert_int_equal(json_integer_value(json_object_get(f, "memory_bytes")), 2048 * 1024);
    json_decref(f);
}

static void a_machine_without_dmi_reports_empty_strings(void **state)
{
    json_t *f = json_object();
    facts_dmi("/nonexistent-root", f);
    facts_cpu_memory("/nonexistent-root", f);
    assert_string_equal(str(f, "uuid"), "");
    assert_string_equal(str(f, "serial"), "");
    assert_int_equal(json_integer_value(json_object_get(f, "cpus")), 0);
    json_decref(f);
}

static void only_physical_nics_with_driver_link_and_speed(void **state)
{
    json_t *nics = facts_nics(root);
    assert_int_equal(json_array_size(nics), 2);
    json_t *e0 = json_array_get(nics, 0), *e1 = json_array_get(nics, 1);
    assert_string_equal(str(e0, "name"), "eth0");
    assert_string_equal(str(e0, "mac"), "52:54:00:00:00:0a");
    assert_string_equal(str(e0, "driver"), "virtio_net");
    assert_true(json_is_true(json_object_get(e0, "link")));
    assert_int_equal(json_integer_value(json_object_get(e0, "speed_mbps")), 1000);
    assert_string_equal(str(e1, "name"), "eth1");
    assert_string_equal(str(e1, "driver"), "ixgbe");
    assert_true(json_is_false(json_object_get(e1, "link")));
    assert_null(json_object_get(e1, "speed_mbps")); /* -1: unknown */
    json_decref(nics);
}

static json_t *link_named(json_t *links, const char *name)
{
    size_t i;
    json_t *l;
    json_array_foreach(links, i, l) if (strcmp(str(l, "name"), name) == 0) return l;
    fail_msg("no link %s", name);
    return NULL;
}

static void every_link_with_its_kind_master_and_addresses(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET}, m = {.sin_family = AF_INET};
    inet_pton(AF_INET, "10.0.42.5", &a.sin_addr);
    inet_pton(AF_INET, "255.255.255.0", &m.sin_addr);
    struct sockaddr_in6 six = {.sin6_family = AF_INET6};
    struct ifaddrs v6 = {.ifa_name = (char *)"br0", .ifa_addr = (struct sockaddr *)&six};
    struct ifaddrs v4 = {.ifa_next = &v6, .ifa_name = (char *)"br0", .ifa_addr = (struct sockaddr *)&a,
                         .ifa_netmask = (struct sockaddr *)&m};
    json_t *links = facts_links(root, &v4);
    assert_int_equal(json_array_size(links), 7);
    for (size_t k = 0; k < json_array_size(links); k++)
        assert_string_not_equal(str(json_array_get(links, k), "name"), "bonding_masters");
    static const struct {
        const char *name, *kind;
    } kinds[] = {{"bond0", "bond"},   {"bond0.42", "vlan"}, {"br0", "bridge"}, {"dummy0", "other"},
                 {"eth0", "device"}, {"eth1", "device"},   {"lo", "loopback"}};
    for (size_t i = 0; i < 7; i++) {
        json_t *l = json_array_get(links, i);
        assert_string_equal(str(l, "name"), kinds[i].name); /* sorted by name */
        assert_string_equal(str(l, "kind"), kinds[i].kind);
    }
    json_t *vlan = link_named(links, "bond0.42");
    assert_int_equal(json_integer_value(json_object_get(vlan, "vlan_id")), 42);
    assert_string_equal(str(vlan, "master"), "br0");
    assert_string_equal(str(link_named(links, "eth1"), "master"), "bond0");
    assert_null(json_object_get(link_named(links, "eth0"), "master"));
    assert_null(json_object_get(link_named(links, "eth0"), "vlan_id"));
    json_t *br = link_named(links, "br0");
    assert_int_equal(json_integer_value(json_object_get(br, "mtu")), 9000);
    assert_true(json_is_true(json_object_get(br, "up")));
    assert_int_equal(json_array_size(json_object_get(br, "addresses")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(br, "addresses"), 0)), "10.0.42.5/24");
    assert_true(json_is_false(json_object_get(link_named(links, "eth1"), "up")));
    assert_true(json_is_false(json_object_get(link_named(links, "dummy0"), "up")));
    assert_int_equal(json_array_size(json_object_get(link_named(links, "eth0"), "addresses")), 0);
    json_decref(links);
}

static void disks_but_loop_ram_and_zram(void **state)
{
    json_t *d = facts_disks(root);
    assert_int_equal(json_array_size(d), 2);
    assert_string_equal(str(json_array_get(d, 0), "name"), "sda");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "size_bytes")), 2048 * 512);
    assert_string_equal(str(json_array_get(d, 0), "model"), "QEMU HARDDISK");
    assert_string_equal(str(json_array_get(d, 1), "name"), "vda");
    assert_string_equal(str(json_array_get(d, 1), "model"), "");
    json_decref(d);
}

static void the_boot_nic(void **state)
{
    json_t *nics = facts_nics(root);
    char mac[18];
    /* No route, no address: the first NIC. */
    facts_boot_mac(root, nics, NULL, NULL, mac);
    assert_string_equal(mac, "52:54:00:00:00:0a");
    /* The first NIC with an address. */
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "10.0.0.9", &a.sin_addr);
    struct ifaddrs v4 = {.ifa_name = (char *)"eth1", .ifa_addr = (struct sockaddr *)&a};
    facts_boot_mac(root, nics, &v4, NULL, mac);
    assert_string_equal(mac, "52:54:00:00:00:0b");
    /* The default route's NIC wins over addresses. */
    put("/proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                           "eth1\t002AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
                           "eth0\t00000000\t012AA8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
    facts_boot_mac(root, nics, &v4, NULL, mac);
    assert_string_equal(mac, "52:54:00:00:00:0a");
    /* midwife.mac= wins over everything. */
    const uint8_t given[6] = {0x02, 0, 0, 0, 0, 0x01};
    facts_boot_mac(root, nics, &v4, given, mac);
    assert_string_equal(mac, "02:00:00:00:00:01");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/proc/net/route", root);
    unlink(rel);
    json_decref(nics);
}

static void collect_has_the_birth_shape_boot_mac_first(void **state)
{
    const uint8_t given[6] = {0x52, 0x54, 0, 0, 0, 0x0b};
    json_t *f = facts_collect(root, given);
    assert_non_null(f);
    static const char *const keys[] = {"macs", "boot_mac", "uuid",  "serial", "vendor", "model",    "cpus",
                                       "cpu_model", "memory_bytes", "nics", "disks", "links", "hostname", "agent"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(f, keys[i]))
            fail_msg("no %s", keys[i]);
    json_t *macs = json_object_get(f, "macs");
    assert_int_equal(json_array_size(macs), 2);
    assert_string_equal(json_string_value(json_array_get(macs, 0)), "52:54:00:00:00:0b");
    assert_string_equal(json_string_value(json_array_get(macs, 1)), "52:54:00:00:00:0a");
    assert_string_equal(str(f, "boot_mac"), "52:54:00:00:00:0b");
    assert_string_equal(str(f, "agent"), MIDWIFE_VERSION);
    assert_true(json_is_string(json_object_get(f, "hostname")));
    json_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dmi_cpu_and_memory),
        cmocka_unit_test(a_machine_without_dmi_reports_empty_strings),
        cmocka_unit_test(only_physical_nics_with_driver_link_and_speed),
        cmocka_unit_test(every_link_with_its_kind_master_and_addresses),
        cmocka_unit_test(disks_but_loop_ram_and_zram),
        cmocka_unit_test(the_boot_nic),
        cmocka_unit_test(collect_has_the_birth_shape_boot_mac_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
