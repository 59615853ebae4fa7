/* Where the CLI finds the server and the admin token, and the output
 * choices (tables or JSON, colour or not). Kept apart from the HTTP code so
 * the order of the sources is unit-tested.
 *
 * Server: --server URL, else $MIDWIFE_SERVER, else from the config's
 * [http]: http://127.0.0.1:PORT when it listens on any address, else
 * http://ADDRESS:PORT.
 * Token: --token-file FILE, else $MIDWIFE_TOKEN (the token itself), else
 * $MIDWIFE_TOKEN_FILE, else STATE_DIR/admin.token from the config.
 * Config: -c FILE, else $MIDWIFE_CONFIG, else /etc/midwife/midwife.conf;
 * read only when the server or the token come from it. */
#ifndef MIDWIFE_CLI_CLI_ARGS_H
#define MIDWIFE_CLI_CLI_ARGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"

#define CLI_URL_MAX 512
#define CLI_TOKEN_MAX 512
#define CLI_DEFAULT_CONFIG "/etc/midwife/midwife.conf"

typedef const char *(*cli_env_fn)(const char *name);

struct cli_target {
    char server[CLI_URL_MAX];         /* "http://127.0.0.1:8080", no trailing '/' */
    char token[CLI_TOKEN_MAX];
    char token_from[PATH_MAX + 32];   /* for messages: "token file /x/admin.token", "$MIDWIFE_TOKEN" */
};

/* The config path (-c, $MIDWIFE_CONFIG, the default). */
const char *cli_config_path(const struct cli_globals *g, cli_env_fn env);

/* Fills t; on failure returns CLI_FAIL with a sentence in err. */
int cli_resolve_target(const struct cli_globals *g, cli_env_fn env, struct cli_target *t, char *err,
                       size_t errlen);

/* "http://h:p", "https://h", "h:p" (http:// assumed): a base URL without
 * a trailing '/' in out. -EINVAL for anything else (a path, a query,
 * spaces, control bytes). */
int cli_normalize_server(const char *in, char *out, size_t outlen);

/* Reads a token file: the first line, surrounding white space dropped;
 * printable ASCII without spaces only (it goes into a header). */
int cli_read_token_file(const char *path, char *out, size_t outlen, char *err, size_t errlen);
/* Whether s may be sent as a bearer token. */
bool cli_token_valid(const char *s);

/* Colours only on a terminal and when NO_COLOR is unset or empty
 * (https://no-color.org). */
bool cli_colour_decide(bool is_tty, const char *no_color);

#endif
