/* midwife: subcommand dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "server/serve.h"

static void usage(FILE *f)
{
    fputs("usage: midwife COMMAND [ARGS]\n"
          "\n"
          "commands:\n"
          "  serve -c FILE   run the DHCP/TFTP boot server\n"
          "  check -c FILE   validate a config file and exit\n"
          "  build ...       import, layer, list, show, rm builds (midwife build help)\n"
          "  host ...        set, list, show, rm host records (midwife host help)\n"
          "  version         print the version\n"
          "  help            show this help\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return check_main(argc - 1, argv + 1);
    if (strcmp(cmd, "build") == 0)
        return cli_build_main(argc - 1, argv + 1);
    if (strcmp(cmd, "host") == 0)
        return cli_host_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("midwife %s\n", MIDWIFE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "midwife: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
