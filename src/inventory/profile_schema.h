/* The profile document's schema as data: one description walked by both
 * profile_validate() and configdoc_render(), so what validates and what
 * renders cannot drift apart. Internal to src/inventory/. */
#ifndef MIDWIFE_INVENTORY_PROFILE_SCHEMA_H
#define MIDWIFE_INVENTORY_PROFILE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "inventory/shapes.h"

enum node_kind { NODE_STRING, NODE_INT, NODE_BOOL, NODE_LIST, NODE_OBJECT };

struct member;

struct node {
    enum node_kind kind;
    enum shape shape;              /* NODE_STRING */
    int64_t min, max;              /* INT: value; STRING: bytes; LIST: entries */
    const struct node *elem;       /* NODE_LIST */
    const struct member *members;  /* NODE_OBJECT, ends with {NULL} */
    /* NODE_OBJECT: a rule across members, run on the rendered object (and
     * on the literal one at validation). path names the object. */
    int (*check)(const json_t *obj, const char *path, bool literal, char *err, size_t errlen);
};

struct member {
    const char *key;
    const struct node *node;
    bool required;
    const char *dflt; /* JSON text rendered when absent; NULL: left out */
};

extern const struct node profile_schema;

#endif
