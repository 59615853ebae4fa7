/* midwife build import|layer|list|show|rm */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "images/import.h"
#include "store/store_inventory.h"

static const char build_usage[] =
    "usage: midwife build COMMAND [-c CONFIG] ...\n"
    "  import NAME [PATH] [--kernel PATH [--initrd PATH]...] [--cmdline STR]\n"
    "                     [--kind linux|esxi|chain|sanboot|local] [--chain PATH]\n"
    "                     [--san-uri URI] [--no-agent]\n"
    "      PATH: a directory, a tarball (.tar, .tar.gz, .tgz, .tar.xz) or an ISO image;\n"
    "      without --kernel/--chain the layout is recognised (ESXi boot.cfg,\n"
    "      Debian/Ubuntu netboot, Ubuntu casper, Debian live); --kernel, --initrd\n"
    "      and --chain name files inside PATH, relative to it\n"
    "  layer NAME ARCHIVE...         new version with each ARCHIVE as an extra module\n"
    "  list [-o text|json]\n"
    "  show NAME[@VERSION] [-o text|json]\n"
    "  rm NAME[@VERSION]             refused while a host uses it\n";

static int usage_error(const char *why)
{
    if (why)
        fprintf(stderr, "midwife build: %s\n", why);
    fputs(build_usage, stderr);
    return CLI_USAGE;
}

/* Common options of list/show/rm/layer: -c and -o. */
struct common_opts {
    const char *config;
    bool json;
};

static int parse_common(int argc, char **argv, struct common_opts *o, bool allow_output)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    o->config = cli_default_config();
    o->json = false;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'o':
            if (!allow_output || cli_parse_output(optarg, &o->json) < 0)
                return usage_error(allow_output ? "-o takes text or json" : "-o is for list and show");
            break;
        default: return usage_error(NULL);
        }
    }
    return CLI_OK;
}

static void print_build_summary(const struct build *b)
{
    printf("published %s@%d (%s, %zu files) from %s\n", b->name, b->version, build_kind_name(b->kind), b->n_files,
           b->source);
    for (size_t i = 0; i < b->n_files; i++)
        printf("  %-6s %-24s %12llu  %s%s\n", build_file_role_name(b->files[i].role), b->files[i].name,
               (unsigned long long)b->files[i].size, b->files[i].sha256, b->files[i].layered ? "  layered" : "");
}

static int cmd_import(int argc, char **argv)
{
    enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_KIND, OPT_CHAIN, OPT_SAN, OPT_NO_AGENT };
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"kernel", required_argument, NULL, OPT_KERNEL},
                                         {"initrd", required_argument, NULL, OPT_INITRD},
                                         {"cmdline", required_argument, NULL, OPT_CMDLINE},
                                         {"kind", required_argument, NULL, OPT_KIND},
                                         {"chain", required_argument, NULL, OPT_CHAIN},
                                         {"san-uri", required_argument, NULL, OPT_SAN},
                                         {"no-agent", no_argument, NULL, OPT_NO_AGENT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct import_opts io = {0};
    const char *config = cli_default_config();
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case OPT_KERNEL: io.kernel = optarg; break;
        case OPT_INITRD:
            if (io.n_initrds == IMPORT_MAX_INITRDS)
                return usage_error("too many --initrd");
            io.initrds[io.n_initrds++] = optarg;
            break;
        case OPT_CMDLINE: io.cmdline = optarg; break;
        case OPT_KIND:
            if (build_kind_parse(optarg, &io.kind) < 0)
                return usage_error("--kind takes linux, esxi, chain, sanboot or local");
            io.kind_set = true;
            break;
        case OPT_CHAIN: io.chain = optarg; break;
        case OPT_SAN: io.san_uri = optarg; break;
        case OPT_NO_AGENT: io.no_agent = true; break;
        default: return usage_error(NULL);
        }
    }
    if (argc - optind < 1 || argc - optind > 2)
        return usage_error("import takes NAME and PATH");
    io.name = argv[optind];
    io.path = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (!build_name_valid(io.name))
        return usage_error("NAME: letters, digits, '-', '_', '.' (not starting with '.'), at most 63");

    struct cli cli;
    if (cli_open(config, &cli) != CLI_OK)
        return CLI_FAIL;
    struct build b;
    char err[1024];
    int r = image_import(cli.conf->state_dir, cli.st, &io, &b, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "midwife: build import %s: %s\n", io.name, err);
    } else {
        print_build_summary(&b);
        build_clear(&b);
    }
    cli_close(&cli);
    return r < 0 ? CLI_FAIL : CLI_OK;
}

static int cmd_layer(int argc, char **argv)
{
    struct common_opts o;
    int rc = parse_common(argc, argv, &o, false);
    if (rc != CLI_OK)
        return rc;
    if (argc - optind < 2)
        return usage_error("layer takes NAME and at least one ARCHIVE");
    const char *name = argv[optind];
    if (!build_name_valid(name))
        return usage_error("NAME is not a valid build name");
    struct cli cli;
    if (cli_open(o.config, &cli) != CLI_OK)
        return CLI_FAIL;
    struct build b;
    char err[1024];
    int r = image_layer(cli.conf->state_dir, cli.st, name, (const char *const *)argv + optind + 1,
                        (size_t)(argc - optind - 1), &b, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "midwife: build layer %s: %s\n", name, err);
    } else {
        print_build_summary(&b);
        build_clear(&b);
    }
    cli_close(&cli);
    return r < 0 ? CLI_FAIL : CLI_OK;
}

struct list_ctx {
    json_t *arr;
    size_t n;
};

static int list_one(const struct build *b, void *arg)
{
    struct list_ctx *lc = arg;
    char t[32];
    cli_time(b->created, t);
    if (lc->arr) {
        json_array_append_new(lc->arr, json_pack("{s:s, s:i, s:s, s:s, s:s}", "name", b->name, "version",
                                                 b->version, "kind", build_kind_name(b->kind), "created", t,
                                                 "source", b->source));
    } else {
        if (lc->n == 0)
            printf("%-24s %7s %-8s %-20s %s\n", "NAME", "VERSION", "KIND", "CREATED", "SOURCE");
        printf("%-24s %7d %-8s %-20s %s\n", b->name, b->version, build_kind_name(b->kind), t, b->source);
    }
    lc->n++;
    return 0;
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

static int cmd_list(int argc, char **argv)
{
    struct common_opts o;
    int rc = parse_common(argc, argv, &o, true);
    if (rc != CLI_OK)
        return rc;
    if (optind != argc)
        return usage_error("list takes no arguments");
    struct cli cli;
    if (cli_open(o.config, &cli) != CLI_OK)
        return CLI_FAIL;
    struct list_ctx lc = {.arr = o.json ? json_array() : NULL};
    int r = store_build_foreach(cli.st, list_one, &lc);
    cli_close(&cli);
    if (r < 0) {
        fprintf(stderr, "midwife: build list: %s\n", strerror(-r));
        json_decref(lc.arr);
        return CLI_FAIL;
    }
    return o.json ? print_json(lc.arr) : CLI_OK;
}

/* Hosts that boot this build version: pinned to it, or following the
 * latest when it is the latest. */
struct users_ctx {
    const char *name;
    int version, latest;
    bool any_version; /* for rm NAME: every host naming NAME */
    json_t *arr;
    char text[1024];
    size_t n;
};

static int collect_user(const struct host *h, void *arg)
{
    struct users_ctx *u = arg;
    if (strcmp(h->build, u->name) != 0)
        return 0;
    bool uses = u->any_version || h->build_version == u->version || h->build_version == 0;
    if (!u->any_version && h->build_version == 0 && u->version != u->latest)
        uses = false;
    if (!uses)
        return 0;
    const char *how = h->build_version == 0 ? "latest" : "pinned";
    if (u->arr)
        json_array_append_new(u->arr, json_pack("{s:s, s:s}", "host", h->name, "follows", how));
    size_t len = strlen(u->text);
    if (len < sizeof u->text)
        snprintf(u->text + len, sizeof u->text - len, "%s%s (%s)", u->n ? ", " : "", h->name, how);
    u->n++;
    return 0;
}

static int cmd_show(int argc, char **argv)
{
    struct common_opts o;
    int rc = parse_common(argc, argv, &o, true);
    if (rc != CLI_OK)
        return rc;
    char name[BUILD_NAME_MAX];
    int version;
    if (argc - optind != 1 || cli_parse_build_ref(argv[optind], name, &version) < 0)
        return usage_error("show takes NAME or NAME@VERSION");
    struct cli cli;
    if (cli_open(o.config, &cli) != CLI_OK)
        return CLI_FAIL;
    struct build b, latest;
    int r = store_build_get(cli.st, name, version, &b);
    if (r < 0) {
        fprintf(stderr, "midwife: build %s: %s\n", argv[optind], r == -ENOENT ? "no such build" : strerror(-r));
        cli_close(&cli);
        return CLI_FAIL;
    }
    struct users_ctx u = {.name = name, .version = b.version, .latest = b.version};
    if (store_build_get(cli.st, name, 0, &latest) == 0) {
        u.latest = latest.version;
        build_clear(&latest);
    }
    u.arr = o.json ? json_array() : NULL;
    store_host_list(cli.st, NULL, collect_user, &u);
    cli_close(&cli);

    char t[32];
    cli_time(b.created, t);
    if (o.json) {
        json_t *files = json_array();
        for (size_t i = 0; i < b.n_files; i++) {
            const struct build_file *f = &b.files[i];
            json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:s, s:s, s:b}", "role",
                                                   build_file_role_name(f->role), "name", f->name, "size",
                                                   (json_int_t)f->size, "sha256", f->sha256, "args", f->args,
                                                   "layered", f->layered));
        }
        json_t *j = json_pack("{s:s, s:i, s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "name", b.name, "version",
                              b.version, "latest", b.version == u.latest, "kind", build_kind_name(b.kind), "created",
                              t, "source", b.source, "cmdline", b.cmdline, "san_uri", b.san_uri, "no_agent",
                              b.no_agent, "files", files, "hosts", u.arr);
        build_clear(&b);
        return print_json(j);
    }
    printf("build:    %s@%d%s\n", b.name, b.version, b.version == u.latest ? " (latest)" : "");
    printf("kind:     %s\n", build_kind_name(b.kind));
    printf("created:  %s\n", t);
    printf("source:   %s\n", b.source);
    if (b.kind == BUILD_LINUX || b.kind == BUILD_ESXI)
        printf("cmdline:  %s\n", b.cmdline);
    if (b.san_uri[0])
        printf("san_uri:  %s\n", b.san_uri);
    if (b.no_agent)
        printf("agent:    none\n");
    printf("files:\n");
    for (size_t i = 0; i < b.n_files; i++) {
        const struct build_file *f = &b.files[i];
        printf("  %-6s %-24s %12llu  sha256:%s%s%s%s\n", build_file_role_name(f->role), f->name,
               (unsigned long long)f->size, f->sha256, f->layered ? "  layered" : "", f->args[0] ? "  args: " : "",
               f->args);
    }
    if (b.n_files == 0)
        printf("  (none)\n");
    printf("hosts:    %s\n", u.n ? u.text : "(none)");
    build_clear(&b);
    return CLI_OK;
}

static int cmd_rm(int argc, char **argv)
{
    struct common_opts o;
    int rc = parse_common(argc, argv, &o, false);
    if (rc != CLI_OK)
        return rc;
    char name[BUILD_NAME_MAX];
    int version;
    if (argc - optind != 1 || cli_parse_build_ref(argv[optind], name, &version) < 0)
        return usage_error("rm takes NAME or NAME@VERSION");
    struct cli cli;
    if (cli_open(o.config, &cli) != CLI_OK)
        return CLI_FAIL;
    int r = store_build_delete(cli.st, name, version);
    if (r == -EBUSY) {
        /* Name the hosts that block it: any host naming NAME for a
         * whole-build rm, else those following the latest or pinned. */
        struct users_ctx u = {.name = name, .version = version, .latest = version, .any_version = version == 0};
        store_host_list(cli.st, NULL, collect_user, &u);
        if (u.n)
            fprintf(stderr, "midwife: build %s is in use by host(s): %s; point them at another build first\n",
                    argv[optind], u.text);
        else
            fprintf(stderr, "midwife: build %s is named by a rule; point the rule at another build first\n",
                    argv[optind]);
    } else if (r < 0) {
        fprintf(stderr, "midwife: build rm %s: %s\n", argv[optind], r == -ENOENT ? "no such build" : strerror(-r));
    } else {
        printf("removed %s\n", argv[optind]);
    }
    cli_close(&cli);
    return r < 0 ? CLI_FAIL : CLI_OK;
}

int cli_build_main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL);
    const char *cmd = argv[1];
    argc--;
    argv++;
    if (strcmp(cmd, "import") == 0)
        return cmd_import(argc, argv);
    if (strcmp(cmd, "layer") == 0)
        return cmd_layer(argc, argv);
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "ls") == 0)
        return cmd_list(argc, argv);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(argc, argv);
    if (strcmp(cmd, "rm") == 0)
        return cmd_rm(argc, argv);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(build_usage, stdout);
        return CLI_OK;
    }
    fprintf(stderr, "midwife build: unknown command '%s'\n", cmd);
    return usage_error(NULL);
}
