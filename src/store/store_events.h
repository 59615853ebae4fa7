/* The flight recorder's table: every DHCP exchange, TFTP transfer, HTTP
 * fetch, token, birth, report, state change and hook run, in order, with
 * bounded retention. SQL lives in store_events.c. */
#ifndef MIDWIFE_STORE_STORE_EVENTS_H
#define MIDWIFE_STORE_STORE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define EVENT_KIND_MAX 32
#define EVENT_MESSAGE_MAX 512
#define EVENT_MAC_LEN 17 /* aa:bb:cc:dd:ee:ff */

/* Event kinds are dotted words, the first word the room that saw it:
 *   dhcp.discover dhcp.offer dhcp.request dhcp.ack dhcp.nak dhcp.decline
 *   dhcp.release dhcp.inform dhcp.ignored
 *   tftp.start tftp.done tftp.abort tftp.error
 *   http.script http.file http.program http.error
 *   token.issued token.refused
 *   birth.accepted birth.refused birth.cleanup
 *   report.step report.ready report.failed
 *   state.changed (data: {"from":..,"to":..})
 *   state.uploaded state.served
 *   hook.started hook.done hook.failed hook.timeout webhook.done webhook.failed
 * data holds the rest as a JSON object (addresses, file names, sizes,
 * durations in ms, exit status, output excerpts). */
enum event_status { EVENT_INFO = 0, EVENT_OK, EVENT_FAIL };
const char *event_status_name(enum event_status s); /* "info" "ok" "fail" */

struct event {
    int64_t id;        /* ascending; set by store_event_append */
    int64_t ts_ms;     /* wall clock */
    int64_t host_id;   /* 0 = no host record (yet) */
    char host[64];     /* the host's name at the time, "" = none */
    char mac[EVENT_MAC_LEN + 1]; /* "" = none */
    int64_t boot_id;   /* the host's boot it belongs to, 0 = unknown */
    char kind[EVENT_KIND_MAX];
    enum event_status status;
    char message[EVENT_MESSAGE_MAX]; /* one line for people, already escaped of control bytes */
    char *data;        /* JSON object text or NULL; owned by whoever filled it */
};

/* Appends ev (sets ev->id). Inside the caller's transaction if one is open.
 * The MAC is stored (and matched by event_filter) in lowercase. -EINVAL
 * for an empty kind or an unknown status. */
int store_event_append(struct store *st, struct event *ev);

struct event_filter {
    int64_t host_id;    /* 0 = any */
    const char *mac;    /* NULL = any, else "aa:bb:cc:dd:ee:ff" */
    const char *kind;   /* NULL = any; "dhcp" matches "dhcp.*", "dhcp.ack" only itself */
    int64_t after_id;   /* only events with id > after_id */
    int64_t before_id;  /* 0 = no bound; else id < before_id */
    int64_t since_ms;   /* 0 = no bound; else ts_ms >= since_ms */
    size_t limit;       /* 0 = no limit */
    bool newest_first;  /* order by id descending (then limit takes the newest) */
};
/* Events matching f. The event passed to cb (and its data) is valid during
 * the call only. cb returning non-zero stops the walk and is returned. */
int store_event_query(struct store *st, const struct event_filter *f, int (*cb)(const struct event *, void *),
                      void *arg);
/* Bounded retention: keeps at most keep events (the newest) and none
 * older than older_than_ms, a wall-clock time in ms (0 = no age bound:
 * the caller passes now - max_age); *n gets how many were deleted (may be
 * NULL). Ids are never reused, even once every event is gone. */
int store_event_prune(struct store *st, uint64_t keep, int64_t older_than_ms, uint64_t *n);
/* The same, deleting at most max_rows (0 = no cap) in this call, so a
 * caller on the event loop can spread a large prune over many turns:
 * *more is set when rows were left that this call did not reach. */
int store_event_prune_some(struct store *st, uint64_t keep, int64_t older_than_ms, uint64_t max_rows, uint64_t *n,
                           bool *more);

#endif
