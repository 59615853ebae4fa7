/* Shared by the lifecycle's own files and nothing else. */
#ifndef MIDWIFE_LIFECYCLE_LIFECYCLE_INTERNAL_H
#define MIDWIFE_LIFECYCLE_LIFECYCLE_INTERNAL_H

#include "lifecycle/lifecycle.h"

struct hooks;
struct hook_run;
struct lifecycle_sub;
struct seen;

struct lifecycle {
    struct event_base *base;
    const struct conf *conf;
    struct store *st;
    struct hooks *hooks;
    struct event *flush_ev, *prune_ev, *prune_again;
    struct event *queue, *spare; /* QUEUE_MAX each; swapped at every flush */
    size_t n_queue;
    struct lifecycle_sub *subs;
    unsigned notifying;          /* > 0 while subscribers are being called */
    struct hook_run *runs;
    unsigned (*lease_cleaner)(void *arg, const uint8_t mac[6], uint32_t keep_address);
    void *lease_cleaner_arg;
    char agent_sha256[65]; /* "" = no agent module */
    struct seen *seen;     /* machines between their requests (seen.h) */
};

/* Proxy mode, at start: what was seen before a restart, from the flight
 * recorder (discover.c). */
void lifecycle_proxy_recall(struct lifecycle *lc);

#endif
