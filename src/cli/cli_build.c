/* midwife build list|show|import|layer|rm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_cmd.h"

static const char build_usage[] =
    "usage: midwife build COMMAND ...\n"
    "  list [--limit N]              every version of every build\n" CLI_PAGING_USAGE
    "  show NAME[@VERSION]           the latest version, or that one, with its files\n"
    "  import NAME [PATH] [--kernel FILE [--initrd FILE]...] [--cmdline STR]\n"
    "                     [--kind linux|esxi|chain|sanboot|local] [--chain FILE]\n"
    "                     [--san-uri URI] [--no-agent]\n"
    "      PATH: a directory, a tarball (.tar, .tar.gz, .tgz, .tar.xz) or an ISO image\n"
    "      on the server (a relative PATH is made absolute here first); without\n"
    "      --kernel the layout is recognised (ESXi boot.cfg, Debian/Ubuntu netboot,\n"
    "      Ubuntu casper, Debian live); --kernel, --initrd and --chain name files\n"
    "      inside PATH, relative to it\n"
    "  layer NAME ARCHIVE...         a new version with each ARCHIVE (a path on the\n"
    "                                server) as an extra module\n"
    "  rm NAME[@VERSION]             every version, or that one; refused while a host\n"
    "                                uses it\n";

#define WHAT "midwife build"
#define IMPORT_TIMEOUT_S 1800 /* an ISO is copied and hashed before the answer */

/* "/builds/NAME" or "/builds/NAME@V" (each part escaped) + suffix. */
static int build_path(char *out, size_t outlen, const char *ref, const char *suffix)
{
    char name[CLI_PATH_MAX];
    const char *at = strchr(ref, '@');
    size_t n = at ? (size_t)(at - ref) : strlen(ref);
    if (n == 0 || n >= sizeof name)
        return cli_usage_error(WHAT, build_usage, "'%s': expected NAME or NAME@VERSION", ref);
    memcpy(name, ref, n);
    name[n] = '\0';
    char ver[64] = "";
    if (at) {
        char esc[48];
        if (cli_path_escape(at + 1, esc, sizeof esc) < 0 || !esc[0])
            return cli_usage_error(WHAT, build_usage, "'%s': expected NAME or NAME@VERSION", ref);
        snprintf(ver, sizeof ver, "@%s", esc);
    }
    char tail[128];
    snprintf(tail, sizeof tail, "%s%s", ver, suffix ? suffix : "");
    return cli_object_path(out, outlen, "/builds", name, tail);
}

static void print_summary(const json_t *b)
{
    char name[CLI_CELL_MAX], ver[32], kind[64], src[CLI_CELL_MAX];
    json_t *files = json_object_get(b, "files");
    printf("published %s@%s (%s, %zu files) from %s\n", cli_cell(json_object_get(b, "name"), name, sizeof name),
           cli_cell(json_object_get(b, "version"), ver, sizeof ver),
           cli_cell(json_object_get(b, "kind"), kind, sizeof kind), json_array_size(files),
           cli_cell(json_object_get(b, "source"), src, sizeof src));
    static const char *const headers[] = {"ROLE", "NAME", "SIZE", "SHA256"};
    static const char *const keys[] = {"role", "name", "size", "sha256"};
    if (json_array_size(files))
        cli_print_list(files, 4, headers, keys, NULL);
}

/* ---- import / layer --------------------------------------------------------- */

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_KIND, OPT_CHAIN, OPT_SAN, OPT_NO_AGENT };

static int import_opt(int c, const char *arg, void *ctx)
{
    json_t *req = ctx;
    switch (c) {
    case OPT_KERNEL: json_object_set_new(req, "kernel", json_string(arg)); return CLI_OK;
    case OPT_INITRD: {
        json_t *l = json_object_get(req, "initrds");
        if (!l)
            json_object_set_new(req, "initrds", l = json_array());
        json_array_append_new(l, json_string(arg));
        return CLI_OK;
    }
    case OPT_CMDLINE: json_object_set_new(req, "cmdline", json_string(arg)); return CLI_OK;
    case OPT_KIND: json_object_set_new(req, "kind", json_string(arg)); return CLI_OK;
    case OPT_CHAIN: json_object_set_new(req, "chain", json_string(arg)); return CLI_OK;
    case OPT_SAN: json_object_set_new(req, "san_uri", json_string(arg)); return CLI_OK;
    case OPT_NO_AGENT: json_object_set_new(req, "no_agent", json_true()); return CLI_OK;
    default: return CLI_USAGE;
    }
}

static int publish(struct cli_globals *g, const char *path, json_t *req)
{
    json_t *ans;
    int rc = cli_call(g, IMPORT_TIMEOUT_S, "POST", path, req, &ans);
    if (rc != CLI_OK)
        return rc;
    if (g->json)
        rc = cli_print_json(ans);
    else
        print_summary(ans);
    json_decref(ans);
    return rc;
}

static int cmd_import(int argc, char **argv, struct cli_globals *g)
{
    static const struct option opts[] = {{"kernel", required_argument, NULL, OPT_KERNEL},
                                         {"initrd", required_argument, NULL, OPT_INITRD},
                                         {"cmdline", required_argument, NULL, OPT_CMDLINE},
                                         {"kind", required_argument, NULL, OPT_KIND},
                                         {"chain", required_argument, NULL, OPT_CHAIN},
                                         {"san-uri", required_argument, NULL, OPT_SAN},
                                         {"no-agent", no_argument, NULL, OPT_NO_AGENT},
                                         {NULL, 0, NULL, 0}};
    json_t *req = json_object();
    int rc = cli_getopt(argc, argv, "", opts, g, import_opt, req, build_usage);
    if (rc) {
        json_decref(req);
        return rc < 0 ? CLI_OK : rc;
    }
    if (argc - optind < 1 || argc - optind > 2) {
        json_decref(req);
        return cli_usage_error(WHAT, build_usage, "import takes NAME and PATH");
    }
    json_object_set_new(req, "name", json_string(argv[optind]));
    if (argc - optind == 2) {
        char abs[PATH_MAX];
        if (cli_absolute_path(argv[optind + 1], abs, sizeof abs) < 0) {
            json_decref(req);
            fprintf(stderr, "midwife: %s: cannot make it absolute\n", argv[optind + 1]);
            return CLI_FAIL;
        }
        json_object_set_new(req, "path", json_string(abs));
    }
    rc = publish(g, "/builds", req);
    json_decref(req);
    return rc;
}

static int cmd_layer(int argc, char **argv, struct cli_globals *g)
{
    int rc = cli_getopt(argc, argv, "", NULL, g, NULL, NULL, build_usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (argc - optind < 2)
        return cli_usage_error(WHAT, build_usage, "layer takes NAME and at least one ARCHIVE");
    char path[CLI_PATH_MAX];
    if ((rc = cli_object_path(path, sizeof path, "/builds", argv[optind], "/layer")) != CLI_OK)
        return rc;
    json_t *req = json_object(), *archives = json_array();
    json_object_set_new(req, "archives", archives);
    for (int i = optind + 1; i < argc; i++) {
        char abs[PATH_MAX];
        if (cli_absolute_path(argv[i], abs, sizeof abs) < 0) {
            json_decref(req);
            fprintf(stderr, "midwife: %s: cannot make it absolute\n", argv[i]);
            return CLI_FAIL;
        }
        json_array_append_new(archives, json_string(abs));
    }
    rc = publish(g, path, req);
    json_decref(req);
    return rc;
}

/* ---- list / show / rm ------------------------------------------------------- */

static int cmd_list(int argc, char **argv, struct cli_globals *g)
{
    json_t *items;
    int rc = cli_list_command(argc, argv, g, WHAT, build_usage, "/builds", &items);
    if (rc != CLI_OK || !items)
        return rc;
    static const char *const headers[] = {"NAME", "VERSION", "KIND", "CREATED", "SOURCE"};
    static const char *const keys[] = {"name", "version", "kind", "created", "source"};
    return cli_print_items(g, items, 5, headers, keys, NULL);
}

/* Not cli_show_rm_command: a build is NAME or NAME@VERSION, and rm says
 * which one went. */
static int cmd_show_rm(int argc, char **argv, struct cli_globals *g, bool rm)
{
    int rc = cli_getopt(argc, argv, "", NULL, g, NULL, NULL, build_usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (argc - optind != 1)
        return cli_usage_error(WHAT, build_usage, "%s takes NAME or NAME@VERSION", rm ? "rm" : "show");
    char path[CLI_PATH_MAX];
    json_t *ans;
    if ((rc = build_path(path, sizeof path, argv[optind], NULL)) != CLI_OK ||
        (rc = cli_call(g, 0, rm ? "DELETE" : "GET", path, NULL, &ans)) != CLI_OK)
        return rc;
    return rm ? cli_print_removed(g, ans, NULL, argv[optind]) : cli_show(g, ans);
}

int cli_build_main(int argc, char **argv, struct cli_globals *g)
{
    if (argc < 2)
        return cli_usage_error(WHAT, build_usage, "which command?");
    const char *cmd = argv[1];
    argc--;
    argv++;
    argv[0] = (char *)WHAT;
    if (strcmp(cmd, "import") == 0)
        return cmd_import(argc, argv, g);
    if (strcmp(cmd, "layer") == 0)
        return cmd_layer(argc, argv, g);
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "ls") == 0)
        return cmd_list(argc, argv, g);
    if (strcmp(cmd, "show") == 0)
        return cmd_show_rm(argc, argv, g, false);
    if (strcmp(cmd, "rm") == 0)
        return cmd_show_rm(argc, argv, g, true);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(build_usage, stdout);
        fputs(cli_globals_usage, stdout);
        return CLI_OK;
    }
    return cli_usage_error(WHAT, build_usage, "unknown command '%s'", cmd);
}
