/* midwife rule list|show|set|rm|test */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "util/strnum.h"

static const char rule_usage[] =
    "usage: midwife rule COMMAND ...\n"
    "  list                          in rank order: the first that matches wins\n"
    "  show NAME\n"
    "  set NAME [--rank N] [--match JSON | --mac MAC...] [--build NAME[@V]]\n"
    "           [--profile NAME] [--mode MODE] [--label KEY=VALUE]...\n"
    "      a new rule, or a change of the fields given; --match takes the whole\n"
    "      match object ('{\"mac\": [\"52:54:00:*\"], \"arch\": [7]}', '{}' matches every\n"
    "      host); --mac MAC (exact, prefix '52:54:00:*', range 'A-B') builds\n"
    "      {\"mac\": [...]}; --mode '' leaves the default; --label KEY= removes KEY\n"
    "  rm NAME\n"
    "  test MAC [--uuid U] [--serial S] [--vendor V] [--model M] [--arch N]\n"
    "           [--subnet NAME] [--circuit-id ID] [--remote-id ID]\n"
    "      which rule a host with these facts would get, and why each one tried\n"
    "      matches or not\n";

#define WHAT "midwife rule"

enum {
    OPT_RANK = 256, OPT_MATCH, OPT_MAC, OPT_BUILD, OPT_PROFILE, OPT_MODE, OPT_LABEL, OPT_UUID, OPT_SERIAL,
    OPT_VENDOR, OPT_MODEL, OPT_ARCH, OPT_SUBNET, OPT_CIRCUIT, OPT_REMOTE
};

/* ---- set ------------------------------------------------------------------- */

struct set_opts {
    json_t *fields, *macs, *labels;
};

static int set_opt(int c, const char *arg, void *ctx)
{
    struct set_opts *o = ctx;
    uint64_t v;
    const char *why;
    switch (c) {
    case OPT_RANK:
        if (parse_u64(arg, 0, INT32_MAX, &v, &why) < 0)
            return cli_usage_error(WHAT, NULL, "--rank %s: %s", arg, why);
        json_object_set_new(o->fields, "rank", json_integer((json_int_t)v));
        return CLI_OK;
    case OPT_MATCH: {
        json_error_t e;
        json_t *m = json_loads(arg, 0, &e);
        if (!json_is_object(m)) {
            json_decref(m);
            return cli_usage_error(WHAT, NULL, "--match takes a JSON object%s%s", m ? "" : ": ", m ? "" : e.text);
        }
        json_object_set_new(o->fields, "match", m);
        return CLI_OK;
    }
    case OPT_MAC: json_array_append_new(o->macs, json_string(arg)); return CLI_OK;
    case OPT_BUILD: json_object_set_new(o->fields, "build", json_string(arg)); return CLI_OK;
    case OPT_PROFILE: json_object_set_new(o->fields, "profile", json_string(arg)); return CLI_OK;
    case OPT_MODE: json_object_set_new(o->fields, "mode", arg[0] ? json_string(arg) : json_null()); return CLI_OK;
    case OPT_LABEL: {
        char buf[1024];
        const char *k, *val;
        if (cli_split_kv(arg, buf, sizeof buf, &k, &val) < 0)
            return cli_usage_error(WHAT, NULL, "--label takes KEY=VALUE, not '%s'", arg);
        json_object_set_new(o->labels, k, json_string(val));
        return CLI_OK;
    }
    default: return CLI_USAGE;
    }
}

/* The fields a rule's PUT takes (docs/api.md); the rest of a GET answer
 * (created, updated) stays behind. */
static const char *const writable[] = {"name", "rank", "match", "build", "profile", "mode", "labels"};

static int cmd_set(int argc, char **argv, struct cli_globals *g)
{
    static const struct option opts[] = {{"rank", required_argument, NULL, OPT_RANK},
                                         {"match", required_argument, NULL, OPT_MATCH},
                                         {"mac", required_argument, NULL, OPT_MAC},
                                         {"build", required_argument, NULL, OPT_BUILD},
                                         {"profile", required_argument, NULL, OPT_PROFILE},
                                         {"mode", required_argument, NULL, OPT_MODE},
                                         {"label", required_argument, NULL, OPT_LABEL},
                                         {NULL, 0, NULL, 0}};
    struct set_opts o = {.fields = json_object(), .macs = json_array(), .labels = json_object()};
    struct cli_api *a = NULL;
    json_t *cur = NULL, *body = NULL, *ans = NULL;
    int rc = cli_getopt(argc, argv, "", opts, g, set_opt, &o, rule_usage);
    if (rc) {
        rc = rc < 0 ? CLI_OK : rc;
        goto out;
    }
    if (argc - optind != 1) {
        rc = cli_usage_error(WHAT, rule_usage, "set takes one NAME");
        goto out;
    }
    if (json_array_size(o.macs) && json_object_get(o.fields, "match")) {
        rc = cli_usage_error(WHAT, rule_usage, "--match or --mac, not both");
        goto out;
    }
    if (json_array_size(o.macs))
        json_object_set_new(o.fields, "match", json_pack("{s:O}", "mac", o.macs));
    const char *name = argv[optind];
    char path[CLI_PATH_MAX];
    if ((rc = cli_object_path(path, sizeof path, "/rules", name, NULL)) != CLI_OK)
        goto out;
    if ((rc = cli_api_open(g, 0, &a)) != CLI_OK)
        goto out;
    long status;
    if ((rc = cli_api_try(a, "GET", path, NULL, &status, &cur)) != CLI_OK)
        goto out;
    if (status != 200 && status != 404) {
        cli_api_print_error(a, status, cur);
        rc = CLI_FAIL;
        goto out;
    }
    body = json_object();
    if (status == 200)
        for (size_t i = 0; i < sizeof writable / sizeof writable[0]; i++) {
            json_t *v = json_object_get(cur, writable[i]);
            if (v)
                json_object_set(body, writable[i], v);
        }
    json_object_update(body, o.fields);
    json_object_set_new(body, "name", json_string(name));
    if (json_object_size(o.labels)) {
        json_t *l = json_is_object(json_object_get(body, "labels")) ? json_deep_copy(json_object_get(body, "labels"))
                                                                    : json_object();
        const char *k;
        json_t *v;
        json_object_foreach(o.labels, k, v) {
            if (json_string_length(v) == 0)
                json_object_del(l, k);
            else
                json_object_set(l, k, v);
        }
        json_object_set_new(body, "labels", l);
    }
    if ((rc = cli_api_call(a, "PUT", path, body, &ans)) != CLI_OK)
        goto out;
    if (g->json)
        rc = cli_print_json(ans);
    else
        printf("rule %s %s\n", name, status == 404 ? "added" : "changed");
out:
    cli_api_close(a);
    json_decref(o.fields);
    json_decref(o.macs);
    json_decref(o.labels);
    json_decref(cur);
    json_decref(body);
    json_decref(ans);
    return rc;
}

/* ---- test ------------------------------------------------------------------ */

static int test_opt(int c, const char *arg, void *ctx)
{
    json_t *req = ctx;
    static const char *const key[] = {[OPT_UUID - OPT_UUID] = "uuid",         [OPT_SERIAL - OPT_UUID] = "serial",
                                      [OPT_VENDOR - OPT_UUID] = "vendor",     [OPT_MODEL - OPT_UUID] = "model",
                                      [OPT_ARCH - OPT_UUID] = "arch",         [OPT_SUBNET - OPT_UUID] = "subnet",
                                      [OPT_CIRCUIT - OPT_UUID] = "circuit_id", [OPT_REMOTE - OPT_UUID] = "remote_id"};
    if (c < OPT_UUID || c > OPT_REMOTE)
        return CLI_USAGE;
    if (c == OPT_ARCH) {
        uint64_t v;
        const char *why;
        if (parse_u64(arg, 0, 65535, &v, &why) < 0)
            return cli_usage_error(WHAT, NULL, "--arch %s: %s (RFC 4578 number: 0 BIOS, 7 x86-64 UEFI, ...)", arg, why);
        json_object_set_new(req, "arch", json_integer((json_int_t)v));
    } else {
        json_object_set_new(req, key[c - OPT_UUID], json_string(arg));
    }
    return CLI_OK;
}

static int cmd_test(int argc, char **argv, struct cli_globals *g)
{
    static const struct option opts[] = {{"uuid", required_argument, NULL, OPT_UUID},
                                         {"serial", required_argument, NULL, OPT_SERIAL},
                                         {"vendor", required_argument, NULL, OPT_VENDOR},
                                         {"model", required_argument, NULL, OPT_MODEL},
                                         {"arch", required_argument, NULL, OPT_ARCH},
                                         {"subnet", required_argument, NULL, OPT_SUBNET},
                                         {"circuit-id", required_argument, NULL, OPT_CIRCUIT},
                                         {"remote-id", required_argument, NULL, OPT_REMOTE},
                                         {NULL, 0, NULL, 0}};
    json_t *req = json_object();
    int rc = cli_getopt(argc, argv, "", opts, g, test_opt, req, rule_usage);
    if (rc) {
        json_decref(req);
        return rc < 0 ? CLI_OK : rc;
    }
    if (argc - optind != 1) {
        json_decref(req);
        return cli_usage_error(WHAT, rule_usage, "test takes one MAC");
    }
    json_object_set_new(req, "mac", json_string(argv[optind]));
    json_t *ans;
    rc = cli_call(g, 0, "POST", "/rules/test", req, &ans);
    json_decref(req);
    if (rc != CLI_OK)
        return rc;
    if (g->json) {
        rc = cli_print_json(ans);
        json_decref(ans);
        return rc;
    }
    char mac[CLI_CELL_MAX], m[CLI_CELL_MAX];
    cli_sanitize(argv[optind], mac, sizeof mac);
    json_t *match = json_object_get(ans, "match");
    if (json_is_string(match))
        printf("%s gets rule %s\n", mac, cli_cell(match, m, sizeof m));
    else
        printf("%s matches no rule\n", mac);
    json_t *trace = json_object_get(ans, "trace");
    if (json_array_size(trace)) {
        static const char *const headers[] = {"RULE", "MATCHED", "WHY"};
        static const char *const keys[] = {"rule", "matched", "why"};
        rc = cli_print_list(trace, 3, headers, keys, NULL);
    }
    json_decref(ans);
    return rc;
}

/* ---- list / show / rm ------------------------------------------------------ */

static int cmd_list(int argc, char **argv, struct cli_globals *g)
{
    json_t *items;
    int rc = cli_list_command(argc, argv, g, WHAT, rule_usage, "/rules", &items);
    if (rc != CLI_OK || !items)
        return rc;
    static const char *const headers[] = {"RANK", "NAME", "MATCH", "BUILD", "PROFILE", "MODE", "LABELS"};
    static const char *const keys[] = {"rank", "name", "match", "build", "profile", "mode", "labels"};
    return cli_print_items(g, items, 7, headers, keys, NULL);
}

static int cmd_show_rm(int argc, char **argv, struct cli_globals *g, bool rm)
{
    return cli_show_rm_command(argc, argv, g, WHAT, rule_usage, "/rules", "rule", rm);
}

int cli_rule_main(int argc, char **argv, struct cli_globals *g)
{
    if (argc < 2)
        return cli_usage_error(WHAT, rule_usage, "which command?");
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
    if (strcmp(cmd, "test") == 0)
        return cmd_test(argc, argv, g);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(rule_usage, stdout);
        fputs(cli_globals_usage, stdout);
        return CLI_OK;
    }
    return cli_usage_error(WHAT, rule_usage, "unknown command '%s'", cmd);
}
