/* midwife host set|list|show|rm */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store_inventory.h"
#include "util/addr.h"
#include "util/strnum.h"

static const char host_usage[] =
    "usage: midwife host COMMAND [-c CONFIG] ...\n"
    "  set NAME [--mac MAC] [--build NAME[@VERSION]] [--vlan N]\n"
    "      --mac is required for a new host; --build '' = the configured default;\n"
    "      no @VERSION = follow the latest version; --vlan 0 = none, else 1..4094\n"
    "  list [-o text|json]\n"
    "  show NAME [-o text|json]\n"
    "  rm NAME\n";

static int usage_error(const char *why)
{
    if (why)
        fprintf(stderr, "midwife host: %s\n", why);
    fputs(host_usage, stderr);
    return CLI_USAGE;
}

static const char *build_ref(const struct host *h, char *out, size_t len)
{
    if (!h->build[0])
        snprintf(out, len, "(default)");
    else if (h->build_version)
        snprintf(out, len, "%s@%d", h->build, h->build_version);
    else
        snprintf(out, len, "%s", h->build);
    return out;
}

static json_t *host_json(const struct host *h)
{
    char mac[MAC_STRLEN];
    return json_pack("{s:s, s:s, s:s, s:i, s:i}", "name", h->name, "mac", format_mac(h->macs[0], mac), "build",
                     h->build, "build_version", h->build_version, "vlan", h->vlan);
}

static int print_json(json_t *j)
{
    if (!j)
        return CLI_FAIL;
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return CLI_FAIL;
    puts(s);
    free(s);
    return CLI_OK;
}

static int cmd_set(int argc, char **argv)
{
    enum { OPT_MAC = 256, OPT_BUILD, OPT_VLAN };
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"mac", required_argument, NULL, OPT_MAC},
                                         {"build", required_argument, NULL, OPT_BUILD},
                                         {"vlan", required_argument, NULL, OPT_VLAN},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = cli_default_config(), *mac_s = NULL, *build_s = NULL, *vlan_s = NULL;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case OPT_MAC: mac_s = optarg; break;
        case OPT_BUILD: build_s = optarg; break;
        case OPT_VLAN: vlan_s = optarg; break;
        default: return usage_error(NULL);
        }
    }
    if (argc - optind != 1)
        return usage_error("set takes one NAME");
    const char *name = argv[optind];
    if (!build_name_valid(name))
        return usage_error("NAME: letters, digits, '-', '_', '.' (not starting with '.'), at most 63");
    uint8_t mac[6];
    if (mac_s && parse_mac(mac_s, mac) < 0)
        return usage_error("--mac takes aa:bb:cc:dd:ee:ff");
    char bname[BUILD_NAME_MAX] = "";
    int bversion = 0;
    if (build_s && build_s[0] && cli_parse_build_ref(build_s, bname, &bversion) < 0)
        return usage_error("--build takes NAME or NAME@VERSION");
    uint64_t vlan = 0;
    const char *why;
    if (vlan_s && parse_u64(vlan_s, 0, 4094, &vlan, &why) < 0) {
        fprintf(stderr, "midwife host: --vlan %s: %s (0 = none, 1..4094)\n", vlan_s, why);
        return CLI_USAGE;
    }

    struct cli cli;
    if (cli_open(config, &cli) != CLI_OK)
        return CLI_FAIL;
    int rc = CLI_FAIL;
    struct host h;
    int r = store_host_by_name(cli.st, name, &h);
    if (r == -ENOENT) {
        if (!mac_s) {
            fprintf(stderr, "midwife: host %s is new: --mac is required\n", name);
            rc = CLI_USAGE;
            goto out;
        }
        if ((r = host_init(&h)) < 0) {
            fprintf(stderr, "midwife: host %s: %s\n", name, strerror(-r));
            goto out;
        }
        snprintf(h.name, sizeof h.name, "%s", name);
    } else if (r < 0) {
        fprintf(stderr, "midwife: host %s: %s\n", name, strerror(-r));
        goto out;
    }
    if (mac_s) {
        /* --mac sets the primary (boot) MAC. */
        memcpy(h.macs[0], mac, 6);
        if (h.n_macs == 0)
            h.n_macs = 1;
    }
    if (build_s) {
        if (bname[0]) {
            struct build b;
            if ((r = store_build_get(cli.st, bname, bversion, &b)) < 0) {
                fprintf(stderr, "midwife: host %s: build %s: %s\n", name, build_s,
                        r == -ENOENT ? "no such build" : strerror(-r));
                goto out;
            }
            build_clear(&b);
        }
        snprintf(h.build, sizeof h.build, "%s", bname);
        h.build_version = bversion;
    }
    if (vlan_s)
        h.vlan = (int)vlan;
    const char *where;
    if ((r = store_host_put(cli.st, &h, &where)) < 0) {
        char m[MAC_STRLEN];
        if (r == -EEXIST && strcmp(where, "mac") == 0) {
            struct host other;
            bool known = store_host_by_mac(cli.st, h.macs[0], &other) == 0;
            fprintf(stderr, "midwife: host %s: MAC %s already belongs to host %s\n", name,
                    format_mac(h.macs[0], m), known ? other.name : "?");
            if (known)
                host_clear(&other);
        } else if (r == -EEXIST) {
            fprintf(stderr, "midwife: host %s: its %s belongs to another host\n", name, where);
        } else {
            fprintf(stderr, "midwife: host %s: %s\n", name, strerror(-r));
        }
        goto out;
    }
    char m[MAC_STRLEN], ref[BUILD_NAME_MAX + 16];
    printf("host %s: mac %s, build %s, vlan %d\n", h.name, format_mac(h.macs[0], m),
           build_ref(&h, ref, sizeof ref), h.vlan);
    rc = CLI_OK;
out:
    host_clear(&h);
    cli_close(&cli);
    return rc;
}

static int parse_common(int argc, char **argv, const char **config, bool *json, bool allow_output)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    *config = cli_default_config();
    *json = false;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': *config = optarg; break;
        case 'o':
            if (!allow_output || cli_parse_output(optarg, json) < 0)
                return usage_error(allow_output ? "-o takes text or json" : "-o is for list and show");
            break;
        default: return usage_error(NULL);
        }
    }
    return CLI_OK;
}

struct list_ctx {
    json_t *arr;
    size_t n;
};

static int list_one(const struct host *h, void *arg)
{
    struct list_ctx *lc = arg;
    if (lc->arr) {
        json_array_append_new(lc->arr, host_json(h));
    } else {
        char m[MAC_STRLEN], ref[BUILD_NAME_MAX + 16];
        if (lc->n == 0)
            printf("%-24s %-17s %-30s %s\n", "NAME", "MAC", "BUILD", "VLAN");
        printf("%-24s %-17s %-30s %d\n", h->name, format_mac(h->macs[0], m), build_ref(h, ref, sizeof ref), h->vlan);
    }
    lc->n++;
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    const char *config;
    bool json;
    int rc = parse_common(argc, argv, &config, &json, true);
    if (rc != CLI_OK)
        return rc;
    if (optind != argc)
        return usage_error("list takes no arguments");
    struct cli cli;
    if (cli_open(config, &cli) != CLI_OK)
        return CLI_FAIL;
    struct list_ctx lc = {.arr = json ? json_array() : NULL};
    int r = store_host_list(cli.st, NULL, list_one, &lc);
    cli_close(&cli);
    if (r < 0) {
        fprintf(stderr, "midwife: host list: %s\n", strerror(-r));
        json_decref(lc.arr);
        return CLI_FAIL;
    }
    return json ? print_json(lc.arr) : CLI_OK;
}

static int cmd_show(int argc, char **argv)
{
    const char *config;
    bool json;
    int rc = parse_common(argc, argv, &config, &json, true);
    if (rc != CLI_OK)
        return rc;
    if (argc - optind != 1)
        return usage_error("show takes one NAME");
    struct cli cli;
    if (cli_open(config, &cli) != CLI_OK)
        return CLI_FAIL;
    struct host h;
    int r = store_host_by_name(cli.st, argv[optind], &h);
    if (r < 0) {
        fprintf(stderr, "midwife: host %s: %s\n", argv[optind], r == -ENOENT ? "no such host" : strerror(-r));
        cli_close(&cli);
        return CLI_FAIL;
    }
    /* Which version it boots now, for people. */
    int boots = 0;
    struct build b;
    if (h.build[0] && store_build_get(cli.st, h.build, h.build_version, &b) == 0) {
        boots = b.version;
        build_clear(&b);
    }
    cli_close(&cli);
    if (json) {
        json_t *j = host_json(&h);
        json_object_set_new(j, "boots_version", json_integer(boots));
        host_clear(&h);
        return print_json(j);
    }
    host_clear(&h);
    char m[MAC_STRLEN], ref[BUILD_NAME_MAX + 16];
    printf("host:   %s\n", h.name);
    printf("mac:    %s\n", format_mac(h.macs[0], m));
    printf("build:  %s", build_ref(&h, ref, sizeof ref));
    if (h.build[0] && !h.build_version)
        printf(boots ? " (latest: @%d)" : " (missing)", boots);
    else if (h.build[0] && !boots)
        printf(" (missing)");
    printf("\nvlan:   %d%s\n", h.vlan, h.vlan ? "" : " (none)");
    return CLI_OK;
}

static int cmd_rm(int argc, char **argv)
{
    const char *config;
    bool json;
    int rc = parse_common(argc, argv, &config, &json, false);
    if (rc != CLI_OK)
        return rc;
    if (argc - optind != 1)
        return usage_error("rm takes one NAME");
    struct cli cli;
    if (cli_open(config, &cli) != CLI_OK)
        return CLI_FAIL;
    struct host h;
    int r = store_host_by_name(cli.st, argv[optind], &h);
    if (r == 0) {
        r = store_host_delete(cli.st, h.id);
        host_clear(&h);
    }
    if (r < 0)
        fprintf(stderr, "midwife: host rm %s: %s\n", argv[optind], r == -ENOENT ? "no such host" : strerror(-r));
    else
        printf("removed host %s\n", argv[optind]);
    cli_close(&cli);
    return r < 0 ? CLI_FAIL : CLI_OK;
}

int cli_host_main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL);
    const char *cmd = argv[1];
    argc--;
    argv++;
    if (strcmp(cmd, "set") == 0)
        return cmd_set(argc, argv);
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "ls") == 0)
        return cmd_list(argc, argv);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(argc, argv);
    if (strcmp(cmd, "rm") == 0)
        return cmd_rm(argc, argv);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(host_usage, stdout);
        return CLI_OK;
    }
    fprintf(stderr, "midwife host: unknown command '%s'\n", cmd);
    return usage_error(NULL);
}
