/* Global options, and where the server and the admin token come from. */
#include "cli/cli_args.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "util/addr.h"
#include "util/strnum.h"

const char cli_globals_usage[] =
    "global options (before or after the command):\n"
    "  --server URL        the midwife server (else $MIDWIFE_SERVER, else the\n"
    "                      config's [http] listener: http://127.0.0.1:PORT when it\n"
    "                      listens on any address)\n"
    "  --token-file FILE   the admin token (else $MIDWIFE_TOKEN, else the file\n"
    "                      $MIDWIFE_TOKEN_FILE, else STATE_DIR/admin.token of the\n"
    "                      config); never the token itself on the command line,\n"
    "                      where every user sees it in ps\n"
    "  -c, --config FILE   the config (else $MIDWIFE_CONFIG, else\n"
    "                      " CLI_DEFAULT_CONFIG ")\n"
    "  -o, --output text|json  tables for people (default) or JSON for scripts\n"
    "  --timeout SECONDS   give up on a request after this long\n";

enum { OPT_SERVER = 1000, OPT_TOKEN_FILE, OPT_TIMEOUT };

static const struct option global_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"output", required_argument, NULL, 'o'},
    {"server", required_argument, NULL, OPT_SERVER},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
};
#define N_GLOBAL (sizeof global_opts / sizeof global_opts[0])

int cli_usage_error(const char *what, const char *usage, const char *fmt, ...)
{
    if (fmt) {
        fprintf(stderr, "%s: ", what);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    if (usage)
        fputs(usage, stderr);
    return CLI_USAGE;
}

/* CLI_OK, CLI_USAGE, or 1 when c is not a global option. */
static int global_opt(int c, const char *arg, struct cli_globals *g, const char *what)
{
    switch (c) {
    case 'c': g->config = arg; return CLI_OK;
    case 'o':
        if (strcmp(arg, "json") == 0)
            g->json = true;
        else if (strcmp(arg, "text") == 0 || strcmp(arg, "table") == 0)
            g->json = false;
        else
            return cli_usage_error(what, NULL, "-o takes text or json, not '%s'", arg);
        return CLI_OK;
    case OPT_SERVER: g->server = arg; return CLI_OK;
    case OPT_TOKEN_FILE: g->token_file = arg; return CLI_OK;
    case OPT_TIMEOUT: {
        uint64_t v;
        const char *why;
        if (parse_u64(arg, 1, 86400, &v, &why) < 0)
            return cli_usage_error(what, NULL, "--timeout %s: %s (1..86400 seconds)", arg, why);
        g->timeout_s = (long)v;
        return CLI_OK;
    }
    default: return 1;
    }
}

int cli_globals_leading(int argc, char **argv, struct cli_globals *g)
{
    struct option opts[N_GLOBAL + 1];
    memcpy(opts, global_opts, sizeof global_opts);
    memset(&opts[N_GLOBAL], 0, sizeof opts[N_GLOBAL]);
    optind = 0;
    int c;
    /* "+": stop at the command name. */
    while ((c = getopt_long(argc, argv, "+c:o:", opts, NULL)) != -1) {
        int r = c == '?' ? CLI_USAGE : global_opt(c, optarg, g, "midwife");
        if (r != CLI_OK)
            return -1;
    }
    return optind - 1;
}

#define MAX_LONGOPTS 48

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, struct cli_globals *g,
               int (*on)(int c, const char *arg, void *ctx), void *ctx, const char *usage)
{
    struct option opts[MAX_LONGOPTS];
    size_t n = 0;
    for (; longopts && longopts[n].name; n++) {
        if (n >= MAX_LONGOPTS - N_GLOBAL - 2)
            abort(); /* a programming error: raise MAX_LONGOPTS */
        opts[n] = longopts[n];
    }
    memcpy(&opts[n], global_opts, sizeof global_opts);
    n += N_GLOBAL;
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    memset(&opts[n], 0, sizeof opts[n]);

    char so[64];
    snprintf(so, sizeof so, "%sc:o:h", shortopts ? shortopts : "");
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, so, opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            fputs(cli_globals_usage, stdout);
            return -1;
        }
        if (c == '?')
            return cli_usage_error(argv[0], usage, NULL);
        int r = global_opt(c, optarg, g, argv[0]);
        if (r == 1)
            r = on ? on(c, optarg, ctx) : CLI_USAGE;
        if (r != CLI_OK)
            return r;
    }
    return CLI_OK;
}

/* ---- discovery ------------------------------------------------------------ */

const char *cli_config_path(const struct cli_globals *g, cli_env_fn env)
{
    if (g->config && g->config[0])
        return g->config;
    const char *e = env("MIDWIFE_CONFIG");
    return e && e[0] ? e : CLI_DEFAULT_CONFIG;
}

int cli_normalize_server(const char *in, char *out, size_t outlen)
{
    const char *scheme = "http://", *rest = in;
    if (strncmp(in, "http://", 7) == 0) {
        rest = in + 7;
    } else if (strncmp(in, "https://", 8) == 0) {
        scheme = "https://";
        rest = in + 8;
    } else if (strstr(in, "://")) {
        return -EINVAL;
    }
    size_t n = strlen(rest);
    while (n > 0 && rest[n - 1] == '/')
        n--;
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)rest[i];
        /* host[:port] only: the CLI appends /api/v1/... itself. */
        if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '@' || ch == '\\')
            return -EINVAL;
    }
    if ((size_t)snprintf(out, outlen, "%s%.*s", scheme, (int)n, rest) >= outlen)
        return -ENAMETOOLONG;
    return 0;
}

bool cli_token_valid(const char *s)
{
    if (!s[0])
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

int cli_read_token_file(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read the admin token %s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    char buf[CLI_TOKEN_MAX + 64];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read the admin token %s: %s", path, strerror(errno));
            close(fd);
            return CLI_FAIL;
        }
        if (r == 0 || (len += (size_t)r) == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    char *s = buf;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strcspn(s, "\r\n");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    s[n] = '\0';
    if (n >= outlen || !cli_token_valid(s)) {
        snprintf(err, errlen, "%s does not hold a token (one line of printable characters, at most %zu)", path,
                 outlen - 1);
        return CLI_FAIL;
    }
    memcpy(out, s, n + 1);
    return CLI_OK;
}

/* The config, read at most once per resolution. */
struct lazy_conf {
    const char *path;
    struct conf *conf;
    bool tried;
    char err[1024];
};

static const struct conf *lazy_get(struct lazy_conf *lc)
{
    if (!lc->tried) {
        lc->tried = true;
        if (conf_load(lc->path, &lc->conf, lc->err, sizeof lc->err) < 0)
            lc->conf = NULL;
    }
    return lc->conf;
}

static int server_from_conf(struct lazy_conf *lc, struct cli_target *t, char *err, size_t errlen)
{
    const struct conf *c = lazy_get(lc);
    if (!c) {
        snprintf(err, errlen, "no server given (--server, $MIDWIFE_SERVER) and the config is not usable: %s",
                 lc->err);
        return CLI_FAIL;
    }
    if (!c->http_enabled) {
        snprintf(err, errlen, "%s: [http] is disabled, and the API is served there; pass --server URL", c->path);
        return CLI_FAIL;
    }
    char a[IPV4_STRLEN];
    /* Any address: the local CLI reaches it on loopback. */
    format_ipv4(c->http_address ? c->http_address : 0x7f000001u, a);
    snprintf(t->server, sizeof t->server, "http://%s:%u", a, (unsigned)c->http_port);
    return CLI_OK;
}

static int token_from_conf(struct lazy_conf *lc, struct cli_target *t, char *err, size_t errlen)
{
    const struct conf *c = lazy_get(lc);
    if (!c) {
        snprintf(err, errlen,
                 "no admin token given (--token-file, $MIDWIFE_TOKEN, $MIDWIFE_TOKEN_FILE) and the config is "
                 "not usable: %s",
                 lc->err);
        return CLI_FAIL;
    }
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/admin.token", c->state_dir) >= sizeof path) {
        snprintf(err, errlen, "%s: state_dir too long", c->path);
        return CLI_FAIL;
    }
    snprintf(t->token_from, sizeof t->token_from, "token file %s", path);
    return cli_read_token_file(path, t->token, sizeof t->token, err, errlen);
}

int cli_resolve_target(const struct cli_globals *g, cli_env_fn env, struct cli_target *t, char *err,
                       size_t errlen)
{
    memset(t, 0, sizeof *t);
    struct lazy_conf lc = {.path = cli_config_path(g, env)};
    int rc = CLI_FAIL;

    const char *server = NULL, *server_from = NULL, *v;
    if (g->server && g->server[0]) {
        server = g->server;
        server_from = "--server";
    } else if ((v = env("MIDWIFE_SERVER")) && v[0]) {
        server = v;
        server_from = "$MIDWIFE_SERVER";
    }
    if (server) {
        if (cli_normalize_server(server, t->server, sizeof t->server) < 0) {
            snprintf(err, errlen, "%s '%s': expected http://HOST[:PORT]", server_from, server);
            goto out;
        }
    } else if (server_from_conf(&lc, t, err, errlen) != CLI_OK) {
        goto out;
    }

    if (g->token_file && g->token_file[0]) {
        snprintf(t->token_from, sizeof t->token_from, "token file %s", g->token_file);
        if (cli_read_token_file(g->token_file, t->token, sizeof t->token, err, errlen) != CLI_OK)
            goto out;
    } else if ((v = env("MIDWIFE_TOKEN")) && v[0]) {
        snprintf(t->token_from, sizeof t->token_from, "$MIDWIFE_TOKEN");
        if (strlen(v) >= sizeof t->token || !cli_token_valid(v)) {
            snprintf(err, errlen, "$MIDWIFE_TOKEN is not a token (printable characters, no spaces)");
            goto out;
        }
        snprintf(t->token, sizeof t->token, "%s", v);
    } else if ((v = env("MIDWIFE_TOKEN_FILE")) && v[0]) {
        snprintf(t->token_from, sizeof t->token_from, "token file %s", v);
        if (cli_read_token_file(v, t->token, sizeof t->token, err, errlen) != CLI_OK)
            goto out;
    } else if (token_from_conf(&lc, t, err, errlen) != CLI_OK) {
        goto out;
    }
    rc = CLI_OK;
out:
    conf_free(lc.conf);
    return rc;
}

bool cli_colour_decide(bool is_tty, const char *no_color)
{
    return is_tty && !(no_color && no_color[0]);
}
