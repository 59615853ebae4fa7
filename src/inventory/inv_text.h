/* Small text helpers shared by the inventory's files: error messages that
 * name a field, quoting of untrusted values, and the character classes the
 * model uses for keys and free text. Internal to src/inventory/. */
#ifndef MIDWIFE_INVENTORY_INV_TEXT_H
#define MIDWIFE_INVENTORY_INV_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define INV_KEY_MAX 63        /* labels, vars: [A-Za-z0-9_.-]{1,63} */
#define INV_QUOTE_MAX 80      /* how much of a refused value an error repeats */

/* Formats into err (if any) and returns -EINVAL, so a check reads
 * "return inv_fail(err, errlen, "%s: ...", path);". */
int inv_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* s escaped for an error message or a log line (printable ASCII stays,
 * anything else becomes \xNN), cut with "..." past INV_QUOTE_MAX bytes. */
const char *inv_quote(char *dst, size_t dstlen, const char *s, size_t len);
#define INV_QUOTE_SIZE (INV_QUOTE_MAX * 4 + 8)

/* No C0 control byte (NUL included), no DEL, no UTF-8 encoded C1 control. */
bool inv_text_clean(const char *s, size_t len);

/* [A-Za-z0-9_.-]{1,63}: keys of labels and vars. */
bool inv_key_valid(const char *k);

/* A JSON string's value when it is a string with no embedded NUL, else NULL. */
const char *inv_json_str(const json_t *v, size_t *len);

/* Parses text (at most max bytes) as a JSON object, duplicates refused.
 * what names it in the error ("match", "doc"). NULL with err set. */
json_t *inv_load_object(const char *text, size_t max, const char *what, char *err, size_t errlen);

#endif
