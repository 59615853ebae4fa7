/* What the lifecycle remembers of machines between their requests: fixed
 * tables of sets x 4 ways keyed by a MAC or an address, where a new key
 * takes the way used longest ago. Memory stays bounded in any storm, and a
 * collision only costs what a table is for (an extra event, a boot
 * without a token, a fetch not told as a host's). One set of tables per
 * lifecycle; proxy mode's two are refilled from the flight recorder after
 * a restart, so a restart does not cost a booting host its token. */
#ifndef MIDWIFE_LIFECYCLE_SEEN_H
#define MIDWIFE_LIFECYCLE_SEEN_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct seen;

struct seen *seen_new(void); /* NULL: out of memory */
void seen_free(struct seen *s);

/* Script storms: whether a token-less script event of mac is due at now
 * (one per SEEN_SCRIPT_REPEAT_MS); *folded gets how many were left out
 * since the last one recorded. */
#define SEEN_SCRIPT_REPEAT_MS 10000
bool seen_script_event_due(struct seen *s, const uint8_t mac[6], int64_t now_ms, unsigned *folded);

/* Proxy mode: midwife answered mac (a proxy offer, or an ACK on the PXE
 * port) at at_ms; and how long ago that was (-1: no answer remembered). */
void seen_proxy_answer(struct seen *s, const uint8_t mac[6], int64_t at_ms);
int64_t seen_proxy_answer_ago(const struct seen *s, const uint8_t mac[6], int64_t now_ms);

/* Proxy mode: a boot of mac was bound to a script asked from addr at
 * at_ms; and the MAC bound at addr no longer than max_age_ms ago (0, or
 * -ENOENT). */
void seen_proxy_bound(struct seen *s, uint32_t addr, const uint8_t mac[6], int64_t at_ms);
int seen_proxy_mac_at(const struct seen *s, uint32_t addr, int64_t now_ms, int64_t max_age_ms, uint8_t mac[6]);

/* After a restart in proxy mode: both proxy tables refilled from the
 * flight recorder, which holds every proxy answer (a dhcp.offer or
 * dhcp.ack event with "proxy": true) and every bound boot (an http.script
 * event with "token": true and its "peer"). Answers of the last
 * answer_window_ms and boots of the last bound_window_ms count; *answers
 * and *bound get how many were taken. 0, or -EIO. */
int seen_recall_proxy(struct seen *s, struct store *st, int64_t now_ms, int64_t answer_window_ms,
                      int64_t bound_window_ms, unsigned *answers, unsigned *bound);

#endif
