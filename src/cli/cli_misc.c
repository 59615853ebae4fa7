/* midwife explain MAC | status | apply -f FILE | export */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_cmd.h"

static const char explain_usage[] =
    "usage: midwife explain MAC\n"
    "  what DHCP, TFTP and HTTP would hand this client now and why, and what\n"
    "  its recent events say went wrong\n";
static const char status_usage[] =
    "usage: midwife status\n"
    "  version, uptime, listeners, counters, hosts per state, leases per subnet\n";
static const char apply_usage[] =
    "usage: midwife apply -f FILE\n"
    "  creates or updates the hosts, profiles and rules of FILE (JSON:\n"
    "  {\"hosts\": [...], \"profiles\": [...], \"rules\": [...]}, as export writes\n"
    "  it), all or nothing; -f - reads stdin\n";
static const char export_usage[] =
    "usage: midwife export\n"
    "  hosts, profiles and rules as JSON on stdout, in the shape apply takes\n";

/* Commands of one GET and no options of their own. */
static int get_and_show(int argc, char **argv, struct cli_globals *g, const char *what, const char *usage,
                        const char *prefix, bool operand, bool always_json)
{
    argv[0] = (char *)what;
    if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        fputs(cli_globals_usage, stdout);
        return CLI_OK;
    }
    int rc = cli_getopt(argc, argv, "", NULL, g, NULL, NULL, usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (argc - optind != (operand ? 1 : 0))
        return cli_usage_error(what, usage, operand ? "one operand, please" : "no operands, please");
    char path[CLI_PATH_MAX];
    if (operand) {
        if ((rc = cli_object_path(path, sizeof path, prefix, argv[optind], NULL)) != CLI_OK)
            return rc;
    } else {
        snprintf(path, sizeof path, "%s", prefix);
    }
    struct cli_api *a;
    if (cli_api_open(g, 0, &a) != CLI_OK)
        return CLI_FAIL;
    json_t *ans;
    rc = cli_api_call(a, "GET", path, NULL, &ans);
    cli_api_close(a);
    if (rc != CLI_OK)
        return rc;
    if (always_json) {
        rc = cli_print_json(ans);
        json_decref(ans);
        return rc;
    }
    return cli_show(g, ans);
}

int cli_explain_main(int argc, char **argv, struct cli_globals *g)
{
    return get_and_show(argc, argv, g, "midwife explain", explain_usage, "/explain", true, false);
}

int cli_status_main(int argc, char **argv, struct cli_globals *g)
{
    return get_and_show(argc, argv, g, "midwife status", status_usage, "/status", false, false);
}

int cli_export_main(int argc, char **argv, struct cli_globals *g)
{
    return get_and_show(argc, argv, g, "midwife export", export_usage, "/export", false, true);
}

static int file_opt(int c, const char *arg, void *ctx)
{
    if (c != 'f')
        return CLI_USAGE;
    *(const char **)ctx = arg;
    return CLI_OK;
}

int cli_apply_main(int argc, char **argv, struct cli_globals *g)
{
    static const struct option opts[] = {{"file", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    const char *what = "midwife apply";
    argv[0] = (char *)what;
    if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        fputs(apply_usage, stdout);
        fputs(cli_globals_usage, stdout);
        return CLI_OK;
    }
    const char *file = NULL;
    int rc = cli_getopt(argc, argv, "f:", opts, g, file_opt, &file, apply_usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (!file || optind != argc)
        return cli_usage_error(what, apply_usage, "apply takes -f FILE and nothing else");
    json_t *doc = cli_load_json_file(file);
    if (!doc)
        return CLI_FAIL;
    struct cli_api *a;
    json_t *ans = NULL;
    if ((rc = cli_api_open(g, 0, &a)) == CLI_OK) {
        rc = cli_api_call(a, "POST", "/apply", doc, &ans);
        cli_api_close(a);
    }
    json_decref(doc);
    if (rc != CLI_OK)
        return rc;
    return cli_show(g, ans);
}
