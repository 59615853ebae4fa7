/* Change detection over the inventory (store_watch.c). */
#ifndef MIDWIFE_STORE_STORE_WATCH_H
#define MIDWIFE_STORE_STORE_WATCH_H

#include <stdint.h>

#include "store/store.h"

/* A value that changes whenever a host record is added, changed or
 * removed. -EIO on a store error. */
int store_hosts_stamp(struct store *st, uint64_t *stamp);

#endif
