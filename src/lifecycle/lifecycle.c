/* The lifecycle: host state changes, the flight recorder and the glue to
 * the hooks.
 *
 * Recording is cheap for the caller: an event is copied into a bounded
 * in-memory queue, and a timer writes the whole queue in one transaction
 * FLUSH_DELAY_MS later (the DHCP path records one event per exchange; one
 * commit each would cost more than the exchange). Live
 * subscribers see events after they are stored, with their ids. */
#include "lifecycle/lifecycle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <jansson.h>

#include "inventory/model_json.h"
#include "util/addr.h"
#include "lifecycle/hooks.h"
#include "lifecycle/lifecycle_internal.h"
#include "lifecycle/seen.h"
#include "util/log.h"
#include "util/metrics.h"

#define QUEUE_MAX 16384      /* events waiting for the next flush */
#define FLUSH_NOW_AT 4096    /* a queue this long is written at once */
/* Events are written at most this long after they happen: one commit
 * covers a boot storm's worth of them (a commit per loop turn cost the
 * DHCP path a third of its throughput). Reads through the API flush
 * first, so they never miss one; live subscribers see them this late. */
#define FLUSH_DELAY_MS 25
#define PRUNE_EVERY_S 5 /* small, frequent prunes: one big delete stalls the loop */

static struct lifecycle *current;

static struct metric m_recorded = {.name = "midwife_events_recorded_total",
                                   .help = "Flight recorder events stored", .type = METRIC_COUNTER};
static struct metric m_dropped = {.name = "midwife_events_dropped_total",
                                  .help = "Flight recorder events dropped (queue full or store error)",
                                  .type = METRIC_COUNTER};
static struct metric m_transitions = {.name = "midwife_host_transitions_total",
                                      .help = "Host state changes", .type = METRIC_COUNTER};

struct lifecycle_sub {
    void (*fn)(void *arg, const struct event *ev);
    void *arg;
    struct lifecycle_sub *next;
    bool dead; /* unsubscribed while the list was being walked */
};

/* The hooks of one transition of one host, in flight: what their results
 * are recorded against. One operation ("hook:born") covers them all. */
struct hook_run {
    struct lifecycle *lc;
    int64_t host_id, boot_id, op_id;
    char transition[CONF_TRANSITION_MAX];
    char host[HOST_NAME_MAX_LEN];
    char mac[EVENT_MAC_LEN + 1];
    unsigned pending;  /* hooks still running */
    bool any_failed;
    char first_failure[EVENT_MESSAGE_MAX];
    struct hook_run *prev, *next;
};

void lifecycle_set_agent_module(struct lifecycle *lc, const char *sha256)
{
    snprintf(lc->agent_sha256, sizeof lc->agent_sha256, "%s", sha256 ? sha256 : "");
}

const char *lifecycle_agent_module(const struct lifecycle *lc)
{
    return lc && lc->agent_sha256[0] ? lc->agent_sha256 : NULL;
}

struct lifecycle *lifecycle_current(void)
{
    return current;
}

/* ---- the recorder ---- */

static void event_free_copy(struct event *ev)
{
    free(ev->data);
    ev->data = NULL;
}

static void notify(struct lifecycle *lc, const struct event *ev)
{
    lc->notifying++;
    for (struct lifecycle_sub *s = lc->subs; s; s = s->next)
        if (!s->dead)
            s->fn(s->arg, ev);
    lc->notifying--;
    if (lc->notifying == 0) {
        struct lifecycle_sub **pp = &lc->subs;
        while (*pp) {
            if ((*pp)->dead) {
                struct lifecycle_sub *d = *pp;
                *pp = d->next;
                free(d);
            } else {
                pp = &(*pp)->next;
            }
        }
    }
}

void lifecycle_flush(struct lifecycle *lc)
{
    if (!lc || lc->n_queue == 0)
        return;
    size_t n = lc->n_queue;
    bool ok = store_begin(lc->st) == 0;
    for (size_t i = 0; ok && i < n; i++)
        ok = store_event_append(lc->st, &lc->queue[i]) == 0;
    /* Retention by count in the same transaction, as many out as came
     * in: a boot storm pays a little on every flush instead of a long
     * stall in one big delete. */
    uint64_t pruned = 0;
    if (ok)
        ok = store_event_prune_some(lc->st, lc->conf->events_keep ? lc->conf->events_keep : UINT64_MAX, 0,
                                    2 * n + 64, &pruned, NULL) == 0;
    if (ok)
        ok = store_commit(lc->st) == 0;
    if (!ok) {
        store_rollback(lc->st);
        m_dropped.value += n;
        log_error("lifecycle", "storing %zu events failed: %s", n, store_errmsg(lc->st));
    } else {
        m_recorded.value += n;
    }
    /* Taken off the queue before notifying: a subscriber may record. */
    struct event *batch = lc->queue;
    lc->queue = lc->spare;
    lc->spare = batch;
    lc->n_queue = 0;
    for (size_t i = 0; i < n; i++) {
        if (ok)
            notify(lc, &batch[i]);
        event_free_copy(&batch[i]);
    }
    if (lc->flush_ev)
        evtimer_del(lc->flush_ev);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    lifecycle_flush(arg);
}

/* Fills host name and id from the MAC's host record when the caller gave
 * none. A lookup per event is an indexed read; the DHCP path pays it. */
static void fill_host(struct lifecycle *lc, struct event *ev)
{
    if (ev->host_id == LIFECYCLE_NO_HOST) {
        ev->host_id = 0;
        return;
    }
    if (ev->host_id != 0 || !ev->mac[0])
        return;
    uint8_t mac[6];
    if (parse_mac(ev->mac, mac) < 0)
        return;
    struct host h;
    if (store_host_by_mac(lc->st, mac, &h) == 0) {
        ev->host_id = h.id;
        snprintf(ev->host, sizeof ev->host, "%s", h.name);
        if (ev->boot_id == 0)
            ev->boot_id = h.boot_id;
        host_clear(&h);
    }
}

void lifecycle_record(struct lifecycle *lc, const struct event *ev)
{
    if (!lc)
        return;
    if (lc->n_queue >= QUEUE_MAX) {
        m_dropped.value++;
        return;
    }
    struct event *q = &lc->queue[lc->n_queue];
    *q = *ev;
    q->id = 0;
    q->data = NULL;
    if (ev->data && !(q->data = strdup(ev->data))) {
        m_dropped.value++;
        return;
    }
    if (q->ts_ms == 0)
        q->ts_ms = lifecycle_now_ms();
    fill_host(lc, q);
    lc->n_queue++;
    if (lc->n_queue >= FLUSH_NOW_AT) {
        lifecycle_flush(lc);
    } else if (lc->flush_ev && !evtimer_pending(lc->flush_ev, NULL)) {
        struct timeval delay = {0, FLUSH_DELAY_MS * 1000};
        evtimer_add(lc->flush_ev, &delay);
    }
}

void lifecycle_recordf(struct lifecycle *lc, const char *kind, enum event_status status, const uint8_t *mac,
                       const char *data, const char *fmt, ...)
{
    if (!lc)
        return;
    struct event ev = {.status = status, .data = (char *)data};
    snprintf(ev.kind, sizeof ev.kind, "%s", kind);
    if (mac)
        format_mac(mac, ev.mac);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev.message, sizeof ev.message, fmt, ap);
    va_end(ap);
    lifecycle_record(lc, &ev);
}

void lifecycle_record_host(struct lifecycle *lc, const struct host *h, const char *kind, enum event_status status,
                           const char *data, const char *fmt, ...)
{
    if (!lc)
        return;
    struct event ev = {.status = status, .data = (char *)data, .host_id = h->id, .boot_id = h->boot_id};
    snprintf(ev.kind, sizeof ev.kind, "%s", kind);
    snprintf(ev.host, sizeof ev.host, "%s", h->name);
    if (h->n_macs > 0)
        format_mac(h->macs[0], ev.mac);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev.message, sizeof ev.message, fmt, ap);
    va_end(ap);
    lifecycle_record(lc, &ev);
}

struct lifecycle_sub *lifecycle_subscribe(struct lifecycle *lc, void (*fn)(void *arg, const struct event *ev),
                                          void *arg)
{
    struct lifecycle_sub *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fn = fn;
    s->arg = arg;
    s->next = lc->subs;
    lc->subs = s;
    return s;
}

void lifecycle_unsubscribe(struct lifecycle *lc, struct lifecycle_sub *sub)
{
    if (!sub)
        return;
    if (lc->notifying) {
        sub->dead = true;
        return;
    }
    for (struct lifecycle_sub **pp = &lc->subs; *pp; pp = &(*pp)->next)
        if (*pp == sub) {
            *pp = sub->next;
            free(sub);
            return;
        }
}

/* ---- retention ---- */

/* Retention by age (and by count, for what a flush left): a bounded
 * number of rows per turn, more turns soon after when there is more. */
#define PRUNE_ROWS_PER_TURN 5000
#define PRUNE_AGAIN_MS 100

static void prune(struct lifecycle *lc)
{
    lifecycle_flush(lc);
    int64_t now = lifecycle_now_ms();
    int64_t older = lc->conf->events_max_age ? now - (int64_t)lc->conf->events_max_age * 1000 : 0;
    uint64_t n = 0;
    bool more = false;
    if (store_event_prune_some(lc->st, lc->conf->events_keep ? lc->conf->events_keep : UINT64_MAX, older,
                               PRUNE_ROWS_PER_TURN, &n, &more) < 0)
        log_warn("lifecycle", "pruning events failed: %s", store_errmsg(lc->st));
    else if (n > 0)
        log_debug("lifecycle", "pruned %llu events", (unsigned long long)n);
    store_token_prune(lc->st, now);
    if (more && lc->prune_again) {
        struct timeval soon = {0, PRUNE_AGAIN_MS * 1000};
        evtimer_add(lc->prune_again, &soon);
    }
}

static void on_prune(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    prune(arg);
}

/* ---- hooks ---- */

static bool is_hook_transition(enum host_state s)
{
    return s == HOST_DISCOVERED || s == HOST_BOOTING || s == HOST_BORN || s == HOST_READY || s == HOST_FAILED ||
           s == HOST_RETIRED;
}

static void hook_run_unlink(struct hook_run *r)
{
    struct lifecycle *lc = r->lc;
    if (r->prev)
        r->prev->next = r->next;
    else
        lc->runs = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

/* A host whose agent said ready while its born hook still ran moves on
 * once the hook succeeds (lifecycle_report_ready left an op saying so). */
struct waiting_find {
    int64_t boot_id;
    int64_t op_id;
    bool hook_failed, hook_running;
};

static int find_waiting(const struct operation *op, void *arg)
{
    struct waiting_find *w = arg;
    if (op->boot_id != w->boot_id)
        return 0;
    if (strcmp(op->kind, "ready-waiting") == 0 && strcmp(op->status, "pending") == 0)
        w->op_id = op->id;
    if (strcmp(op->kind, "hook:born") == 0) {
        if (strcmp(op->status, "failed") == 0)
            w->hook_failed = true;
        else if (strcmp(op->status, "running") == 0)
            w->hook_running = true;
    }
    return 0;
}

/* What the born hooks decided, once the last of them ended. */
static void born_hooks_finished(struct lifecycle *lc, struct hook_run *r)
{
    struct host h;
    if (store_host_get(lc->st, r->host_id, &h) < 0)
        return;
    if (h.boot_id == r->boot_id) {
        struct waiting_find w = {.boot_id = r->boot_id};
        store_op_list(lc->st, h.id, find_waiting, &w);
        if (r->any_failed && lc->conf->born_hook_holds) {
            char reason[HOST_REASON_MAX];
            snprintf(reason, sizeof reason, "held: %.240s", r->first_failure);
            if (h.state == HOST_BORN || h.state == HOST_CONFIGURING || h.state == HOST_READY)
                lifecycle_transition(lc, &h, HOST_CONFIGURING, reason);
        } else if (w.op_id && h.state == HOST_CONFIGURING) {
            store_op_set_status(lc->st, w.op_id, "done", "born hooks finished", lifecycle_now_ms());
            lifecycle_transition(lc, &h, HOST_READY, "agent reported ready; born hooks finished");
        }
    }
    host_clear(&h);
}

static void on_hook_done(void *arg, const struct hook_result *res)
{
    struct hook_run *r = arg;
    struct lifecycle *lc = r->lc;

    bool holds = !res->ok && strcmp(r->transition, "born") == 0 && lc->conf->born_hook_holds;
    json_t *d = json_pack("{s:s, s:s, s:b, s:i, s:i, s:i, s:I, s:s#, s:b}", "transition", r->transition, "target",
                          res->target, "webhook", res->webhook, "exit", res->exit_status, "signal", res->signal,
                          "status", res->http_status, "ms", (json_int_t)res->duration_ms, "output",
                          res->output ? res->output : "", res->output ? res->output_len : 0, "holds", holds);
    if (d && res->error)
        json_object_set_new(d, "error", json_string(res->error));
    char *data = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);

    const char *kind = res->webhook ? (res->ok ? "webhook.done" : "webhook.failed")
                                    : res->timed_out ? "hook.timeout"
                                    : res->ok        ? "hook.done"
                                                     : "hook.failed";
    char what[96];
    if (res->error)
        snprintf(what, sizeof what, "could not run: %s", res->error);
    else if (res->timed_out)
        snprintf(what, sizeof what, "timed out after %lld ms", (long long)res->duration_ms);
    else if (res->webhook)
        snprintf(what, sizeof what, "HTTP %d", res->http_status);
    else if (res->signal)
        snprintf(what, sizeof what, "killed by signal %d", res->signal);
    else
        snprintf(what, sizeof what, "exit %d", res->exit_status);
    struct event ev = {.host_id = r->host_id, .boot_id = r->boot_id, .status = res->ok ? EVENT_OK : EVENT_FAIL,
                       .data = data};
    snprintf(ev.kind, sizeof ev.kind, "%s", kind);
    snprintf(ev.host, sizeof ev.host, "%s", r->host);
    snprintf(ev.mac, sizeof ev.mac, "%s", r->mac);
    char tgt[128];
    snprintf(ev.message, sizeof ev.message, "%s %s %s: %s", r->transition, res->webhook ? "webhook" : "hook",
             log_escape(tgt, sizeof tgt, res->target, strlen(res->target)), what);
    lifecycle_record(lc, &ev);
    free(data);
    if (!res->ok && !r->any_failed) {
        r->any_failed = true;
        snprintf(r->first_failure, sizeof r->first_failure, "%s", ev.message);
    }

    if (--r->pending > 0)
        return;
    hook_run_unlink(r);
    if (r->op_id)
        store_op_set_status(lc->st, r->op_id, r->any_failed ? "failed" : "done",
                            r->any_failed ? r->first_failure : "every hook succeeded", lifecycle_now_ms());
    if (strcmp(r->transition, "born") == 0)
        born_hooks_finished(lc, r);
    free(r);
}

/* The JSON a hook gets on stdin. */
static char *hook_json(const struct host *h, const char *transition, const char *reason, int64_t now)
{
    json_t *j = json_object();
    json_object_set_new(j, "event", json_string(transition));
    json_object_set_new(j, "time", json_time_ms(now));
    json_object_set_new(j, "reason", json_string(reason ? reason : ""));
    json_object_set_new(j, "host", host_to_json(h));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static void fire_hooks(struct lifecycle *lc, const struct host *h, enum host_state s, const char *reason)
{
    if (!lc->hooks || !is_hook_transition(s))
        return;
    const char *transition = host_state_name(s);
    char *json = hook_json(h, transition, reason, lifecycle_now_ms());
    if (!json)
        return;
    char id[24], boot[24], addr[16] = "", mac[18] = "";
    snprintf(id, sizeof id, "%lld", (long long)h->id);
    snprintf(boot, sizeof boot, "%lld", (long long)h->boot_id);
    if (h->address)
        snprintf(addr, sizeof addr, "%u.%u.%u.%u", h->address >> 24, (h->address >> 16) & 255,
                 (h->address >> 8) & 255, h->address & 255);
    if (h->n_macs)
        format_mac(h->macs[0], mac);
    struct hook_env env = {.event = transition, .host = h->name, .host_id = id, .mac = mac, .address = addr,
                           .state = transition, .build = h->build, .profile = h->profile, .boot_id = boot};
    struct hook_run *r = calloc(1, sizeof *r);
    if (!r) {
        free(json);
        return;
    }
    r->lc = lc;
    r->host_id = h->id;
    r->boot_id = h->boot_id;
    snprintf(r->transition, sizeof r->transition, "%s", transition);
    snprintf(r->host, sizeof r->host, "%s", h->name);
    snprintf(r->mac, sizeof r->mac, "%s", mac);
    int n = hooks_fire(lc->hooks, transition, json, &env, on_hook_done, r);
    if (n <= 0) {
        if (n < 0)
            lifecycle_record_host(lc, h, "hook.failed", EVENT_FAIL, NULL, "%s hooks could not be started: %s",
                                  transition, strerror(-n));
        free(r);
        free(json);
        return;
    }
    r->pending = (unsigned)n;
    struct operation op = {.host_id = h->id, .boot_id = h->boot_id, .created = lifecycle_now_ms()};
    snprintf(op.kind, sizeof op.kind, "hook:%s", transition);
    snprintf(op.status, sizeof op.status, "running");
    snprintf(op.detail, sizeof op.detail, "%d hook%s", n, n == 1 ? "" : "s");
    op.updated = op.created;
    if (store_op_add(lc->st, &op) == 0)
        r->op_id = op.id;
    r->next = lc->runs;
    if (lc->runs)
        lc->runs->prev = r;
    lc->runs = r;
    lifecycle_record_host(lc, h, "hook.started", EVENT_INFO, NULL, "%s: %d hook%s started", transition, n,
                          n == 1 ? "" : "s");
    free(json);
}

/* ---- transitions ---- */

int lifecycle_transition(struct lifecycle *lc, struct host *h, enum host_state s, const char *reason)
{
    enum host_state from = h->state;
    int64_t now = lifecycle_now_ms();
    int r = store_host_set_state(lc->st, h->id, s, reason ? reason : "", now);
    if (r < 0)
        return r;
    h->state = s;
    snprintf(h->state_reason, sizeof h->state_reason, "%s", reason ? reason : "");
    if (from == s)
        return 0;
    h->state_since = now;
    m_transitions.value++;
    json_t *d = json_pack("{s:s, s:s, s:s}", "from", host_state_name(from), "to", host_state_name(s), "reason",
                          reason ? reason : "");
    char *data = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    lifecycle_record_host(lc, h, "state.changed", s == HOST_FAILED ? EVENT_FAIL : EVENT_INFO, data, "%s → %s: %s",
                          host_state_name(from), host_state_name(s), reason ? reason : "");
    free(data);
    fire_hooks(lc, h, s, reason);
    return 0;
}

/* ---- start and stop ---- */

int lifecycle_start(struct event_base *base, const struct conf *conf, struct store *st, struct lifecycle **out)
{
    static bool registered;
    if (!registered) {
        metrics_register(&m_recorded);
        metrics_register(&m_dropped);
        metrics_register(&m_transitions);
        registered = true;
    }
    struct lifecycle *lc = calloc(1, sizeof *lc);
    if (!lc)
        return -ENOMEM;
    lc->base = base;
    lc->conf = conf;
    lc->st = st;
    lc->queue = calloc(QUEUE_MAX, sizeof *lc->queue);
    lc->spare = calloc(QUEUE_MAX, sizeof *lc->spare);
    lc->seen = seen_new();
    if (!lc->queue || !lc->spare || !lc->seen)
        goto fail;
    /* A restart must not cost a host between its proxy answer and its
     * script request the token of that boot. */
    if (st && conf->dhcp_mode == DHCP_MODE_PROXY)
        lifecycle_proxy_recall(lc);
    if (base) {
        lc->flush_ev = evtimer_new(base, on_flush, lc);
        lc->prune_ev = event_new(base, -1, EV_PERSIST, on_prune, lc);
        lc->prune_again = evtimer_new(base, on_prune, lc);
        if (!lc->flush_ev || !lc->prune_ev || !lc->prune_again)
            goto fail;
        struct timeval every = {PRUNE_EVERY_S, 0};
        evtimer_add(lc->prune_ev, &every);
        if (hooks_start(base, conf, &lc->hooks) < 0)
            goto fail;
    }
    current = lc;
    *out = lc;
    return 0;
fail:
    lifecycle_stop(lc);
    return -ENOMEM;
}

void lifecycle_reload(struct lifecycle *lc, const struct conf *conf)
{
    lc->conf = conf;
    if (lc->hooks)
        hooks_reload(lc->hooks, conf);
}

void lifecycle_stop(struct lifecycle *lc)
{
    if (!lc)
        return;
    if (lc->queue)
        lifecycle_flush(lc);
    if (lc->hooks)
        hooks_stop(lc->hooks); /* done functions are not called: free the runs here */
    while (lc->runs) {
        struct hook_run *r = lc->runs;
        lc->runs = r->next;
        if (r->op_id)
            store_op_set_status(lc->st, r->op_id, "abandoned", "server stopped", lifecycle_now_ms());
        free(r);
    }
    while (lc->subs) {
        struct lifecycle_sub *s = lc->subs;
        lc->subs = s->next;
        free(s);
    }
    if (lc->flush_ev)
        event_free(lc->flush_ev);
    if (lc->prune_ev)
        event_free(lc->prune_ev);
    if (lc->prune_again)
        event_free(lc->prune_again);
    free(lc->queue);
    free(lc->spare);
    seen_free(lc->seen);
    if (current == lc)
        current = NULL;
    free(lc);
}

int64_t lifecycle_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct conf *lifecycle_conf(const struct lifecycle *lc)
{
    return lc->conf;
}

struct store *lifecycle_store(const struct lifecycle *lc)
{
    return lc->st;
}
