/* The TFTP codec: what parses, what is refused and why, and the exact
 * bytes of what we build. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tftp/tftp_packet.h"
#include "test_tftp_helpers.h"

static void rrq_with_options_parses(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = tt_request(b, sizeof b, TFTP_RRQ, "pxelinux.0", "OcTeT", "BLKSIZE", "1468", "tsize", "0",
                          "windowsize", "16", "Timeout", "3", NULL);
    struct tftp_packet p;
    enum tftp_bad why;
    assert_int_equal(tftp_parse(b, n, &p, &why), 0);
    assert_int_equal(p.op, TFTP_RRQ);
    assert_string_equal(p.u.req.filename, "pxelinux.0");
    assert_int_equal(p.u.req.filename_len, 10);
    assert_int_equal(p.u.req.mode, TFTP_MODE_OCTET);
    assert_true(p.u.req.opt.has_blksize);
    assert_int_equal(p.u.req.opt.blksize, 1468);
    assert_true(p.u.req.opt.has_tsize);
    assert_int_equal(p.u.req.opt.tsize, 0);
    assert_true(p.u.req.opt.has_windowsize);
    assert_int_equal(p.u.req.opt.windowsize, 16);
    assert_true(p.u.req.opt.has_timeout);
    assert_int_equal(p.u.req.opt.timeout_s, 3);
}

static void unknown_option_is_ignored(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = tt_request(b, sizeof b, TFTP_RRQ, "f", "netascii", "multicast", "", "blksize", "512", NULL);
    struct tftp_packet p;
    enum tftp_bad why;
    assert_int_equal(tftp_parse(b, n, &p, &why), 0);
    assert_int_equal(p.u.req.mode, TFTP_MODE_NETASCII);
    assert_true(p.u.req.opt.has_blksize);
    assert_false(p.u.req.opt.has_tsize);
}

static void trailing_nul_padding_is_tolerated(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = tt_request(b, sizeof b, TFTP_RRQ, "f", "octet", "tsize", "0", NULL);
    memset(b + n, 0, 3);
    struct tftp_packet p;
    enum tftp_bad why;
    assert_int_equal(tftp_parse(b, n + 3, &p, &why), 0);
    assert_true(p.u.req.opt.has_tsize);
}

/* Table: requests that must be refused, with the reason. */
struct bad_case {
    const char *name;
    uint8_t bytes[64];
    size_t len;
    enum tftp_bad why;
};

#define BYTES(...) {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__})

static const struct bad_case bad_cases[] = {
    {"empty packet", {0}, 0, TFTP_BAD_TRUNCATED},
    {"one byte", BYTES(0), TFTP_BAD_TRUNCATED},
    {"opcode only", BYTES(0, 1), TFTP_BAD_TRUNCATED},
    {"filename without NUL", BYTES(0, 1, 'a', 'b'), TFTP_BAD_NO_NUL},
    {"no mode", BYTES(0, 1, 'a', 0), TFTP_BAD_TRUNCATED},
    {"mode without NUL", BYTES(0, 1, 'a', 0, 'o', 'c', 't', 'e', 't'), TFTP_BAD_NO_NUL},
    {"empty filename", BYTES(0, 1, 0, 'o', 'c', 't', 'e', 't', 0), TFTP_BAD_EMPTY_NAME},
    {"unknown mode", BYTES(0, 1, 'a', 0, 'b', 'i', 'n', 0), TFTP_BAD_MODE},
    {"option without value", BYTES(0, 1, 'a', 0, 'o', 'c', 't', 'e', 't', 0, 't', 's', 'i', 'z', 'e', 0),
     TFTP_BAD_TRUNCATED},
    {"option value without NUL", BYTES(0, 1, 'a', 0, 'o', 'c', 't', 'e', 't', 0, 't', 's', 'i', 'z', 'e', 0, '0'),
     TFTP_BAD_NO_NUL},
    {"ack too short", BYTES(0, 4, 0), TFTP_BAD_TRUNCATED},
    {"error without code", BYTES(0, 5, 0), TFTP_BAD_TRUNCATED},
    {"opcode 0", BYTES(0, 0, 0, 0), TFTP_BAD_OPCODE},
    {"OACK from a client", BYTES(0, 6, 0, 0), TFTP_BAD_OPCODE},
    {"opcode 7", BYTES(0, 7, 0, 0), TFTP_BAD_OPCODE},
    {"opcode 256+1", BYTES(1, 1, 'a', 0, 'o', 'c', 't', 'e', 't', 0), TFTP_BAD_OPCODE},
};

static void malformed_packets_are_refused_with_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        struct tftp_packet p;
        enum tftp_bad why = TFTP_OK;
        print_message("case: %s\n", c->name);
        assert_int_equal(tftp_parse(c->bytes, c->len, &p, &why), -EBADMSG);
        assert_int_equal(why, c->why);
    }
}

/* Table: option values against their RFC ranges. */
struct opt_case {
    const char *name, *value;
    int ok;
    uint64_t expect; /* parsed (clamped) value when ok */
};

static const struct opt_case opt_cases[] = {
    {"blksize", "8", 1, 8},
    {"blksize", "7", 0, 0},
    {"blksize", "0", 0, 0},
    {"blksize", "65464", 1, 65464},
    {"blksize", "70000", 1, 65464}, /* clamped, we may offer less */
    {"blksize", "99999999999999999999999", 0, 0},
    {"blksize", "-1", 0, 0},
    {"blksize", "", 0, 0},
    {"blksize", "1468x", 0, 0},
    {"timeout", "1", 1, 1},
    {"timeout", "255", 1, 255},
    {"timeout", "0", 0, 0},
    {"timeout", "256", 0, 0},
    {"windowsize", "1", 1, 1},
    {"windowsize", "0", 0, 0},
    {"windowsize", "65535", 1, 65535},
    {"windowsize", "100000", 1, 65535},
    {"tsize", "0", 1, 0},
    {"tsize", "123", 1, 123},
    {"tsize", "x", 0, 0},
};

static void option_values_follow_rfc_ranges(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof opt_cases / sizeof opt_cases[0]; i++) {
        const struct opt_case *c = &opt_cases[i];
        uint8_t b[128];
        size_t n = tt_request(b, sizeof b, TFTP_RRQ, "f", "octet", c->name, c->value, NULL);
        struct tftp_packet p;
        enum tftp_bad why = TFTP_OK;
        print_message("case: %s=%s\n", c->name, c->value);
        int r = tftp_parse(b, n, &p, &why);
        if (!c->ok) {
            assert_int_equal(r, -EBADMSG);
            assert_int_equal(why, TFTP_BAD_OPTION_VALUE);
            continue;
        }
        assert_int_equal(r, 0);
        const struct tftp_options *o = &p.u.req.opt;
        uint64_t got = c->name[0] == 'b' ? o->blksize : c->name[0] == 't' && c->name[1] == 'i' ? o->timeout_s
                       : c->name[0] == 'w'                                                   ? o->windowsize
                                                                                             : o->tsize;
        assert_int_equal(got, c->expect);
    }
}

static void duplicate_option_is_refused(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = tt_request(b, sizeof b, TFTP_RRQ, "f", "octet", "blksize", "512", "BlkSize", "1024", NULL);
    struct tftp_packet p;
    enum tftp_bad why;
    assert_int_equal(tftp_parse(b, n, &p, &why), -EBADMSG);
    assert_int_equal(why, TFTP_BAD_DUP_OPTION);
    assert_string_equal(tftp_bad_name(why), "duplicate_option");
}

static void ack_and_error_parse(void **state)
{
    (void)state;
    const uint8_t ack[] = {0, 4, 0xff, 0xfe};
    const uint8_t err[] = {0, 5, 0, 8, 'n', 'o', 0};
    const uint8_t err_no_nul[] = {0, 5, 0, 1, 'x', 'y'};
    struct tftp_packet p;
    enum tftp_bad why;
    assert_int_equal(tftp_parse(ack, sizeof ack, &p, &why), 0);
    assert_int_equal(p.op, TFTP_ACK);
    assert_int_equal(p.u.block, 65534);
    assert_int_equal(tftp_parse(err, sizeof err, &p, &why), 0);
    assert_int_equal(p.u.error.code, 8);
    assert_int_equal(p.u.error.msg_len, 2);
    assert_int_equal(tftp_parse(err_no_nul, sizeof err_no_nul, &p, &why), 0);
    assert_int_equal(p.u.error.code, 1);
    assert_int_equal(p.u.error.msg_len, 2);
}

static void builders_write_exact_bytes(void **state)
{
    (void)state;
    uint8_t b[128];
    const uint8_t want_err[] = {0, 5, 0, 1, 'n', 'o', 0};
    assert_int_equal(tftp_build_error(b, sizeof b, TFTP_ENOTFOUND, "no"), sizeof want_err);
    assert_memory_equal(b, want_err, sizeof want_err);
    assert_int_equal(tftp_build_error(b, 6, TFTP_ENOTFOUND, "no"), 0); /* does not fit */

    struct tftp_options o = {.has_blksize = true, .blksize = 1468, .has_tsize = true, .tsize = 1048576};
    const uint8_t want_oack[] = "\0\6blksize\0001468\0tsize\0001048576";
    size_t n = tftp_build_oack(b, sizeof b, &o);
    assert_int_equal(n, sizeof want_oack);
    assert_memory_equal(b, want_oack, sizeof want_oack);
    assert_int_equal(tftp_build_oack(b, 10, &o), 0);

    const uint8_t want_data[] = {0, 3, 0x12, 0x34, 'h', 'i'};
    assert_int_equal(tftp_build_data(b, sizeof b, 0x1234, "hi", 2), sizeof want_data);
    assert_memory_equal(b, want_data, sizeof want_data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rrq_with_options_parses),
        cmocka_unit_test(unknown_option_is_ignored),
        cmocka_unit_test(trailing_nul_padding_is_tolerated),
        cmocka_unit_test(malformed_packets_are_refused_with_reason),
        cmocka_unit_test(option_values_follow_rfc_ranges),
        cmocka_unit_test(duplicate_option_is_refused),
        cmocka_unit_test(ack_and_error_parse),
        cmocka_unit_test(builders_write_exact_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
