/* The diagnosis half of `midwife explain MAC`: from the flight recorder's
 * recent events for one client, what went wrong, in plain words. Pure:
 * events and the time in, findings out (the "what would it get now" half
 * is boot_decide + rules + the script, in api/). */
#ifndef MIDWIFE_LIFECYCLE_EXPLAIN_H
#define MIDWIFE_LIFECYCLE_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "store/store_events.h"

#define EXPLAIN_TEXT_MAX 512

enum finding_code {
    FIND_NEVER_SEEN,        /* no event at all for this client */
    FIND_IGNORED,           /* DHCP ignored it (unknown client, unknown_clients = ignore) */
    FIND_OFFER_NO_REQUEST,  /* offers sent, never requested: another DHCP server? offers lost? */
    FIND_NAK_LOOP,          /* requests NAKed again and again */
    FIND_CHAINLOAD_LOOP,    /* the boot program fetched again and again, no script */
    FIND_TFTP_PROBE_ABORT,  /* size probe then abort, and never a full transfer */
    FIND_TFTP_FAILED,       /* transfers that timed out or errored */
    FIND_SCRIPT_ERROR,      /* the per-host script could not be rendered */
    FIND_NO_KERNEL,         /* script served, kernel never fetched */
    FIND_NO_BIRTH,          /* kernel fetched, no birth within the birth timeout */
    FIND_BIRTH_REFUSED,     /* birth with a replayed, expired or foreign token */
    FIND_AGENT_FAILED,      /* the agent reported failed at a step */
    FIND_HOOK_FAILED,       /* a hook failed or timed out (a born hook holds the host) */
    FIND_STUCK_CONFIGURING, /* born, never ready, nothing failed */
    FIND_READY,             /* the last boot reached ready: nothing wrong */
    FIND_IN_PROGRESS,       /* booting right now, nothing wrong yet */
    FIND_STALLED,           /* got an address or the boot program, then nothing */
    FIND_NOT_NETBOOTING,    /* only ordinary DHCP (no PXE/iPXE): not booting from the network */
    FIND_HANDED_OFF,        /* the script sent it elsewhere (local disk, SAN, exit, no agent) */
};

/* "never-seen", "ignored", "offer-no-request", ... (the finding's name). */
const char *finding_name(enum finding_code code);

struct finding {
    enum finding_code code;
    const char *name;              /* "offer-no-request" ... stable, for scripts */
    char summary[EXPLAIN_TEXT_MAX];  /* one sentence: what happened */
    char advice[EXPLAIN_TEXT_MAX];   /* what to check next */
    int64_t at_ms;                 /* the event that shows it (0 = none) */
};

struct explain_input {
    const struct event *events; /* one client's events, oldest first */
    size_t n_events;
    int64_t now_ms;
    /* Kernel fetched → birth expected within; also how long a born host's
     * agent may stay silent before it counts as stuck configuring. */
    unsigned birth_timeout_s;
};

/* Writes the findings, most important first (at most max), into out and
 * their number into *n. Always at least one finding when max >= 1. How
 * the events are cut into boot attempts and which data fields are read:
 * docs/events.md. Every string from event data is escaped and cut before
 * it reaches a summary or an advice; both are always NUL-terminated. */
void explain_diagnose(const struct explain_input *in, struct finding *out, size_t max, size_t *n);

#endif
