/* The template language: what renders, what is refused and how errors read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/template.h"

static const struct tmpl_var fields[] = {
    {.name = "name", .cls = TMPL_FILENAME},
    {.name = "first", .cls = TMPL_NUMBER},
};
static const char *const rows[] = {"a.gz", "1", "b.gz", NULL, "c.gz", NULL};
static const char *const inner_rows[] = {"x", NULL, "y", NULL};

static const struct tmpl_var vars[] = {
    {.name = "url", .cls = TMPL_URL, .value = "http://192.0.2.1:8080"},
    {.name = "word", .cls = TMPL_WORD, .value = "node1"},
    {.name = "empty", .cls = TMPL_WORD, .value = ""},
    {.name = "unset", .cls = TMPL_WORD, .value = NULL},
    {.name = "cmd", .cls = TMPL_CMDLINE, .value = "quiet ip=dhcp"},
    {.name = "bad", .cls = TMPL_CMDLINE, .value = "quiet ${net0/ip}"},
    {.name = "files", .cls = TMPL_LIST, .fields = fields, .n_fields = 2, .rows = rows, .n_rows = 3},
    {.name = "inner", .cls = TMPL_LIST, .fields = fields, .n_fields = 2, .rows = inner_rows, .n_rows = 2},
    {.name = "none", .cls = TMPL_LIST, .fields = fields, .n_fields = 2, .rows = NULL, .n_rows = 0},
};
#define N_VARS (sizeof vars / sizeof vars[0])

static const struct {
    const char *name;
    const char *tmpl;
    const char *out; /* NULL: an error is expected */
    const char *err;
} cases[] = {
    {"plain_text_passes_through", "#!ipxe\necho ${net0/mac}\n", "#!ipxe\necho ${net0/mac}\n", NULL},
    {"variable_is_substituted", "chain {{url}}/x {{ word }}\n", "chain http://192.0.2.1:8080/x node1\n", NULL},
    {"unset_and_empty_render_nothing", "a{{unset}}b{{empty}}c", "abc", NULL},
    {"if_keeps_block_when_set", "{{#if word}}yes{{/if}}{{#if unset}}no{{/if}}", "yes", NULL},
    {"unless_is_the_opposite", "{{#unless empty}}yes{{/unless}}{{#unless word}}no{{/unless}}", "yes", NULL},
    {"if_on_list_means_non_empty", "{{#if files}}F{{/if}}{{#if none}}N{{/if}}", "F", NULL},
    {"each_renders_rows_in_order", "{{#each files}}{{#unless first}} --- {{/unless}}{{name}}{{/each}}",
     "a.gz --- b.gz --- c.gz", NULL},
    {"each_on_empty_list_renders_nothing", "[{{#each none}}{{name}}{{/each}}]", "[]", NULL},
    {"outer_names_visible_in_each", "{{#each files}}{{word}}:{{name}} {{/each}}", "node1:a.gz node1:b.gz node1:c.gz ",
     NULL},
    {"nested_each_shadows_outer_fields", "{{#each files}}{{#each inner}}{{name}}{{/each}}{{/each}}", "xyxyxy", NULL},
    {"standalone_block_lines_vanish", "a\n  {{#if word}}\nb\n{{/if}}  \n{{! note }}\nc\n", "a\nb\nc\n", NULL},
    {"inline_block_keeps_its_line", "a {{#if word}}b{{/if}}\nc", "a b\nc", NULL},
    {"standalone_at_end_without_newline", "a\n{{#if word}}\nb\n{{/if}}", "a\nb\n", NULL},
    {"unknown_variable_names_line", "#!ipxe\n\n{{kernal}}\n", NULL, "t.ipxe:3: unknown variable 'kernal'"},
    {"unknown_variable_in_untaken_branch_found", "{{#if unset}}\n{{kernal}}\n{{/if}}\n", NULL,
     "t.ipxe:2: unknown variable 'kernal'"},
    {"list_used_as_value_refused", "{{files}}", NULL, "t.ipxe:1: 'files' is a list: use {{#each files}}"},
    {"each_over_scalar_refused", "\n{{#each word}}{{/each}}", NULL, "t.ipxe:2: #each word: 'word' is not a list"},
    {"unclosed_block_refused", "{{#if word}}\nx\n", NULL, "t.ipxe:3: {{#if}} opened on line 1 is never closed"},
    {"mismatched_close_refused", "{{#if word}}\n{{/each}}", NULL,
     "t.ipxe:2: {{/each}} closes {{#if}} opened on line 1"},
    {"close_without_open_refused", "x\n{{/if}}", NULL, "t.ipxe:2: {{/if}} without an open block"},
    {"unterminated_tag_refused", "a\nb {{url", NULL, "t.ipxe:2: '{{' without a closing '}}'"},
    {"tag_across_lines_refused", "{{url\n}}", NULL, "t.ipxe:1: a tag must not span lines"},
    {"unknown_block_tag_refused", "{{#with url}}", NULL, "t.ipxe:1: unknown tag '{{#with url}}'"},
    {"expression_refused", "{{url | raw}}", NULL, "t.ipxe:1: '{{url | raw}}' is not a variable name"},
    {"bad_value_refused_with_line", "kernel x\nimgargs x {{bad}}\n", NULL,
     "t.ipxe:2: value of 'bad' refused: character '$' is not allowed"},
    {"bad_value_in_untaken_branch_is_harmless", "{{#if unset}}{{bad}}{{/if}}ok", "ok", NULL},
    {"nesting_beyond_bound_refused",
     "{{#if word}}{{#if word}}{{#if word}}{{#if word}}{{#if word}}{{#if word}}{{#if word}}{{#if word}}"
     "{{#if word}}",
     NULL, "t.ipxe:1: blocks nested deeper than 8"},
};

static void template_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL, err[256] = "";
        size_t len = 0;
        int r = tmpl_expand("t.ipxe", cases[i].tmpl, strlen(cases[i].tmpl), vars, N_VARS, &out, &len, err,
                            sizeof err);
        if (cases[i].out) {
            if (r != 0 || strcmp(out, cases[i].out) != 0 || len != strlen(cases[i].out))
                fail_msg("%s: r=%d err='%s' out='%s'", cases[i].name, r, err, out ? out : "(null)");
        } else if (r != -EINVAL || out || strcmp(err, cases[i].err) != 0) {
            fail_msg("%s: r=%d err='%s' (want '%s')", cases[i].name, r, err, cases[i].err);
        }
        free(out);
    }
}

/* Parsed once, rendered many times: every table case gives through
 * tmpl_parse + tmpl_render what tmpl_expand gives, and one parse serves
 * renders with other values (the script path keeps its templates parsed). */
static void parse_once_render_many(void **state)
{
    (void)state;
    char err[256], err2[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tmpl *t = NULL;
        char *out = NULL, *want = NULL;
        size_t len = 0, wlen = 0;
        int rw = tmpl_expand("t.ipxe", cases[i].tmpl, strlen(cases[i].tmpl), vars, N_VARS, &want, &wlen, err2,
                             sizeof err2);
        int r = tmpl_parse("t.ipxe", cases[i].tmpl, strlen(cases[i].tmpl), true, vars, N_VARS, &t, err, sizeof err);
        if (r == 0)
            r = tmpl_render(t, vars, N_VARS, &out, &len, err, sizeof err);
        assert_int_equal(r, rw);
        if (r == 0) {
            assert_int_equal(len, wlen);
            assert_memory_equal(out, want, len);
        } else {
            assert_string_equal(err, err2);
        }
        free(out);
        free(want);
        tmpl_free(t);
    }

    /* Its own copy of the text: the source may go away. */
    char *text = strdup("{{word}}:{{#each files}}{{name}},{{/each}}");
    struct tmpl *t;
    assert_int_equal(tmpl_parse("t.ipxe", text, strlen(text), true, vars, N_VARS, &t, err, sizeof err), 0);
    memset(text, 'x', strlen(text));
    free(text);
    struct tmpl_var v[N_VARS];
    memcpy(v, vars, sizeof v);
    const char *names[] = {"node1", "node2", "node3"};
    for (size_t i = 0; i < 3; i++) {
        char *out;
        v[1].value = names[i];
        v[6].n_rows = i + 1;
        assert_int_equal(tmpl_render(t, v, N_VARS, &out, NULL, err, sizeof err), 0);
        char want[64];
        snprintf(want, sizeof want, "%s:%s%s%s", names[i], "a.gz,", i > 0 ? "b.gz," : "", i > 1 ? "c.gz," : "");
        assert_string_equal(out, want);
        free(out);
    }
    /* A refused value at render names the template and line. */
    v[1].value = "no spaces";
    char *out;
    assert_int_equal(tmpl_render(t, v, N_VARS, &out, NULL, err, sizeof err), -EINVAL);
    assert_null(out);
    assert_string_equal(err, "t.ipxe:1: value of 'word' refused: character ' ' is not allowed");
    /* Values bound in another layout than the parse's are refused, not
     * rendered through the wrong indexes. */
    assert_int_equal(tmpl_render(t, v, N_VARS - 1, &out, NULL, err, sizeof err), -EINVAL);
    memcpy(v, vars, sizeof v);
    v[0] = vars[1];
    v[1] = vars[0];
    assert_int_equal(tmpl_render(t, v, N_VARS, &out, NULL, err, sizeof err), -EINVAL);
    assert_string_equal(err, "t.ipxe: rendered with other variables than it was parsed with");
    memcpy(v, vars, sizeof v);
    static const struct tmpl_var other_fields[] = {
        {.name = "name", .cls = TMPL_FILENAME},
    };
    v[6].fields = other_fields;
    v[6].n_fields = 1;
    assert_int_equal(tmpl_render(t, v, N_VARS, &out, NULL, err, sizeof err), -EINVAL);
    tmpl_free(t);
}

static void nul_byte_in_template_refused(void **state)
{
    (void)state;
    char *out, err[128];
    assert_int_equal(tmpl_expand("t.ipxe", "a\nb\0c", 5, vars, N_VARS, &out, NULL, err, sizeof err), -EINVAL);
    assert_string_equal(err, "t.ipxe:2: NUL byte in template");
}

static void oversized_template_refused(void **state)
{
    (void)state;
    size_t n = TMPL_MAX_TEXT + 1;
    char *big = malloc(n), *out, err[128];
    memset(big, 'x', n);
    assert_int_equal(tmpl_expand("big.ipxe", big, n, vars, N_VARS, &out, NULL, err, sizeof err), -E2BIG);
    assert_null(out);
    free(big);
}

static void output_cap_enforced(void **state)
{
    (void)state;
    /* 4096 rows of a 64-byte value through a template line repeated 2x. */
    static const struct tmpl_var f[] = {{.name = "v", .cls = TMPL_WORD}};
    size_t nrows = 4096;
    const char **r = malloc(nrows * sizeof *r);
    static char value[65];
    memset(value, 'a', 64);
    for (size_t i = 0; i < nrows; i++)
        r[i] = value;
    struct tmpl_var l = {.name = "l", .cls = TMPL_LIST, .fields = f, .n_fields = 1, .rows = r, .n_rows = nrows};
    char *out, err[128];
    const char *t = "{{#each l}}{{v}}{{v}}{{/each}}";
    assert_int_equal(tmpl_expand("t.ipxe", t, strlen(t), &l, 1, &out, NULL, err, sizeof err), -E2BIG);
    assert_null(out);
    free(r);
}

static const struct {
    enum tmpl_class cls;
    const char *value;
    bool ok;
} values[] = {
    {TMPL_URL, "http://192.0.2.1:8080/boot", true},
    {TMPL_URL, "https://[2001:db8::1]/x?mac=52-54-00-00-00-01&y=1", true},
    {TMPL_URL, "ftp://x/y", false},
    {TMPL_URL, "http://x/a b", false},
    {TMPL_URL, "http://x/${ip}", false},
    {TMPL_URL, "http://x/#frag", false},
    {TMPL_FILENAME, "initrd.gz", true},
    {TMPL_FILENAME, "linux-6.1+deb~1", true},
    {TMPL_FILENAME, "a b", false},
    {TMPL_FILENAME, "a#b", false},
    {TMPL_FILENAME, "..", false},
    {TMPL_FILENAME, "dir/file", false},
    {TMPL_SHA256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
    {TMPL_SHA256, "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false},
    {TMPL_SHA256, "0123", false},
    {TMPL_CMDLINE, "console=ttyS0,115200n8 root=/dev/ram0 ip=::::h:eth0:dhcp", true},
    {TMPL_CMDLINE, "a\nchain http://evil/", false},
    {TMPL_CMDLINE, "a ; b", false},
    {TMPL_CMDLINE, "a || shell", false},
    {TMPL_CMDLINE, "a `b`", false},
    {TMPL_CMDLINE, "a #b", false},
    {TMPL_CMDLINE, "a {b}", false},
    {TMPL_NUMBER, "4094", true},
    {TMPL_NUMBER, "-1", false},
    {TMPL_WORD, "52-54-00-00-00-01", true},
    {TMPL_WORD, "a b", false},
    {TMPL_SAN_URI, "iscsi:192.0.2.9::::iqn.2000-01.com.example:disk1", true},
    {TMPL_SAN_URI, "iscsi:san.example:6:3260:0:iqn.2000-01.com.example:disk1", true},
    {TMPL_SAN_URI, "iscsi:[2001:db8::9]::3260:4752-3A4F-6b7e-2F99:iqn.2000-01.com.example:d", true},
    {TMPL_SAN_URI, "http://192.0.2.9/disk.img", true},
    {TMPL_SAN_URI, "iscsi:192.0.2.9:17:::iqn.x", false},
    {TMPL_SAN_URI, "iscsi:192.0.2.9::99999::iqn.x", false},
    {TMPL_SAN_URI, "iscsi:192.0.2.9::::", false},
    {TMPL_SAN_URI, "iscsi:192.0.2.9::::iqn.x ${x}", false},
    {TMPL_SAN_URI, "iscsi:192.0.2.9", false},
    {TMPL_SAN_URI, "aoe:e1.0", false},
};

static void value_classes_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char why[128] = "";
        bool ok = tmpl_value_ok(values[i].cls, values[i].value, why, sizeof why);
        if (ok != values[i].ok || (!ok && !why[0]))
            fail_msg("class %d '%s': got %d (%s)", values[i].cls, values[i].value, ok, why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_table),
        cmocka_unit_test(parse_once_render_many),
        cmocka_unit_test(nul_byte_in_template_refused),
        cmocka_unit_test(oversized_template_refused),
        cmocka_unit_test(output_cap_enforced),
        cmocka_unit_test(value_classes_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
