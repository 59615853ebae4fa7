/* Files apply writes under ROOT: the host name (kernel, /etc/hostname,
 * the /etc/hosts line), /etc/resolv.conf and the NTP sources of the time
 * daemon found. Every value is checked for its shape once more before it
 * becomes a line, every file is written whole (temp + rename) and only
 * when its content changes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply_internal.h"
#include "path.h"

#define FILE_MAX (256 * 1024)

int root_path(const struct apply_env *env, const char *rel, char *out, size_t outlen)
{
    if (!rel || rel[0] != '/')
        return -1;
    for (const char *p = rel; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return -1;
    /* The document's path rule (path.h); "/" stands for the root itself. */
    if (strcmp(rel, "/") != 0 && !path_clean(rel))
        return -1;
    const char *root = env && env->root ? env->root : "";
    size_t rl = strlen(root);
    while (rl > 0 && root[rl - 1] == '/')
        rl--;
    int n = snprintf(out, outlen, "%.*s%s", (int)rl, root, rel);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int mkdir_parents(const char *path, bool include_last)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    char *last = strrchr(buf, '/');
    if (!include_last && last)
        *last = '\0';
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (buf[0] && mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (buf[0] && (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode))) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int read_small_file(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 1 : -1;
    size_t have = 0;
    for (;;) {
        if (have + 1 >= cap) {
            close(fd);
            errno = EFBIG;
            return -1;
        }
        ssize_t got = read(fd, buf + have, cap - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (got == 0)
            break;
        have += (size_t)got;
    }
    close(fd);
    buf[have] = '\0';
    *len = have;
    return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int write_if_differs(const char *path, const char *content, size_t len, char *msg, size_t msglen)
{
    char *old = malloc(FILE_MAX);
    if (!old) {
        snprintf(msg, msglen, "out of memory");
        return RESULT_FAILED;
    }
    size_t oldlen = 0;
    int r = read_small_file(path, old, FILE_MAX, &oldlen);
    bool same = r == 0 && oldlen == len && memcmp(old, content, len) == 0;
    free(old);
    if (same)
        return RESULT_UNCHANGED;
    if (mkdir_parents(path, false) < 0) {
        snprintf(msg, msglen, "creating the directory of %s: %s", path, strerror(errno));
        return RESULT_FAILED;
    }
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.midwife-%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(msg, msglen, "%s: path too long", path);
        return RESULT_FAILED;
    }
    unlink(tmp); /* a leftover of a crashed run */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(msg, msglen, "creating %s: %s", tmp, strerror(errno));
        return RESULT_FAILED;
    }
    if (write_all(fd, content, len) < 0 || fsync(fd) < 0) {
        snprintf(msg, msglen, "writing %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return RESULT_FAILED;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        snprintf(msg, msglen, "renaming %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return RESULT_FAILED;
    }
    return RESULT_CHANGED;
}

bool is_ipv4(const char *s)
{
    struct in_addr in;
    return s && strlen(s) < INET_ADDRSTRLEN && inet_pton(AF_INET, s, &in) == 1;
}

bool is_host_name(const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || s[i - 1] == '-' || label > 63)
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok || (label == 0 && c == '-'))
            return false;
        label++;
    }
    return true;
}

/* Appends text to a bounded buffer; -1 when it does not fit. */
static int put(char *out, size_t outlen, size_t *at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int put(char *out, size_t outlen, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *at, outlen - *at, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= outlen - *at)
        return -1;
    *at += (size_t)n;
    return 0;
}

/* ---- host name ---- */

/* /etc/hosts with our "127.0.1.1 NAME [SHORT]" line (Debian's convention
 * for the host's own name) in place of any earlier one. */
static int render_hosts(const char *old, const char *line, char *out, size_t outlen)
{
    size_t at = 0;
    bool placed = false;
    if (!old)
        old = "127.0.0.1\tlocalhost\n";
    for (const char *p = old; *p;) {
        const char *eol = strchrnul(p, '\n');
        size_t l = (size_t)(eol - p);
        bool ours = l >= 9 && strncmp(p, "127.0.1.1", 9) == 0 && (l == 9 || p[9] == ' ' || p[9] == '\t');
        if (ours && !placed) {
            if (put(out, outlen, &at, "%s\n", line) < 0)
                return -1;
            placed = true;
        } else if (!ours && put(out, outlen, &at, "%.*s\n", (int)l, p) < 0) {
            return -1;
        }
        p = *eol ? eol + 1 : eol;
    }
    if (!placed && put(out, outlen, &at, "%s\n", line) < 0)
        return -1;
    return (int)at;
}

int apply_hostname(const json_t *doc, const struct apply_env *env, char *msg, size_t msglen)
{
    const char *name = json_string_value(json_object_get(doc, "hostname"));
    if (!name || !name[0]) {
        snprintf(msg, msglen, "no hostname in the document");
        return RESULT_SKIPPED;
    }
    if (!is_host_name(name)) {
        snprintf(msg, msglen, "'%s' is not a host name", name);
        return RESULT_FAILED;
    }
    /* The kernel takes at most 64 bytes: a longer name gives it its first
     * label. */
    char kernel_name[65];
    size_t short_len = strcspn(name, ".");
    if (strlen(name) < sizeof kernel_name)
        snprintf(kernel_name, sizeof kernel_name, "%s", name);
    else
        snprintf(kernel_name, sizeof kernel_name, "%.*s", (int)(short_len < 64 ? short_len : 63), name);
    bool changed = false;
    msg[0] = '\0';
    if (env->set_kernel_hostname) {
        char have[256] = "";
        if (gethostname(have, sizeof have - 1) < 0 || strcmp(have, kernel_name) != 0) {
            if (sethostname(kernel_name, strlen(kernel_name)) < 0) {
                snprintf(msg, msglen, "sethostname: %s", strerror(errno));
                return RESULT_FAILED;
            }
            msg_append(msg, msglen, "kernel host name set");
            changed = true;
        }
    }
    char path[PATH_MAX], content[300];
    int n = snprintf(content, sizeof content, "%s\n", kernel_name);
    if (root_path(env, "/etc/hostname", path, sizeof path) < 0) {
        snprintf(msg, msglen, "root path too long");
        return RESULT_FAILED;
    }
    int r = write_if_differs(path, content, (size_t)n, msg, msglen);
    if (r == RESULT_FAILED)
        return r;
    if (r == RESULT_CHANGED) {
        msg_append(msg, msglen, "/etc/hostname written");
        changed = true;
    }

    char line[600];
    if (short_len < strlen(name))
        snprintf(line, sizeof line, "127.0.1.1\t%s %.*s", name, (int)short_len, name);
    else
        snprintf(line, sizeof line, "127.0.1.1\t%s", name);
    char *old = malloc(FILE_MAX), *out = malloc(FILE_MAX + sizeof line);
    size_t oldlen;
    int rr = -1;
    if (old && out && root_path(env, "/etc/hosts", path, sizeof path) == 0) {
        int got = read_small_file(path, old, FILE_MAX, &oldlen);
        if (got >= 0) {
            int len = render_hosts(got == 0 ? old : NULL, line, out, FILE_MAX + sizeof line);
            if (len >= 0)
                rr = write_if_differs(path, out, (size_t)len, msg, msglen);
            else
                snprintf(msg, msglen, "/etc/hosts is too large");
        } else {
            snprintf(msg, msglen, "reading /etc/hosts: %s", strerror(errno));
        }
    } else {
        snprintf(msg, msglen, "out of memory");
    }
    free(old);
    free(out);
    if (rr == -1)
        return RESULT_FAILED;
    if (rr == RESULT_CHANGED) {
        msg_append(msg, msglen, "/etc/hosts line written");
        changed = true;
    }
    return changed ? RESULT_CHANGED : RESULT_UNCHANGED;
}

/* ---- DNS ---- */

int render_resolv_conf(const json_t *dns, char *out, size_t outlen, char *msg, size_t msglen)
{
    size_t at = 0, i;
    const json_t *v;
    if (put(out, outlen, &at, "# written by midwife-agent\n") < 0)
        goto toolong;
    json_array_foreach(json_object_get(dns, "servers"), i, v) {
        if (!is_ipv4(json_string_value(v))) {
            snprintf(msg, msglen, "dns.servers[%zu] is not an IPv4 address", i);
            return -1;
        }
        if (put(out, outlen, &at, "nameserver %s\n", json_string_value(v)) < 0)
            goto toolong;
    }
    const json_t *search = json_object_get(dns, "search");
    if (json_array_size(search) > 0) {
        if (put(out, outlen, &at, "search") < 0)
            goto toolong;
        json_array_foreach(search, i, v) {
            if (!is_host_name(json_string_value(v))) {
                snprintf(msg, msglen, "dns.search[%zu] is not a domain name", i);
                return -1;
            }
            if (put(out, outlen, &at, " %s", json_string_value(v)) < 0)
                goto toolong;
        }
        if (put(out, outlen, &at, "\n") < 0)
            goto toolong;
    }
    return (int)at;
toolong:
    snprintf(msg, msglen, "resolv.conf would be too long");
    return -1;
}

int apply_dns(const json_t *doc, const struct apply_env *env, char *msg, size_t msglen)
{
    const json_t *dns = json_object_get(doc, "dns");
    if (json_array_size(json_object_get(dns, "servers")) == 0 && json_array_size(json_object_get(dns, "search")) == 0) {
        /* Leaves what DHCP or the image put there. */
        snprintf(msg, msglen, "no DNS servers or search domains in the document");
        return RESULT_SKIPPED;
    }
    char content[8192], path[PATH_MAX];
    int len = render_resolv_conf(dns, content, sizeof content, msg, msglen);
    if (len < 0)
        return RESULT_FAILED;
    if (root_path(env, "/etc/resolv.conf", path, sizeof path) < 0) {
        snprintf(msg, msglen, "root path too long");
        return RESULT_FAILED;
    }
    int r = write_if_differs(path, content, (size_t)len, msg, msglen);
    if (r == RESULT_CHANGED)
        snprintf(msg, msglen, "/etc/resolv.conf written (%zu servers)", json_array_size(json_object_get(dns, "servers")));
    return r;
}

/* ---- NTP ---- */

static bool exists_under(const struct apply_env *env, const char *rel, bool dir)
{
    char path[PATH_MAX];
    struct stat st;
    return root_path(env, rel, path, sizeof path) == 0 && stat(path, &st) == 0 &&
           (dir ? S_ISDIR(st.st_mode) : true);
}

/* ntp.conf keeps everything but its server and pool lines: the
 * document's servers replace those. */
static int render_ntp_conf(const char *old, const json_t *servers, char *out, size_t outlen)
{
    size_t at = 0, i;
    const json_t *v;
    for (const char *p = old ? old : ""; *p;) {
        const char *eol = strchrnul(p, '\n');
        size_t l = (size_t)(eol - p);
        const char *w = p + strspn(p, " \t");
        bool source = (strncmp(w, "server", 6) == 0 && (w[6] == ' ' || w[6] == '\t')) ||
                      (strncmp(w, "pool", 4) == 0 && (w[4] == ' ' || w[4] == '\t'));
        if (!source && put(out, outlen, &at, "%.*s\n", (int)l, p) < 0)
            return -1;
        p = *eol ? eol + 1 : eol;
    }
    json_array_foreach(servers, i, v) {
        if (put(out, outlen, &at, "server %s iburst\n", json_string_value(v)) < 0)
            return -1;
    }
    return (int)at;
}

int apply_ntp(const json_t *doc, const struct apply_env *env, char *msg, size_t msglen)
{
    const json_t *servers = json_object_get(doc, "ntp");
    size_t i;
    const json_t *v;
    if (json_array_size(servers) == 0) {
        snprintf(msg, msglen, "no NTP servers in the document");
        return RESULT_SKIPPED;
    }
    json_array_foreach(servers, i, v) {
        const char *s = json_string_value(v);
        if (!is_ipv4(s) && !is_host_name(s)) {
            snprintf(msg, msglen, "ntp[%zu] is not an IPv4 address or host name", i);
            return RESULT_FAILED;
        }
    }
    char *content = malloc(FILE_MAX + 8192);
    char *old = NULL;
    char path[PATH_MAX];
    const char *rel, *daemon;
    int len = -1, r = RESULT_FAILED;
    size_t at = 0;
    if (!content)
        goto oom;
    if (exists_under(env, "/etc/chrony", true)) {
        daemon = "chrony";
        rel = "/etc/chrony/sources.d/midwife.sources";
        if (put(content, FILE_MAX, &at, "# written by midwife-agent\n") == 0) {
            len = 0;
            json_array_foreach(servers, i, v) {
                if (put(content, FILE_MAX, &at, "server %s iburst\n", json_string_value(v)) < 0)
                    len = -1;
            }
            if (len == 0)
                len = (int)at;
        }
    } else if (exists_under(env, "/etc/systemd/timesyncd.conf", false) ||
               exists_under(env, "/lib/systemd/systemd-timesyncd", false) ||
               exists_under(env, "/usr/lib/systemd/systemd-timesyncd", false)) {
        daemon = "systemd-timesyncd";
        rel = "/etc/systemd/timesyncd.conf.d/midwife.conf";
        if (put(content, FILE_MAX, &at, "# written by midwife-agent\n[Time]\nNTP=") == 0) {
            len = 0;
            json_array_foreach(servers, i, v) {
                if (put(content, FILE_MAX, &at, "%s%s", i ? " " : "", json_string_value(v)) < 0)
                    len = -1;
            }
            if (len == 0 && put(content, FILE_MAX, &at, "\n") == 0)
                len = (int)at;
        }
    } else {
        daemon = "ntpd";
        rel = "/etc/ntp.conf";
        size_t oldlen;
        old = malloc(FILE_MAX);
        if (!old || root_path(env, rel, path, sizeof path) < 0)
            goto oom;
        int got = read_small_file(path, old, FILE_MAX, &oldlen);
        if (got < 0) {
            snprintf(msg, msglen, "reading /etc/ntp.conf: %s", strerror(errno));
            goto out;
        }
        len = render_ntp_conf(got == 0 ? old : NULL, servers, content, FILE_MAX + 8192);
    }
    if (len < 0) {
        snprintf(msg, msglen, "%s would be too long", rel);
        goto out;
    }
    if (root_path(env, rel, path, sizeof path) < 0) {
        snprintf(msg, msglen, "root path too long");
        goto out;
    }
    r = write_if_differs(path, content, (size_t)len, msg, msglen);
    if (r == RESULT_CHANGED)
        snprintf(msg, msglen, "%s written (%s)", rel, daemon);
    goto out;
oom:
    snprintf(msg, msglen, "out of memory");
out:
    free(content);
    free(old);
    return r;
}
