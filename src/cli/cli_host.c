/* midwife host list|show|add|set|rm|retire|reinstall|config */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_cmd.h"
#include "util/strnum.h"

static const char host_usage[] =
    "usage: midwife host COMMAND ...\n"
    "  list [--state S] [--build NAME] [--label KEY=VALUE] [--search TEXT] [--limit N]\n"
    "      --search: a substring of the name, a MAC, the UUID or the serial\n" CLI_PAGING_USAGE
    "  show NAME\n"
    "  add NAME --mac MAC [FIELDS]      a new host (refused when NAME exists)\n"
    "  set NAME [FIELDS]                change the fields given; a new host when\n"
    "                                   NAME does not exist (then --mac is needed)\n"
    "  rm NAME                          remove the record (its events stay)\n"
    "  retire NAME                      state retired: never booted again\n"
    "  reinstall NAME                   the next boot installs its build again\n"
    "  config NAME                      the configuration document it would get now\n"
    "FIELDS:\n"
    "  --mac MAC (again for more; the first boots) --build NAME[@VERSION]\n"
    "  --profile NAME --mode stateless|stateful|sanboot|local --vlan N (0 = none)\n"
    "  --address A.B.C.D ('' = DHCP) --uuid UUID --serial SERIAL\n"
    "  --label KEY=VALUE --var KEY=VALUE (again for more; KEY= removes KEY)\n"
    "  --build '' = the configured default; no @VERSION = follow the latest\n";

#define WHAT "midwife host"

enum {
    OPT_MAC = 256, OPT_BUILD, OPT_PROFILE, OPT_MODE, OPT_VLAN, OPT_ADDRESS, OPT_LABEL, OPT_VAR, OPT_UUID,
    OPT_SERIAL, OPT_STATE, OPT_SEARCH
};

/* ---- list ----------------------------------------------------------------- */

struct list_opts {
    const char *state, *build, *label, *search;
    struct cli_paging paging;
};

static int list_opt(int c, const char *arg, void *ctx)
{
    struct list_opts *o = ctx;
    switch (c) {
    case OPT_STATE: o->state = arg; return CLI_OK;
    case OPT_BUILD: o->build = arg; return CLI_OK;
    case OPT_LABEL: o->label = arg; return CLI_OK;
    case OPT_SEARCH: o->search = arg; return CLI_OK;
    default: {
        int r = cli_paging_opt(&o->paging, c, arg, WHAT);
        return r == 1 ? CLI_USAGE : r;
    }
    }
}

static int cmd_list(int argc, char **argv, struct cli_globals *g)
{
    static const struct option opts[] = {{"state", required_argument, NULL, OPT_STATE},
                                         {"build", required_argument, NULL, OPT_BUILD},
                                         {"label", required_argument, NULL, OPT_LABEL},
                                         {"search", required_argument, NULL, OPT_SEARCH},
                                         CLI_PAGING_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    struct list_opts o = {0};
    int rc = cli_getopt(argc, argv, "", opts, g, list_opt, &o, host_usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind != argc)
        return cli_usage_error(WHAT, host_usage, "list takes no operands");
    struct cli_query q;
    cli_query_init(&q, "/hosts");
    cli_query_add(&q, "state", o.state);
    cli_query_add(&q, "build", o.build);
    cli_query_add(&q, "label", o.label);
    cli_query_add(&q, "q", o.search);
    json_t *items;
    if ((rc = cli_fetch_list(g, q.buf, &o.paging, &items)) != CLI_OK)
        return rc;
    if (!g->json) {
        /* "build": "" means the configured default; say so. */
        size_t i;
        json_t *h;
        json_array_foreach(items, i, h) {
            const char *b = json_string_value(json_object_get(h, "build"));
            if (b && !b[0])
                json_object_set_new(h, "build", json_string("(default)"));
        }
    }
    static const char *const headers[] = {"NAME", "STATE", "MACS", "BUILD", "PROFILE", "MODE", "ADDRESS",
                                          "LAST SEEN"};
    static const char *const keys[] = {"name", "state", "macs", "build", "profile", "mode", "address", "last_seen"};
    return cli_print_items(g, items, 8, headers, keys, cli_state_colour);
}

/* ---- add / set ------------------------------------------------------------ */

struct field_opts {
    json_t *fields; /* what the command line sets */
    json_t *labels, *vars; /* KEY=VALUE given; "" values remove */
};

static int kv_into(json_t *obj, const char *arg, const char *opt)
{
    char buf[1024];
    const char *k, *v;
    if (cli_split_kv(arg, buf, sizeof buf, &k, &v) < 0)
        return cli_usage_error(WHAT, NULL, "%s takes KEY=VALUE, not '%s'", opt, arg);
    json_object_set_new(obj, k, json_string(v));
    return CLI_OK;
}

static int field_opt(int c, const char *arg, void *ctx)
{
    struct field_opts *o = ctx;
    json_t *f = o->fields;
    uint64_t v;
    const char *why;
    switch (c) {
    case OPT_MAC: {
        json_t *macs = json_object_get(f, "macs");
        if (!macs)
            json_object_set_new(f, "macs", macs = json_array());
        json_array_append_new(macs, json_string(arg));
        return CLI_OK;
    }
    case OPT_BUILD: json_object_set_new(f, "build", json_string(arg)); return CLI_OK;
    case OPT_PROFILE: json_object_set_new(f, "profile", json_string(arg)); return CLI_OK;
    case OPT_MODE: json_object_set_new(f, "mode", json_string(arg)); return CLI_OK;
    case OPT_ADDRESS: json_object_set_new(f, "address", json_string(arg)); return CLI_OK;
    case OPT_UUID: json_object_set_new(f, "uuid", json_string(arg)); return CLI_OK;
    case OPT_SERIAL: json_object_set_new(f, "serial", json_string(arg)); return CLI_OK;
    case OPT_VLAN:
        /* The range is the server's to check; only a number goes. */
        if (parse_u64(arg, 0, UINT32_MAX, &v, &why) < 0)
            return cli_usage_error(WHAT, NULL, "--vlan %s: %s (0 = none, else 1..4094)", arg, why);
        json_object_set_new(f, "vlan", json_integer((json_int_t)v));
        return CLI_OK;
    case OPT_LABEL: return kv_into(o->labels, arg, "--label");
    case OPT_VAR: return kv_into(o->vars, arg, "--var");
    default: return CLI_USAGE;
    }
}

static const struct option field_opts_long[] = {{"mac", required_argument, NULL, OPT_MAC},
                                                {"build", required_argument, NULL, OPT_BUILD},
                                                {"profile", required_argument, NULL, OPT_PROFILE},
                                                {"mode", required_argument, NULL, OPT_MODE},
                                                {"vlan", required_argument, NULL, OPT_VLAN},
                                                {"address", required_argument, NULL, OPT_ADDRESS},
                                                {"label", required_argument, NULL, OPT_LABEL},
                                                {"var", required_argument, NULL, OPT_VAR},
                                                {"uuid", required_argument, NULL, OPT_UUID},
                                                {"serial", required_argument, NULL, OPT_SERIAL},
                                                {NULL, 0, NULL, 0}};

/* base's labels/vars (NULL: none) with the command line's KEY=VALUE on
 * top; empty values remove. */
static json_t *merged(const json_t *base, const json_t *given)
{
    json_t *m = json_is_object(base) ? json_deep_copy(base) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)given, k, v) {
        if (json_string_length(v) == 0)
            json_object_del(m, k);
        else
            json_object_set(m, k, v);
    }
    return m;
}

static void print_host_line(const char *verb, const json_t *h)
{
    char name[CLI_CELL_MAX], state[CLI_CELL_MAX], macs[CLI_CELL_MAX], build[CLI_CELL_MAX];
    const char *b = json_string_value(json_object_get(h, "build"));
    printf("%s host %s: state %s, macs %s, build %s\n", verb, cli_cell(json_object_get(h, "name"), name, sizeof name),
           cli_cell(json_object_get(h, "state"), state, sizeof state),
           cli_cell(json_object_get(h, "macs"), macs, sizeof macs),
           b && !b[0] ? "(default)" : cli_cell(json_object_get(h, "build"), build, sizeof build));
}

static int cmd_add_or_set(int argc, char **argv, struct cli_globals *g, bool add)
{
    struct field_opts o = {.fields = json_object(), .labels = json_object(), .vars = json_object()};
    struct cli_api *a = NULL;
    json_t *cur = NULL, *ans = NULL;
    int rc = cli_getopt(argc, argv, "", field_opts_long, g, field_opt, &o, host_usage);
    if (rc) {
        rc = rc < 0 ? CLI_OK : rc;
        goto out;
    }
    if (argc - optind != 1) {
        rc = cli_usage_error(WHAT, host_usage, "%s takes one NAME", add ? "add" : "set");
        goto out;
    }
    const char *name = argv[optind];
    char path[CLI_PATH_MAX];
    if ((rc = cli_object_path(path, sizeof path, "/hosts", name, NULL)) != CLI_OK)
        goto out;
    if (json_object_size(o.fields) + json_object_size(o.labels) + json_object_size(o.vars) == 0 && !add) {
        rc = cli_usage_error(WHAT, host_usage, "set %s: nothing to change", name);
        goto out;
    }
    if ((rc = cli_api_open(g, 0, &a)) != CLI_OK)
        goto out;

    long status = 0;
    if (!add) {
        /* Labels and variables given one by one merge into what the host
         * has, so the current ones are needed. */
        if (json_object_size(o.labels) + json_object_size(o.vars) > 0) {
            if ((rc = cli_api_try(a, "GET", path, NULL, &status, &cur)) != CLI_OK)
                goto out;
            if (status != 200 && status != 404) {
                cli_api_print_error(a, status, cur);
                rc = CLI_FAIL;
                goto out;
            }
            if (status == 404) {
                json_decref(cur);
                cur = NULL;
            }
        }
    }
    if (json_object_size(o.labels))
        json_object_set_new(o.fields, "labels", merged(json_object_get(cur, "labels"), o.labels));
    if (json_object_size(o.vars))
        json_object_set_new(o.fields, "vars", merged(json_object_get(cur, "vars"), o.vars));

    if (add) {
        json_object_set_new(o.fields, "name", json_string(name));
        rc = cli_api_call(a, "POST", "/hosts", o.fields, &ans);
    } else {
        if ((rc = cli_api_try(a, "PATCH", path, o.fields, &status, &ans)) != CLI_OK)
            goto out;
        if (status == 404) {
            /* A new host: PUT creates it, the fields not given at their defaults. */
            json_decref(ans);
            ans = NULL;
            json_object_set_new(o.fields, "name", json_string(name));
            if ((rc = cli_api_try(a, "PUT", path, o.fields, &status, &ans)) != CLI_OK)
                goto out;
        }
        if (status < 200 || status > 299) {
            cli_api_print_error(a, status, ans);
            rc = CLI_FAIL;
            goto out;
        }
    }
    if (rc == CLI_OK) {
        if (g->json)
            rc = cli_print_json(ans);
        else
            print_host_line(add || status == 201 ? "added" : "changed", ans);
    }
out:
    cli_api_close(a);
    json_decref(o.fields);
    json_decref(o.labels);
    json_decref(o.vars);
    json_decref(cur);
    json_decref(ans);
    return rc;
}

/* ---- show / rm / retire / reinstall / config ------------------------------ */

enum one_action { SHOW, RM, RETIRE, REINSTALL, CONFIG };

static int cmd_one(int argc, char **argv, struct cli_globals *g, enum one_action act)
{
    static const char *const verb[] = {"show", "rm", "retire", "reinstall", "config"};
    int rc = cli_getopt(argc, argv, "", NULL, g, NULL, NULL, host_usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (argc - optind != 1)
        return cli_usage_error(WHAT, host_usage, "%s takes one NAME", verb[act]);
    const char *name = argv[optind];
    static const char *const suffix[] = {NULL, NULL, "/retire", "/reinstall", "/config"};
    static const char *const method[] = {"GET", "DELETE", "POST", "POST", "GET"};
    char path[CLI_PATH_MAX];
    if ((rc = cli_object_path(path, sizeof path, "/hosts", name, suffix[act])) != CLI_OK)
        return rc;
    json_t *ans;
    if ((rc = cli_call(g, 0, method[act], path, NULL, &ans)) != CLI_OK)
        return rc;
    switch (act) {
    case SHOW: {
        const char *b = json_string_value(json_object_get(ans, "build"));
        if (!g->json && b && !b[0])
            json_object_set_new(ans, "build", json_string("(default)"));
        return cli_show(g, ans);
    }
    case CONFIG:
        /* A document: JSON either way. */
        rc = cli_print_json(ans);
        json_decref(ans);
        return rc;
    case RM: return cli_print_removed(g, ans, "host", name);
    case RETIRE:
    case REINSTALL:
        if (g->json) {
            rc = ans ? cli_print_json(ans) : CLI_OK;
        } else {
            char st[CLI_CELL_MAX];
            printf("host %s: %s (state %s)\n", name, act == RETIRE ? "retired" : "will be installed again",
                   cli_cell(json_object_get(ans, "state"), st, sizeof st));
        }
        break;
    }
    json_decref(ans);
    return rc;
}

int cli_host_main(int argc, char **argv, struct cli_globals *g)
{
    if (argc < 2)
        return cli_usage_error(WHAT, host_usage, "which command?");
    const char *cmd = argv[1];
    argc--;
    argv++;
    argv[0] = (char *)WHAT;
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "ls") == 0)
        return cmd_list(argc, argv, g);
    if (strcmp(cmd, "show") == 0)
        return cmd_one(argc, argv, g, SHOW);
    if (strcmp(cmd, "add") == 0)
        return cmd_add_or_set(argc, argv, g, true);
    if (strcmp(cmd, "set") == 0)
        return cmd_add_or_set(argc, argv, g, false);
    if (strcmp(cmd, "rm") == 0)
        return cmd_one(argc, argv, g, RM);
    if (strcmp(cmd, "retire") == 0)
        return cmd_one(argc, argv, g, RETIRE);
    if (strcmp(cmd, "reinstall") == 0)
        return cmd_one(argc, argv, g, REINSTALL);
    if (strcmp(cmd, "config") == 0)
        return cmd_one(argc, argv, g, CONFIG);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(host_usage, stdout);
        fputs(cli_globals_usage, stdout);
        return CLI_OK;
    }
    return cli_usage_error(WHAT, host_usage, "unknown command '%s'", cmd);
}
