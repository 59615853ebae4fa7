#include "server/serve.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "api/api.h"
#include "conf/conf.h"
#include "dhcp/dhcp_service.h"
#include "boot/script.h"
#include "http/http_api.h"
#include "http/http_service.h"
#include "images/agent_module.h"
#include "lifecycle/birth.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"
#include "tftp/tftp_service.h"
#include "util/log.h"
#include "util/metrics.h"

struct server {
    struct event_base *base;
    struct conf *conf;
    struct store *store;
    struct dhcp_service *dhcp;
    struct tftp_service *tftp;
    struct http_service *http;
    struct lifecycle *lc;
    struct api *api;
    struct event *sig_term, *sig_int, *sig_hup, *sig_usr1;
};

static const char *config_path_from_args(int argc, char **argv, const char *cmd)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'h':
        default:
            fprintf(stderr, "usage: midwife %s -c FILE\n", cmd);
            return NULL;
        }
    }
    if (!path)
        fprintf(stderr, "usage: midwife %s -c FILE\n", cmd);
    return path;
}

static void on_shutdown(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct server *s = arg;
    log_info("serve", "%s received, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(s->base);
}

#ifndef MIDWIFE_AGENT_DIR
#define MIDWIFE_AGENT_DIR "/usr/local/libexec/midwife"
#endif

/* Packs the agent module for linux scripts ([boot] agent; by default the
 * agent next to this binary, as a build tree has it, else the installed
 * one). Without one, hosts still boot; they just get no agent. */
static void pack_agent(const struct conf *conf, struct store *st, struct lifecycle *lc)
{
    char dir[PATH_MAX] = "", err[512];
    if (conf->boot_agent_off) {
        lifecycle_set_agent_module(lc, NULL);
        return;
    }
    if (conf->boot_agent[0]) {
        snprintf(dir, sizeof dir, "%s", conf->boot_agent);
    } else {
        char self[PATH_MAX], probe[PATH_MAX + 32];
        struct stat sb;
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        char *slash = n > 0 ? (self[n] = '\0', strrchr(self, '/')) : NULL;
        if (slash) {
            *slash = '\0';
            snprintf(probe, sizeof probe, "%s/agent/midwife-agent", self);
            if (stat(probe, &sb) == 0 && strlen(self) + sizeof "/agent" <= sizeof dir)
                snprintf(dir, sizeof dir, "%.*s/agent", (int)(sizeof dir - sizeof "/agent"), self);
        }
        if (!dir[0])
            snprintf(dir, sizeof dir, "%s", MIDWIFE_AGENT_DIR);
    }
    char sha[SHA256_HEX_LEN + 1];
    uint64_t size;
    int r = agent_module_build(dir, conf->state_dir, st, sha, &size, err, sizeof err);
    if (r < 0) {
        if ((r == -ENOENT || r == -ENOEXEC) && !conf->boot_agent[0])
            log_warn("serve", "no agent module: %s (linux hosts boot without midwife-agent; set [boot] agent)", err);
        else
            log_error("serve", "no agent module: %s", err);
        lifecycle_set_agent_module(lc, NULL);
        return;
    }
    log_info("serve", "agent module %s (%llu bytes) from %s", sha, (unsigned long long)size, dir);
    lifecycle_set_agent_module(lc, sha);
}

/* Services keep no pointers into a config they were not handed, so after
 * every service accepted the new config the old one can go. */
static void on_reload(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    struct server *s = arg;
    char err[1024];
    struct conf *next;
    log_info("serve", "SIGHUP: reloading %s", s->conf->path);
    if (conf_load(s->conf->path, &next, err, sizeof err) < 0) {
        log_error("serve", "reload refused, keeping the running config: %s", err);
        return;
    }
    if (boot_templates_check(next, err, sizeof err) < 0) {
        log_error("serve", "reload refused, keeping the running config: %s", err);
        conf_free(next);
        return;
    }
    if (strcmp(next->state_dir, s->conf->state_dir) != 0) {
        log_error("serve", "reload refused: state_dir changed (needs a restart)");
        conf_free(next);
        return;
    }
    if (s->dhcp && dhcp_service_reload(s->dhcp, next) < 0) {
        log_error("serve", "reload refused by dhcp, keeping the running config");
        conf_free(next);
        return;
    }
    if (s->tftp && tftp_service_reload(s->tftp, next) < 0) {
        log_error("serve", "reload refused by tftp, keeping the running config");
        if (s->dhcp)
            dhcp_service_reload(s->dhcp, s->conf);
        conf_free(next);
        return;
    }
    if (s->http && http_service_reload(s->http, next) < 0) {
        log_error("serve", "reload refused by http, keeping the running config");
        if (s->dhcp)
            dhcp_service_reload(s->dhcp, s->conf);
        if (s->tftp)
            tftp_service_reload(s->tftp, s->conf);
        conf_free(next);
        return;
    }
    if ((s->dhcp != NULL) != next->dhcp_enabled || (s->tftp != NULL) != next->tftp_enabled ||
        (s->http != NULL) != next->http_enabled)
        log_warn("serve", "enabling or disabling a service takes a restart");
    if (s->lc) {
        lifecycle_reload(s->lc, next);
        pack_agent(next, s->store, s->lc);
    }
    if (s->api)
        api_reload(s->api, next);
    log_setup(next->log_format, next->log_level, stderr);
    conf_free(s->conf);
    s->conf = next;
    log_info("serve", "config reloaded");
}

static void on_dump(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    metrics_write_prometheus(f);
    fclose(f);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '#')
            log_info("metrics", "%s", line);
    free(text);
}

static void server_free(struct server *s)
{
    if (s->dhcp)
        dhcp_service_stop(s->dhcp);
    if (s->tftp)
        tftp_service_stop(s->tftp);
    if (s->http)
        http_service_stop(s->http);
    /* No request reaches the API any more; then the lifecycle writes the
     * events still queued, while the store is open. */
    if (s->api)
        api_stop(s->api);
    if (s->lc)
        lifecycle_stop(s->lc);
    /* Pending leases are committed by now. Freeing the signal events gives
     * the signals back their default action, so that happens last: a second
     * Ctrl-C during shutdown must not kill midwife before the store closes. */
    store_close(s->store);
    struct event *evs[] = {s->sig_term, s->sig_int, s->sig_hup, s->sig_usr1};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i])
            event_free(evs[i]);
    if (s->base)
        event_base_free(s->base);
    conf_free(s->conf);
}

int serve_main(int argc, char **argv)
{
    const char *path = config_path_from_args(argc, argv, "serve");
    if (!path)
        return 2;
    struct server s = {0};
    char err[1024];
    if (conf_load(path, &s.conf, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        return 1;
    }
    log_setup(s.conf->log_format, s.conf->log_level, stderr);
    signal(SIGPIPE, SIG_IGN);
    /* A broken operator template must stop startup, not the first boot. */
    if (boot_templates_check(s.conf, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        conf_free(s.conf);
        return 1;
    }

    int rc = 1;
    /* libevent 2.1 runs its timers on CLOCK_MONOTONIC on Linux, so a wall
     * clock step never fires or delays a retransmission. */
    s.base = event_base_new();
    if (!s.base) {
        log_error("serve", "cannot create the event loop");
        goto out;
    }
    if (store_open(s.conf->state_dir, s.conf->sync, &s.store, err, sizeof err) < 0) {
        log_error("serve", "store: %s", err);
        goto out;
    }
    s.sig_term = evsignal_new(s.base, SIGTERM, on_shutdown, &s);
    s.sig_int = evsignal_new(s.base, SIGINT, on_shutdown, &s);
    s.sig_hup = evsignal_new(s.base, SIGHUP, on_reload, &s);
    s.sig_usr1 = evsignal_new(s.base, SIGUSR1, on_dump, &s);
    if (!s.sig_term || !s.sig_int || !s.sig_hup || !s.sig_usr1 || evsignal_add(s.sig_term, NULL) < 0 ||
        evsignal_add(s.sig_int, NULL) < 0 || evsignal_add(s.sig_hup, NULL) < 0 ||
        evsignal_add(s.sig_usr1, NULL) < 0) {
        log_error("serve", "cannot install signal handlers");
        goto out;
    }
    if (lifecycle_start(s.base, s.conf, s.store, &s.lc) < 0) {
        log_error("serve", "cannot start the lifecycle");
        goto out;
    }
    pack_agent(s.conf, s.store, s.lc);
    if (api_start(s.base, s.conf, s.store, s.lc, &s.api) < 0) {
        log_error("serve", "cannot start the API");
        goto out;
    }
    if (s.conf->dhcp_enabled && dhcp_service_start(s.base, s.conf, s.store, &s.dhcp) < 0)
        goto out;
    if (s.dhcp)
        lifecycle_set_lease_cleaner(s.lc, dhcp_service_forget_mac, s.dhcp);
    if (s.conf->tftp_enabled && tftp_service_start(s.base, s.conf, &s.tftp) < 0)
        goto out;
    if (s.conf->http_enabled && http_service_start(s.base, s.conf, s.store, &s.http) < 0)
        goto out;
    if (s.http)
        http_service_set_api(s.http, api_handle, s.api);
    log_info("serve", "midwife %s ready (config %s, state %s)", MIDWIFE_VERSION, path, s.conf->state_dir);
    if (event_base_dispatch(s.base) < 0) {
        log_error("serve", "event loop failed");
        goto out;
    }
    rc = 0;
out:
    server_free(&s);
    if (rc == 0)
        log_info("serve", "stopped");
    return rc;
}

int check_main(int argc, char **argv)
{
    const char *path = config_path_from_args(argc, argv, "check");
    if (!path)
        return 2;
    struct conf *c;
    char err[1024];
    if (conf_load(path, &c, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        return 1;
    }
    if (boot_templates_check(c, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        conf_free(c);
        return 1;
    }
    printf("%s: ok (%zu subnets, %zu reservations)\n", path, c->n_subnets, c->n_reservations);
    conf_free(c);
    return 0;
}
