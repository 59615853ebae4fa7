/* The event JSON shape shared by the events and explain routes. */
#ifndef MIDWIFE_API_API_EVENTS_H
#define MIDWIFE_API_API_EVENTS_H

#include <jansson.h>

#include "store/store_events.h"

/* {"id", "time", "host", "host_id", "mac", "boot_id", "kind", "status",
 * "message", "data": {...}}. New reference. */
json_t *api_event_json(const struct event *ev);

#endif
