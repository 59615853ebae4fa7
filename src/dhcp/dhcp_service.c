/* placeholder until the DHCP room lands */
#include "dhcp/dhcp_service.h"
#include <errno.h>
int dhcp_service_start(struct event_base *base, const struct conf *conf, struct store *store,
                       struct dhcp_service **out) { (void)base; (void)conf; (void)store; (void)out; return -ENOSYS; }
int dhcp_service_reload(struct dhcp_service *svc, const struct conf *conf) { (void)svc; (void)conf; return -ENOSYS; }
void dhcp_service_stop(struct dhcp_service *svc) { (void)svc; }
