/* cli/: where the CLI finds the server, the token and the config (in
 * which order), global options before and after the command, and the
 * tables and cells people read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli_api.h"
#include "cli/cli_args.h"
#include "cli/cli_cmd.h"
#include "cli/cli_out.h"

/* ---- a fake environment and a scratch directory ---------------------------- */

static const char *env_names[8], *env_values[8];
static size_t env_n;

static const char *fake_env(const char *name)
{
    for (size_t i = 0; i < env_n; i++)
        if (strcmp(env_names[i], name) == 0)
            return env_values[i];
    return NULL;
}

static void env_set(const char *name, const char *value)
{
    env_names[env_n] = name;
    env_values[env_n++] = value;
}

static char dir[256], conf_path[512], state_token[512], other_token[512];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A config whose [http] section is http_section; its state_dir holds an
 * admin.token with "state-token". */
static void write_conf(const char *http_section)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[server]\nstate_dir = %s\n\n[dhcp]\nenabled = no\n\n[tftp]\nenabled = no\n\n%s", dir, http_section);
    write_file(conf_path, text);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mw-test-cli-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(conf_path, sizeof conf_path, "%s/midwife.conf", dir);
    snprintf(state_token, sizeof state_token, "%s/admin.token", dir);
    snprintf(other_token, sizeof other_token, "%s/other.token", dir);
    write_file(state_token, "state-token\n");
    write_file(other_token, "  file-token \n");
    write_conf("[http]\nport = 8080\n");
    env_n = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(conf_path);
    unlink(state_token);
    unlink(other_token);
    rmdir(dir);
    return 0;
}

static int resolve(const struct cli_globals *g, struct cli_target *t, char *err, size_t errlen)
{
    return cli_resolve_target(g, fake_env, t, err, errlen);
}

/* ---- discovery order ------------------------------------------------------- */

static void server_flag_beats_environment_beats_config(void **state)
{
    (void)state;
    struct cli_target t;
    char err[1024];
    struct cli_globals g = {.config = conf_path, .server = "http://flag.example:1/"};
    env_set("MIDWIFE_SERVER", "env.example:2");
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.server, "http://flag.example:1");
    g.server = NULL;
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.server, "http://env.example:2");
    env_n = 0;
    env_set("MIDWIFE_SERVER", ""); /* empty = unset */
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.server, "http://127.0.0.1:8080");
}

static void config_listener_gives_the_server(void **state)
{
    (void)state;
    struct cli_target t;
    char err[1024];
    struct cli_globals g = {.config = conf_path};
    write_conf("[http]\naddress = 10.1.2.3\nport = 8081\n");
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.server, "http://10.1.2.3:8081");
    write_conf("[http]\naddress = 0.0.0.0\n");
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.server, "http://127.0.0.1:80");
    write_conf("[http]\nenabled = no\n");
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_FAIL);
    assert_non_null(strstr(err, "[http] is disabled"));
    assert_non_null(strstr(err, "--server"));
}

static void token_file_flag_then_token_env_then_file_env_then_state_dir(void **state)
{
    (void)state;
    struct cli_target t;
    char err[1024];
    struct cli_globals g = {.config = conf_path, .token_file = other_token};
    env_set("MIDWIFE_TOKEN", "env-token");
    env_set("MIDWIFE_TOKEN_FILE", state_token);
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.token, "file-token");
    g.token_file = NULL;
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.token, "env-token");
    assert_string_equal(t.token_from, "$MIDWIFE_TOKEN");
    env_n = 0;
    env_set("MIDWIFE_TOKEN_FILE", other_token);
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.token, "file-token");
    env_n = 0;
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    assert_string_equal(t.token, "state-token");
    assert_non_null(strstr(t.token_from, state_token));
}

static void config_path_flag_then_environment_then_default(void **state)
{
    (void)state;
    struct cli_globals g = {.config = "/a.conf"};
    env_set("MIDWIFE_CONFIG", "/b.conf");
    assert_string_equal(cli_config_path(&g, fake_env), "/a.conf");
    g.config = NULL;
    assert_string_equal(cli_config_path(&g, fake_env), "/b.conf");
    env_n = 0;
    assert_string_equal(cli_config_path(&g, fake_env), CLI_DEFAULT_CONFIG);
}

/* A client with a server and a token needs no config at all (a laptop
 * far from /etc/midwife). */
static void the_config_is_not_read_when_nothing_comes_from_it(void **state)
{
    (void)state;
    struct cli_target t;
    char err[1024];
    struct cli_globals g = {.config = "/nonexistent/midwife.conf", .server = "http://s:1"};
    env_set("MIDWIFE_TOKEN", "tok");
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_OK);
    env_n = 0;
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_FAIL);
    assert_non_null(strstr(err, "/nonexistent/midwife.conf"));
    assert_non_null(strstr(err, "$MIDWIFE_TOKEN"));
}

static void token_files_hold_one_clean_line(void **state)
{
    (void)state;
    char tok[64], err[1024];
    char path[600];
    snprintf(path, sizeof path, "%s/t", dir);
    struct {
        const char *text;
        const char *want; /* NULL = refused */
    } cases[] = {
        {"abc\n", "abc"},      {"\r\n  abc\t\r\n", "abc"}, {"abc\nsecond line\n", "abc"},
        {"", NULL},            {"\n\n", NULL},             {"two words\n", NULL},
        {"ctl\x01here\n", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].text);
        int r = cli_read_token_file(path, tok, sizeof tok, err, sizeof err);
        if (cases[i].want) {
            assert_int_equal(r, CLI_OK);
            assert_string_equal(tok, cases[i].want);
        } else {
            assert_int_equal(r, CLI_FAIL);
            assert_non_null(strstr(err, path));
        }
    }
    unlink(path);
    assert_int_equal(cli_read_token_file(path, tok, sizeof tok, err, sizeof err), CLI_FAIL);
    assert_non_null(strstr(err, "No such file"));
    /* $MIDWIFE_TOKEN goes into a header too: the same rule. */
    struct cli_target t;
    struct cli_globals g = {.server = "http://s:1"};
    env_set("MIDWIFE_TOKEN", "a b");
    assert_int_equal(resolve(&g, &t, err, sizeof err), CLI_FAIL);
}

static void server_urls_are_a_scheme_and_a_host(void **state)
{
    (void)state;
    struct {
        const char *in, *want; /* want NULL = refused */
    } cases[] = {
        {"http://a:1", "http://a:1"},         {"http://a:1///", "http://a:1"},
        {"https://a.example", "https://a.example"}, {"10.0.0.1:8080", "http://10.0.0.1:8080"},
        {"ftp://a", NULL},                    {"http://", NULL},
        {"http://a/api", NULL},               {"http://a b", NULL},
        {"http://a?x", NULL},                 {"http://user@a", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        int r = cli_normalize_server(cases[i].in, out, sizeof out);
        if (cases[i].want) {
            assert_int_equal(r, 0);
            assert_string_equal(out, cases[i].want);
        } else {
            assert_true(r < 0);
        }
    }
}

static void colour_only_on_a_terminal_without_no_color(void **state)
{
    (void)state;
    assert_true(cli_colour_decide(true, NULL));
    assert_true(cli_colour_decide(true, ""));
    assert_false(cli_colour_decide(true, "1"));
    assert_false(cli_colour_decide(false, NULL));
    assert_false(cli_colour_decide(false, ""));
}

/* ---- global options before and after the command ---------------------------- */

static int own_opt(int c, const char *arg, void *ctx)
{
    if (c != 300)
        return CLI_USAGE;
    *(const char **)ctx = arg;
    return CLI_OK;
}

static void global_options_go_before_or_after_the_command(void **state)
{
    (void)state;
    struct cli_globals g = {0};
    char *lead[] = {"midwife", "-o", "json", "--server", "http://x:1", "--timeout=5", "host", "list", NULL};
    assert_int_equal(cli_globals_leading(8, lead, &g), 5);
    assert_true(g.json);
    assert_string_equal(g.server, "http://x:1");
    assert_int_equal(g.timeout_s, 5);

    struct cli_globals g2 = {0};
    static const struct option opts[] = {{"state", required_argument, NULL, 300}, {NULL, 0, NULL, 0}};
    const char *st = NULL;
    char *after[] = {"midwife host", "--state", "ready", "NAME", "-o", "json", "--token-file", "/t", "-c", "/c",
                     NULL};
    assert_int_equal(cli_getopt(10, after, "", opts, &g2, own_opt, &st, "usage\n"), CLI_OK);
    assert_string_equal(st, "ready");
    assert_true(g2.json);
    assert_string_equal(g2.token_file, "/t");
    assert_string_equal(g2.config, "/c");
    assert_int_equal(optind, 9);
    assert_string_equal(after[optind], "NAME");

    struct cli_globals g3 = {0};
    char *bad[] = {"midwife host", "-o", "yaml", NULL};
    assert_int_equal(cli_getopt(3, bad, "", opts, &g3, own_opt, &st, "usage\n"), CLI_USAGE);
    char *badt[] = {"midwife", "--timeout", "0", "host", NULL};
    assert_int_equal(cli_globals_leading(4, badt, &g3), -1);
}

/* ---- tables and cells -------------------------------------------------------- */

static char *table_text(struct cli_table *t, cli_colour_fn colour)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cli_table_print(t, f, colour);
    fclose(f);
    return buf;
}

static void tables_align_by_characters_and_do_not_pad_the_last_column(void **state)
{
    (void)state;
    static const char *const h[] = {"NAME", "STATE", "NOTE"};
    struct cli_table *t = cli_table_new(3, h);
    assert_non_null(t);
    const char *r1[] = {"esx-01", "ready", "first"};
    const char *r2[] = {"h\xc3\xa9t\xc3\xa9rog\xc3\xa8ne", "failed", "x"}; /* "hétérogène": 10 characters */
    const char *r3[] = {"evil\x1b[31m", NULL, "bell\a"};
    assert_int_equal(cli_table_add(t, r1), 0);
    assert_int_equal(cli_table_add(t, r2), 0);
    assert_int_equal(cli_table_add(t, r3), 0);
    assert_int_equal(cli_table_rows(t), 3);
    char *out = table_text(t, NULL);
    assert_string_equal(out, "NAME        STATE   NOTE\n"
                             "esx-01      ready   first\n"
                             "h\xc3\xa9t\xc3\xa9rog\xc3\xa8ne  failed  x\n"
                             "evil?[31m   -       bell?\n");
    free(out);
    out = table_text(t, cli_state_colour);
    assert_non_null(strstr(out, "\033[1mNAME\033[0m"));
    assert_non_null(strstr(out, "\033[32mready\033[0m"));
    assert_non_null(strstr(out, "\033[31mfailed\033[0m"));
    free(out);
    cli_table_free(t);
}

static void cells_render_every_json_type(void **state)
{
    (void)state;
    struct {
        const char *json, *want;
    } cases[] = {
        {"\"text\"", "text"},       {"42", "42"},
        {"\"\"", "-"},
        {"true", "yes"},            {"false", "no"},
        {"null", "-"},              {"[\"a\", \"b\"]", "a,b"},
        {"[]", "-"},                {"{\"rack\": \"r1\", \"n\": 2}", "rack=r1,n=2"},
        {"{}", "-"},                {"\"a\\u001bb\"", "a?b"},
        {"\"\\u0085x\"", "?x"}, /* a C1 control */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(j);
        char out[64];
        assert_string_equal(cli_cell(j, out, sizeof out), cases[i].want);
        json_decref(j);
    }
    char out[64];
    assert_string_equal(cli_cell(NULL, out, sizeof out), "-");
}

static void long_cells_are_cut_on_a_character_boundary(void **state)
{
    (void)state;
    char out[8];
    assert_string_equal(cli_sanitize("abcdefghij", out, sizeof out), "abcd...");
    /* "é" is two bytes: never half of one before the dots. */
    assert_string_equal(cli_sanitize("abc\xc3\xa9\xc3\xa9xyz", out, sizeof out), "abc...");
    assert_string_equal(cli_sanitize("short", out, sizeof out), "short");
    assert_int_equal(cli_text_width("\xc3\xa9t\xc3\xa9"), 3);
}

static void path_segments_and_query_values_are_escaped(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(cli_path_escape("esx-01.lab_x~", out, sizeof out), 0);
    assert_string_equal(out, "esx-01.lab_x~");
    assert_int_equal(cli_path_escape("a/b c?d&e=%", out, sizeof out), 0);
    assert_string_equal(out, "a%2Fb%20c%3Fd%26e%3D%25");
    assert_true(cli_path_escape("0123456789", out, 10) < 0);

    struct cli_query q;
    cli_query_init(&q, "/hosts");
    cli_query_add(&q, "state", "ready");
    cli_query_add(&q, "build", NULL);
    cli_query_add(&q, "label", "rack=r1");
    assert_false(q.too_long);
    assert_string_equal(q.buf, "/hosts?state=ready&label=rack%3Dr1");
}

static void relative_paths_become_absolute_from_here(void **state)
{
    (void)state;
    char cwd[4096], out[4096], want[4096 + 16];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(cli_absolute_path("/srv/iso/esxi.iso", out, sizeof out), 0);
    assert_string_equal(out, "/srv/iso/esxi.iso");
    assert_int_equal(cli_absolute_path("esxi.iso", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s/esxi.iso", cwd);
    assert_string_equal(out, want);
    assert_int_equal(cli_absolute_path("./d/x.tgz", out, sizeof out), 0);
    snprintf(want, sizeof want, "%s/d/x.tgz", cwd);
    assert_string_equal(out, want);
    assert_int_equal(cli_absolute_path(".", out, sizeof out), 0);
    assert_string_equal(out, cwd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(server_flag_beats_environment_beats_config, setup, teardown),
        cmocka_unit_test_setup_teardown(config_listener_gives_the_server, setup, teardown),
        cmocka_unit_test_setup_teardown(token_file_flag_then_token_env_then_file_env_then_state_dir, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(config_path_flag_then_environment_then_default, setup, teardown),
        cmocka_unit_test_setup_teardown(the_config_is_not_read_when_nothing_comes_from_it, setup, teardown),
        cmocka_unit_test_setup_teardown(token_files_hold_one_clean_line, setup, teardown),
        cmocka_unit_test(server_urls_are_a_scheme_and_a_host),
        cmocka_unit_test(colour_only_on_a_terminal_without_no_color),
        cmocka_unit_test(global_options_go_before_or_after_the_command),
        cmocka_unit_test(tables_align_by_characters_and_do_not_pad_the_last_column),
        cmocka_unit_test(cells_render_every_json_type),
        cmocka_unit_test(long_cells_are_cut_on_a_character_boundary),
        cmocka_unit_test(path_segments_and_query_values_are_escaped),
        cmocka_unit_test(relative_paths_become_absolute_from_here),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
