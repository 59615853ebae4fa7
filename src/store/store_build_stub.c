/* placeholder until builds land */
#include "store/store_build.h"
#include <errno.h>
#include <stdlib.h>
void build_clear(struct build *b) { free(b->files); b->files = NULL; b->n_files = 0; }
int store_build_get(struct store *st, const char *name, int version, struct build *out) { (void)st; (void)name; (void)version; (void)out; return -ENOENT; }
int store_host_by_mac(struct store *st, const uint8_t mac[6], struct host *out) { (void)st; (void)mac; (void)out; return -ENOENT; }
