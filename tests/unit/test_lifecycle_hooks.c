/* lifecycle/hooks: real processes and a real HTTP server on 127.0.0.1,
 * driven through a real event loop. Each exec hook is a shell script the
 * test writes into a temporary directory; what it saw (stdin, environment,
 * its pid) it writes back there for the test to check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "conf/conf.h"
#include "lifecycle/hooks.h"
#include "util/clock.h"
#include "util/log.h"

static char dir[] = "/tmp/midwife-test-hooks-XXXXXX";

/* ---- what done() saw ---- */

struct seen {
    char transition[CONF_TRANSITION_MAX];
    char target[PATH_MAX];
    bool webhook, ok, timed_out;
    int exit_status, signal, http_status;
    char output[HOOK_OUTPUT_MAX + 1];
    size_t output_len;
    int64_t duration_ms;
    char error[256];
    bool has_error;
};

struct got {
    struct event_base *base;
    int calls, want;
    struct seen r[8];
};

static void on_done(void *arg, const struct hook_result *res)
{
    struct got *g = arg;
    assert_true(g->calls < 8);
    struct seen *s = &g->r[g->calls++];
    snprintf(s->transition, sizeof s->transition, "%s", res->transition);
    snprintf(s->target, sizeof s->target, "%s", res->target);
    s->webhook = res->webhook;
    s->ok = res->ok;
    s->timed_out = res->timed_out;
    s->exit_status = res->exit_status;
    s->signal = res->signal;
    s->http_status = res->http_status;
    assert_true(res->output_len <= HOOK_OUTPUT_MAX);
    assert_int_equal(res->output[res->output_len], '\0');
    memcpy(s->output, res->output, res->output_len + 1);
    s->output_len = res->output_len;
    s->duration_ms = res->duration_ms;
    s->has_error = res->error != NULL;
    if (res->error)
        snprintf(s->error, sizeof s->error, "%s", res->error);
    if (g->calls >= g->want)
        event_base_loopbreak(g->base);
}

static void on_safety(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Runs the loop until want done calls in all, or max_ms. */
static void run_until(struct got *g, int want, int max_ms)
{
    g->want = want;
    struct event *safety = evtimer_new(g->base, on_safety, g->base);
    struct timeval tv = {max_ms / 1000, (max_ms % 1000) * 1000};
    evtimer_add(safety, &tv);
    if (g->calls < want)
        event_base_dispatch(g->base);
    event_free(safety);
}

/* ---- fixtures ---- */

static void dir_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* #!/bin/sh, D set to the test directory, then body. */
static void write_script(const char *name, const char *body, char *path, size_t pathlen)
{
    dir_path(path, pathlen, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nD='%s'\n%s", dir, body);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
}

static struct conf *new_conf(unsigned timeout)
{
    struct conf *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->hook_timeout = timeout;
    return c;
}

static void add_hook(struct conf *c, const char *transition, enum conf_hook_kind kind, const char *target)
{
    c->hooks = realloc(c->hooks, (c->n_hooks + 1) * sizeof *c->hooks);
    assert_non_null(c->hooks);
    struct conf_hook *h = &c->hooks[c->n_hooks++];
    memset(h, 0, sizeof *h);
    snprintf(h->transition, sizeof h->transition, "%s", transition);
    h->kind = kind;
    snprintf(h->target, sizeof h->target, "%s", target);
}

static void free_conf(struct conf *c)
{
    free(c->hooks);
    free(c);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static void assert_same_json(const char *path, const char *sent)
{
    json_error_t e;
    json_t *want = json_loads(sent, 0, &e);
    assert_non_null(want);
    json_t *got = json_load_file(path, 0, &e);
    if (!got)
        fail_msg("%s: %s", path, e.text);
    assert_true(json_equal(want, got));
    json_decref(want);
    json_decref(got);
}

static pid_t read_pid(const char *name)
{
    char path[PATH_MAX];
    dir_path(path, sizeof path, name);
    char *s = slurp(path, NULL);
    if (!s)
        return 0;
    pid_t pid = (pid_t)atoi(s);
    free(s);
    return pid;
}

/* Gone, or a zombie waiting for a parent that is not us. */
static bool process_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] == 'Z';
}

static bool wait_gone(pid_t pid, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (process_gone(pid))
            return true;
        usleep(10000);
    }
    return process_gone(pid);
}

static pid_t wait_pid_file(const char *name, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        pid_t p = read_pid(name);
        if (p > 0)
            return p;
        usleep(10000);
    }
    return 0;
}

static const struct hook_env full_env = {
    .event = "born", .host = "esx-01", .host_id = "7", .mac = "52:54:00:12:34:56", .address = "192.0.2.10",
    .state = "born", .build = "esxi8@2", .profile = "lab", .boot_id = "3",
};

struct fixture {
    struct event_base *base;
    struct conf *conf;
    struct hooks *hooks;
    struct got got;
};

static struct fixture *fixture_new(unsigned timeout)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->conf = new_conf(timeout);
    assert_int_equal(hooks_start(f->base, f->conf, &f->hooks), 0);
    f->got.base = f->base;
    return f;
}

static void fixture_free(struct fixture *f)
{
    hooks_stop(f->hooks);
    free_conf(f->conf);
    event_base_free(f->base);
    free(f);
}

/* Fires, checks that done is not called from inside, runs the loop. */
static void fire_and_wait(struct fixture *f, const char *transition, const char *json, const struct hook_env *env,
                          int want, int max_ms)
{
    int n = hooks_fire(f->hooks, transition, json, env, on_done, &f->got);
    assert_int_equal(n, want);
    assert_int_equal(f->got.calls, 0); /* never from inside hooks_fire */
    assert_int_equal(hooks_running(f->hooks), (unsigned)want);
    run_until(&f->got, want, max_ms);
    assert_int_equal(f->got.calls, want);
    assert_int_equal(hooks_running(f->hooks), 0);
}

/* ---- exec ---- */

static void success_captures_output_environment_and_stdin(void **state)
{
    (void)state;
    char hook[PATH_MAX], path[PATH_MAX];
    write_script("ok", "cat > \"$D/ok.json\"\nenv > \"$D/ok.env\"\necho 'hello from hook'\necho 'to stderr' >&2\n",
                 hook, sizeof hook);
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "born", CONF_HOOK_EXEC, hook);
    const char *json = "{\"kind\":\"state.changed\",\"to\":\"born\",\"host\":\"esx-01\",\"data\":{\"n\":[1,2,3]}}";
    fire_and_wait(f, "born", json, &full_env, 1, 5000);
    struct seen *s = &f->got.r[0];
    assert_true(s->ok);
    assert_false(s->webhook);
    assert_false(s->timed_out);
    assert_false(s->has_error);
    assert_int_equal(s->exit_status, 0);
    assert_int_equal(s->signal, 0);
    assert_string_equal(s->transition, "born");
    assert_string_equal(s->target, hook);
    assert_string_equal(s->output, "hello from hook\nto stderr\n");
    assert_int_equal(s->output_len, strlen("hello from hook\nto stderr\n"));
    assert_true(s->duration_ms >= 0 && s->duration_ms < 5000);

    dir_path(path, sizeof path, "ok.json");
    assert_same_json(path, json);

    /* The environment is exactly ours (the shell may add PWD and the like). */
    static const char *const want[] = {
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "MIDWIFE_EVENT=born", "MIDWIFE_HOST=esx-01",
        "MIDWIFE_HOST_ID=7", "MIDWIFE_MAC=52:54:00:12:34:56", "MIDWIFE_ADDRESS=192.0.2.10",
        "MIDWIFE_STATE=born", "MIDWIFE_BUILD=esxi8@2", "MIDWIFE_PROFILE=lab", "MIDWIFE_BOOT_ID=3",
    };
    dir_path(path, sizeof path, "ok.env");
    char *env = slurp(path, NULL);
    assert_non_null(env);
    int found = 0;
    for (char *save, *line = strtok_r(env, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        bool known = false;
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
            if (strcmp(line, want[i]) == 0) {
                known = true;
                found++;
            }
        if (!known && strncmp(line, "PWD=", 4) != 0 && strncmp(line, "OLDPWD=", 7) != 0 &&
            strncmp(line, "SHLVL=", 6) != 0 && strncmp(line, "_=", 2) != 0)
            fail_msg("unexpected variable in the hook's environment: %s", line);
    }
    assert_int_equal(found, sizeof want / sizeof want[0]);
    free(env);
    fixture_free(f);
}

static void exit_3_is_a_failure_with_its_status(void **state)
{
    (void)state;
    char hook[PATH_MAX];
    write_script("three", "echo 'cannot join'\nexit 3\n", hook, sizeof hook);
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "ready", CONF_HOOK_EXEC, hook);
    fire_and_wait(f, "ready", "{}", &full_env, 1, 5000);
    struct seen *s = &f->got.r[0];
    assert_false(s->ok);
    assert_int_equal(s->exit_status, 3);
    assert_int_equal(s->signal, 0);
    assert_false(s->timed_out);
    assert_false(s->has_error);
    assert_string_equal(s->output, "cannot join\n");
    fixture_free(f);
}

static void killed_by_a_signal_reports_the_signal(void **state)
{
    (void)state;
    char hook[PATH_MAX];
    write_script("sig", "kill -USR1 $$\nsleep 5\n", hook, sizeof hook);
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "failed", CONF_HOOK_EXEC, hook);
    fire_and_wait(f, "failed", "{}", NULL, 1, 5000);
    struct seen *s = &f->got.r[0];
    assert_false(s->ok);
    assert_int_equal(s->exit_status, -1);
    assert_int_equal(s->signal, SIGUSR1);
    assert_false(s->timed_out);
    fixture_free(f);
}

static void timeout_kills_the_hook_and_its_grandchild(void **state)
{
    (void)state;
    char hook[PATH_MAX];
    write_script("slow", "sleep 30 &\necho $! > \"$D/slow.gc\"\necho $$ > \"$D/slow.pid\"\nsleep 30\n", hook,
                 sizeof hook);
    struct fixture *f = fixture_new(1);
    add_hook(f->conf, "booting", CONF_HOOK_EXEC, hook);
    fire_and_wait(f, "booting", "{}", NULL, 1, 6000);
    struct seen *s = &f->got.r[0];
    assert_true(s->timed_out);
    assert_false(s->ok);
    assert_int_equal(s->signal, SIGTERM);
    if (s->duration_ms < 950 || s->duration_ms > 2500)
        fail_msg("duration %lld ms, expected about the 1 s timeout", (long long)s->duration_ms);
    pid_t pid = read_pid("slow.pid"), gc = read_pid("slow.gc");
    assert_true(pid > 0 && gc > 0);
    assert_true(wait_gone(pid, 1000));
    assert_true(wait_gone(gc, 1000));
    fixture_free(f);
}

static void timeout_escalates_to_sigkill_when_term_is_ignored(void **state)
{
    (void)state;
    char hook[PATH_MAX];
    write_script("stubborn",
                 "trap '' TERM\nsleep 30 &\necho $! > \"$D/stubborn.gc\"\necho $$ > \"$D/stubborn.pid\"\nsleep 30\n",
                 hook, sizeof hook);
    struct fixture *f = fixture_new(1);
    add_hook(f->conf, "booting", CONF_HOOK_EXEC, hook);
    fire_and_wait(f, "booting", "{}", NULL, 1, 8000);
    struct seen *s = &f->got.r[0];
    assert_true(s->timed_out);
    assert_int_equal(s->signal, SIGKILL);
    /* the 1 s timeout, then the 2 s grace */
    if (s->duration_ms < 2950 || s->duration_ms > 4500)
        fail_msg("duration %lld ms, expected about 3 s", (long long)s->duration_ms);
    assert_true(wait_gone(read_pid("stubborn.pid"), 1000));
    assert_true(wait_gone(read_pid("stubborn.gc"), 1000));
    fixture_free(f);
}

static void output_beyond_the_cap_is_dropped_not_blocking(void **state)
{
    (void)state;
    char hook[PATH_MAX];
    /* 200000 bytes: far more than the cap and than a pipe buffer; the hook
     * only exits 0 if everything it wrote was read. */
    write_script("chatty", "head -c 200000 /dev/zero | tr '\\000' x\nexit 0\n", hook, sizeof hook);
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "born", CONF_HOOK_EXEC, hook);
    fire_and_wait(f, "born", "{}", NULL, 1, 5000);
    struct seen *s = &f->got.r[0];
    assert_true(s->ok);
    assert_int_equal(s->output_len, HOOK_OUTPUT_MAX);
    assert_int_equal(strlen(s->output), HOOK_OUTPUT_MAX);
    assert_int_equal(strspn(s->output, "x"), HOOK_OUTPUT_MAX);
    fixture_free(f);
}

static char *big_json(size_t payload)
{
    char *blob = malloc(payload + 1);
    assert_non_null(blob);
    for (size_t i = 0; i < payload; i++)
        blob[i] = (char)('a' + i % 26);
    blob[payload] = '\0';
    json_t *o = json_pack("{s:s, s:s}", "kind", "state.changed", "blob", blob);
    free(blob);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(s);
    return s;
}

static void a_mebibyte_of_stdin_arrives_whole(void **state)
{
    (void)state;
    char hook[PATH_MAX], path[PATH_MAX];
    write_script("big", "cat > \"$D/big.json\"\n", hook, sizeof hook);
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "born", CONF_HOOK_EXEC, hook);
    char *json = big_json(1 << 20);
    fire_and_wait(f, "born", json, NULL, 1, 10000);
    assert_true(f->got.r[0].ok);
    dir_path(path, sizeof path, "big.json");
    size_t len;
    char *back = slurp(path, &len);
    assert_non_null(back);
    assert_int_equal(len, strlen(json));
    assert_memory_equal(back, json, len);
    assert_same_json(path, json);
    free(back);
    free(json);
    fixture_free(f);
}

static void a_hook_that_never_reads_stdin_breaks_nothing(void **state)
{
    (void)state;
    char hook[PATH_MAX];
    write_script("deaf", "exit 0\n", hook, sizeof hook);
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "born", CONF_HOOK_EXEC, hook);
    char *json = big_json(1 << 20); /* the write fails with EPIPE, never SIGPIPE */
    fire_and_wait(f, "born", json, NULL, 1, 10000);
    assert_true(f->got.r[0].ok);
    free(json);
    fixture_free(f);
}

static void hostile_values_reach_stdin_exactly_and_never_the_environment(void **state)
{
    (void)state;
    char hook[PATH_MAX], path[PATH_MAX], marker[PATH_MAX], hostile[2 * PATH_MAX + 64];
    dir_path(marker, sizeof marker, "MARKER");
    snprintf(hostile, sizeof hostile, "esx\"01'\n$(touch %s)`touch %s`", marker, marker);
    write_script("hostile", "cat > \"$D/hostile.json\"\nenv > \"$D/hostile.env\"\necho \"$MIDWIFE_HOST\"\n", hook,
                 sizeof hook);
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "born", CONF_HOOK_EXEC, hook);
    json_t *o = json_pack("{s:s, s:s}", "host", hostile, "mac", "52:54:00:00:00:01;reboot");
    char *json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct hook_env env = full_env;
    env.host = hostile;
    env.mac = "52:54:00:00:00:01;reboot";
    env.build = "a b"; /* a space is not allowed either */
    fire_and_wait(f, "born", json, &env, 1, 5000);
    assert_true(f->got.r[0].ok);
    assert_string_equal(f->got.r[0].output, "\n"); /* $MIDWIFE_HOST was unset */

    dir_path(path, sizeof path, "hostile.json");
    assert_same_json(path, json);
    json_error_t e;
    json_t *back = json_load_file(path, 0, &e);
    assert_string_equal(json_string_value(json_object_get(back, "host")), hostile);
    json_decref(back);

    dir_path(path, sizeof path, "hostile.env");
    char *envtext = slurp(path, NULL);
    assert_non_null(envtext);
    assert_null(strstr(envtext, "MIDWIFE_HOST="));
    assert_null(strstr(envtext, "MIDWIFE_MAC="));
    assert_null(strstr(envtext, "MIDWIFE_BUILD="));
    assert_non_null(strstr(envtext, "MIDWIFE_HOST_ID=7\n")); /* the clean ones stay */
    assert_non_null(strstr(envtext, "MIDWIFE_PROFILE=lab\n"));
    free(envtext);
    assert_int_equal(access(marker, F_OK), -1);
    free(json);
    fixture_free(f);
}

static void no_hook_for_the_transition_starts_nothing(void **state)
{
    (void)state;
    char hook[PATH_MAX];
    write_script("only-born", "exit 0\n", hook, sizeof hook);
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "born", CONF_HOOK_EXEC, hook);
    assert_int_equal(hooks_fire(f->hooks, "ready", "{}", NULL, on_done, &f->got), 0);
    assert_int_equal(hooks_running(f->hooks), 0);
    run_until(&f->got, 1, 200);
    assert_int_equal(f->got.calls, 0);

    /* After a reload the new hooks apply. */
    struct conf *c2 = new_conf(10);
    add_hook(c2, "ready", CONF_HOOK_EXEC, hook);
    hooks_reload(f->hooks, c2);
    fire_and_wait(f, "ready", "{}", NULL, 1, 5000);
    assert_true(f->got.r[0].ok);
    assert_string_equal(f->got.r[0].transition, "ready");
    hooks_stop(f->hooks);
    f->hooks = NULL;
    free_conf(c2);
    fixture_free(f);
}

static void an_executable_gone_at_run_time_ends_in_done_with_error(void **state)
{
    (void)state;
    char hook[PATH_MAX];
    dir_path(hook, sizeof hook, "vanished");
    struct fixture *f = fixture_new(10);
    add_hook(f->conf, "retired", CONF_HOOK_EXEC, hook);
    fire_and_wait(f, "retired", "{}", NULL, 1, 2000);
    struct seen *s = &f->got.r[0];
    assert_false(s->ok);
    assert_true(s->has_error);
    assert_non_null(strstr(s->error, "No such file"));
    assert_int_equal(s->exit_status, -1);
    fixture_free(f);
}

/* ---- webhooks, against an evhttp server on 127.0.0.1 ---- */

struct server {
    struct evhttp *http;
    uint16_t port;
    int requests;
    char method[8];
    char content_type[64];
    char *body;
    size_t body_len;
};

static void on_request(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    const char *uri = evhttp_request_get_uri(req);
    srv->requests++;
    snprintf(srv->method, sizeof srv->method, "%s",
             evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "other");
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    snprintf(srv->content_type, sizeof srv->content_type, "%s", ct ? ct : "");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    free(srv->body);
    srv->body_len = evbuffer_get_length(in);
    srv->body = malloc(srv->body_len + 1);
    evbuffer_copyout(in, srv->body, srv->body_len);
    srv->body[srv->body_len] = '\0';
    if (strcmp(uri, "/hang") == 0)
        return; /* never answered */
    struct evbuffer *out = evbuffer_new();
    if (strcmp(uri, "/fail") == 0) {
        evbuffer_add_printf(out, "nope");
        evhttp_send_reply(req, 500, "Internal Server Error", out);
    } else if (strcmp(uri, "/big") == 0) {
        for (int i = 0; i < 10000; i++)
            evbuffer_add(out, "y", 1);
        evhttp_send_reply(req, 200, "OK", out);
    } else {
        evbuffer_add_printf(out, "thanks");
        evhttp_send_reply(req, 200, "OK", out);
    }
    evbuffer_free(out);
}

static void server_start(struct server *srv, struct event_base *base)
{
    memset(srv, 0, sizeof *srv);
    srv->http = evhttp_new(base);
    assert_non_null(srv->http);
    evhttp_set_max_body_size(srv->http, 4 << 20);
    evhttp_set_gencb(srv->http, on_request, srv);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(srv->http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl), 0);
    srv->port = ntohs(sin.sin_port);
}

static void server_stop(struct server *srv)
{
    evhttp_free(srv->http);
    free(srv->body);
}

static void webhook_url(char *out, size_t n, const struct server *srv, const char *path)
{
    snprintf(out, n, "http://127.0.0.1:%u%s", srv->port, path);
}

static void webhook_posts_the_json_and_2xx_is_success(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(5);
    struct server srv;
    server_start(&srv, f->base);
    char url[128];
    webhook_url(url, sizeof url, &srv, "/ok");
    add_hook(f->conf, "ready", CONF_HOOK_WEBHOOK, url);
    char *json = big_json(100000);
    fire_and_wait(f, "ready", json, &full_env, 1, 5000);
    struct seen *s = &f->got.r[0];
    assert_true(s->webhook);
    assert_true(s->ok);
    assert_false(s->has_error);
    assert_int_equal(s->http_status, 200);
    assert_string_equal(s->output, "thanks");
    assert_string_equal(s->target, url);
    assert_int_equal(srv.requests, 1);
    assert_string_equal(srv.method, "POST");
    assert_string_equal(srv.content_type, "application/json");
    assert_int_equal(srv.body_len, strlen(json));
    assert_string_equal(srv.body, json);
    free(json);
    server_stop(&srv);
    fixture_free(f);
}

static void webhook_500_is_a_failure_and_bodies_are_capped(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(5);
    struct server srv;
    server_start(&srv, f->base);
    char fail_url[128], big_url[128];
    webhook_url(fail_url, sizeof fail_url, &srv, "/fail");
    webhook_url(big_url, sizeof big_url, &srv, "/big");
    add_hook(f->conf, "failed", CONF_HOOK_WEBHOOK, fail_url);
    add_hook(f->conf, "failed", CONF_HOOK_WEBHOOK, big_url);
    fire_and_wait(f, "failed", "{\"a\":1}", NULL, 2, 5000);
    for (int i = 0; i < 2; i++) {
        struct seen *s = &f->got.r[i];
        if (strcmp(s->target, fail_url) == 0) {
            assert_false(s->ok);
            assert_int_equal(s->http_status, 500);
            assert_string_equal(s->output, "nope");
            assert_false(s->timed_out);
        } else {
            assert_string_equal(s->target, big_url);
            assert_true(s->ok);
            assert_int_equal(s->output_len, HOOK_OUTPUT_MAX);
            assert_int_equal(strspn(s->output, "y"), HOOK_OUTPUT_MAX);
        }
    }
    assert_string_not_equal(f->got.r[0].target, f->got.r[1].target);
    server_stop(&srv);
    fixture_free(f);
}

static void webhook_without_an_answer_times_out(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(1);
    struct server srv;
    server_start(&srv, f->base);
    char url[128];
    webhook_url(url, sizeof url, &srv, "/hang");
    add_hook(f->conf, "born", CONF_HOOK_WEBHOOK, url);
    fire_and_wait(f, "born", "{}", NULL, 1, 5000);
    struct seen *s = &f->got.r[0];
    assert_true(s->timed_out);
    assert_false(s->ok);
    assert_int_equal(s->http_status, 0);
    assert_int_equal(srv.requests, 1); /* it did arrive */
    if (s->duration_ms < 950 || s->duration_ms > 2500)
        fail_msg("duration %lld ms, expected about the 1 s timeout", (long long)s->duration_ms);
    server_stop(&srv);
    fixture_free(f);
}

static void webhook_to_a_closed_port_reports_an_error(void **state)
{
    (void)state;
    /* A port that was just free: bind, read it, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", ntohs(sin.sin_port));
    struct fixture *f = fixture_new(5);
    add_hook(f->conf, "born", CONF_HOOK_WEBHOOK, url);
    fire_and_wait(f, "born", "{}", NULL, 1, 5000);
    struct seen *s = &f->got.r[0];
    assert_false(s->ok);
    assert_false(s->timed_out);
    assert_true(s->has_error);
    assert_int_equal(s->http_status, 0);
    fixture_free(f);
}

/* 300 webhooks in one loop turn: 256 run, the rest end at once in done
 * with an error instead of becoming 300 connections (or processes). */
static int capped_ok, capped_refused, capped_calls;
static void on_capped_done(void *arg, const struct hook_result *res)
{
    struct event_base *base = arg;
    if (res->ok)
        capped_ok++;
    else if (res->error && strstr(res->error, "too many hooks running"))
        capped_refused++;
    if (++capped_calls == 300)
        event_base_loopbreak(base);
}

static void runs_at_once_are_capped(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(5);
    struct server srv;
    server_start(&srv, f->base);
    char url[128];
    webhook_url(url, sizeof url, &srv, "/ok");
    for (int i = 0; i < 60; i++)
        add_hook(f->conf, "discovered", CONF_HOOK_WEBHOOK, url);
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr); /* not 300 lines of it */
    int total = 0;
    for (int i = 0; i < 5; i++)
        total += hooks_fire(f->hooks, "discovered", "{}", NULL, on_capped_done, f->base);
    assert_int_equal(total, 300);
    assert_int_equal(capped_calls, 0);
    assert_int_equal(hooks_running(f->hooks), 300);
    struct event *safety = evtimer_new(f->base, on_safety, f->base);
    struct timeval ten = {10, 0};
    evtimer_add(safety, &ten);
    event_base_dispatch(f->base);
    event_free(safety);
    assert_int_equal(capped_calls, 300);
    assert_int_equal(capped_ok, 256);
    assert_int_equal(capped_refused, 44);
    assert_int_equal(srv.requests, 256);
    assert_int_equal(hooks_running(f->hooks), 0);
    log_setup(LOG_FORMAT_TEXT, LOG_INFO, stderr);
    server_stop(&srv);
    fixture_free(f);
}

/* ---- stop ---- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void run_for(struct event_base *base, int ms)
{
    struct event *t = evtimer_new(base, on_tick, base);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t, &tv);
    event_base_dispatch(base);
    event_free(t);
}

static void stop_kills_runs_in_flight_without_done(void **state)
{
    (void)state;
    char a[PATH_MAX], b[PATH_MAX], url[128];
    write_script("inflight-a", "sleep 30 &\necho $! > \"$D/a.gc\"\necho $$ > \"$D/a.pid\"\nsleep 30\n", a, sizeof a);
    write_script("inflight-b", "echo $$ > \"$D/b.pid\"\nexec sleep 30\n", b, sizeof b);
    struct fixture *f = fixture_new(30);
    struct server srv;
    server_start(&srv, f->base);
    webhook_url(url, sizeof url, &srv, "/hang");
    add_hook(f->conf, "born", CONF_HOOK_EXEC, a);
    add_hook(f->conf, "born", CONF_HOOK_EXEC, b);
    add_hook(f->conf, "born", CONF_HOOK_WEBHOOK, url);
    char *json = big_json(1 << 20); /* neither reads it: stdin still pending */
    assert_int_equal(hooks_fire(f->hooks, "born", json, NULL, on_done, &f->got), 3);
    free(json);
    pid_t pa = wait_pid_file("a.pid", 3000), pb = wait_pid_file("b.pid", 3000), gc = wait_pid_file("a.gc", 3000);
    assert_true(pa > 0 && pb > 0 && gc > 0);
    for (int i = 0; i < 50 && srv.requests == 0; i++)
        run_for(f->base, 20);
    assert_int_equal(srv.requests, 1);
    assert_int_equal(hooks_running(f->hooks), 3);

    hooks_stop(f->hooks);
    f->hooks = NULL;
    assert_int_equal(f->got.calls, 0);
    /* our children are reaped, not just killed */
    assert_int_equal(kill(pa, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(kill(pb, 0), -1);
    assert_true(wait_gone(gc, 1000));
    run_for(f->base, 200); /* nothing left to call back */
    assert_int_equal(f->got.calls, 0);
    server_stop(&srv);
    fixture_free(f);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(success_captures_output_environment_and_stdin),
        cmocka_unit_test(exit_3_is_a_failure_with_its_status),
        cmocka_unit_test(killed_by_a_signal_reports_the_signal),
        cmocka_unit_test(timeout_kills_the_hook_and_its_grandchild),
        cmocka_unit_test(timeout_escalates_to_sigkill_when_term_is_ignored),
        cmocka_unit_test(output_beyond_the_cap_is_dropped_not_blocking),
        cmocka_unit_test(a_mebibyte_of_stdin_arrives_whole),
        cmocka_unit_test(a_hook_that_never_reads_stdin_breaks_nothing),
        cmocka_unit_test(hostile_values_reach_stdin_exactly_and_never_the_environment),
        cmocka_unit_test(no_hook_for_the_transition_starts_nothing),
        cmocka_unit_test(an_executable_gone_at_run_time_ends_in_done_with_error),
        cmocka_unit_test(webhook_posts_the_json_and_2xx_is_success),
        cmocka_unit_test(webhook_500_is_a_failure_and_bodies_are_capped),
        cmocka_unit_test(webhook_without_an_answer_times_out),
        cmocka_unit_test(webhook_to_a_closed_port_reports_an_error),
        cmocka_unit_test(runs_at_once_are_capped),
        cmocka_unit_test(stop_kills_runs_in_flight_without_done),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
