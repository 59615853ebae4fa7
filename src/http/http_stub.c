/* placeholder until the HTTP room lands */
#include "http/http_service.h"
#include <errno.h>
int http_service_start(struct event_base *base, const struct conf *conf, struct store *store, struct http_service **out) { (void)base; (void)conf; (void)store; *out = NULL; return 0; }
int http_service_reload(struct http_service *svc, const struct conf *conf) { (void)svc; (void)conf; return 0; }
void http_service_stop(struct http_service *svc) { (void)svc; }
