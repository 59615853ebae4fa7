/* Work too slow for the event loop (hashing and copying gigabytes for a
 * build import or layer) runs in a child process with its own store
 * connection. The child reads a JSON spec, writes one JSON answer
 * ({"status": N, "body": {...}}) to a pipe and exits; the loop watches the
 * pipe and, when it closes, gives that answer to the request that started
 * the job (a deferred HTTP answer: the loop serves everyone else
 * meanwhile). The answer is also kept for GET /api/v1/jobs/ID, for a
 * client that gave up waiting.
 *
 * Why a process and not a thread: the loop and the store connection are
 * single-threaded by design (docs/ARCHITECTURE.md), and a child that
 * crashes on a hostile archive takes nothing else with it.
 *
 * Why spawn a fresh midwife and not just fork(): SQLite keeps per-process
 * state about open database files (their locks and the WAL index
 * mapping); a forked child inherits the parent's and a connection it
 * opens itself then fails ("locking protocol"). SQLite's own rule is not
 * to carry a connection across fork(). A new process image has no such
 * state. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "api/api_internal.h"
#include "api/api_jobs.h"
#include "inventory/model_json.h"
#include "util/log.h"

#define JOB_ANSWER_MAX (256 * 1024) /* a build with every file listed is far smaller */
#define JOBS_KEPT 64                /* finished jobs remembered for polling */
#define JOB_ENV "MIDWIFE_API_JOB"   /* set in a job's environment: run the job, not main() */
#define JOB_SPEC_FD 3               /* the child reads its spec here */
#define JOB_ANSWER_FD 4             /* and writes its answer here */

enum job_state { JOB_RUNNING, JOB_DONE, JOB_FAILED };
static const char *const job_state_names[] = {"running", "done", "failed"};

struct api_job {
    struct api_job *next;
    struct api *a;
    int64_t id;
    char kind[16];
    char name[BUILD_NAME_MAX];
    pid_t pid;
    int fd;
    struct event *ev;
    char *out;
    size_t out_len;
    enum job_state state;
    struct http_pending *pending; /* the request waiting for the answer, or NULL */
    bool client_gone;
    int status;   /* the HTTP status of the job's answer */
    json_t *body; /* the job's answer */
    int64_t started, ended;
};

static int64_t next_job_id = 1;

json_t *api_job_json(const struct api_job *j)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)j->id, "kind", j->kind, "name",
                          j->name, "state", job_state_names[j->state], "started", json_time_ms(j->started), "ended",
                          json_time_ms(j->ended));
    if (o && j->state != JOB_RUNNING) {
        json_object_set_new(o, "status", json_integer(j->status));
        json_object_set(o, "result", j->body ? j->body : json_null());
    }
    return o;
}

/* Answers the waiting request (exactly once, also when its client has
 * gone: that is what frees the pending). */
static void job_answer(struct api_job *j, int status, json_t *body)
{
    if (!j->pending)
        return;
    struct http_api_response resp = {0};
    api_json(&resp, status, json_incref(body));
    http_pending_finish(j->pending, &resp);
    j->pending = NULL;
}

static void job_client_gone(void *arg)
{
    struct api_job *j = arg;
    /* The work goes on: its result is published either way, and the job
     * stays listed under /api/v1/jobs. */
    j->client_gone = true;
}

static void job_free(struct api_job *j)
{
    if (j->ev)
        event_free(j->ev);
    if (j->fd >= 0)
        close(j->fd);
    free(j->out);
    json_decref(j->body);
    free(j);
}

/* Keeps the newest finished jobs; running ones always stay. */
static void jobs_trim(struct api *a)
{
    size_t finished = 0;
    for (struct api_job **p = &a->jobs; *p;) {
        struct api_job *j = *p;
        if (j->state != JOB_RUNNING && ++finished > JOBS_KEPT) {
            *p = j->next;
            job_free(j);
            continue;
        }
        p = &j->next;
    }
}

static void job_finish(struct api_job *j)
{
    int wstatus = 0;
    /* The pipe closed: the child is exiting or gone. Someone else may have
     * reaped it already (a SIGCHLD handler); the answer on the pipe is what
     * counts, the exit status only explains a missing one. */
    pid_t w = waitpid(j->pid, &wstatus, 0);
    event_free(j->ev);
    j->ev = NULL;
    close(j->fd);
    j->fd = -1;
    j->ended = api_now_ms();
    json_error_t jerr;
    json_t *ans = j->out_len ? json_loadb(j->out, j->out_len, 0, &jerr) : NULL;
    json_t *st = json_object_get(ans, "status");
    json_t *body = json_object_get(ans, "body");
    if (json_is_integer(st) && json_is_object(body)) {
        j->status = (int)json_integer_value(st);
        j->body = json_incref(body);
    } else {
        char why[96];
        if (w == j->pid && WIFSIGNALED(wstatus))
            snprintf(why, sizeof why, "the %s process was killed by signal %d", j->kind, WTERMSIG(wstatus));
        else if (w == j->pid && WIFEXITED(wstatus))
            snprintf(why, sizeof why, "the %s process exited with status %d and no answer", j->kind,
                     WEXITSTATUS(wstatus));
        else
            snprintf(why, sizeof why, "the %s process ended without an answer", j->kind);
        j->status = 500;
        j->body = json_pack("{s:s}", "error", why);
    }
    json_decref(ans);
    free(j->out);
    j->out = NULL;
    j->state = j->status < 300 ? JOB_DONE : JOB_FAILED;
    job_answer(j, j->status, j->body);
    log_info("api", "job %lld (%s %s) %s: status %d%s", (long long)j->id, j->kind, j->name,
             job_state_names[j->state], j->status, j->client_gone ? " (its client had gone; kept under /api/v1/jobs)" : "");
    jobs_trim(j->a);
}

static void job_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct api_job *j = arg;
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            if (j->out_len + (size_t)n > JOB_ANSWER_MAX) {
                /* A child that says this much is broken; stop listening. */
                j->out_len = 0;
                kill(j->pid, SIGKILL);
                job_finish(j);
                return;
            }
            char *o = realloc(j->out, j->out_len + (size_t)n);
            if (!o)
                return; /* try again on the next readable event */
            memcpy(o + j->out_len, buf, (size_t)n);
            j->out = o;
            j->out_len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        job_finish(j); /* EOF or a read error */
        return;
    }
}

static void write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

/* ---- the child: a fresh midwife process ---- */

/* Reads the spec (fd JOB_SPEC_FD), runs it on a store connection of its
 * own, writes {"status", "body"} to JOB_ANSWER_FD. */
int api_job_child_main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (close_range(JOB_ANSWER_FD + 1, ~0U, 0) < 0)
        for (int fd = JOB_ANSWER_FD + 1; fd < 1024; fd++)
            close(fd);
    json_error_t jerr;
    json_t *spec = json_loadfd(JOB_SPEC_FD, JSON_DISABLE_EOF_CHECK, &jerr);
    close(JOB_SPEC_FD);
    const char *kind = json_string_value(json_object_get(spec, "kind"));
    const char *state_dir = json_string_value(json_object_get(spec, "state_dir"));
    json_t *body = NULL;
    int status = 500;
    char err[1024];
    struct store *st = NULL;
    if (!kind || !state_dir) {
        body = json_pack("{s:s}", "error", "job: no kind or state_dir in the spec");
    } else if (store_open(state_dir, json_is_true(json_object_get(spec, "sync_full")) ? STORE_SYNC_FULL
                                                                                        : STORE_SYNC_NORMAL,
                          &st, err, sizeof err) < 0) {
        body = json_pack("{s:s}", "error", err);
    } else {
        status = api_builds_job_run(kind, spec, state_dir, st, &body);
        store_close(st);
    }
    json_t *ans = json_pack("{s:i, s:o}", "status", status, "body", body ? body : json_object());
    char *text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
    if (text)
        write_all(JOB_ANSWER_FD, text, strlen(text));
    free(text);
    json_decref(ans);
    json_decref(spec);
    return text ? 0 : 1;
}

bool api_job_child_requested(void)
{
    const char *v = getenv(JOB_ENV);
    if (!v || strcmp(v, "1") != 0)
        return false;
    unsetenv(JOB_ENV);
    return true;
}

/* A descriptor at JOB_ANSWER_FD or below would be overwritten by the
 * child's dup2s of the other one: move it up first. */
static int fd_above_job_fds(int fd)
{
    if (fd > JOB_ANSWER_FD)
        return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, JOB_ANSWER_FD + 1);
    close(fd);
    return n;
}

/* The spec in a memory file: the child reads it whole at its own pace,
 * and the loop never blocks on a full pipe. */
static int spec_fd(const json_t *spec)
{
    char *text = json_dumps(spec, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    int fd = memfd_create("midwife-job", MFD_CLOEXEC);
    int rc = fd < 0 ? -errno : 0;
    size_t len = strlen(text);
    if (rc == 0 && (write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0))
        rc = -EIO;
    free(text);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return fd_above_job_fds(fd);
}

static int job_spawn(const json_t *spec, pid_t *pid, int *answer_fd)
{
    extern char **environ;
    int sfd = spec_fd(spec);
    if (sfd < 0)
        return sfd;
    int p[2];
    /* O_CLOEXEC: a hook the lifecycle execs meanwhile must not hold the
     * write end, or the end of the job would wait for the hook's end. */
    if (pipe2(p, O_CLOEXEC) < 0) {
        int e = -errno;
        close(sfd);
        return e;
    }
    p[0] = fd_above_job_fds(p[0]);
    p[1] = fd_above_job_fds(p[1]);
    /* The child's environment: ours plus the job marker. */
    size_t n_env = 0;
    while (environ[n_env])
        n_env++;
    char **env = calloc(n_env + 2, sizeof *env);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = env && p[0] >= 0 && p[1] >= 0 ? 0 : -ENOMEM;
    if (rc == 0) {
        memcpy(env, environ, n_env * sizeof *env);
        env[n_env] = (char *)JOB_ENV "=1";
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, sfd, JOB_SPEC_FD);
        posix_spawn_file_actions_adddup2(&fa, p[1], JOB_ANSWER_FD);
        posix_spawnattr_init(&attr);
        /* Signals as a fresh process has them: ours are libevent's. */
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        char *argv[] = {(char *)"midwife-job", NULL};
        /* /proc/self/exe: the very binary running, even if an upgrade
         * replaced the file meanwhile. */
        rc = -posix_spawn(pid, "/proc/self/exe", &fa, &attr, argv, env);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
    }
    free(env);
    close(sfd);
    if (p[1] >= 0)
        close(p[1]);
    if (rc < 0) {
        if (p[0] >= 0)
            close(p[0]);
        return rc;
    }
    *answer_fd = p[0];
    return 0;
}

int api_job_start(struct api *a, const char *kind, const char *name, json_t *spec, struct http_pending *pending)
{
    struct api_job *j = calloc(1, sizeof *j);
    int rc = j && spec ? 0 : -ENOMEM;
    if (rc == 0) {
        json_object_set_new(spec, "kind", json_string(kind));
        json_object_set_new(spec, "state_dir", json_string(a->conf->state_dir));
        json_object_set_new(spec, "sync_full", json_boolean(a->conf->sync == STORE_SYNC_FULL));
        j->a = a;
        j->fd = -1;
        snprintf(j->kind, sizeof j->kind, "%s", kind);
        snprintf(j->name, sizeof j->name, "%s", name);
        rc = job_spawn(spec, &j->pid, &j->fd);
    }
    json_decref(spec);
    if (rc < 0) {
        free(j);
        return rc;
    }
    j->id = next_job_id++;
    j->started = api_now_ms();
    evutil_make_socket_nonblocking(j->fd);
    j->ev = event_new(a->base, j->fd, EV_READ | EV_PERSIST, job_readable, j);
    if (!j->ev || event_add(j->ev, NULL) < 0) {
        kill(j->pid, SIGKILL);
        waitpid(j->pid, NULL, 0);
        job_free(j);
        return -ENOMEM;
    }
    j->next = a->jobs;
    a->jobs = j;
    if (pending) {
        j->pending = pending;
        http_pending_on_gone(pending, job_client_gone, j);
    }
    log_info("api", "job %lld: %s %s started (pid %ld)", (long long)j->id, kind, name, (long)j->pid);
    return 0;
}

void api_jobs_stop(struct api *a)
{
    for (struct api_job *j = a->jobs; j; j = j->next)
        if (j->state == JOB_RUNNING)
            kill(j->pid, SIGTERM);
    while (a->jobs) {
        struct api_job *j = a->jobs;
        a->jobs = j->next;
        if (j->state == JOB_RUNNING) {
            /* Up to 2 s to go (blob imports leave only temp files), then KILL. */
            int i;
            for (i = 0; i < 200 && waitpid(j->pid, NULL, WNOHANG) == 0; i++)
                usleep(10000);
            if (i == 200) {
                kill(j->pid, SIGKILL);
                waitpid(j->pid, NULL, 0);
            }
            json_t *e = json_pack("{s:s}", "error", "the server stopped before the job ended");
            job_answer(j, 503, e);
            json_decref(e);
        }
        job_free(j);
    }
}

static int job_list(struct api *a, struct http_api_response *resp)
{
    json_t *items = json_array();
    for (struct api_job *j = a->jobs; items && j; j = j->next)
        json_array_append_new(items, api_job_json(j));
    api_list(resp, items, NULL);
    return 0;
}

void api_route_jobs(struct api *a, const struct http_api_request *req, const char *rest,
                    struct http_api_response *resp)
{
    char seg[2][128];
    int n = api_path_split(rest, seg, 2);
    if (n < 0 || n > 1) {
        api_error(resp, 404, NULL, "no such path under jobs");
        return;
    }
    if (req->method != API_GET) {
        api_method_not_allowed(resp, "GET, HEAD");
        return;
    }
    if (n == 0) {
        job_list(a, resp);
        return;
    }
    char *end;
    long long id = strtoll(seg[0], &end, 10);
    for (struct api_job *j = a->jobs; *end == '\0' && j; j = j->next)
        if (j->id == id) {
            api_json(resp, 200, api_job_json(j));
            return;
        }
    api_error(resp, 404, NULL, "no such job (finished jobs are kept for the last %d)", JOBS_KEPT);
}
