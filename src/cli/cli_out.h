/* What the CLI prints: aligned tables and indented "key: value" blocks
 * for people, JSON for scripts. Everything that came from the server
 * passes through cli_cell()/the table, which replace control bytes, so a
 * host-supplied string cannot move the cursor or recolour a terminal. */
#ifndef MIDWIFE_CLI_CLI_OUT_H
#define MIDWIFE_CLI_CLI_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define CLI_TABLE_MAX_COLS 12
#define CLI_CELL_MAX 512

/* A cell's colour, from its column and text: an SGR sequence such as
 * "\033[32m" or NULL. */
typedef const char *(*cli_colour_fn)(size_t col, const char *cell);

struct cli_table;
struct cli_table *cli_table_new(size_t ncols, const char *const *headers);
/* Copies the cells (sanitised). -ENOMEM. */
int cli_table_add(struct cli_table *t, const char *const *cells);
size_t cli_table_rows(const struct cli_table *t);
/* Columns padded to their widest cell (counted in characters, not bytes),
 * two spaces apart, the last one not padded. colour NULL: none; headers
 * are bold when colour is given. */
void cli_table_print(const struct cli_table *t, FILE *f, cli_colour_fn colour);
void cli_table_free(struct cli_table *t);

/* Number of characters (UTF-8 code points) in s. */
size_t cli_text_width(const char *s);
/* Copies s with control bytes replaced by '?'; truncated with "..." to
 * fit. Returns out. */
char *cli_sanitize(const char *s, char *out, size_t outlen);
/* A JSON value as one cell: strings as they are, numbers, yes/no,
 * null, absent and "" as "-", arrays joined by ",", objects as k=v,k=v. */
char *cli_cell(const json_t *v, char *out, size_t outlen);

/* Milliseconds since the epoch as "2026-12-01T21:30:00Z" (the API's RFC
 * 3339 strings pass through cli_cell as they are). */
char *cli_time_ms(long long ms, char out[32]);

/* Whether stdout should get colours (a terminal, NO_COLOR unset). */
bool cli_stdout_colour(void);
/* The colour function the lists use: states green/red/grey. */
const char *cli_state_colour(size_t col, const char *cell);

/* Pretty JSON on stdout (indent 2, keys in the server's order). CLI_OK
 * or CLI_FAIL. Does not take the reference. */
int cli_print_json(const json_t *j);
/* One compact JSON line on stdout, flushed (for --follow). */
int cli_print_json_line(const json_t *j);
/* A JSON object as indented "key: value" lines for people: nested objects
 * indented, arrays of objects as "- " items, empty ones as "(none)". */
void cli_print_tree(FILE *f, const json_t *j, int indent);

#endif
