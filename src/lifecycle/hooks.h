/* Hooks: tell external managers about a host's transitions.
 *
 * Two kinds, configured per transition in [hooks] (examples/midwife.conf):
 *   exec     an executable, run without a shell and without blocking the
 *            loop: the event as JSON on stdin, key fields in the
 *            environment (MIDWIFE_EVENT, MIDWIFE_HOST, MIDWIFE_HOST_ID,
 *            MIDWIFE_MAC, MIDWIFE_ADDRESS, MIDWIFE_STATE, MIDWIFE_BUILD,
 *            MIDWIFE_PROFILE, MIDWIFE_BOOT_ID; a value with a byte outside
 *            [A-Za-z0-9._:@/+=-] is left out of the environment, never
 *            altered: stdin has it exactly), stdout and stderr captured
 *            (the first HOOK_OUTPUT_MAX bytes), killed after the timeout.
 *   webhook  an HTTP POST of the same JSON to a URL (http:// only), with
 *            the same timeout; 2xx is success.
 * Each run ends in one call of the caller's done function with the result,
 * which the lifecycle records as an event. */
#ifndef MIDWIFE_LIFECYCLE_HOOKS_H
#define MIDWIFE_LIFECYCLE_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf/conf.h"

#define HOOK_OUTPUT_MAX 4096

struct hooks;

/* The key fields for the environment; NULL or "" = not set. */
struct hook_env {
    const char *event;    /* the transition: discovered booting born ready failed retired */
    const char *host;
    const char *host_id;
    const char *mac;
    const char *address;
    const char *state;
    const char *build;
    const char *profile;
    const char *boot_id;
};

struct hook_result {
    const char *transition;
    const char *target;   /* the executable's path or the webhook URL */
    bool webhook;
    bool ok;              /* exit 0 / HTTP 2xx */
    bool timed_out;
    int exit_status;      /* exec: exit code, or -1 when killed by a signal */
    int signal;           /* exec: the signal that ended it, 0 = none */
    int http_status;      /* webhook: the status, 0 = no answer */
    const char *output;   /* captured stdout+stderr / response body, NUL-terminated, may be "" */
    size_t output_len;
    int64_t duration_ms;
    const char *error;    /* why it could not run at all (spawn failed, connect refused), or NULL */
};

typedef void (*hook_done_fn)(void *arg, const struct hook_result *res);

int hooks_start(struct event_base *base, const struct conf *conf, struct hooks **out);
/* New runs use conf from now on; runs in flight finish with what they had. */
void hooks_reload(struct hooks *h, const struct conf *conf);
/* Kills running children (SIGKILL) and cancels webhooks; their done
 * functions are not called. */
void hooks_stop(struct hooks *h);

/* Starts every hook configured for transition (none: returns 0 and done
 * is never called). done is called once per hook started, later, from
 * the loop, never from inside hooks_fire. A hook that fails to start
 * (its executable gone, a spawn error) counts as started: its done
 * reports the reason in error. Returns how many were started, or a
 * negative errno when none could be (out of memory). event_json is
 * copied; a timed-out exec hook gets SIGTERM, and SIGKILL 2 s later, in
 * its whole process group. */
int hooks_fire(struct hooks *h, const char *transition, const char *event_json, const struct hook_env *env,
               hook_done_fn done, void *arg);

/* Hooks still running (for /metrics and shutdown). */
unsigned hooks_running(const struct hooks *h);

#endif
