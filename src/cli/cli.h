/* The CLI's build and host subcommands. Until the REST API lands they work
 * directly on the store under the config's state_dir (SQLite in WAL mode,
 * so a running server is not disturbed).
 *
 * Exit codes: 0 done, 1 it could not be done (not found, in use, bad
 * image), 2 the command line was wrong. */
#ifndef MIDWIFE_CLI_CLI_H
#define MIDWIFE_CLI_CLI_H

#include <stdbool.h>

#include "conf/conf.h"
#include "store/store.h"
#include "store/store_build.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

int cli_build_main(int argc, char **argv); /* argv[0] = "build" */
int cli_host_main(int argc, char **argv);  /* argv[0] = "host" */

/* Shared by the subcommands. */
struct cli {
    struct conf *conf;
    struct store *st;
};

/* The config path when -c is not given: $MIDWIFE_CONFIG, else
 * /etc/midwife/midwife.conf. */
const char *cli_default_config(void);
/* Loads the config and opens the store; prints why not. CLI_OK or CLI_FAIL. */
int cli_open(const char *config, struct cli *c);
void cli_close(struct cli *c);
/* NAME or NAME@VERSION (VERSION >= 1); version 0 when absent. */
int cli_parse_build_ref(const char *s, char name[BUILD_NAME_MAX], int *version);
/* -o text|json */
int cli_parse_output(const char *s, bool *json);
/* Wall-clock seconds as "2024-05-01T12:00:00Z". */
const char *cli_time(int64_t t, char out[32]);

#endif
