/* Change detection over the inventory (store_watch.c). */
#ifndef MIDWIFE_STORE_STORE_WATCH_H
#define MIDWIFE_STORE_STORE_WATCH_H

#include <stdint.h>

#include "store/store.h"

/* A value that changes whenever a host record is added, changed or
 * removed, or a build version published or removed. -EIO on a store
 * error. */
int store_hosts_stamp(struct store *st, uint64_t *stamp);

/* Bumped by every host or build write made through this process's store
 * connection: a free check, so a change made by the API is seen at the
 * next packet instead of at the next poll (the stamp above catches the
 * writes of other processes). */
uint64_t store_hosts_generation(const struct store *st);

#endif
