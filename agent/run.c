/* midwife-agent run / save / facts (see run.h). The order of a run:
 * the management VLAN (midwife.vlan=) → birth → restore the saved state →
 * apply → ready (with the facts read again, so midwife sees what was
 * applied) → stay and save. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "birth.h"
#include "cmdline.h"
#include "doc.h"
#include "facts.h"
#include "http.h"
#include "persist.h"
#include "report_http.h"
#include "util/log.h"

static const char *root_of(const struct run_opts *o)
{
    return o->root ? o->root : "";
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("midwife-agent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

/* ---- what run leaves for save ---- */

static int runtime_path(const char *root, const char *name, char *out, size_t outlen, bool make_dir)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/run/midwife", root) >= (int)sizeof dir)
        return -ENAMETOOLONG;
    if (make_dir) {
        char run[PATH_MAX];
        snprintf(run, sizeof run, "%s/run", root);
        mkdir(run, 0755);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -errno;
    }
    if (snprintf(out, outlen, "%s/%s", dir, name) >= (int)outlen)
        return -ENAMETOOLONG;
    return 0;
}

static int write_file_0600(const char *path, const char *text)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t n = strlen(text);
    int r = fchmod(fd, 0600) < 0 || write(fd, text, n) != (ssize_t)n ? -EIO : 0;
    if (close(fd) < 0 && r == 0)
        r = -EIO;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
    return r;
}

int agent_state_write(const char *root, const char *url, const char *token, const json_t *doc)
{
    char path[PATH_MAX];
    int r = runtime_path(root, "agent.json", path, sizeof path, true);
    if (r < 0)
        return r;
    json_t *persist = json_object_get(doc, "persist");
    persist = persist ? json_incref(persist) : json_array();
    json_t *j = json_pack("{s:s, s:s, s:O, s:O, s:o, s:I}", "url", url, "token", token, "state_url",
                          json_object_get(doc, "state_url"), "report_url", json_object_get(doc, "report_url"),
                          "persist", persist, "interval",
                          json_integer_value(json_object_get(doc, "persist_interval")));
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    if (!text)
        return -ENOMEM;
    r = write_file_0600(path, text);
    free(text);
    return r;
}

json_t *agent_state_read(const char *root, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (runtime_path(root, "agent.json", path, sizeof path, false) < 0) {
        snprintf(err, errlen, "path too long");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        snprintf(err, errlen, "%s: %s (is midwife-agent run done?)", path, je.text);
        return NULL;
    }
    /* The same rules as the document's: this file steers uploads. */
    const char *su = json_string_value(json_object_get(j, "state_url"));
    const char *tok = json_string_value(json_object_get(j, "token"));
    json_t *persist = json_object_get(j, "persist");
    persist = persist ? json_incref(persist) : json_array();
    json_t *check = json_pack("{s:i, s:s, s:s, s:o}", "version", 1, "report_url", su ? su : "", "state_url",
                              su ? su : "", "persist", persist);
    char why[256];
    if (!tok || !check || doc_check(check, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", path, tok ? why : "no token");
        json_decref(check);
        json_decref(j);
        return NULL;
    }
    json_decref(check);
    return j;
}

/* ---- run ---- */

static void save_now(const char *state_url, const char *token, const char *const *paths, size_t n)
{
    char msg[600];
    int r = persist_save(state_url, token, paths, n, msg, sizeof msg);
    report_print(NULL, "persist.save", r == 0 ? "ok" : r > 0 ? "skipped" : "failed", msg);
}

static void restore_state(const struct run_opts *o, const json_t *doc, const struct reporter *rep)
{
    const char *paths[PERSIST_PATHS_MAX];
    size_t n = persist_paths(doc, paths, PERSIST_PATHS_MAX);
    char dir[PATH_MAX];
    if (n == 0) {
        report_step(rep, "persist.restore", STEP_SKIPPED, "no persist paths");
        return;
    }
    if (!persist_state_dir(root_of(o), dir, sizeof dir)) {
        report_step(rep, "persist.restore", STEP_SKIPPED, "nothing saved");
        return;
    }
    unsigned count = 0;
    char err[512];
    /* A path that could not be restored is told, and the configuration
     * still goes on: a host without one file is better than no host. */
    /* The persist paths are the host's own (saving reads them there too);
     * only where the kernel left the archive depends on --root. */
    if (persist_restore(dir, "", paths, n, &count, err, sizeof err) < 0)
        report_step(rep, "persist.restore", STEP_FAILED, "%u entries restored; %s", count, err);
    else if (count == 0)
        report_step(rep, "persist.restore", STEP_SKIPPED, "nothing saved");
    else
        report_step(rep, "persist.restore", STEP_OK, "%u entries restored from %s", count, dir);
}

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

static void block_stop_signals(void)
{
    sigset_t set;
    stop_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Stays in the foreground after ready: saves every interval seconds and
 * once more on SIGTERM/SIGINT (SIGHUP: save now). */
static int stay(const struct run_opts *o, const char *token, const json_t *doc)
{
    const char *paths[PERSIST_PATHS_MAX];
    size_t n = persist_paths(doc, paths, PERSIST_PATHS_MAX);
    const char *state_url = json_string_value(json_object_get(doc, "state_url"));
    json_int_t interval = json_integer_value(json_object_get(doc, "persist_interval"));
    /* docs/profiles.md: values under 60 count as 60. */
    if (interval > 0 && interval < 60)
        interval = 60;
    char pidfile[PATH_MAX], pid[32];
    snprintf(pidfile, sizeof pidfile, "%s/run/midwife-agent.pid", root_of(o));
    snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (write_file_0600(pidfile, pid) < 0)
        say("cannot write %s: %s", pidfile, strerror(errno));
    sigset_t set;
    block_stop_signals();
    stop_signals(&set);
    say("ready; %s", n == 0 ? "nothing to save, waiting for SIGTERM"
                  : interval > 0 ? "saving state periodically and at SIGTERM"
                                 : "saving state at SIGTERM");
    for (;;) {
        int sig;
        if (interval > 0 && n > 0) {
            struct timespec ts = {.tv_sec = (time_t)interval};
            sig = sigtimedwait(&set, NULL, &ts);
        } else {
            sig = sigwaitinfo(&set, NULL);
        }
        if (sig < 0 && errno == EAGAIN) {
            save_now(state_url, token, paths, n);
            continue;
        }
        if (sig < 0)
            continue;
        if (sig == SIGHUP) {
            save_now(state_url, token, paths, n);
            continue;
        }
        if (n > 0)
            save_now(state_url, token, paths, n);
        unlink(pidfile);
        say("stopped by signal %d", sig);
        return AGENT_EXIT_OK;
    }
}

/* Where a failure goes when the document itself cannot be trusted. */
static void fallback_report_url(const char *base, const json_t *doc, char *out, size_t outlen)
{
    const char *u = json_string_value(json_object_get(doc, "report_url"));
    struct http_url pu;
    char e[64];
    if (u && http_url_parse(u, &pu, e, sizeof e) == 0 && strlen(u) < outlen)
        snprintf(out, outlen, "%s", u);
    else
        snprintf(out, outlen, "%s/api/v1/report", base);
}

/* Seconds the management VLAN's DHCP client may take before the birth. */
#define MGMT_VLAN_DHCP_TIMEOUT_S 30

/* midwife.vlan=N: the host is managed over VLAN N, tagged on its boot
 * NIC, and midwife serves that VLAN. It comes up, with a lease, before
 * the birth, so the birth can go over it (a host that PXE-booted on the
 * native VLAN may have no other way to midwife). A failure is said on the
 * console and the birth tried anyway: the native VLAN may reach midwife
 * too, and the failure is reported again by apply's mgmt_vlan step. */
static void mgmt_vlan_before_birth(const struct agent_cmdline *c)
{
    if (!c->vlan)
        return;
    if (!c->has_mac) {
        say("midwife.vlan=%u but no midwife.mac=: which NIC carries it is unknown; no management VLAN", c->vlan);
        return;
    }
    char msg[512], name[IFNAMSIZ + 8];
    int r = apply_mgmt_vlan(c->mac, c->vlan, MGMT_VLAN_DHCP_TIMEOUT_S, name, sizeof name, msg, sizeof msg);
    char line[600];
    snprintf(line, sizeof line, "VLAN %u as %s: %s", c->vlan, name[0] ? name : "?", msg[0] ? msg : "up, unchanged");
    report_print(NULL, "mgmt_vlan", r < 0 ? "failed" : "ok", line);
}

int agent_run(const struct run_opts *o)
{
    struct agent_cmdline c;
    char err[1024];
    int r = cmdline_load(o->cmdline_path, &c, err, sizeof err);
    if (r < 0) {
        say("%s", err);
        return AGENT_EXIT_NOTHING;
    }
    mgmt_vlan_before_birth(&c);
    json_t *facts = facts_collect(o->sysroot, c.has_mac ? c.mac : NULL);
    if (!facts) {
        say("out of memory collecting facts");
        return AGENT_EXIT_FAILED;
    }
    say("birth: %s/api/v1/birth", c.url);
    struct birth_env env = {.total_s = c.birth_timeout_s};
    json_t *doc;
    enum birth_result br = birth_run(c.url, c.token, facts, &env, &doc, err, sizeof err);
    json_decref(facts);
    if (br == BIRTH_BAD_ANSWER) {
        /* The token is spent: midwife is told why nothing will happen. */
        char url[2048], msg[1200];
        fallback_report_url(c.url, NULL, url, sizeof url);
        struct http_reporter hr = {.url = url, .token = c.token};
        snprintf(msg, sizeof msg, "configuration document refused: %s", err);
        report_failed(&hr, "document", msg);
        return AGENT_EXIT_FAILED;
    }
    if (br != BIRTH_OK) {
        report_print(NULL, "birth", "failed", err);
        return AGENT_EXIT_FAILED;
    }
    report_print(NULL, "birth", "ok", NULL);

    char why[512];
    if (doc_check(doc, why, sizeof why) < 0) {
        char url[2048], msg[600];
        fallback_report_url(c.url, doc, url, sizeof url);
        struct http_reporter hr = {.url = url, .token = c.token};
        snprintf(msg, sizeof msg, "configuration document refused: %s", why);
        report_failed(&hr, "document", msg);
        json_decref(doc);
        return AGENT_EXIT_FAILED;
    }
    struct http_reporter hr = {.url = json_string_value(json_object_get(doc, "report_url")), .token = c.token};
    struct reporter rep = http_reporter(&hr);

    restore_state(o, doc, &rep);

    struct apply_env aenv = {
        .root = root_of(o),
        .set_kernel_hostname = !o->no_hostname,
        .storage_and_commands = true,
        .boot_mac = c.has_mac ? c.mac : NULL,
    };
    const char *failed_step = NULL;
    if (apply_document(doc, &aenv, &rep, err, sizeof err, &failed_step) < 0) {
        report_failed(&hr, failed_step ? failed_step : "apply", err);
        json_decref(doc);
        return AGENT_EXIT_FAILED;
    }
    /* From here a SIGTERM waits for stay() (which saves), instead of
     * ending the agent between the ready report and the loop. */
    if (!o->once)
        block_stop_signals();

    /* Read again: the addresses, links and host name are now the ones
     * the document asked for, and that is what midwife should show. */
    facts = facts_collect(o->sysroot, c.has_mac ? c.mac : NULL);
    r = report_ready(&hr, facts);
    json_decref(facts);
    if (r < 0) {
        say("the ready report did not reach midwife");
        json_decref(doc);
        return AGENT_EXIT_FAILED;
    }
    /* Written once ready: an init script waits for this file. */
    if ((r = agent_state_write(root_of(o), c.url, c.token, doc)) < 0)
        say("cannot write %s/run/midwife/agent.json: %s (midwife-agent save will not work)", root_of(o),
            strerror(-r));
    int rc = o->once ? AGENT_EXIT_OK : stay(o, c.token, doc);
    json_decref(doc);
    return rc;
}

int agent_save(const struct run_opts *o)
{
    char err[512];
    json_t *st = agent_state_read(root_of(o), err, sizeof err);
    if (!st) {
        say("save: %s", err);
        return AGENT_EXIT_FAILED;
    }
    const char *paths[PERSIST_PATHS_MAX];
    size_t n = persist_paths(st, paths, PERSIST_PATHS_MAX);
    char msg[600];
    int r = persist_save(json_string_value(json_object_get(st, "state_url")),
                         json_string_value(json_object_get(st, "token")), paths, n, msg, sizeof msg);
    report_print(NULL, "persist.save", r == 0 ? "ok" : r > 0 ? "skipped" : "failed", msg);
    json_decref(st);
    return r < 0 ? AGENT_EXIT_FAILED : AGENT_EXIT_OK;
}

int agent_facts(const struct run_opts *o)
{
    struct agent_cmdline c;
    char err[512];
    bool mac = cmdline_load(o->cmdline_path, &c, err, sizeof err) == 0 && c.has_mac;
    json_t *f = facts_collect(o->sysroot, mac ? c.mac : NULL);
    if (!f || json_dumpf(f, stdout, JSON_INDENT(2)) < 0) {
        json_decref(f);
        return AGENT_EXIT_FAILED;
    }
    fputc('\n', stdout);
    json_decref(f);
    return AGENT_EXIT_OK;
}
