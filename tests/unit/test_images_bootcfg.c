/* images/bootcfg: ESXi boot.cfg parsing, a table of files and what they mean. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "images/bootcfg.h"

struct bootcfg_case {
    const char *name;
    const char *text;
    int result;
    const char *error;       /* substring of the message, when result < 0 */
    const char *kernel;
    const char *kernelopt;
    const char *prefix;
    const char *title;
    const char *modules[8];  /* paths in order, NULL-terminated */
    const char *args[8];     /* args of the module at the same index, NULL = "" */
};

static const struct bootcfg_case cases[] = {
    {.name = "esxi8_iso_keeps_every_module_in_order",
     .text = "bootstate=0\ntitle=Loading ESXi installer\ntimeout=5\nprefix=\nkernel=/b.b00\n"
             "kernelopt=runweasel cdromBoot\n"
             "modules=/jumpstrt.gz --- /useropts.gz --- /features.gz --- /k.b00 --- /s.v00 --- /imgdb.tgz\n"
             "build=8.0.2\nupdated=0\n",
     .kernel = "/b.b00", .kernelopt = "runweasel cdromBoot", .prefix = "", .title = "Loading ESXi installer",
     .modules = {"/jumpstrt.gz", "/useropts.gz", "/features.gz", "/k.b00", "/s.v00", "/imgdb.tgz"}},
    {.name = "prefix_and_crlf_line_endings",
     .text = "prefix=esxi67/\r\nkernel=tboot.b00\r\nmodules=b.b00 --- jumpstrt.gz\r\n",
     .kernel = "tboot.b00", .kernelopt = "", .prefix = "esxi67/", .title = "", .modules = {"b.b00", "jumpstrt.gz"}},
    {.name = "weird_spacing_and_case_are_tolerated",
     .text = "# comment\n\n  KERNEL  =  /b.b00  \nModules=  /a.gz---/b.gz ---\t/c.gz  \nKernelOpt=\ta\tb \n",
     .kernel = "/b.b00", .kernelopt = "a b", .prefix = "", .title = "", .modules = {"/a.gz", "/b.gz", "/c.gz"}},
    {.name = "module_arguments_follow_the_path",
     .text = "kernel=/b.b00\nmodules=/a.gz x=1 y --- /b.gz\n",
     .kernel = "/b.b00", .kernelopt = "", .prefix = "", .title = "", .modules = {"/a.gz", "/b.gz"},
     .args = {"x=1 y", NULL}},
    {.name = "later_key_replaces_earlier",
     .text = "kernel=/old\nmodules=/x\nkernel=/b.b00\nmodules=/y --- /z\n",
     .kernel = "/b.b00", .kernelopt = "", .prefix = "", .title = "", .modules = {"/y", "/z"}},
    {.name = "no_final_newline_still_parses",
     .text = "kernel=/b.b00\nmodules=/a", .kernel = "/b.b00", .kernelopt = "", .prefix = "", .title = "",
     .modules = {"/a"}},
    {.name = "lines_without_equals_are_ignored",
     .text = "garbage line\nkernel=/b.b00\n", .kernel = "/b.b00", .kernelopt = "", .prefix = "", .title = ""},
    {.name = "missing_kernel_is_an_error", .text = "title=x\nmodules=/a --- /b\n", .result = -EINVAL,
     .error = "no kernel= line"},
    {.name = "empty_file_is_an_error", .text = "", .result = -EINVAL, .error = "no kernel"},
    {.name = "empty_module_between_separators_is_an_error", .text = "kernel=/b\nmodules=/a --- --- /b\n",
     .result = -EINVAL, .error = "boot.cfg:2: modules: empty module"},
    {.name = "trailing_separator_is_an_error", .text = "kernel=/b\nmodules=/a ---\n", .result = -EINVAL,
     .error = "empty module"},
    {.name = "control_byte_in_value_is_an_error", .text = "kernel=/b\nkernelopt=a\x1b[2Jb\n", .result = -EINVAL,
     .error = "boot.cfg:2: control byte"},
    {.name = "overlong_kernel_path_is_an_error",
     .text = "kernel=/"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
     .result = -EINVAL, .error = "kernel: too long"},
};

static void bootcfg_table(void **state)
{
    (void)state;
    struct bootcfg *cfg = malloc(sizeof *cfg);
    assert_non_null(cfg);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bootcfg_case *c = &cases[i];
        char err[256] = "";
        print_message("case %s\n", c->name);
        int r = bootcfg_parse(c->text, strlen(c->text), cfg, err, sizeof err);
        assert_int_equal(r, c->result);
        if (r < 0) {
            if (!strstr(err, c->error))
                fail_msg("%s: message '%s' lacks '%s'", c->name, err, c->error);
            continue;
        }
        assert_string_equal(cfg->kernel, c->kernel);
        assert_string_equal(cfg->kernelopt, c->kernelopt);
        assert_string_equal(cfg->prefix, c->prefix);
        assert_string_equal(cfg->title, c->title);
        size_t n = 0;
        while (n < 8 && c->modules[n])
            n++;
        assert_int_equal(cfg->n_modules, n);
        for (size_t m = 0; m < n; m++) {
            assert_string_equal(cfg->modules[m].path, c->modules[m]);
            assert_string_equal(cfg->modules[m].args, c->args[m] ? c->args[m] : "");
        }
    }
    free(cfg);
}

static void parser_never_reads_past_len(void **state)
{
    (void)state;
    /* The buffer is not NUL-terminated: the parser must stop at len. */
    char *buf = malloc(14);
    assert_non_null(buf);
    memcpy(buf, "kernel=/b.b00X", 14);
    struct bootcfg *cfg = malloc(sizeof *cfg);
    char err[128];
    assert_int_equal(bootcfg_parse(buf, 13, cfg, err, sizeof err), 0);
    assert_string_equal(cfg->kernel, "/b.b00");
    free(cfg);
    free(buf);
}

static void too_many_modules_is_an_error(void **state)
{
    (void)state;
    size_t cap = 32 + (BOOTCFG_MAX_MODULES + 1) * 12;
    char *text = malloc(cap);
    size_t len = (size_t)snprintf(text, cap, "kernel=/k\nmodules=/m0");
    for (int i = 1; i <= BOOTCFG_MAX_MODULES; i++)
        len += (size_t)snprintf(text + len, cap - len, " --- /m%d", i);
    struct bootcfg *cfg = malloc(sizeof *cfg);
    char err[128];
    assert_int_equal(bootcfg_parse(text, len, cfg, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "too many modules"));
    free(cfg);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bootcfg_table),
        cmocka_unit_test(parser_never_reads_past_len),
        cmocka_unit_test(too_many_modules_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
