/* The lifecycle: the one place a host changes state, and the flight
 * recorder every room reports to.
 *
 *   unknown → discovered → booting → born → configuring → ready
 *                 ↑            ↑                 ↓          ↓
 *                 └─ reinstall └──── next boot ─ failed ─ retired (operator)
 *
 * Every transition is an event (state.changed, with from, to and the
 * reason) and fires the hooks configured for the new state. Events reach
 * the store in batches (one transaction per loop turn, like leases), the
 * live subscribers (SSE) at once, and are pruned to [lifecycle]
 * events_keep / events_max_age. */
#ifndef MIDWIFE_LIFECYCLE_LIFECYCLE_H
#define MIDWIFE_LIFECYCLE_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "store/store.h"
#include "store/store_events.h"
#include "store/store_inventory.h"

struct lifecycle;

int lifecycle_start(struct event_base *base, const struct conf *conf, struct store *st, struct lifecycle **out);
void lifecycle_reload(struct lifecycle *lc, const struct conf *conf);
/* Flushes queued events, stops hooks. */
void lifecycle_stop(struct lifecycle *lc);

/* The process's lifecycle (set by lifecycle_start), so the protocol rooms
 * can record events without holding a pointer; NULL when not serving
 * (unit tests, CLI): recording is then a no-op. */
struct lifecycle *lifecycle_current(void);

/* The agent initrd module linux scripts load (images/agent_module.h), as
 * its blob's SHA-256; NULL or "" for none. */
void lifecycle_set_agent_module(struct lifecycle *lc, const char *sha256);
const char *lifecycle_agent_module(const struct lifecycle *lc);

/* Records one event: fills ts_ms when 0, host name/id from mac when the
 * host is known and host_id is 0, copies everything (data may be
 * freed after the call). Never fails the caller: a full queue drops and
 * counts. host_id LIFECYCLE_NO_HOST: the caller knows no host record has
 * this MAC (DHCP does), so the lookup is skipped. */
#define LIFECYCLE_NO_HOST (-1)
void lifecycle_record(struct lifecycle *lc, const struct event *ev);
/* printf-style shorthand: kind, status, mac (may be NULL), data JSON (may
 * be NULL), message. */
void lifecycle_recordf(struct lifecycle *lc, const char *kind, enum event_status status, const uint8_t *mac,
                       const char *data, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The same for an event about host h (its name, id, primary MAC, boot). */
void lifecycle_record_host(struct lifecycle *lc, const struct host *h, const char *kind, enum event_status status,
                           const char *data, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Wall clock in milliseconds (event times, token expiry). */
int64_t lifecycle_now_ms(void);
const struct conf *lifecycle_conf(const struct lifecycle *lc);
struct store *lifecycle_store(const struct lifecycle *lc);

/* Moves host h to state s with reason, in the store (h is updated too),
 * records state.changed and fires the state's hooks. A move to the state
 * it is in only refreshes the reason. */
int lifecycle_transition(struct lifecycle *lc, struct host *h, enum host_state s, const char *reason);

/* Live subscribers (the SSE stream): fn is called for every recorded event
 * after it is stored (id set). Returns a handle for unsubscribe. */
struct lifecycle_sub;
struct lifecycle_sub *lifecycle_subscribe(struct lifecycle *lc, void (*fn)(void *arg, const struct event *ev),
                                          void *arg);
void lifecycle_unsubscribe(struct lifecycle *lc, struct lifecycle_sub *sub);

/* Writes queued events now (API reads that must see them call it). */
void lifecycle_flush(struct lifecycle *lc);

#endif
