/* Fuzzes the agent's check of the configuration document: the bytes are
 * parsed as JSON (as the birth answer is) and checked. It must never
 * crash; a refusal must say which field; a document that passes must
 * pass again after a round trip through its own text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > DOC_MAX_BYTES)
        return 0;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!doc)
        return 0;
    char err[512];
    int r = doc_check(doc, err, sizeof err);
    if (r != 0 && (r != -1 || !strchr(err, ':')))
        abort();
    if (r == 0) {
        char *text = json_dumps(doc, JSON_COMPACT);
        json_t *again = text ? json_loads(text, 0, NULL) : NULL;
        if (again && doc_check(again, err, sizeof err) != 0)
            abort();
        json_decref(again);
        free(text);
    }
    json_decref(doc);
    return 0;
}
