/* agent/cmdline: the words midwife's script puts on the kernel command
 * line, read the way the kernel reads them, and refused when malformed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmdline.h"

static int parse(const char *text, struct agent_cmdline *c, char *err, size_t errlen)
{
    return cmdline_parse(text, strlen(text), c, err, errlen);
}

static void a_real_command_line_is_read(void **state)
{
    struct agent_cmdline c;
    char err[256];
    assert_int_equal(parse("BOOT_IMAGE=vmlinuz console=ttyS0 midwife.url=http://10.0.0.1:8080/ "
                           "midwife.token=0123abcd midwife.mac=52-54-00-12-34-56 midwife.vlan=42 quiet\n",
                           &c, err, sizeof err),
                     0);
    assert_string_equal(c.url, "http://10.0.0.1:8080"); /* trailing '/' dropped */
    assert_string_equal(c.token, "0123abcd");
    assert_true(c.has_mac);
    const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    assert_memory_equal(c.mac, mac, 6);
    assert_int_equal(c.vlan, 42);
    assert_int_equal(c.birth_timeout_s, CMDLINE_BIRTH_TIMEOUT_DEFAULT);
}

static void mac_with_colons_and_timeout(void **state)
{
    struct agent_cmdline c;
    char err[256];
    assert_int_equal(parse("midwife.mac=AA:bb:CC:dd:EE:ff midwife.birth_timeout=20", &c, err, sizeof err), 0);
    const uint8_t mac[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    assert_memory_equal(c.mac, mac, 6);
    assert_int_equal(c.birth_timeout_s, 20);
    assert_false(c.url[0]);
}

static void quotes_group_blanks_and_are_dropped(void **state)
{
    struct agent_cmdline c;
    char err[256];
    assert_int_equal(parse("foo=\"a b c\" \"midwife.token=abc\" midwife.url=\"http://h/x\"", &c, err, sizeof err), 0);
    assert_string_equal(c.token, "abc");
    assert_string_equal(c.url, "http://h/x");
}

static void a_later_word_wins(void **state)
{
    struct agent_cmdline c;
    char err[256];
    assert_int_equal(parse("midwife.token=first midwife.token=second", &c, err, sizeof err), 0);
    assert_string_equal(c.token, "second");
}

static void unknown_and_bare_words_are_ignored(void **state)
{
    struct agent_cmdline c;
    char err[256];
    assert_int_equal(parse("midwife.debug midwife.other=1 ro root=/dev/sda1", &c, err, sizeof err), 0);
    assert_false(c.token[0]);
}

struct bad_case {
    const char *text;
    const char *field;
};

static void malformed_values_are_refused_naming_the_key(void **state)
{
    static const struct bad_case cases[] = {
        {"midwife.url=https://10.0.0.1/", "midwife.url"},
        {"midwife.url=ftp://x", "midwife.url"},
        {"midwife.url=http://", "midwife.url"},
        {"midwife.url=\"http://a b\"", "midwife.url"},
        {"midwife.url=http://a\x1b", "midwife.url"},
        {"midwife.token=abc$def", "midwife.token"},
        {"midwife.token=\"abc def\"", "midwife.token"},
        {"midwife.token=", "midwife.token"},
        {"midwife.mac=52:54:00:12:34", "midwife.mac"},
        {"midwife.mac=52:54:00:12:34:5g", "midwife.mac"},
        {"midwife.mac=52:54:00:12:34:56:78", "midwife.mac"},
        {"midwife.vlan=4095", "midwife.vlan"},
        {"midwife.vlan=-1", "midwife.vlan"},
        {"midwife.vlan=1x", "midwife.vlan"},
        {"midwife.birth_timeout=0", "midwife.birth_timeout"},
        {"midwife.birth_timeout=86401", "midwife.birth_timeout"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct agent_cmdline c;
        char err[256] = "";
        int r = parse(cases[i].text, &c, err, sizeof err);
        if (r != -EINVAL || strncmp(err, cases[i].field, strlen(cases[i].field)) != 0)
            fail_msg("%s: got %d '%s'", cases[i].text, r, err);
    }
}

static void a_long_token_is_refused(void **state)
{
    char text[600];
    int n = snprintf(text, sizeof text, "midwife.token=");
    memset(text + n, 'a', 300);
    text[n + 300] = '\0';
    struct agent_cmdline c;
    char err[256];
    assert_int_equal(parse(text, &c, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "midwife.token"));
}

static void a_nul_byte_does_not_end_the_parse_early(void **state)
{
    static const char text[] = "midwife.token=ab\0cd midwife.url=http://h";
    struct agent_cmdline c;
    char err[256];
    /* The NUL makes the token invalid rather than cutting it short. */
    assert_int_equal(cmdline_parse(text, sizeof text - 1, &c, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "midwife.token"));
}

static void load_says_when_this_boot_is_not_from_midwife(void **state)
{
    char path[] = "/tmp/mwt-cmdline.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "console=ttyS0 midwife.url=http://10.0.0.1:8080\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct agent_cmdline c;
    char err[512];
    assert_int_equal(cmdline_load(path, &c, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "midwife.token="));
    assert_non_null(strstr(err, "did not come from midwife"));

    FILE *f = fopen(path, "w");
    fputs("midwife.url=http://10.0.0.1:8080 midwife.token=t0k\n", f);
    fclose(f);
    assert_int_equal(cmdline_load(path, &c, err, sizeof err), 0);
    assert_string_equal(c.token, "t0k");
    unlink(path);
    assert_int_equal(cmdline_load(path, &c, err, sizeof err), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_real_command_line_is_read),
        cmocka_unit_test(mac_with_colons_and_timeout),
        cmocka_unit_test(quotes_group_blanks_and_are_dropped),
        cmocka_unit_test(a_later_word_wins),
        cmocka_unit_test(unknown_and_bare_words_are_ignored),
        cmocka_unit_test(malformed_values_are_refused_naming_the_key),
        cmocka_unit_test(a_long_token_is_refused),
        cmocka_unit_test(a_nul_byte_does_not_end_the_parse_early),
        cmocka_unit_test(load_says_when_this_boot_is_not_from_midwife),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
