/* The DHCP service as the event loop sees it: sockets on the configured
 * interfaces, the pure handler (dhcp_server.h) in between, leases committed
 * to the store before the replies that depend on them are sent. */
#ifndef MIDWIFE_DHCP_DHCP_SERVICE_H
#define MIDWIFE_DHCP_DHCP_SERVICE_H

#include <stdint.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "store/store.h"

struct dhcp_service;

/* Loads leases from the store and opens sockets. conf and store must outlive
 * the service (or be replaced through dhcp_service_reload). Errors are
 * logged; returns 0 or a negative errno. */
int dhcp_service_start(struct event_base *base, const struct conf *conf, struct store *store,
                       struct dhcp_service **out);
/* Switches to a new, already validated config. On failure the old config
 * stays in force and a negative errno is returned. */
int dhcp_service_reload(struct dhcp_service *svc, const struct conf *conf);
/* The birth's lease cleanup (lifecycle_set_lease_cleaner, arg = the
 * service): every lease of mac except the one at keep is forgotten in
 * memory and deleted from the store; returns how many. */
unsigned dhcp_service_forget_mac(void *arg, const uint8_t mac[6], uint32_t keep);
/* Commits every pending lease write, then closes sockets and frees. */
void dhcp_service_stop(struct dhcp_service *svc);

#endif
