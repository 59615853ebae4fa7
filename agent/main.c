/* midwife-agent: the host side of midwife. Commands:
 *   run [--cmdline FILE] [--root DIR] [--sysroot DIR] [--once] [--no-hostname]
 *   save [--root DIR]       upload the persist paths now (a host that runs)
 *   facts [--sysroot DIR]   print the facts sent at birth
 *   version */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

static void usage(FILE *f)
{
    fputs("usage: midwife-agent [run|save|facts|version] [--cmdline FILE] [--root DIR] [--sysroot DIR]\n"
          "                     [--once] [--no-hostname]\n"
          "  run      birth, restore the saved state, apply the configuration, report ready,\n"
          "           then stay to save the state (every persist_interval s and at SIGTERM)\n"
          "  save     upload the saved state now (reads ROOT/run/midwife/agent.json)\n"
          "  facts    print the facts sent at birth\n"
          "  --cmdline FILE  read FILE instead of /proc/cmdline\n"
          "  --root DIR      write files under DIR instead of / (tests)\n"
          "  --sysroot DIR   read /sys and /proc under DIR (tests)\n"
          "  --once          exit after the ready report\n"
          "  --no-hostname   do not set the kernel's host name\n",
          f);
}

int main(int argc, char **argv)
{
    const char *cmd = "run";
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        argv++;
        argc--;
    }
    struct run_opts o = {.root = "", .sysroot = ""};
    static const struct option longopts[] = {
        {"cmdline", required_argument, NULL, 'c'}, {"root", required_argument, NULL, 'r'},
        {"sysroot", required_argument, NULL, 's'}, {"once", no_argument, NULL, 'o'},
        {"no-hostname", no_argument, NULL, 'n'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o.cmdline_path = optarg; break;
        case 'r': o.root = strcmp(optarg, "/") == 0 ? "" : optarg; break;
        case 's': o.sysroot = strcmp(optarg, "/") == 0 ? "" : optarg; break;
        case 'o': o.once = true; break;
        case 'n': o.no_hostname = true; break;
        case 'h': usage(stdout); return AGENT_EXIT_OK;
        default: usage(stderr); return AGENT_EXIT_NOTHING;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "midwife-agent: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return AGENT_EXIT_NOTHING;
    }
    if (strcmp(cmd, "run") == 0)
        return agent_run(&o);
    if (strcmp(cmd, "save") == 0)
        return agent_save(&o);
    if (strcmp(cmd, "facts") == 0)
        return agent_facts(&o);
    if (strcmp(cmd, "version") == 0) {
        printf("midwife-agent %s\n", MIDWIFE_VERSION);
        return AGENT_EXIT_OK;
    }
    fprintf(stderr, "midwife-agent: unknown command '%s'\n", cmd);
    usage(stderr);
    return AGENT_EXIT_NOTHING;
}
