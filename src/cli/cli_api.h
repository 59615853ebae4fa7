/* The REST API client (docs/api.md) on libcurl: one connection reused
 * for every call of a command, JSON bodies, the admin bearer token, a
 * capped response, timeouts, and errors printed as the API gave them:
 *   midwife: 400 macs[1]: not a MAC address */
#ifndef MIDWIFE_CLI_CLI_API_H
#define MIDWIFE_CLI_CLI_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_args.h"

#define CLI_API_RESPONSE_MAX (64u << 20) /* export of a big inventory fits */
#define CLI_API_CONNECT_TIMEOUT_S 10
#define CLI_API_TIMEOUT_S 60
#define CLI_PATH_MAX 4096

struct cli_api;

/* Resolves the server and the token (cli_args.h), sets up libcurl.
 * timeout_s: the command's default when g->timeout_s is 0. Prints why
 * not and returns CLI_FAIL. */
int cli_api_open(const struct cli_globals *g, long timeout_s, struct cli_api **out);
void cli_api_close(struct cli_api *a);

/* One call. path is under /api/v1 ("/hosts?limit=10"), already escaped
 * (cli_path_escape). body may be NULL. On 2xx returns CLI_OK and the
 * parsed answer in *out (NULL when empty; new reference; out may be NULL).
 * Otherwise prints the error and returns CLI_FAIL. */
int cli_api_call(struct cli_api *a, const char *method, const char *path, const json_t *body, json_t **out);

/* The same, but an HTTP error is the caller's: *status gets the status
 * (0 when no answer came: then CLI_FAIL, printed), *out the parsed body
 * (the error object too). CLI_OK whenever an answer came. */
int cli_api_try(struct cli_api *a, const char *method, const char *path, const json_t *body, long *status,
                json_t **out);
/* Prints an error answer as cli_api_call does. */
void cli_api_print_error(struct cli_api *a, long status, const json_t *answer);

/* A Server-Sent Events stream (GET path with Accept: text/event-stream),
 * no overall timeout. Bytes go to on_bytes as they arrive (a non-zero
 * return stops the stream: the call then returns CLI_OK). last_id, when
 * not empty, is sent as Last-Event-ID. Returns CLI_OK when stopped by the
 * callback; CLI_FAIL when the connection ended or failed (*status: the
 * HTTP status, 0 for a transport error; the reason is printed unless
 * quiet). */
int cli_api_stream(struct cli_api *a, const char *path, const char *last_id,
                   int (*on_bytes)(void *arg, const char *buf, size_t len), void *arg, long *status, bool quiet);

/* Percent-encodes s for one path segment or one query value (everything
 * but A-Z a-z 0-9 - . _ ~). -ENAMETOOLONG. */
int cli_path_escape(const char *s, char *out, size_t outlen);

/* A path with a query being built: cli_query_add(q, "state", v) appends
 * "?state=v" or "&state=v" (v escaped), nothing when v is NULL. */
struct cli_query {
    char buf[CLI_PATH_MAX];
    size_t len;
    bool too_long;
};
void cli_query_init(struct cli_query *q, const char *path);
void cli_query_add(struct cli_query *q, const char *key, const char *value);

#endif
