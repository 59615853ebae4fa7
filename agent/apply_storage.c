/* Storage: NFS exports mounted with mount(2) (no mount.nfs needed, which
 * a busybox initrd lacks), iSCSI targets logged in with iscsiadm when the
 * host has it. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>

#include "apply_internal.h"

#define ISCSIADM_TIMEOUT_S 60

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(const char *in, size_t inlen, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < inlen && o + 1 < outlen; i++) {
        if (in[i] == '\\' && i + 3 < inlen && in[i + 1] >= '0' && in[i + 1] <= '3' && in[i + 2] >= '0' &&
            in[i + 2] <= '7' && in[i + 3] >= '0' && in[i + 3] <= '7') {
            out[o++] = (char)((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

/* The n-th space-separated field of line (from 0): its start and length. */
static const char *field(const char *line, int n, size_t *len)
{
    const char *p = line;
    for (int i = 0; i < n; i++) {
        p = strchr(p, ' ');
        if (!p)
            return NULL;
        p++;
    }
    *len = strcspn(p, " \n");
    return p;
}

/* A mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...]
 * - FSTYPE SOURCE SUPEROPTS" (proc(5)). */
int mountinfo_lookup(FILE *mountinfo, const char *mount_point, char *source, size_t srclen, char *fstype,
                     size_t typelen)
{
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    while (getline(&line, &cap, mountinfo) > 0) {
        size_t len;
        const char *mp = field(line, 4, &len);
        if (!mp)
            continue;
        char path[PATH_MAX];
        unescape_octal(mp, len, path, sizeof path);
        if (strcmp(path, mount_point) != 0)
            continue;
        const char *sep = strstr(mp + len, " - ");
        if (!sep)
            continue;
        size_t tl, sl;
        const char *t = field(sep + 3, 0, &tl), *s = field(sep + 3, 1, &sl);
        if (!t || !s)
            continue;
        unescape_octal(t, tl, fstype, typelen);
        unescape_octal(s, sl, source, srclen);
        found = 1;
    }
    bool err = ferror(mountinfo);
    free(line);
    return err ? -1 : found;
}

static const struct {
    const char *name;
    unsigned long set, clear;
} generic_options[] = {
    {"ro", MS_RDONLY, 0},       {"rw", 0, MS_RDONLY},         {"nosuid", MS_NOSUID, 0},
    {"nodev", MS_NODEV, 0},     {"noexec", MS_NOEXEC, 0},     {"noatime", MS_NOATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0}, {"relatime", MS_RELATIME, 0}, {"sync", MS_SYNCHRONOUS, 0},
};

int nfs_mount_options(const char *options, const char *addr, char *out, size_t outlen, unsigned long *flags)
{
    const char *opts = options ? options : "";
    if (strspn(opts, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789,=._:/+-") != strlen(opts) ||
        !is_ipv4(addr))
        return -1;
    size_t at = 0;
    *flags = 0;
    out[0] = '\0';
    for (const char *p = opts; *p;) {
        size_t l = strcspn(p, ",");
        bool generic = false;
        for (size_t i = 0; i < sizeof generic_options / sizeof generic_options[0]; i++) {
            if (strlen(generic_options[i].name) == l && strncmp(p, generic_options[i].name, l) == 0) {
                *flags = (*flags | generic_options[i].set) & ~generic_options[i].clear;
                generic = true;
            }
        }
        bool own_addr = l >= 5 && strncmp(p, "addr=", 5) == 0;
        if (l > 0 && !generic && !own_addr) {
            int n = snprintf(out + at, outlen - at, "%s%.*s", at ? "," : "", (int)l, p);
            if (n < 0 || (size_t)n >= outlen - at)
                return -1;
            at += (size_t)n;
        }
        p += l;
        if (*p == ',')
            p++;
    }
    int n = snprintf(out + at, outlen - at, "%saddr=%s", at ? "," : "", addr);
    return n < 0 || (size_t)n >= outlen - at ? -1 : 0;
}

/* The server as a dotted IPv4 address, through the resolver when it is a
 * name. */
static int resolve_ipv4(const char *server, char *out, size_t outlen, char *msg, size_t msglen)
{
    if (is_ipv4(server)) {
        snprintf(out, outlen, "%s", server);
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int e = getaddrinfo(server, NULL, &hints, &res);
    if (e != 0 || !res) {
        snprintf(msg, msglen, "resolving %s: %s", server, e ? gai_strerror(e) : "no address");
        return -1;
    }
    const struct sockaddr_in *sin = (const struct sockaddr_in *)res->ai_addr;
    inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)outlen);
    freeaddrinfo(res);
    return 0;
}

int apply_nfs(const json_t *nfs, const struct apply_env *env, char *msg, size_t msglen)
{
    const char *server = json_string_value(json_object_get(nfs, "server"));
    const char *export = json_string_value(json_object_get(nfs, "export"));
    const char *mount_rel = json_string_value(json_object_get(nfs, "mount"));
    const char *options = json_string_value(json_object_get(nfs, "options"));
    char target[PATH_MAX], check[PATH_MAX];
    if (!server || (!is_ipv4(server) && !is_host_name(server))) {
        snprintf(msg, msglen, "server is not an IPv4 address or host name");
        return RESULT_FAILED;
    }
    /* The export is part of the source string the kernel gets, never a
     * local path; it still has to be a clean absolute path. */
    if (!export || root_path(NULL, export, check, sizeof check) < 0) {
        snprintf(msg, msglen, "export is not an absolute path");
        return RESULT_FAILED;
    }
    if (!mount_rel || root_path(env, mount_rel, target, sizeof target) < 0) {
        snprintf(msg, msglen, "mount is not a clean absolute path");
        return RESULT_FAILED;
    }
    char source[PATH_MAX + 300];
    snprintf(source, sizeof source, "%s:%s", server, export);

    FILE *mi = fopen("/proc/self/mountinfo", "re");
    if (!mi) {
        snprintf(msg, msglen, "reading /proc/self/mountinfo: %s", strerror(errno));
        return RESULT_FAILED;
    }
    char have_src[PATH_MAX + 300], have_type[64];
    int m = mountinfo_lookup(mi, target, have_src, sizeof have_src, have_type, sizeof have_type);
    fclose(mi);
    if (m < 0) {
        snprintf(msg, msglen, "reading /proc/self/mountinfo failed");
        return RESULT_FAILED;
    }
    if (m == 1) {
        if (strncmp(have_type, "nfs", 3) == 0 && strcmp(have_src, source) == 0)
            return RESULT_UNCHANGED;
        snprintf(msg, msglen, "%s already has %s (%s) mounted; not changed", mount_rel, have_src, have_type);
        return RESULT_FAILED;
    }

    char addr[INET_ADDRSTRLEN], data[1200];
    unsigned long flags;
    if (resolve_ipv4(server, addr, sizeof addr, msg, msglen) < 0)
        return RESULT_FAILED;
    if (nfs_mount_options(options, addr, data, sizeof data, &flags) < 0) {
        snprintf(msg, msglen, "options hold characters outside [A-Za-z0-9,=._:/+-] or are too long");
        return RESULT_FAILED;
    }
    if (mkdir_parents(target, true) < 0) {
        snprintf(msg, msglen, "creating %s: %s", mount_rel, strerror(errno));
        return RESULT_FAILED;
    }
    if (mount(source, target, "nfs", flags, data) < 0) {
        int e = errno;
        snprintf(msg, msglen, "mount %s on %s: %s%s", source, mount_rel, strerror(e),
                 e == ENODEV ? " (no NFS in this kernel?)" : "");
        return RESULT_FAILED;
    }
    snprintf(msg, msglen, "mounted %s", source);
    return RESULT_CHANGED;
}

/* ---- iSCSI ---- */

static bool is_portal(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    return len > 0 && len < 270 && s[0] != '-' &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:-") == len;
}

static bool is_iscsi_name(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    return len > 4 && len <= 223 &&
           (strncmp(s, "iqn.", 4) == 0 || strncmp(s, "eui.", 4) == 0 || strncmp(s, "naa.", 4) == 0) &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:-") == len;
}

/* Lines of `iscsiadm -m session`: "tcp: [1] 10.0.0.10:3260,1 iqn... (non-flash)". */
static bool session_has(const char *text, const char *target)
{
    size_t tl = strlen(target);
    for (const char *p = strstr(text, target); p; p = strstr(p + 1, target)) {
        bool start = p == text || p[-1] == ' ';
        bool end = p[tl] == '\0' || p[tl] == ' ' || p[tl] == '\n';
        if (start && end)
            return true;
    }
    return false;
}

static int iscsiadm(const char *path, char **args, char *out, size_t outcap, struct proc_result *r, char *msg,
                    size_t msglen)
{
    char *argv[12] = {(char *)path};
    size_t n = 1;
    for (; args[n - 1] && n < 11; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    r->out = out;
    r->outcap = outcap;
    return proc_run(argv, ISCSIADM_TIMEOUT_S, r, msg, msglen);
}

static int iscsiadm_failed(const char *what, const struct proc_result *r, char *msg, size_t msglen)
{
    char line[200];
    last_line(r->out, line, sizeof line);
    if (r->timed_out)
        snprintf(msg, msglen, "iscsiadm %s: no answer within %d s", what, ISCSIADM_TIMEOUT_S);
    else
        snprintf(msg, msglen, "iscsiadm %s: %s %d%s%s", what, r->exited ? "exit" : "signal",
                 r->exited ? r->exit_code : r->term_signal, line[0] ? ": " : "", line);
    return RESULT_FAILED;
}

int apply_iscsi(const json_t *iscsi, const struct apply_env *env, char *msg, size_t msglen)
{
    const char *portal = json_string_value(json_object_get(iscsi, "portal"));
    const char *target = json_string_value(json_object_get(iscsi, "target"));
    if (!is_portal(portal) || !is_iscsi_name(target)) {
        snprintf(msg, msglen, "portal or target has another shape than address[:port] and iqn./eui./naa.");
        return RESULT_FAILED;
    }
    char path[PATH_MAX];
    if (find_on_path("iscsiadm", path, sizeof path) < 0) {
        snprintf(msg, msglen, "iscsiadm not found");
        return RESULT_SKIPPED;
    }
    char *out = malloc(65536);
    if (!out) {
        snprintf(msg, msglen, "out of memory");
        return RESULT_FAILED;
    }
    struct proc_result r;
    int result = RESULT_FAILED;
    char *session[] = {"-m", "session", NULL};
    if (iscsiadm(path, session, out, 65536, &r, msg, msglen) < 0)
        goto out;
    /* Exit 21: no sessions at all. */
    if (r.exited && r.exit_code == 0 && session_has(out, target)) {
        result = RESULT_UNCHANGED;
        goto out;
    }
    if (!r.exited || (r.exit_code != 0 && r.exit_code != 21)) {
        result = iscsiadm_failed("-m session", &r, msg, msglen);
        goto out;
    }
    char *discover[] = {"-m", "discovery", "-t", "sendtargets", "-p", (char *)portal, NULL};
    if (iscsiadm(path, discover, out, 65536, &r, msg, msglen) < 0)
        goto out;
    if (!r.exited || r.exit_code != 0) {
        result = iscsiadm_failed("discovery", &r, msg, msglen);
        goto out;
    }
    char *login[] = {"-m", "node", "-T", (char *)target, "-p", (char *)portal, "--login", NULL};
    if (iscsiadm(path, login, out, 65536, &r, msg, msglen) < 0)
        goto out;
    if (!r.exited || r.exit_code != 0) {
        result = iscsiadm_failed("login", &r, msg, msglen);
        goto out;
    }
    snprintf(msg, msglen, "logged in to %s at %s", target, portal);
    result = RESULT_CHANGED;
out:
    free(out);
    return result;
}
