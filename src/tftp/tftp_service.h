/* The TFTP service as the event loop sees it: the well-known port, one
 * socket per transfer, timers for retransmission. */
#ifndef MIDWIFE_TFTP_TFTP_SERVICE_H
#define MIDWIFE_TFTP_TFTP_SERVICE_H

#include <event2/event.h>

#include "conf/conf.h"

struct tftp_service;

int tftp_service_start(struct event_base *base, const struct conf *conf, struct tftp_service **out);
/* New limits apply to new transfers; a changed root/address/port reopens
 * the listener (running transfers finish). */
int tftp_service_reload(struct tftp_service *svc, const struct conf *conf);
/* Aborts running transfers (clients get an ERROR) and frees. */
void tftp_service_stop(struct tftp_service *svc);

#endif
