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

/* Commands of one GET and no options of their own: `midwife WHAT`, or
 * `midwife WHAT OPERAND` (GET PREFIX/OPERAND) when operand is true. Like
 * cli_getopt: < 0 after help was printed, else CLI_OK with the answer in
 * *ans, or the exit code. */
static int get_answer(int argc, char **argv, struct cli_globals *g, const char *what, const char *usage,
                      const char *prefix, bool operand, json_t **ans)
{
    argv[0] = (char *)what;
    if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        fputs(cli_globals_usage, stdout);
        return -1;
    }
    int rc = cli_getopt(argc, argv, "", NULL, g, NULL, NULL, usage);
    if (rc)
        return rc;
    if (argc - optind != (operand ? 1 : 0))
        return cli_usage_error(what, usage, operand ? "one operand, please" : "no operands, please");
    char path[CLI_PATH_MAX];
    if (operand) {
        if ((rc = cli_object_path(path, sizeof path, prefix, argv[optind], NULL)) != CLI_OK)
            return rc;
    } else {
        snprintf(path, sizeof path, "%s", prefix);
    }
    return cli_call(g, 0, "GET", path, NULL, ans);
}

/* A string member for people: control bytes replaced, "-" when absent. */
static const char *str_of(const json_t *o, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || !json_string_length(v))
        return "-";
    return cli_sanitize(json_string_value(v), buf, len);
}

/* The answer of GET /explain/MAC the way people read it: who, what the
 * servers would hand it, the script, the diagnosis, the last events. */
static void print_explain(const json_t *x)
{
    char a[256], b[256], c[512];
    const json_t *host = json_object_get(x, "host");
    printf("%s: ", str_of(x, "mac", a, sizeof a));
    if (json_is_object(host)) {
        printf("host %s, %s since %s", str_of(host, "name", a, sizeof a), str_of(host, "state", b, sizeof b),
               str_of(host, "state_since", c, sizeof c));
        printf(" (%s)\n", str_of(host, "state_reason", c, sizeof c));
    } else {
        const json_t *rule = json_object_get(x, "rule");
        const json_t *m = json_object_get(rule, "match");
        printf("no host record; %s%s\n", json_is_string(m) ? "rule " : "no rule matches it",
               json_is_string(m) ? cli_sanitize(json_string_value(m), a, sizeof a) : "");
    }
    const json_t *lease = json_object_get(x, "lease");
    if (json_is_object(lease))
        printf("lease: %s in subnet %s until %s\n", str_of(lease, "address", a, sizeof a),
               str_of(lease, "subnet", b, sizeof b), str_of(lease, "expires", c, sizeof c));
    else
        printf("lease: none from midwife\n");
    const json_t *dhcp = json_object_get(x, "dhcp");
    static const char *const asks[][2] = {{"firmware", "PXE firmware"}, {"ipxe", "iPXE"}};
    for (size_t i = 0; i < 2; i++) {
        const json_t *d = json_object_get(dhcp, asks[i][0]);
        if (!json_is_object(d))
            continue;
        if (json_is_true(json_object_get(d, "answer")))
            printf("DHCP to %s: %s (%s)\n", asks[i][1], str_of(d, "file", a, sizeof a), str_of(d, "why", c, sizeof c));
        else
            printf("DHCP to %s: no answer (%s)\n", asks[i][1], str_of(d, "why", c, sizeof c));
    }
    const json_t *script = json_object_get(x, "script");
    const json_t *text = json_object_get(script, "text");
    if (json_is_string(text)) {
        printf("script (build %s, %s):\n", str_of(script, "build", a, sizeof a), str_of(script, "kind", b, sizeof b));
        /* Line by line, each sanitized: the script is shown, never run. */
        const char *p = json_string_value(text);
        while (*p) {
            size_t n = strcspn(p, "\n");
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
            printf("    %s\n", cli_sanitize(line, c, sizeof c));
            p += n + (p[n] == '\n');
        }
    } else {
        printf("script: %s\n", str_of(script, "error", c, sizeof c));
    }
    printf("diagnosis:\n");
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(x, "diagnosis"), i, f) {
        printf("  %s: %s\n", str_of(f, "finding", a, sizeof a), str_of(f, "summary", c, sizeof c));
        printf("    → %s\n", str_of(f, "advice", c, sizeof c));
    }
    const json_t *evs = json_object_get(x, "events");
    size_t n = json_array_size(evs);
    if (n) {
        printf("last events:\n");
        for (i = n > 12 ? n - 12 : 0; i < n; i++) {
            const json_t *e = json_array_get(evs, i);
            printf("  %s  %-14s %-4s %s\n", str_of(e, "time", a, sizeof a), str_of(e, "kind", b, sizeof b),
                   str_of(e, "status", b + 128, sizeof b - 128), str_of(e, "message", c, sizeof c));
        }
    }
}

int cli_explain_main(int argc, char **argv, struct cli_globals *g)
{
    json_t *ans;
    int rc = get_answer(argc, argv, g, "midwife explain", explain_usage, "/explain", true, &ans);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (g->json) {
        rc = cli_print_json(ans);
    } else {
        print_explain(ans);
        rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
    }
    json_decref(ans);
    return rc;
}

int cli_status_main(int argc, char **argv, struct cli_globals *g)
{
    json_t *ans;
    int rc = get_answer(argc, argv, g, "midwife status", status_usage, "/status", false, &ans);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    return cli_show(g, ans);
}

int cli_export_main(int argc, char **argv, struct cli_globals *g)
{
    json_t *ans;
    int rc = get_answer(argc, argv, g, "midwife export", export_usage, "/export", false, &ans);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    /* The shape apply takes: JSON even without -o json. */
    rc = cli_print_json(ans);
    json_decref(ans);
    return rc;
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
    json_t *ans;
    rc = cli_call(g, 0, "POST", "/apply", doc, &ans);
    json_decref(doc);
    if (rc != CLI_OK)
        return rc;
    return cli_show(g, ans);
}
