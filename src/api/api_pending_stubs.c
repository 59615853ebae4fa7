/* Placeholders so this branch links before the lifecycle and the host
 * calls land: the routes answer 501, the lifecycle records nothing and
 * moves a host's state in the store only. Deleted when the real
 * lifecycle.c, api_events.c, api_explain.c and api_host.c are merged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "lifecycle/lifecycle.h"

static void not_yet(struct http_api_response *resp)
{
    api_error(resp, 501, NULL, "not implemented yet");
}

void api_route_events(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp)
{
    (void)a, (void)req, (void)rest;
    not_yet(resp);
}

void api_route_explain(struct api *a, const struct http_api_request *req, const char *rest,
                       struct http_api_response *resp)
{
    (void)a, (void)req, (void)rest;
    not_yet(resp);
}

void api_route_birth(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp)
{
    (void)a, (void)req, (void)rest;
    not_yet(resp);
}

void api_route_report(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp)
{
    (void)a, (void)req, (void)rest;
    not_yet(resp);
}

void api_route_state(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp)
{
    (void)a, (void)req, (void)rest;
    not_yet(resp);
}

struct lifecycle {
    struct store *st;
};

static struct lifecycle *current;

int lifecycle_start(struct event_base *base, const struct conf *conf, struct store *st, struct lifecycle **out)
{
    (void)base, (void)conf;
    struct lifecycle *lc = calloc(1, sizeof *lc);
    if (!lc)
        return -ENOMEM;
    lc->st = st;
    current = lc;
    *out = lc;
    return 0;
}

void lifecycle_reload(struct lifecycle *lc, const struct conf *conf)
{
    (void)lc, (void)conf;
}

void lifecycle_stop(struct lifecycle *lc)
{
    if (current == lc)
        current = NULL;
    free(lc);
}

struct lifecycle *lifecycle_current(void)
{
    return current;
}

void lifecycle_record(struct lifecycle *lc, const struct event *ev)
{
    (void)lc, (void)ev;
}

void lifecycle_recordf(struct lifecycle *lc, const char *kind, enum event_status status, const uint8_t *mac,
                       const char *data, const char *fmt, ...)
{
    (void)lc, (void)kind, (void)status, (void)mac, (void)data, (void)fmt;
}

int lifecycle_transition(struct lifecycle *lc, struct host *h, enum host_state s, const char *reason)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int r = store_host_set_state(lc->st, h->id, s, reason, now);
    if (r < 0)
        return r;
    h->state = s;
    snprintf(h->state_reason, sizeof h->state_reason, "%s", reason);
    h->state_since = now;
    return 0;
}

struct lifecycle_sub *lifecycle_subscribe(struct lifecycle *lc, void (*fn)(void *arg, const struct event *ev),
                                          void *arg)
{
    (void)lc, (void)fn, (void)arg;
    return NULL;
}

void lifecycle_unsubscribe(struct lifecycle *lc, struct lifecycle_sub *sub)
{
    (void)lc, (void)sub;
}

void lifecycle_flush(struct lifecycle *lc)
{
    (void)lc;
}
