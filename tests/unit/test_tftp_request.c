/* Requests on the well-known port: which names are refused, which files
 * are served, what is dropped silently, asserted on the ERROR bytes. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "tftp/tftp_path.h"
#include "tftp/tftp_request.h"
#include "test_tftp_helpers.h"

static const struct tftp_limits limits = {.max_blksize = 1468, .max_windowsize = 64, .timeout_ms = 1000, .retries = 3};
static char root[64];
static char outside[64];
static int rootfd = -1;

static int setup(void **state)
{
    (void)state;
    char p[256];
    tt_tmpdir(root, sizeof root);
    tt_tmpdir(outside, sizeof outside);
    tt_write(root, "pxelinux.0", "boot!", 5);
    tt_write(outside, "secret", "s3cret", 6);
    snprintf(p, sizeof p, "%s/sub", root);
    mkdir(p, 0755);
    tt_write(root, "sub/ipxe.efi", "efi", 3);
    /* An in-root link (normal: "current" -> a versioned file)... */
    snprintf(p, sizeof p, "%s/current.efi", root);
    if (symlink("sub/ipxe.efi", p) < 0)
        return -1;
    /* ...and links that lead out, absolute and relative. */
    char target[256];
    snprintf(p, sizeof p, "%s/escape-abs", root);
    snprintf(target, sizeof target, "%s/secret", outside);
    if (symlink(target, p) < 0)
        return -1;
    snprintf(p, sizeof p, "%s/escape-rel", root);
    snprintf(target, sizeof target, "../%s/secret", strrchr(outside, '/') + 1);
    if (symlink(target, p) < 0)
        return -1;
    snprintf(p, sizeof p, "%s/fifo", root);
    if (mkfifo(p, 0644) < 0)
        return -1;
    rootfd = open(root, O_PATH | O_DIRECTORY);
    return rootfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    close(rootfd);
    tt_rmtree(root);
    tt_rmtree(outside);
    return 0;
}

static void handle_rrq(const char *name, struct tftp_reply *r)
{
    uint8_t b[512];
    size_t n = tt_request(b, sizeof b, TFTP_RRQ, name, "octet", NULL);
    tftp_handle_request(rootfd, b, n, &limits, false, 1000, r);
}

static void assert_error(const struct tftp_reply *r, uint16_t code, const char *msg)
{
    assert_int_equal(r->verdict, TFTP_VERDICT_ERROR);
    uint8_t want[200];
    size_t n = tftp_build_error(want, sizeof want, code, msg);
    assert_int_equal(r->error_len, n);
    assert_memory_equal(r->error, want, n);
}

static void dotdot_is_access_violation(void **state)
{
    (void)state;
    static const char *const names[] = {"..", "../etc/passwd", "a/../../etc/passwd", "sub/..", "/../x", "sub/../pxelinux.0",
                                        "./../secret"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct tftp_reply r;
        print_message("name: %s\n", names[i]);
        handle_rrq(names[i], &r);
        assert_error(&r, TFTP_EACCESS, "access violation");
        assert_string_equal(r.reason, "access_violation");
        assert_string_equal(r.detail, "dotdot");
        assert_true(r.log);
    }
}

static void hostile_bytes_are_access_violation(void **state)
{
    (void)state;
    static const struct {
        const char *name, *why;
    } cases[] = {
        {"a\\b", "backslash"},
        {"\\windows\\boot", "backslash"},
        {"tab\there", "control_byte"},
        {"esc\x1b[2J", "control_byte"},
        {"del\x7f", "control_byte"},
        {"/", "empty"},
        {"///", "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tftp_reply r;
        handle_rrq(cases[i].name, &r);
        assert_error(&r, TFTP_EACCESS, "access violation");
        assert_string_equal(r.detail, cases[i].why);
    }
}

static void leading_slash_is_stripped(void **state)
{
    (void)state;
    struct tftp_reply r;
    handle_rrq("/pxelinux.0", &r);
    assert_int_equal(r.verdict, TFTP_VERDICT_TRANSFER);
    struct tftp_out o;
    assert_true(tftp_transfer_pull(r.transfer, &o));
    assert_int_equal(o.data_len, 5);
    assert_memory_equal(o.data, "boot!", 5);
    tftp_transfer_free(r.transfer);
}

static void symlink_inside_root_is_followed(void **state)
{
    (void)state;
    struct tftp_reply r;
    handle_rrq("current.efi", &r);
    assert_int_equal(r.verdict, TFTP_VERDICT_TRANSFER);
    struct tftp_out o;
    assert_true(tftp_transfer_pull(r.transfer, &o));
    assert_memory_equal(o.data, "efi", 3);
    tftp_transfer_free(r.transfer);
}

static void symlink_out_of_root_is_refused(void **state)
{
    (void)state;
    struct tftp_reply r;
    handle_rrq("escape-abs", &r);
    assert_error(&r, TFTP_EACCESS, "access violation");
    handle_rrq("escape-rel", &r);
    assert_error(&r, TFTP_EACCESS, "access violation");
}

static void missing_file_is_not_found(void **state)
{
    (void)state;
    struct tftp_reply r;
    handle_rrq("nope.efi", &r);
    assert_error(&r, TFTP_ENOTFOUND, "file not found");
    assert_string_equal(r.reason, "not_found");
    handle_rrq("pxelinux.0/x", &r); /* ENOTDIR */
    assert_error(&r, TFTP_ENOTFOUND, "file not found");
}

static void only_regular_files_are_served(void **state)
{
    (void)state;
    struct tftp_reply r;
    handle_rrq("sub", &r);
    assert_error(&r, TFTP_EACCESS, "access violation");
    /* A FIFO must be refused without blocking in open(). */
    handle_rrq("fifo", &r);
    assert_error(&r, TFTP_EACCESS, "access violation");
}

static void wrq_is_refused(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = tt_request(b, sizeof b, TFTP_WRQ, "upload", "octet", NULL);
    struct tftp_reply r;
    tftp_handle_request(rootfd, b, n, &limits, false, 1000, &r);
    const uint8_t want[] = "\0\5\0\2read-only server";
    assert_int_equal(r.verdict, TFTP_VERDICT_ERROR);
    assert_int_equal(r.error_len, sizeof want);
    assert_memory_equal(r.error, want, sizeof want);
    assert_string_equal(r.reason, "wrq");
}

static void truncated_rrq_is_dropped(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[16];
        size_t len;
        const char *reason;
    } cases[] = {
        {{0, 1}, 2, "truncated"},
        {{0, 1, 'a', 'b'}, 4, "no_nul"},
        {{0, 1, 'a', 0, 'o', 'c'}, 6, "no_nul"},
        {{0, 9, 'a', 0}, 4, "bad_opcode"},
        {{0, 4, 0, 1}, 4, "not_a_request"}, /* an ACK on port 69 */
        {{0, 5, 0, 1, 0}, 5, "not_a_request"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tftp_reply r;
        tftp_handle_request(rootfd, cases[i].b, cases[i].len, &limits, false, 1000, &r);
        assert_int_equal(r.verdict, TFTP_VERDICT_DROP);
        assert_string_equal(r.reason, cases[i].reason);
        assert_int_equal(r.error_len, 0);
        assert_null(r.transfer);
    }
}

static void bad_options_and_modes_get_errors(void **state)
{
    (void)state;
    uint8_t b[128];
    struct tftp_reply r;
    size_t n = tt_request(b, sizeof b, TFTP_RRQ, "pxelinux.0", "octet", "blksize", "2", NULL);
    tftp_handle_request(rootfd, b, n, &limits, false, 1000, &r);
    assert_error(&r, TFTP_EOPTNEG, "bad option");
    n = tt_request(b, sizeof b, TFTP_RRQ, "pxelinux.0", "mail", NULL);
    tftp_handle_request(rootfd, b, n, &limits, false, 1000, &r);
    assert_error(&r, TFTP_EBADOP, "mail mode not supported");
    n = tt_request(b, sizeof b, TFTP_RRQ, "pxelinux.0", "binary", NULL);
    tftp_handle_request(rootfd, b, n, &limits, false, 1000, &r);
    assert_error(&r, TFTP_EBADOP, "unsupported mode");
}

static void busy_server_answers_error_0(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = tt_request(b, sizeof b, TFTP_RRQ, "pxelinux.0", "octet", NULL);
    struct tftp_reply r;
    tftp_handle_request(rootfd, b, n, &limits, true, 1000, &r);
    assert_error(&r, TFTP_EUNDEF, "server busy");
    assert_null(r.transfer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dotdot_is_access_violation),
        cmocka_unit_test(hostile_bytes_are_access_violation),
        cmocka_unit_test(leading_slash_is_stripped),
        cmocka_unit_test(symlink_inside_root_is_followed),
        cmocka_unit_test(symlink_out_of_root_is_refused),
        cmocka_unit_test(missing_file_is_not_found),
        cmocka_unit_test(only_regular_files_are_served),
        cmocka_unit_test(wrq_is_refused),
        cmocka_unit_test(truncated_rrq_is_dropped),
        cmocka_unit_test(bad_options_and_modes_get_errors),
        cmocka_unit_test(busy_server_answers_error_0),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
