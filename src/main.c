/* midwife: subcommand dispatch only. */
#include <stdio.h>
#include <string.h>

#include "api/api_jobs.h"
#include "cli/cli.h"
#include "server/serve.h"

static void usage(FILE *f)
{
    fputs("usage: midwife COMMAND [ARGS]\n"
          "\n"
          "the server:\n"
          "  serve -c FILE      run the DHCP/TFTP/HTTP boot server and its API\n"
          "  check -c FILE      validate a config file and exit\n"
          "\n"
          "clients of the server's API (each has COMMAND help):\n"
          "  host ...           list, show, add, set, rm, retire, reinstall, config\n"
          "  build ...          list, show, import, layer, rm\n"
          "  profile ...        list, show, set -f FILE, rm\n"
          "  rule ...           list, show, set, rm, test MAC\n"
          "  events [--follow]  the flight recorder, or new events as they happen\n"
          "  explain MAC        what a client would get now, and what went wrong\n"
          "  status             version, uptime, listeners, counters, hosts per state\n"
          "  apply -f FILE      create or update hosts, profiles and rules from JSON\n"
          "  export             hosts, profiles and rules as JSON\n"
          "\n"
          "on the server itself:\n"
          "  token rotate       a new admin token (the old one stops working)\n"
          "\n"
          "  version            print the version\n"
          "  help               show this help\n"
          "\n",
          f);
    fputs(cli_globals_usage, f);
}

struct command {
    const char *name;
    int (*main)(int argc, char **argv, struct cli_globals *g);
};

static const struct command commands[] = {
    {"host", cli_host_main},       {"build", cli_build_main},     {"profile", cli_profile_main},
    {"rule", cli_rule_main},       {"events", cli_events_main},   {"explain", cli_explain_main},
    {"status", cli_status_main},   {"apply", cli_apply_main},     {"export", cli_export_main},
    {"token", cli_token_main},
};

int main(int argc, char **argv)
{
    /* A build import or layer the API runs in a child of its own. */
    if (api_job_child_requested())
        return api_job_child_main();
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return check_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("midwife %s\n", MIDWIFE_VERSION);
        return CLI_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    /* Global options may come before the command: midwife -o json host list. */
    struct cli_globals g = {0};
    argv[0] = (char *)"midwife";
    int used = cli_globals_leading(argc, argv, &g);
    if (used < 0)
        return CLI_USAGE;
    if (used + 1 >= argc) {
        fputs("midwife: which command?\n", stderr);
        usage(stderr);
        return CLI_USAGE;
    }
    cmd = argv[used + 1];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].main(argc - used - 1, argv + used + 1, &g);
    fprintf(stderr, "midwife: unknown command '%s'\n", cmd);
    usage(stderr);
    return CLI_USAGE;
}
