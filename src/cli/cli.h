/* The CLI: a client of the REST API (docs/api.md) for everything but
 * `token rotate`, which works on the store itself (it must work when the
 * old token is lost).
 *
 * Exit codes: 0 done, 1 it could not be done (the API refused it, the
 * server is not reachable, not found, in use), 2 the command line was
 * wrong. */
#ifndef MIDWIFE_CLI_CLI_H
#define MIDWIFE_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* Options every API subcommand takes, before or after its name. */
struct cli_globals {
    const char *config;     /* -c FILE; NULL = $MIDWIFE_CONFIG or /etc/midwife/midwife.conf */
    const char *server;     /* --server URL */
    const char *token_file; /* --token-file FILE */
    bool json;              /* -o json */
    long timeout_s;         /* --timeout SECONDS; 0 = the command's default */
};

/* The part of every usage text that describes the global options. */
extern const char cli_globals_usage[];

/* Entry points; argv[0] is the subcommand's name ("host"). */
int cli_host_main(int argc, char **argv, struct cli_globals *g);
int cli_build_main(int argc, char **argv, struct cli_globals *g);
int cli_profile_main(int argc, char **argv, struct cli_globals *g);
int cli_rule_main(int argc, char **argv, struct cli_globals *g);
int cli_events_main(int argc, char **argv, struct cli_globals *g);
int cli_explain_main(int argc, char **argv, struct cli_globals *g);
int cli_status_main(int argc, char **argv, struct cli_globals *g);
int cli_apply_main(int argc, char **argv, struct cli_globals *g);
int cli_export_main(int argc, char **argv, struct cli_globals *g);
int cli_token_main(int argc, char **argv, struct cli_globals *g);

/* Consumes the global options at the front of argv (main's `midwife -o
 * json host list`): returns how many arguments were used, or -1 after
 * printing why the command line is wrong. */
int cli_globals_leading(int argc, char **argv, struct cli_globals *g);

/* getopt_long over the command's own options plus the global ones (the
 * global ones are stored in g). For each own option, on(c, optarg, ctx)
 * returns CLI_OK or CLI_USAGE (after printing why). -h/--help prints
 * usage to stdout and returns -1 (the caller exits 0). On return
 * argv[optind..argc) are the operands. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, struct cli_globals *g,
               int (*on)(int c, const char *arg, void *ctx), void *ctx, const char *usage);

/* Prints "midwife WHAT: WHY" and usage to stderr; returns CLI_USAGE. */
int cli_usage_error(const char *what, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
