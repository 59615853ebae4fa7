/* Shared by the API subcommands: paging, tables, small parsers. */
#include "cli/cli_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/strnum.h"

int cli_paging_opt(struct cli_paging *p, int c, const char *arg, const char *what)
{
    uint64_t v;
    const char *why;
    switch (c) {
    case CLI_OPT_LIMIT:
        if (parse_u64(arg, 1, UINT32_MAX, &v, &why) < 0)
            return cli_usage_error(what, NULL, "--limit %s: %s", arg, why);
        p->limit = (size_t)v;
        return CLI_OK;
    case CLI_OPT_PAGE_SIZE:
        if (parse_u64(arg, 1, CLI_PAGE_MAX, &v, &why) < 0)
            return cli_usage_error(what, NULL, "--page-size %s: %s (1..%d)", arg, why, CLI_PAGE_MAX);
        p->page_size = (size_t)v;
        return CLI_OK;
    default: return 1;
    }
}

int cli_paging_on(int c, const char *arg, void *ctx)
{
    int r = cli_paging_opt(ctx, c, arg, "midwife");
    return r == 1 ? CLI_USAGE : r;
}

int cli_list_all(struct cli_api *a, const char *path_with_query, const struct cli_paging *p, json_t **items)
{
    json_t *all = json_array();
    char after[256] = "";
    if (p->after)
        snprintf(after, sizeof after, "%s", p->after);
    size_t page = p->page_size ? p->page_size : CLI_PAGE_MAX;
    *items = NULL;
    if (!all)
        return CLI_FAIL;
    for (;;) {
        size_t want = page;
        if (p->limit && p->limit - json_array_size(all) < want)
            want = p->limit - json_array_size(all);
        char n[32];
        snprintf(n, sizeof n, "%zu", want);
        struct cli_query q;
        cli_query_init(&q, path_with_query);
        cli_query_add(&q, "limit", n);
        cli_query_add(&q, "after", after[0] ? after : NULL);
        if (q.too_long) {
            fprintf(stderr, "midwife: the request is too long\n");
            goto fail;
        }
        json_t *ans;
        if (cli_api_call(a, "GET", q.buf, NULL, &ans) != CLI_OK)
            goto fail;
        json_t *got = json_object_get(ans, "items"), *next = json_object_get(ans, "next");
        if (!json_is_array(got)) {
            fprintf(stderr, "midwife: the server's list has no \"items\"\n");
            json_decref(ans);
            goto fail;
        }
        size_t n_got = json_array_size(got);
        json_array_extend(all, got);
        char nx[sizeof after] = "";
        if (json_is_string(next))
            snprintf(nx, sizeof nx, "%s", json_string_value(next));
        else if (json_is_integer(next))
            snprintf(nx, sizeof nx, "%lld", (long long)json_integer_value(next));
        json_decref(ans);
        if (!nx[0] || (p->limit && json_array_size(all) >= p->limit))
            break;
        if (strcmp(nx, after) == 0 || n_got == 0) {
            /* A server that gives the same page again would keep us here. */
            fprintf(stderr, "midwife: the server's list does not move on after '%s'\n", nx);
            goto fail;
        }
        memcpy(after, nx, sizeof after);
    }
    *items = all;
    return CLI_OK;
fail:
    json_decref(all);
    return CLI_FAIL;
}

int cli_fetch_list(const struct cli_globals *g, const char *path_with_query, const struct cli_paging *p,
                   json_t **items)
{
    struct cli_api *a;
    *items = NULL;
    if (cli_api_open(g, 0, &a) != CLI_OK)
        return CLI_FAIL;
    int rc = cli_list_all(a, path_with_query, p, items);
    cli_api_close(a);
    return rc;
}

int cli_call(const struct cli_globals *g, long timeout_s, const char *method, const char *path, const json_t *body,
             json_t **ans)
{
    struct cli_api *a;
    *ans = NULL;
    if (cli_api_open(g, timeout_s, &a) != CLI_OK)
        return CLI_FAIL;
    int rc = cli_api_call(a, method, path, body, ans);
    cli_api_close(a);
    return rc;
}

int cli_print_list(const json_t *items, size_t ncols, const char *const *headers, const char *const *keys,
                   cli_colour_fn colour)
{
    struct cli_table *t = cli_table_new(ncols, headers);
    if (!t)
        return CLI_FAIL;
    size_t i;
    json_t *it;
    int rc = CLI_OK;
    json_array_foreach(items, i, it) {
        char cells[CLI_TABLE_MAX_COLS][CLI_CELL_MAX];
        const char *row[CLI_TABLE_MAX_COLS];
        for (size_t c = 0; c < ncols; c++)
            row[c] = cli_cell(json_object_get(it, keys[c]), cells[c], sizeof cells[c]);
        if (cli_table_add(t, row) < 0) {
            rc = CLI_FAIL;
            break;
        }
    }
    if (rc == CLI_OK)
        cli_table_print(t, stdout, cli_stdout_colour() ? colour : NULL);
    cli_table_free(t);
    return rc;
}

int cli_show(const struct cli_globals *g, json_t *j)
{
    int rc = CLI_OK;
    if (!j)
        return CLI_OK;
    if (g->json)
        rc = cli_print_json(j);
    else
        cli_print_tree(stdout, j, 0);
    json_decref(j);
    return rc;
}

int cli_print_items(const struct cli_globals *g, json_t *items, size_t ncols, const char *const *headers,
                    const char *const *keys, cli_colour_fn colour)
{
    int rc = g->json ? cli_print_json(items) : cli_print_list(items, ncols, headers, keys, colour);
    json_decref(items);
    return rc;
}

int cli_print_removed(const struct cli_globals *g, json_t *ans, const char *noun, const char *name)
{
    int rc = CLI_OK;
    if (g->json) {
        /* DELETE answers 204: say {} rather than nothing, so the output
         * is JSON either way. */
        if (!ans)
            ans = json_object();
        rc = ans ? cli_print_json(ans) : CLI_FAIL;
    } else {
        printf("removed %s%s%s\n", noun ? noun : "", noun ? " " : "", name);
    }
    json_decref(ans);
    return rc;
}

int cli_list_command(int argc, char **argv, struct cli_globals *g, const char *what, const char *usage,
                     const char *path, json_t **items)
{
    static const struct option opts[] = {CLI_PAGING_OPTIONS, {NULL, 0, NULL, 0}};
    struct cli_paging p = {0};
    *items = NULL;
    int rc = cli_getopt(argc, argv, "", opts, g, cli_paging_on, &p, usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind != argc)
        return cli_usage_error(what, usage, "list takes no operands");
    return cli_fetch_list(g, path, &p, items);
}

int cli_show_rm_command(int argc, char **argv, struct cli_globals *g, const char *what, const char *usage,
                        const char *collection, const char *noun, bool rm)
{
    int rc = cli_getopt(argc, argv, "", NULL, g, NULL, NULL, usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (argc - optind != 1)
        return cli_usage_error(what, usage, "%s takes one NAME", rm ? "rm" : "show");
    const char *name = argv[optind];
    char path[CLI_PATH_MAX];
    json_t *ans;
    if ((rc = cli_object_path(path, sizeof path, collection, name, NULL)) != CLI_OK ||
        (rc = cli_call(g, 0, rm ? "DELETE" : "GET", path, NULL, &ans)) != CLI_OK)
        return rc;
    return rm ? cli_print_removed(g, ans, noun, name) : cli_show(g, ans);
}

int cli_split_kv(const char *s, char *buf, size_t buflen, const char **key, const char **value)
{
    if ((size_t)snprintf(buf, buflen, "%s", s) >= buflen)
        return -ENAMETOOLONG;
    char *eq = strchr(buf, '=');
    if (!eq || eq == buf)
        return -EINVAL;
    *eq = '\0';
    *key = buf;
    *value = eq + 1;
    return 0;
}

json_t *cli_load_json_file(const char *path)
{
    bool std_in = strcmp(path, "-") == 0;
    int fd = std_in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "midwife: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    json_t *j = NULL;
    if (!buf)
        goto out;
    for (;;) {
        if (len == cap) {
            if (cap >= CLI_API_RESPONSE_MAX) {
                fprintf(stderr, "midwife: %s is over %u MiB\n", std_in ? "stdin" : path,
                        (unsigned)(CLI_API_RESPONSE_MAX >> 20));
                goto out;
            }
            char *b = realloc(buf, cap * 2);
            if (!b)
                goto out;
            buf = b;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "midwife: cannot read %s: %s\n", std_in ? "stdin" : path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    json_error_t e;
    j = json_loadb(buf, len, 0, &e);
    if (!j)
        fprintf(stderr, "midwife: %s:%d:%d: not JSON: %s\n", std_in ? "stdin" : path, e.line, e.column, e.text);
out:
    free(buf);
    if (!std_in)
        close(fd);
    return j;
}

int cli_absolute_path(const char *in, char *out, size_t outlen)
{
    if (in[0] == '/') {
        if ((size_t)snprintf(out, outlen, "%s", in) >= outlen)
            return -ENAMETOOLONG;
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return -errno;
    if (strcmp(in, ".") == 0)
        in = "";
    else if (strncmp(in, "./", 2) == 0)
        in += 2;
    if ((size_t)snprintf(out, outlen, "%s%s%s", cwd, in[0] && strcmp(cwd, "/") != 0 ? "/" : "", in) >= outlen)
        return -ENAMETOOLONG;
    return 0;
}

int cli_object_path(char *out, size_t outlen, const char *prefix, const char *name, const char *suffix)
{
    char esc[CLI_PATH_MAX];
    if (cli_path_escape(name, esc, sizeof esc) < 0 ||
        (size_t)snprintf(out, outlen, "%s/%s%s", prefix, esc, suffix ? suffix : "") >= outlen) {
        fprintf(stderr, "midwife: name too long\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}
