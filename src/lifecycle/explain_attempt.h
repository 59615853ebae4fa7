/* Inside explain: one client's events cut into boot attempts, and what
 * the latest attempt holds, for explain.c to put into words. Event
 * indices are into explain_input.events; -1 = none. */
#ifndef MIDWIFE_LIFECYCLE_EXPLAIN_ATTEMPT_H
#define MIDWIFE_LIFECYCLE_EXPLAIN_ATTEMPT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lifecycle/explain.h"

#define OPEN_HOOKS 8

enum stage { ST_NONE, ST_DHCP, ST_PROGRAM, ST_SCRIPT, ST_KERNEL, ST_BORN, ST_READY, ST_COUNT };

struct open_hook {
    char transition[64];
    char target[192];
    long idx;
    bool holds;
};

struct attempt {
    size_t first, end;
    long last_ok[ST_COUNT];
    int reached;
    bool netboot;             /* anything beyond a plain DHCP client */
    long long arch;           /* option 93 from the latest DHCP event with one, -1 */
    long last_network;        /* the latest boot-path event */
    /* DHCP */
    long last_discover, first_unanswered_offer, last_offer, last_answer;
    unsigned unanswered_offers;
    long other_server;        /* a REQUEST meant for another server's offer */
    long last_ignored;
    unsigned ignored;
    long last_nak;
    unsigned naks_since_ack;
    long last_ipxe_ack, last_boot_ack;
    /* boot program */
    long last_tftp_start, last_probe, last_tftp_fail, first_fetch, last_fetch, last_http_error;
    unsigned probes, tftp_fails, fetches_since_script;
    /* script and files */
    long last_script, last_script_fail, last_file_fail;
    unsigned script_fails;
    /* birth and agent */
    long last_birth_refused, last_report, last_step, last_agent_fail, last_token_refused;
    unsigned token_refused;
    /* hooks that failed with no later success of the same hook */
    struct open_hook hooks[OPEN_HOOKS];
    size_t n_hooks;
    unsigned hook_fails;
};

/* Cuts in's events, finds the latest attempt and reads it into a;
 * *network says whether any event came from the boot path (DHCP, TFTP,
 * HTTP, tokens, birth, reports) rather than only the lifecycle. */
void attempt_read(const struct explain_input *in, struct attempt *a, bool *network);
/* A failure at event idx of this stage still stands: nothing at the
 * stage or beyond succeeded after it. */
bool attempt_standing(const struct attempt *a, long idx, int stage);

/* One event's kind and data. Data strings come back escaped and cut to
 * cap (dflt, trusted text, when absent). */
bool ev_kind_is(const struct event *ev, const char *kind);
bool ev_room_is(const struct event *ev, const char *prefix);
const char *ev_field(const struct event *ev, const char *key, const char *dflt, char *out, size_t cap);
bool ev_int_field(const struct event *ev, const char *key, long long *out);
bool ev_field_is(const struct event *ev, const char *key, const char *want);
bool ev_field_false(const struct event *ev, const char *key);

#endif
