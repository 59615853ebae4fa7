/* Child processes for apply: profile commands, the DHCP client, iscsiadm.
 * Started with posix_spawn (no shell unless the caller asks for
 * /bin/sh), output captured with a cap, and killed at a deadline with
 * the whole process group so a hung command cannot hold the apply. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apply_internal.h"

extern char **environ;

int find_on_path(const char *name, char *out, size_t outlen)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*path) {
        const char *end = strchrnul(path, ':');
        size_t dl = (size_t)(end - path);
        /* An empty element means the working directory: never looked in. */
        if (dl > 0 && dl + 1 + strlen(name) < outlen && path[0] == '/') {
            snprintf(out, outlen, "%.*s/%s", (int)dl, path, name);
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
                return 0;
        }
        path = *end ? end + 1 : end;
    }
    return -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keeps the last outcap-1 bytes: the end of the output says why. */
static void keep_tail(struct proc_result *r, const char *data, size_t n)
{
    size_t room = r->outcap - 1;
    if (n >= room) {
        memcpy(r->out, data + (n - room), room);
        r->truncated = r->truncated || n > room || r->outlen > 0;
        r->outlen = room;
    } else {
        if (r->outlen + n > room) {
            size_t drop = r->outlen + n - room;
            memmove(r->out, r->out + drop, r->outlen - drop);
            r->outlen -= drop;
            r->truncated = true;
        }
        memcpy(r->out + r->outlen, data, n);
        r->outlen += n;
    }
    r->out[r->outlen] = '\0';
}

/* 1: data or EOF handled, 0: nothing to read now, -1: EOF. */
static int read_some(int fd, struct proc_result *r)
{
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf);
    if (got > 0) {
        keep_tail(r, buf, (size_t)got);
        return 1;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return -1;
}

static void record_status(struct proc_result *r, int status)
{
    r->exited = WIFEXITED(status);
    r->exit_code = r->exited ? WEXITSTATUS(status) : -1;
    r->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

int proc_run(char *const argv[], unsigned timeout_s, struct proc_result *r, char *msg, size_t msglen)
{
    if (!r->out || r->outcap < 2) {
        snprintf(msg, msglen, "no output buffer");
        return -1;
    }
    r->outlen = 0;
    r->out[0] = '\0';
    r->truncated = r->timed_out = r->exited = false;
    r->exit_code = r->term_signal = 0;

    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(msg, msglen, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* Nothing of the agent's (sockets, state files) leaks into a command. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    /* Its own process group (killed as one), default signal handling and
     * no blocked signals, whatever the agent itself has set. */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int e = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[1]);
    if (e != 0) {
        close(p[0]);
        snprintf(msg, msglen, "starting %s: %s", argv[0], strerror(e));
        return -1;
    }

    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    bool open = true;
    for (;;) {
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            /* What it wrote before it ended; children it left behind may
             * hold the pipe open, so read only what is there now. */
            fcntl(p[0], F_SETFL, O_NONBLOCK);
            while (open && read_some(p[0], r) == 1)
                ;
            record_status(r, status);
            break;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            record_status(r, status);
            r->timed_out = true;
            break;
        }
        struct pollfd pfd = {.fd = open ? p[0] : -1, .events = POLLIN};
        int wait = left < 50 ? (int)left : 50;
        if (poll(&pfd, 1, wait) > 0 && (pfd.revents & (POLLIN | POLLHUP)) && read_some(p[0], r) < 0)
            open = false;
    }
    close(p[0]);
    return 0;
}

/* Length of the valid UTF-8 sequence at s (not a C1 control), or 0. */
static size_t utf8_char(const unsigned char *s, size_t left)
{
    size_t n;
    uint32_t cp;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff) ||
        (cp >= 0x80 && cp <= 0x9f))
        return 0;
    return n;
}

void make_one_line(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t left = strlen(s);
    while (left > 0) {
        size_t n = p[0] >= 0x80 ? utf8_char(p, left) : 0;
        if (n == 0) {
            if (p[0] < 0x20 || p[0] >= 0x7f)
                p[0] = '?';
            n = 1;
        }
        p += n;
        left -= n;
    }
}

void last_line(const char *text, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (!text)
        return;
    size_t end = strlen(text);
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' ' || text[end - 1] == '\t'))
        end--;
    size_t start = end;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    const unsigned char *s = (const unsigned char *)text + start;
    size_t left = end - start, o = 0;
    while (left > 0 && o + 1 < outlen) {
        size_t n = s[0] >= 0x80 ? utf8_char(s, left) : 0;
        if (n > 0 && o + n < outlen) {
            memcpy(out + o, s, n);
            o += n;
        } else if (n > 0) {
            break; /* a character that does not fit whole */
        } else {
            out[o++] = (s[0] < 0x20 || s[0] >= 0x7f) ? '?' : (char)s[0];
            n = 1;
        }
        s += n;
        left -= n;
    }
    out[o] = '\0';
}
