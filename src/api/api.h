/* The REST API (docs/api.md): routes under /api/v1/, JSON in and out,
 * admin bearer token or a host's boot token. The HTTP room frames the
 * requests; this room gives them meaning. */
#ifndef MIDWIFE_API_API_H
#define MIDWIFE_API_API_H

#include <event2/event.h>

#include "conf/conf.h"
#include "http/http_api.h"
#include "lifecycle/lifecycle.h"
#include "store/store.h"

struct api;

/* Creates the admin token on first start (docs/api.md). */
int api_start(struct event_base *base, const struct conf *conf, struct store *st, struct lifecycle *lc,
              struct api **out);
void api_reload(struct api *a, const struct conf *conf);
void api_stop(struct api *a);

/* The http_api_fn the HTTP service calls (arg = struct api *). */
void api_handle(void *arg, const struct http_api_request *req, struct http_api_response *resp);

#endif
