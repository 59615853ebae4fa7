/* placeholder until the TFTP room lands */
#include "tftp/tftp_service.h"
#include <errno.h>
int tftp_service_start(struct event_base *base, const struct conf *conf, struct tftp_service **out) { (void)base; (void)conf; (void)out; return -ENOSYS; }
int tftp_service_reload(struct tftp_service *svc, const struct conf *conf) { (void)svc; (void)conf; return -ENOSYS; }
void tftp_service_stop(struct tftp_service *svc) { (void)svc; }
