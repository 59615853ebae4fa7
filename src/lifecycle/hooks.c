/* Hooks: exec runs and webhooks driven by the loop (see hooks.h).
 *
 * An exec run is a child in its own process group with three loop events:
 * its pidfd (exit), the write end of its stdin pipe (the event JSON, which
 * may be larger than the pipe buffer) and the read end of its output pipe.
 * The exit is what ends a run: output still in the pipe is read then, but a
 * grandchild keeping the pipe open does not hold the run. No SIGCHLD
 * handler: the pidfd says when our child, and only ours, has exited.
 *
 * Every run ends in finish_run(), called from a loop callback: a run that
 * fails before it starts (spawn error, bad URL) gets there through its
 * `finish` event, activated by hooks_fire, so done never runs inside it. */
#include "lifecycle/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util/clock.h"
#include "util/log.h"

#define KILL_GRACE_MS 2000    /* from SIGTERM to SIGKILL after a timeout */
#define ENV_VALUE_MAX 256     /* longer values are left out of the environment */
#define FINAL_DRAIN_READS 16  /* reads of leftover output after the exit */
#define LOG_OUTPUT_MAX 200    /* output bytes quoted in the log line */
#define WEBHOOK_HEADERS_MAX 16384
/* Runs at once at most: a flood of transitions (a rack powering on) must
 * not become a flood of processes; the excess ends in done with an error. */
#define HOOKS_RUNNING_MAX 256

/* The event JSON, shared by the runs of one hooks_fire and by the
 * webhook request bodies that reference it. */
struct shared_json {
    unsigned refs;
    size_t len;
    char data[];
};

struct hook_run {
    struct hooks *h;
    struct hook_run *prev, *next;
    char transition[CONF_TRANSITION_MAX];
    char *target;
    bool webhook;
    unsigned timeout_s;
    hook_done_fn done;
    void *done_arg;
    uint64_t started_ms;
    struct shared_json *json;

    char output[HOOK_OUTPUT_MAX + 1];
    size_t output_len;
    uint64_t output_dropped;
    bool timed_out;
    int exit_status, signal, http_status;
    char error[192];

    struct event *timer;  /* the timeout, then the kill grace */
    struct event *finish; /* finish_run from the loop */
    bool ending;          /* finish is active: the outcome is settled */
    bool terminating;     /* SIGTERM sent after the timeout */

    /* exec */
    pid_t pid;            /* 0: no child (or reaped) */
    int pidfd, stdin_fd, out_fd;
    size_t stdin_off;
    struct event *ev_exit, *ev_stdin, *ev_out;

    /* webhook */
    struct evhttp_connection *conn;
    struct evhttp_request *req;  /* NULL once libevent has freed it */
    int http_error;              /* enum evhttp_request_error + 1, 0 = none */
};

struct hooks {
    struct event_base *base;
    const struct conf *conf;
    struct evdns_base *dns; /* made at the first webhook */
    struct hook_run *runs;
    unsigned running;
};

static struct shared_json *json_new(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    struct shared_json *j = malloc(sizeof *j + n + 1);
    if (!j)
        return NULL;
    j->refs = 1;
    j->len = n;
    if (n)
        memcpy(j->data, s, n);
    j->data[n] = '\0';
    return j;
}

static void json_unref(struct shared_json *j)
{
    if (j && --j->refs == 0)
        free(j);
}

static void json_unref_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    json_unref(arg);
}

static void keep_output(struct hook_run *r, const char *buf, size_t n)
{
    size_t room = HOOK_OUTPUT_MAX - r->output_len;
    size_t k = n < room ? n : room;
    memcpy(r->output + r->output_len, buf, k);
    r->output_len += k;
    r->output_dropped += n - k;
}

static void close_event_fd(struct event **ev, int *fd)
{
    if (*ev) {
        event_free(*ev);
        *ev = NULL;
    }
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void free_run(struct hook_run *r)
{
    close_event_fd(&r->ev_exit, &r->pidfd);
    close_event_fd(&r->ev_stdin, &r->stdin_fd);
    close_event_fd(&r->ev_out, &r->out_fd);
    if (r->timer)
        event_free(r->timer);
    if (r->finish)
        event_free(r->finish);
    if (r->conn)
        evhttp_connection_free(r->conn); /* frees a pending request without its callbacks */
    json_unref(r->json);
    free(r->target);
    free(r);
}

static void unlink_run(struct hook_run *r)
{
    struct hooks *h = r->h;
    if (r->prev)
        r->prev->next = r->next;
    else
        h->runs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    h->running--;
}

static void log_run(const struct hook_result *res, uint64_t dropped)
{
    char target[LOG_ESCAPED_SIZE(128)], out[LOG_ESCAPED_SIZE(LOG_OUTPUT_MAX)], what[256];
    log_escape(target, sizeof target, res->target, strlen(res->target));
    size_t n = res->output_len < LOG_OUTPUT_MAX ? res->output_len : LOG_OUTPUT_MAX;
    log_escape(out, sizeof out, res->output, n);
    if (res->error) {
        char e[LOG_ESCAPED_SIZE(64)];
        snprintf(what, sizeof what, "could not run (%s)", log_escape(e, sizeof e, res->error, strlen(res->error)));
    } else if (res->timed_out) {
        snprintf(what, sizeof what, "timed out");
    } else if (res->webhook) {
        snprintf(what, sizeof what, "HTTP %d", res->http_status);
    } else if (res->signal) {
        const char *name = sigabbrev_np(res->signal);
        snprintf(what, sizeof what, "killed by SIG%s", name ? name : "?");
    } else {
        snprintf(what, sizeof what, "exit %d", res->exit_status);
    }
    log_msg(res->ok ? LOG_INFO : LOG_WARN, "hooks", "%s %s %s: %s, %lld ms, %llu bytes of output%s%s%s",
            res->transition, res->webhook ? "webhook" : "hook", target, what, (long long)res->duration_ms,
            (unsigned long long)(res->output_len + dropped), dropped ? " (only the first kept)" : "",
            n ? ": " : "", out);
}

/* Reports the run and frees it. Only ever called from a loop callback. */
static void finish_run(struct hook_run *r)
{
    if (r->conn) {
        evhttp_connection_free(r->conn);
        r->conn = NULL;
        r->req = NULL;
    }
    r->output[r->output_len] = '\0';
    struct hook_result res = {
        .transition = r->transition,
        .target = r->target,
        .webhook = r->webhook,
        .timed_out = r->timed_out,
        .exit_status = r->exit_status,
        .signal = r->signal,
        .http_status = r->http_status,
        .output = r->output,
        .output_len = r->output_len,
        .duration_ms = (int64_t)(clock_mono_ms() - r->started_ms),
        .error = r->error[0] ? r->error : NULL,
    };
    if (res.error || res.timed_out)
        res.ok = false;
    else if (r->webhook)
        res.ok = r->http_status >= 200 && r->http_status <= 299;
    else
        res.ok = r->signal == 0 && r->exit_status == 0;
    log_run(&res, r->output_dropped);
    unlink_run(r);
    /* done may fire new hooks or even stop h: r is already out of its list. */
    if (r->done)
        r->done(r->done_arg, &res);
    free_run(r);
}

static void on_finish(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    finish_run(arg);
}

static void fail_run(struct hook_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_run(struct hook_run *r, const char *fmt, ...)
{
    if (r->ending)
        return;
    r->ending = true;
    if (!r->webhook)
        r->exit_status = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    if (r->timer)
        evtimer_del(r->timer);
    event_active(r->finish, 0, 0);
}

/* ---- exec ---- */

/* A write to a pipe whose reader is gone must give EPIPE, not kill midwife,
 * whatever the process's SIGPIPE disposition: block the signal for the
 * write and take back a SIGPIPE it raised. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n = write(fd, buf, len);
    int e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct hook_run *r = arg;
    while (r->stdin_off < r->json->len) {
        ssize_t n = write_nosigpipe(fd, r->json->data + r->stdin_off, r->json->len - r->stdin_off);
        if (n > 0) {
            r->stdin_off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        /* EPIPE: the hook does not read its stdin; that is its business. */
        break;
    }
    close_event_fd(&r->ev_stdin, &r->stdin_fd); /* EOF for the hook */
}

/* One read; true when it got bytes (there may be more right away). */
static bool read_output_once(struct hook_run *r)
{
    char buf[16384];
    ssize_t n = read(r->out_fd, buf, sizeof buf);
    if (n > 0) {
        keep_output(r, buf, (size_t)n);
        return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    close_event_fd(&r->ev_out, &r->out_fd);
    return false;
}

static void on_output(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    read_output_once(arg);
}

static void on_exit_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hook_run *r = arg;
    /* After a timeout the whole group goes, before the leader is reaped:
     * while it is a zombie its pid cannot name another process group. */
    if (r->terminating)
        kill(-r->pid, SIGKILL);
    int st = 0;
    pid_t w;
    do
        w = waitpid(r->pid, &st, WNOHANG);
    while (w < 0 && errno == EINTR);
    if (w == 0) {
        event_add(r->ev_exit, NULL); /* not yet: wait for the next readiness */
        return;
    }
    r->pid = 0;
    if (w < 0) {
        snprintf(r->error, sizeof r->error, "exit status lost: %s", strerror(errno));
        r->exit_status = -1;
    } else if (WIFEXITED(st)) {
        r->exit_status = WEXITSTATUS(st);
    } else {
        r->exit_status = -1;
        r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    }
    for (int i = 0; i < FINAL_DRAIN_READS && r->out_fd >= 0 && read_output_once(r); i++) {}
    finish_run(r);
}

static void exec_timeout(struct hook_run *r)
{
    if (!r->terminating) {
        r->timed_out = true;
        r->terminating = true;
        kill(-r->pid, SIGTERM);
        struct timeval grace = {KILL_GRACE_MS / 1000, (KILL_GRACE_MS % 1000) * 1000};
        evtimer_add(r->timer, &grace);
    } else {
        kill(-r->pid, SIGKILL); /* the exit arrives through the pidfd */
    }
}

/* A value goes into the environment only if it is made of these bytes,
 * so a hook interpolating it into a shell command line cannot be tricked. */
static bool env_value_ok(const char *v)
{
    if (!v || !*v || strlen(v) > ENV_VALUE_MAX)
        return false;
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._:@/+=-", c)))
            return false;
    }
    return true;
}

#define ENV_FIELDS 9
#define ENV_ENTRY_MAX (ENV_VALUE_MAX + 32)

struct exec_env {
    char entries[ENV_FIELDS][ENV_ENTRY_MAX];
    char *envp[2 + ENV_FIELDS + 1];
};

static void build_env(struct exec_env *e, const char *transition, const struct hook_env *env)
{
    static const char *const names[ENV_FIELDS] = {
        "MIDWIFE_EVENT", "MIDWIFE_HOST", "MIDWIFE_HOST_ID", "MIDWIFE_MAC",  "MIDWIFE_ADDRESS",
        "MIDWIFE_STATE", "MIDWIFE_BUILD", "MIDWIFE_PROFILE", "MIDWIFE_BOOT_ID",
    };
    const char *values[ENV_FIELDS] = {transition};
    if (env) {
        const char *v[ENV_FIELDS] = {env->event && *env->event ? env->event : transition,
                                     env->host, env->host_id, env->mac, env->address, env->state,
                                     env->build, env->profile, env->boot_id};
        memcpy(values, v, sizeof values);
    }
    size_t n = 0;
    e->envp[n++] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    e->envp[n++] = (char *)"LANG=C";
    for (size_t i = 0; i < ENV_FIELDS; i++) {
        if (!env_value_ok(values[i]))
            continue;
        snprintf(e->entries[i], sizeof e->entries[i], "%s=%s", names[i], values[i]);
        e->envp[n++] = e->entries[i];
    }
    e->envp[n] = NULL;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void exec_start(struct hook_run *r, const struct hook_env *env)
{
    struct event_base *base = r->h->base;
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_ok = false, attr_ok = false;
    struct timeval tv;
    sigset_t all, none;
    char *argv[] = {r->target, NULL};
    pid_t pid;
    int err;
    struct exec_env *e = malloc(sizeof *e);
    if (!e) {
        fail_run(r, "out of memory");
        return;
    }
    build_env(e, r->transition, env);

    /* Only our ends are non-blocking: the hook reads and writes its ends
     * like any ordinary stdin and stdout. */
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || set_nonblock(in[1]) < 0 || set_nonblock(out[0]) < 0) {
        fail_run(r, "pipe: %s", strerror(errno));
        goto out;
    }
    err = posix_spawn_file_actions_init(&fa);
    fa_ok = err == 0;
    if (!err)
        err = posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    if (!err)
        err = posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    if (!err)
        err = posix_spawn_file_actions_adddup2(&fa, out[1], STDERR_FILENO);
    /* Sockets, the store and anything else midwife holds stay with midwife. */
    if (!err)
        err = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
    if (!err)
        err = posix_spawn_file_actions_addchdir_np(&fa, "/");
    if (!err) {
        err = posix_spawnattr_init(&attr);
        attr_ok = err == 0;
    }
    sigfillset(&all);
    sigemptyset(&none);
    /* Its own process group, so a timeout kills what it started too; every
     * signal at its default (midwife ignores SIGPIPE) and none blocked. */
    if (!err)
        err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (!err)
        err = posix_spawnattr_setpgroup(&attr, 0);
    if (!err)
        err = posix_spawnattr_setsigdefault(&attr, &all);
    if (!err)
        err = posix_spawnattr_setsigmask(&attr, &none);
    if (err) {
        fail_run(r, "spawn setup: %s", strerror(err));
        goto out;
    }
    err = posix_spawn(&pid, r->target, &fa, &attr, argv, e->envp);
    if (err) {
        fail_run(r, "%s", strerror(err));
        goto out;
    }
    r->pid = pid;
    r->pidfd = pidfd_open(pid, 0);
    if (r->pidfd < 0) {
        int pe = errno;
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        r->pid = 0;
        fail_run(r, "pidfd_open: %s", strerror(pe));
        goto out;
    }
    r->stdin_fd = in[1];
    r->out_fd = out[0];
    in[1] = out[0] = -1;
    r->ev_exit = event_new(base, r->pidfd, EV_READ, on_exit_ready, r);
    r->ev_out = event_new(base, r->out_fd, EV_READ | EV_PERSIST, on_output, r);
    r->ev_stdin = event_new(base, r->stdin_fd, EV_WRITE | EV_PERSIST, on_stdin, r);
    if (!r->ev_exit || !r->ev_out || !r->ev_stdin || event_add(r->ev_exit, NULL) < 0 ||
        event_add(r->ev_out, NULL) < 0 || event_add(r->ev_stdin, NULL) < 0) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        r->pid = 0;
        fail_run(r, "out of memory");
        goto out;
    }
    tv = (struct timeval){(time_t)r->timeout_s, 0};
    evtimer_add(r->timer, &tv);
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    free(e);
}

/* ---- webhook ---- */

static void on_http_chunk(struct evhttp_request *req, void *arg)
{
    struct hook_run *r = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    size_t room = HOOK_OUTPUT_MAX - r->output_len;
    size_t k = len < room ? len : room;
    if (k)
        evbuffer_copyout(in, r->output + r->output_len, k);
    r->output_len += k;
    r->output_dropped += len - k;
    evbuffer_drain(in, len);
}

static void on_http_error(enum evhttp_request_error err, void *arg)
{
    struct hook_run *r = arg;
    r->http_error = (int)err + 1;
}

static const char *http_error_text(int e)
{
    switch (e - 1) {
    case EVREQ_HTTP_TIMEOUT: return "timed out";
    case EVREQ_HTTP_EOF: return "connection closed before a complete answer";
    case EVREQ_HTTP_INVALID_HEADER: return "invalid answer header";
    case EVREQ_HTTP_BUFFER_ERROR: return "connection error";
    case EVREQ_HTTP_DATA_TOO_LONG: return "answer too large";
    default: return "no HTTP answer: connection refused or failed";
    }
}

/* libevent calls this once the request is over (answered or failed), and
 * may do so from inside evhttp_make_request: only record, finish later. */
static void on_http_done(struct evhttp_request *req, void *arg)
{
    struct hook_run *r = arg;
    r->req = NULL; /* libevent frees it after we return */
    if (r->ending)
        return;
    r->ending = true;
    r->http_status = req ? evhttp_request_get_response_code(req) : 0;
    if (req && r->http_status) {
        on_http_chunk(req, r); /* a body left over when no chunk was delivered */
    } else if (r->http_error - 1 == EVREQ_HTTP_TIMEOUT) {
        r->timed_out = true;
    } else {
        snprintf(r->error, sizeof r->error, "%s", http_error_text(r->http_error));
    }
    evtimer_del(r->timer);
    event_active(r->finish, 0, 0);
}

static void webhook_timeout(struct hook_run *r)
{
    if (r->ending)
        return;
    r->ending = true;
    r->timed_out = true;
    event_active(r->finish, 0, 0); /* finish_run frees the connection and the request */
}

static void webhook_start(struct hook_run *r)
{
    struct hooks *h = r->h;
    struct evhttp_uri *uri = evhttp_uri_parse(r->target);
    const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    if (!uri || !scheme || strcmp(scheme, "http") != 0 || !host || !*host) {
        fail_run(r, "not an http:// URL");
        goto out;
    }
    int port = evhttp_uri_get_port(uri);
    if (port < 0)
        port = 80;
    const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
    char target[CONF_URL_MAX + 2], host_header[CONF_DOMAIN_MAX + 8];
    snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "", query ? query : "");
    if (port == 80)
        snprintf(host_header, sizeof host_header, "%s", host);
    else
        snprintf(host_header, sizeof host_header, "%s:%d", host, port);

    /* A name is resolved without blocking the loop. */
    if (!h->dns)
        h->dns = evdns_base_new(h->base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!h->dns) {
        fail_run(r, "no DNS resolver");
        goto out;
    }
    r->conn = evhttp_connection_base_new(h->base, h->dns, host, (uint16_t)port);
    if (!r->conn) {
        fail_run(r, "out of memory");
        goto out;
    }
    /* Our own timer bounds the whole exchange; libevent's per-read and
     * per-write timeout only backs it up. */
    evhttp_connection_set_timeout(r->conn, (int)r->timeout_s + 1);
    evhttp_connection_set_retries(r->conn, 0);
    evhttp_connection_set_max_headers_size(r->conn, WEBHOOK_HEADERS_MAX);
    struct evhttp_request *req = evhttp_request_new(on_http_done, r);
    if (!req) {
        fail_run(r, "out of memory");
        goto out;
    }
    evhttp_request_set_chunked_cb(req, on_http_chunk);
    evhttp_request_set_error_cb(req, on_http_error);
    struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
    evhttp_add_header(hdr, "Host", host_header);
    evhttp_add_header(hdr, "Content-Type", "application/json");
    evhttp_add_header(hdr, "User-Agent", "midwife/" MIDWIFE_VERSION);
    evhttp_add_header(hdr, "Connection", "close");
    r->json->refs++;
    if (evbuffer_add_reference(evhttp_request_get_output_buffer(req), r->json->data, r->json->len, json_unref_cb,
                               r->json) < 0) {
        r->json->refs--;
        evhttp_request_free(req);
        fail_run(r, "out of memory");
        goto out;
    }
    struct timeval tv = {(time_t)r->timeout_s, 0};
    evtimer_add(r->timer, &tv);
    r->req = req;
    /* A connection that fails at once ends in on_http_done before this
     * returns; fail_run and on_http_done settle the outcome only once. */
    if (evhttp_make_request(r->conn, req, EVHTTP_REQ_POST, target) < 0) {
        r->req = NULL;
        fail_run(r, "cannot send the request");
    }
out:
    if (uri)
        evhttp_uri_free(uri);
}

/* ---- the runs ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct hook_run *r = arg;
    if (r->webhook)
        webhook_timeout(r);
    else
        exec_timeout(r);
}

static struct hook_run *run_new(struct hooks *h, const struct conf_hook *ch, unsigned timeout_s,
                                struct shared_json *json, hook_done_fn done, void *arg)
{
    struct hook_run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->h = h;
    r->pidfd = r->stdin_fd = r->out_fd = -1;
    snprintf(r->transition, sizeof r->transition, "%s", ch->transition);
    r->target = strdup(ch->target);
    r->webhook = ch->kind == CONF_HOOK_WEBHOOK;
    r->timeout_s = timeout_s ? timeout_s : 30;
    r->done = done;
    r->done_arg = arg;
    r->started_ms = clock_mono_ms();
    r->timer = evtimer_new(h->base, on_timer, r);
    r->finish = event_new(h->base, -1, 0, on_finish, r);
    if (!r->target || !r->timer || !r->finish) {
        free_run(r);
        return NULL;
    }
    r->json = json;
    json->refs++;
    r->next = h->runs;
    if (h->runs)
        h->runs->prev = r;
    h->runs = r;
    h->running++;
    return r;
}

int hooks_start(struct event_base *base, const struct conf *conf, struct hooks **out)
{
    struct hooks *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->base = base;
    h->conf = conf;
    *out = h;
    return 0;
}

void hooks_reload(struct hooks *h, const struct conf *conf)
{
    h->conf = conf;
}

void hooks_stop(struct hooks *h)
{
    if (!h)
        return;
    while (h->runs) {
        struct hook_run *r = h->runs;
        char t[LOG_ESCAPED_SIZE(128)];
        log_info("hooks", "%s %s %s: stopped at shutdown", r->transition, r->webhook ? "webhook" : "hook",
                 log_escape(t, sizeof t, r->target, strlen(r->target)));
        if (r->pid > 0) {
            kill(-r->pid, SIGKILL);
            while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR) {}
            r->pid = 0;
        }
        unlink_run(r);
        free_run(r);
    }
    if (h->dns)
        evdns_base_free(h->dns, 0);
    free(h);
}

int hooks_fire(struct hooks *h, const char *transition, const char *event_json, const struct hook_env *env,
               hook_done_fn done, void *arg)
{
    const struct conf *c = h->conf;
    struct shared_json *json = NULL;
    int started = 0, failed = 0;
    for (size_t i = 0; c && i < c->n_hooks; i++) {
        const struct conf_hook *ch = &c->hooks[i];
        if (strcmp(ch->transition, transition) != 0)
            continue;
        if (!json && !(json = json_new(event_json)))
            return -ENOMEM;
        struct hook_run *r = run_new(h, ch, c->hook_timeout, json, done, arg);
        if (!r) {
            char t[LOG_ESCAPED_SIZE(128)];
            log_error("hooks", "%s hook %s: not started: out of memory", ch->transition,
                      log_escape(t, sizeof t, ch->target, strlen(ch->target)));
            failed++;
            continue;
        }
        if (log_enabled(LOG_DEBUG)) {
            char t[LOG_ESCAPED_SIZE(128)];
            log_debug("hooks", "%s %s %s: starting", ch->transition, r->webhook ? "webhook" : "hook",
                      log_escape(t, sizeof t, ch->target, strlen(ch->target)));
        }
        if (h->running > HOOKS_RUNNING_MAX)
            fail_run(r, "too many hooks running (%d)", HOOKS_RUNNING_MAX);
        else if (r->webhook)
            webhook_start(r);
        else
            exec_start(r, env);
        started++;
    }
    json_unref(json);
    return started == 0 && failed ? -ENOMEM : started;
}

unsigned hooks_running(const struct hooks *h)
{
    return h ? h->running : 0;
}
