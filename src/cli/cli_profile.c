/* midwife profile list|show|set|rm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_cmd.h"

static const char profile_usage[] =
    "usage: midwife profile COMMAND ...\n"
    "  list [--limit N]\n" CLI_PAGING_USAGE
    "  show NAME\n"
    "  set -f FILE            FILE holds {\"name\": ..., \"doc\": {...}} (as export writes it)\n"
    "  set NAME -f FILE       FILE holds the document itself\n"
    "                         (-f - reads stdin; docs/profiles.md describes documents)\n"
    "  rm NAME                refused while a host or a rule names it\n";

#define WHAT "midwife profile"

static int file_opt(int c, const char *arg, void *ctx)
{
    if (c != 'f')
        return CLI_USAGE;
    *(const char **)ctx = arg;
    return CLI_OK;
}

static int cmd_set(int argc, char **argv, struct cli_globals *g)
{
    static const struct option opts[] = {{"file", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    const char *file = NULL;
    int rc = cli_getopt(argc, argv, "f:", opts, g, file_opt, &file, profile_usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (!file)
        return cli_usage_error(WHAT, profile_usage, "set needs -f FILE");
    if (argc - optind > 1)
        return cli_usage_error(WHAT, profile_usage, "set takes at most one NAME");
    json_t *in = cli_load_json_file(file);
    if (!in)
        return CLI_FAIL;
    json_t *body;
    const char *name;
    if (argc - optind == 1) {
        name = argv[optind];
        body = json_pack("{s:s, s:O}", "name", name, "doc", in);
    } else {
        name = json_string_value(json_object_get(in, "name"));
        if (!name || !json_object_get(in, "doc")) {
            json_decref(in);
            return cli_usage_error(WHAT, profile_usage,
                                   "%s has no \"name\" and \"doc\": give NAME when it is the document itself", file);
        }
        body = json_incref(in);
    }
    char path[CLI_PATH_MAX];
    json_t *ans = NULL;
    if ((rc = cli_object_path(path, sizeof path, "/profiles", name, NULL)) == CLI_OK &&
        (rc = cli_call(g, 0, "PUT", path, body, &ans)) == CLI_OK) {
        if (g->json)
            rc = cli_print_json(ans);
        else
            printf("profile %s saved\n", name);
    }
    json_decref(ans);
    json_decref(body);
    json_decref(in);
    return rc;
}

static int cmd_list(int argc, char **argv, struct cli_globals *g)
{
    json_t *items;
    int rc = cli_list_command(argc, argv, g, WHAT, profile_usage, "/profiles", &items);
    if (rc != CLI_OK || !items)
        return rc;
    if (!g->json) {
        /* What a document sets, in one column. */
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            json_t *keys = json_array();
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(it, "doc"), k, v) json_array_append_new(keys, json_string(k));
            json_object_set_new(it, "sets", keys);
        }
    }
    static const char *const headers[] = {"NAME", "SETS", "UPDATED"};
    static const char *const keys[] = {"name", "sets", "updated"};
    return cli_print_items(g, items, 3, headers, keys, NULL);
}

static int cmd_show_rm(int argc, char **argv, struct cli_globals *g, bool rm)
{
    return cli_show_rm_command(argc, argv, g, WHAT, profile_usage, "/profiles", "profile", rm);
}

int cli_profile_main(int argc, char **argv, struct cli_globals *g)
{
    if (argc < 2)
        return cli_usage_error(WHAT, profile_usage, "which command?");
    const char *cmd = argv[1];
    argc--;
    argv++;
    argv[0] = (char *)WHAT;
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "ls") == 0)
        return cmd_list(argc, argv, g);
    if (strcmp(cmd, "show") == 0)
        return cmd_show_rm(argc, argv, g, false);
    if (strcmp(cmd, "set") == 0)
        return cmd_set(argc, argv, g);
    if (strcmp(cmd, "rm") == 0)
        return cmd_show_rm(argc, argv, g, true);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(profile_usage, stdout);
        fputs(cli_globals_usage, stdout);
        return CLI_OK;
    }
    return cli_usage_error(WHAT, profile_usage, "unknown command '%s'", cmd);
}
