/* The HTTP service: one listener on the event loop serving /boot/...
 * (scripts, build files, boot programs), /healthz and /metrics, and
 * handing /api/v1/... to the API (http_api.h: http_service_set_api);
 * later /ui/. */
#ifndef MIDWIFE_HTTP_HTTP_SERVICE_H
#define MIDWIFE_HTTP_HTTP_SERVICE_H

#include <event2/event.h>

#include "conf/conf.h"
#include "store/store.h"

struct http_service;

int http_service_start(struct event_base *base, const struct conf *conf, struct store *store,
                       struct http_service **out);
int http_service_reload(struct http_service *svc, const struct conf *conf);
void http_service_stop(struct http_service *svc);

#endif
