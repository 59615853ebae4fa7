/* Facts about this machine (see facts.h). Everything is read from files
 * under a root prefix, so one code path serves a real host and a test's
 * fake /sys and /proc. */
#include "facts.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util/addr.h"

#define FACT_TEXT_MAX 256
#define FACTS_LIST_MAX 256 /* interfaces or disks reported, at most */

/* Reads ROOT/PATH (at most size-1 bytes), trailing blanks removed. The
 * length, or -1 when the file cannot be read. */
static int read_text(const char *root, const char *path, char *buf, size_t size)
{
    char full[PATH_MAX];
    if (snprintf(full, sizeof full, "%s%s", root, path) >= (int)sizeof full)
        return -1;
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = read(fd, buf, size - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return -1;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\0'))
        n--;
    buf[n] = '\0';
    return (int)n;
}

/* Firmware and drivers may put any byte in a string: keep printable
 * ASCII (so the JSON is valid UTF-8 and a console stays sane). */
static char *printable(char *s)
{
    char *w = s;
    const char *r = s;
    while (*r == ' ' || *r == '\t')
        r++;
    for (; *r; r++)
        *w++ = (*r >= 0x20 && *r < 0x7f) ? *r : '?';
    *w = '\0';
    while (w > s && w[-1] == ' ')
        *--w = '\0';
    return s;
}

static void text_fact(const char *root, const char *path, json_t *out, const char *key)
{
    char buf[FACT_TEXT_MAX];
    if (read_text(root, path, buf, sizeof buf) < 0)
        buf[0] = '\0';
    json_object_set_new(out, key, json_string(printable(buf)));
}

/* "DIR/NAME/FILE" (FILE may be NULL) into a caller's buffer. */
static const char *rel_path(char out[PATH_MAX], const char *dir, const char *name, const char *file)
{
    snprintf(out, PATH_MAX, "%s/%s%s%s", dir, name, file ? "/" : "", file ? file : "");
    return out;
}

#define NET "/sys/class/net"

static bool exists(const char *root, const char *rel)
{
    char full[PATH_MAX];
    if (snprintf(full, sizeof full, "%s%s", root, rel) >= (int)sizeof full)
        return false;
    struct stat st;
    return stat(full, &st) == 0;
}

static long long read_number(const char *root, const char *rel, int base, bool *ok)
{
    char buf[64];
    *ok = false;
    if (read_text(root, rel, buf, sizeof buf) <= 0)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, base);
    if (errno || *end)
        return 0;
    *ok = true;
    return v;
}

/* The last component a symlink under ROOT points at ("" if none). */
static void link_basename(const char *root, const char *rel, char *out, size_t outlen)
{
    char full[PATH_MAX], target[PATH_MAX];
    out[0] = '\0';
    if (snprintf(full, sizeof full, "%s%s", root, rel) >= (int)sizeof full)
        return;
    ssize_t n = readlink(full, target, sizeof target - 1);
    if (n <= 0)
        return;
    target[n] = '\0';
    const char *b = strrchr(target, '/');
    b = b ? b + 1 : target;
    size_t len = strlen(b);
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, b, len);
    out[len] = '\0';
    printable(out);
}

int facts_dmi(const char *root, json_t *out)
{
    char uuid[FACT_TEXT_MAX];
    if (read_text(root, "/sys/class/dmi/id/product_uuid", uuid, sizeof uuid) < 0)
        uuid[0] = '\0';
    for (char *p = printable(uuid); *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    json_object_set_new(out, "uuid", json_string(uuid));
    text_fact(root, "/sys/class/dmi/id/product_serial", out, "serial");
    text_fact(root, "/sys/class/dmi/id/sys_vendor", out, "vendor");
    text_fact(root, "/sys/class/dmi/id/product_name", out, "model");
    return 0;
}

static FILE *open_under(const char *root, const char *path)
{
    char full[PATH_MAX];
    if (snprintf(full, sizeof full, "%s%s", root, path) >= (int)sizeof full)
        return NULL;
    return fopen(full, "re");
}

/* "key<blanks>: value" → value, when line starts with key. */
static const char *field_value(const char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return NULL;
    const char *p = line + n;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int facts_cpu_memory(const char *root, json_t *out)
{
    long cpus = 0;
    char model[FACT_TEXT_MAX] = "";
    char line[1024];
    FILE *f = open_under(root, "/proc/cpuinfo");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        const char *v;
        if (field_value(line, "processor"))
            cpus++;
        else if (!model[0] && (v = field_value(line, "model name")) != NULL)
            snprintf(model, sizeof model, "%s", v);
    }
    if (f)
        fclose(f);
    json_object_set_new(out, "cpus", json_integer(cpus));
    json_object_set_new(out, "cpu_model", json_string(printable(model)));

    long long mem = 0;
    f = open_under(root, "/proc/meminfo");
    while (f && fgets(line, sizeof line, f)) {
        const char *v = field_value(line, "MemTotal");
        if (v) {
            long long kb = strtoll(v, NULL, 10);
            if (kb > 0 && kb < LLONG_MAX / 1024)
                mem = kb * 1024;
            break;
        }
    }
    if (f)
        fclose(f);
    json_object_set_new(out, "memory_bytes", json_integer(mem));
    return 0;
}

static int not_dot(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Entries of ROOT/PATH sorted by name; *n of them. */
static struct dirent **list_dir(const char *root, const char *path, int *n)
{
    char full[PATH_MAX];
    struct dirent **names = NULL;
    *n = 0;
    if (snprintf(full, sizeof full, "%s%s", root, path) >= (int)sizeof full)
        return NULL;
    int r = scandir(full, &names, not_dot, alphasort);
    if (r < 0)
        return NULL;
    *n = r;
    return names;
}

static void free_list(struct dirent **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Kernel interface names are at most 15 bytes; anything else is not one. */
static bool ifname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= IFNAMSIZ)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 0x7f || *s == '/')
            return false;
    return true;
}

static void mac_of(const char *root, const char *ifname, char out[FACT_TEXT_MAX])
{
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "/sys/class/net/%s/address", ifname);
    if (read_text(root, rel, out, FACT_TEXT_MAX) < 0)
        out[0] = '\0';
    printable(out);
}

json_t *facts_nics(const char *root)
{
    char rp[PATH_MAX];
    json_t *nics = json_array();
    int n;
    struct dirent **names = list_dir(root, "/sys/class/net", &n);
    for (int i = 0; nics && i < n && json_array_size(nics) < FACTS_LIST_MAX; i++) {
        const char *name = names[i]->d_name;
        if (!ifname_ok(name) || !exists(root, rel_path(rp, NET, name, "device")))
            continue;
        char mac[FACT_TEXT_MAX], driver[FACT_TEXT_MAX];
        mac_of(root, name, mac);
        link_basename(root, rel_path(rp, NET, name, "device/driver"), driver, sizeof driver);
        bool ok;
        long long carrier = read_number(root, rel_path(rp, NET, name, "carrier"), 10, &ok);
        json_t *nic = json_pack("{s:s, s:s, s:s, s:b}", "name", name, "mac", mac, "driver", driver, "link",
                                ok && carrier == 1);
        /* An unknown speed reads as -1 (or fails while the link is down):
         * then the key is left out. */
        long long speed = read_number(root, rel_path(rp, NET, name, "speed"), 10, &ok);
        if (nic && ok && speed > 0)
            json_object_set_new(nic, "speed_mbps", json_integer(speed));
        json_array_append_new(nics, nic);
    }
    free_list(names, n);
    return nics;
}

/* "eth0.42  VID: 42  REF : 1 ..." in /proc/net/vlan/NAME. */
static long vlan_id_of(const char *root, const char *name)
{
    char rel[PATH_MAX], buf[512];
    snprintf(rel, sizeof rel, "/proc/net/vlan/%s", name);
    if (read_text(root, rel, buf, sizeof buf) < 0)
        return -1;
    const char *v = strstr(buf, "VID:");
    if (!v)
        return -1;
    long id = strtol(v + 4, NULL, 10);
    return id >= 1 && id <= 4094 ? id : -1;
}

static bool uevent_says_vlan(const char *root, const char *name)
{
    char rel[PATH_MAX], buf[1024];
    snprintf(rel, sizeof rel, "/sys/class/net/%s/uevent", name);
    if (read_text(root, rel, buf, sizeof buf) < 0)
        return false;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (strcmp(line, "DEVTYPE=vlan") == 0)
            return true;
    return false;
}

static const char *link_kind(const char *root, const char *name)
{
    char rp[PATH_MAX];
    bool ok;
    long long type = read_number(root, rel_path(rp, NET, name, "type"), 10, &ok);
    if (strcmp(name, "lo") == 0 || (ok && type == 772 /* ARPHRD_LOOPBACK */))
        return "loopback";
    if (exists(root, rel_path(rp, NET, name, "bridge")))
        return "bridge";
    if (exists(root, rel_path(rp, NET, name, "bonding")))
        return "bond";
    if (exists(root, rel_path(rp, "/proc/net/vlan", name, NULL)) || uevent_says_vlan(root, name))
        return "vlan";
    if (exists(root, rel_path(rp, NET, name, "device")))
        return "device";
    return "other";
}

static unsigned prefix_of(const struct sockaddr *mask)
{
    if (!mask || mask->sa_family != AF_INET)
        return 32;
    uint32_t m = ntohl(((const struct sockaddr_in *)(const void *)mask)->sin_addr.s_addr);
    return (unsigned)__builtin_popcount(m);
}

static json_t *addresses_of(const char *name, const struct ifaddrs *ifa)
{
    json_t *list = json_array();
    for (const struct ifaddrs *a = ifa; list && a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_name || strcmp(a->ifa_name, name) != 0)
            continue;
        char ip[INET_ADDRSTRLEN], text[INET_ADDRSTRLEN + 4];
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr, ip, sizeof ip);
        snprintf(text, sizeof text, "%s/%u", ip, prefix_of(a->ifa_netmask));
        json_array_append_new(list, json_string(text));
        if (json_array_size(list) >= 64)
            break;
    }
    return list;
}

json_t *facts_links(const char *root, const struct ifaddrs *ifa)
{
    char rp[PATH_MAX];
    json_t *links = json_array();
    int n;
    struct dirent **names = list_dir(root, "/sys/class/net", &n);
    for (int i = 0; links && i < n && json_array_size(links) < FACTS_LIST_MAX; i++) {
        const char *name = names[i]->d_name;
        /* Every link has an ifindex; /sys/class/net also holds plain files
         * (bonding_masters, once the bonding module is loaded). */
        if (!ifname_ok(name) || !exists(root, rel_path(rp, NET, name, "ifindex")))
            continue;
        char mac[FACT_TEXT_MAX], master[FACT_TEXT_MAX];
        mac_of(root, name, mac);
        const char *kind = link_kind(root, name);
        bool ok;
        long long mtu = read_number(root, rel_path(rp, NET, name, "mtu"), 10, &ok);
        long long flags = read_number(root, rel_path(rp, NET, name, "flags"), 16, &ok);
        json_t *l = json_pack("{s:s, s:s, s:s, s:I, s:b, s:o}", "name", name, "mac", mac, "kind", kind, "mtu",
                              (json_int_t)mtu, "up", ok && (flags & IFF_UP), "addresses", addresses_of(name, ifa));
        if (!l)
            continue;
        long id = strcmp(kind, "vlan") == 0 ? vlan_id_of(root, name) : -1;
        if (id > 0)
            json_object_set_new(l, "vlan_id", json_integer(id));
        link_basename(root, rel_path(rp, NET, name, "master"), master, sizeof master);
        if (master[0])
            json_object_set_new(l, "master", json_string(master));
        json_array_append_new(links, l);
    }
    free_list(names, n);
    return links;
}

static bool skipped_disk(const char *name)
{
    return strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0 || strncmp(name, "zram", 4) == 0;
}

json_t *facts_disks(const char *root)
{
    char rp[PATH_MAX];
    json_t *disks = json_array();
    int n;
    struct dirent **names = list_dir(root, "/sys/block", &n);
    for (int i = 0; disks && i < n && json_array_size(disks) < FACTS_LIST_MAX; i++) {
        const char *name = names[i]->d_name;
        if (skipped_disk(name) || !ifname_ok(name))
            continue;
        bool ok;
        long long sectors = read_number(root, rel_path(rp, "/sys/block", name, "size"), 10, &ok);
        if (!ok || sectors < 0 || sectors > LLONG_MAX / 512)
            sectors = 0;
        char rel[PATH_MAX], model[FACT_TEXT_MAX];
        snprintf(rel, sizeof rel, "/sys/block/%s/device/model", name);
        if (read_text(root, rel, model, sizeof model) < 0)
            model[0] = '\0';
        json_array_append_new(disks, json_pack("{s:s, s:I, s:s}", "name", name, "size_bytes",
                                               (json_int_t)(sectors * 512), "model", printable(model)));
    }
    free_list(names, n);
    return disks;
}

/* The interface of the default route in ROOT/proc/net/route. */
static bool default_route_dev(const char *root, char *dev, size_t devlen)
{
    FILE *f = open_under(root, "/proc/net/route");
    char line[512];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
        char iface[64], dest[16], mask[16];
        /* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
        if (sscanf(line, "%63s %15s %*s %*s %*s %*s %*s %15s", iface, dest, mask) == 3 &&
            strcmp(dest, "00000000") == 0 && strcmp(mask, "00000000") == 0) {
            snprintf(dev, devlen, "%s", iface);
            found = true;
        }
    }
    if (f)
        fclose(f);
    return found;
}

static const char *nic_mac(const json_t *nics, const char *name)
{
    size_t i;
    const json_t *nic;
    json_array_foreach(nics, i, nic) {
        if (!name || strcmp(json_string_value(json_object_get(nic, "name")), name) == 0)
            return json_string_value(json_object_get(nic, "mac"));
    }
    return NULL;
}

static bool has_ipv4(const char *name, const struct ifaddrs *ifa)
{
    for (const struct ifaddrs *a = ifa; a; a = a->ifa_next)
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && a->ifa_name && strcmp(a->ifa_name, name) == 0)
            return true;
    return false;
}

void facts_boot_mac(const char *root, const json_t *nics, const struct ifaddrs *ifa, const uint8_t *boot_mac,
                    char out[18])
{
    out[0] = '\0';
    if (boot_mac) {
        format_mac(boot_mac, out);
        return;
    }
    char dev[64];
    const char *m = NULL;
    if (default_route_dev(root, dev, sizeof dev))
        m = nic_mac(nics, dev);
    size_t i;
    const json_t *nic;
    json_array_foreach(nics, i, nic) {
        if (m)
            break;
        if (has_ipv4(json_string_value(json_object_get(nic, "name")), ifa))
            m = json_string_value(json_object_get(nic, "mac"));
    }
    if (!m)
        m = nic_mac(nics, NULL);
    if (m)
        snprintf(out, 18, "%s", m);
}

json_t *facts_collect(const char *root, const uint8_t *boot_mac)
{
    if (!root)
        root = "";
    json_t *f = json_object();
    if (!f)
        return NULL;
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) < 0)
        ifa = NULL;
    json_t *nics = facts_nics(root);
    char boot[18];
    facts_boot_mac(root, nics, ifa, boot_mac, boot);
    json_t *macs = json_array();
    uint8_t b[6];
    if (boot[0] && parse_mac(boot, b) == 0)
        json_array_append_new(macs, json_string(boot));
    size_t i;
    const json_t *nic;
    json_array_foreach(nics, i, nic) {
        const char *m = json_string_value(json_object_get(nic, "mac"));
        if (!m || parse_mac(m, b) < 0 || strcmp(m, boot) == 0 || json_array_size(macs) >= 32)
            continue;
        json_array_append_new(macs, json_string(m));
    }
    json_object_set_new(f, "macs", macs);
    if (boot[0] && parse_mac(boot, b) == 0)
        json_object_set_new(f, "boot_mac", json_string(boot));
    facts_dmi(root, f);
    facts_cpu_memory(root, f);
    json_object_set_new(f, "nics", nics);
    json_object_set_new(f, "links", facts_links(root, ifa));
    json_object_set_new(f, "disks", facts_disks(root));
    struct utsname u;
    char host[sizeof u.nodename];
    snprintf(host, sizeof host, "%s", uname(&u) == 0 ? u.nodename : "");
    json_object_set_new(f, "hostname", json_string(printable(host)));
    json_object_set_new(f, "agent", json_string(MIDWIFE_VERSION));
    if (ifa)
        freeifaddrs(ifa);
    return f;
}
