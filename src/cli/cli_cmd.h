/* What the API subcommands share: listing every page, showing an object,
 * parsing small values from the command line. */
#ifndef MIDWIFE_CLI_CLI_CMD_H
#define MIDWIFE_CLI_CLI_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_api.h"
#include "cli/cli_out.h"

#define CLI_PAGE_MAX 1000 /* the API's largest page */

/* Paging of a list command: --limit N stops after N items, --page-size N
 * asks for N per request; without --limit every page is fetched by
 * following "next". */
struct cli_paging {
    size_t limit;     /* 0 = everything */
    size_t page_size; /* 0 = CLI_PAGE_MAX */
    const char *after; /* start after this name or ID; NULL = from the start */
};
/* The long options and their handler for struct cli_paging. */
#define CLI_OPT_LIMIT 900
#define CLI_OPT_PAGE_SIZE 901
#define CLI_PAGING_OPTIONS                                                                                        \
    {"limit", required_argument, NULL, CLI_OPT_LIMIT}, { "page-size", required_argument, NULL, CLI_OPT_PAGE_SIZE }
#define CLI_PAGING_USAGE                                                                                          \
    "      --limit N: at most N items (else every page); --page-size N: per request (1..1000)\n"
/* CLI_OK, CLI_USAGE (printed), or 1 when c is not a paging option. */
int cli_paging_opt(struct cli_paging *p, int c, const char *arg, const char *what);
/* A cli_getopt handler for commands whose only own options are paging
 * (ctx = struct cli_paging *). */
int cli_paging_on(int c, const char *arg, void *ctx);

/* GETs q's path page by page (limit=, after=NEXT) and collects the items
 * into *items (a new array). Prints why not and returns CLI_FAIL. */
int cli_list_all(struct cli_api *a, const char *path_with_query, const struct cli_paging *p, json_t **items);

/* cli_list_all on a connection of its own. */
int cli_fetch_list(const struct cli_globals *g, const char *path_with_query, const struct cli_paging *p,
                   json_t **items);

/* One cli_api_call on a connection of its own (timeout_s as for
 * cli_api_open); *ans is the answer, NULL when empty. */
int cli_call(const struct cli_globals *g, long timeout_s, const char *method, const char *path, const json_t *body,
             json_t **ans);

/* A list as a table: one column per key (cli_cell of the item's value);
 * header[i] names key[i]. */
int cli_print_list(const json_t *items, size_t ncols, const char *const *headers, const char *const *keys,
                   cli_colour_fn colour);

/* A list command's output: the items as they came with -o json, else
 * cli_print_list. Takes the reference. */
int cli_print_items(const struct cli_globals *g, json_t *items, size_t ncols, const char *const *headers,
                    const char *const *keys, cli_colour_fn colour);

/* Shows one answer: JSON with -o json, else "key: value" lines. Takes
 * the reference. */
int cli_show(const struct cli_globals *g, json_t *j);

/* What rm says once the server removed it: the answer ({} when empty)
 * with -o json, else "removed NOUN NAME" ("removed NAME" when noun is
 * NULL). Takes the reference. */
int cli_print_removed(const struct cli_globals *g, json_t *ans, const char *noun, const char *name);

/* The `list` of a collection whose only options are the paging ones:
 * checks the arguments (what and usage as for cli_usage_error), then
 * fetches every page of path. CLI_OK with *items NULL when --help was
 * asked for. */
int cli_list_command(int argc, char **argv, struct cli_globals *g, const char *what, const char *usage,
                     const char *path, json_t **items);

/* `show NAME` and `rm NAME` of the object NAME under collection
 * ("/rules"), which takes no options of its own; noun ("rule") for
 * cli_print_removed. */
int cli_show_rm_command(int argc, char **argv, struct cli_globals *g, const char *what, const char *usage,
                        const char *collection, const char *noun, bool rm);

/* KEY=VALUE into *key / *value (pointers into a copy in buf). */
int cli_split_kv(const char *s, char *buf, size_t buflen, const char **key, const char **value);

/* A whole file (or stdin for "-") as JSON, capped at CLI_API_RESPONSE_MAX.
 * New reference or NULL after printing why. */
json_t *cli_load_json_file(const char *path);

/* Makes a path given on the command line absolute, from the working
 * directory: the server opens it, and its working directory is not ours. */
int cli_absolute_path(const char *in, char *out, size_t outlen);

/* The escaped path "/PREFIX/NAME[SUFFIX]" into out; prints and returns
 * CLI_USAGE when it does not fit. */
int cli_object_path(char *out, size_t outlen, const char *prefix, const char *name, const char *suffix);

#endif
