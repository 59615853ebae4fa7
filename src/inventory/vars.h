/* ${VAR} substitution in profile strings (inventory/profile.h lists the
 * variables). Internal to src/inventory/. */
#ifndef MIDWIFE_INVENTORY_VARS_H
#define MIDWIFE_INVENTORY_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "store/store_inventory.h"

#define VARS_NAME_MAX 72 /* "label." + a 63-byte key, with room */

/* What ${...} can name for one host: its fields, its labels and vars. */
struct vars_env {
    const struct host *h;
    json_t *labels; /* parsed h->labels, NULL when unusable */
    json_t *vars;   /* parsed h->vars */
};

int vars_env_init(struct vars_env *env, const struct host *h);
void vars_env_clear(struct vars_env *env);

/* Whether s holds any '$' (so needs substitution). */
bool vars_present(const char *s, size_t n);

/* Checks the syntax of every '$' in s: "$$", or "${NAME}" with NAME of
 * [A-Za-z0-9_.-]{1,72}. 0, or -EINVAL with *what describing the fault. */
int vars_syntax(const char *s, size_t n, const char **what);

/* Substitutes s into out (malloc'd, NUL-terminated). At most max bytes of
 * result. -EINVAL bad syntax (*what set), -ENOENT unknown variable or
 * -ESRCH known but not set for this host (name gets the variable),
 * -E2BIG longer than max, -ENOMEM. */
int vars_expand(const char *s, size_t n, const struct vars_env *env, size_t max, char **out, size_t *outlen,
                const char **what, char name[VARS_NAME_MAX + 1]);

#endif
