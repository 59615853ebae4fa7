/* The DHCP codec: every malformed input is refused with its own reason,
 * and the tolerances (missing End, overload, RFC 3396) are deliberate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "dhcp/dhcp_server.h"
#include "test_dhcp_helpers.h"
#include "util/log.h"

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void good_discover(struct req *r)
{
    req_begin(r, DHCPDISCOVER, MAC, 42);
    req_end(r);
}

/* Each case mutates a valid DISCOVER into one bad in exactly one way. */
static void truncate_to_239(struct req *r) { r->len = 239; }
static void break_cookie(struct req *r) { r->b[236] = 0; }
static void make_reply(struct req *r) { r->b[0] = BOOTREPLY; }
static void hlen_17(struct req *r) { r->b[2] = 17; }
static void ethernet_hlen_5(struct req *r) { r->b[2] = 5; }
static void hlen_0(struct req *r) { r->b[2] = 0; }
static void option_past_end(struct req *r)
{
    r->len = 243;
    r->b[r->len++] = OPT_HOSTNAME;
    r->b[r->len++] = 200; /* but only 3 bytes follow */
    memcpy(r->b + r->len, "abc", 3);
    r->len += 3;
}
static void lone_option_code_at_end(struct req *r)
{
    r->len = 243;
    r->b[r->len++] = OPT_HOSTNAME; /* no length byte */
}
static void no_msg_type(struct req *r)
{
    r->len = 240;
    req_opt(r, OPT_HOSTNAME, "x", 1);
    req_end(r);
}
static void msg_type_offer(struct req *r) { r->b[242] = DHCPOFFER; }
static void msg_type_zero(struct req *r) { r->b[242] = 0; }
static void msg_type_len_2(struct req *r)
{
    r->len = 240;
    req_opt(r, OPT_MSG_TYPE, "\x01\x01", 2);
    req_end(r);
}
static void oversized(struct req *r) { r->len = DHCP_PACKET_MAX + 1; }

static const struct {
    const char *name;
    void (*mutate)(struct req *);
    enum dhcp_drop reason;
} bad_inputs[] = {
    {"truncated_packet_is_dropped", truncate_to_239, DHCP_DROP_TRUNCATED},
    {"missing_magic_cookie_is_dropped", break_cookie, DHCP_DROP_BAD_COOKIE},
    {"bootreply_op_is_dropped", make_reply, DHCP_DROP_NOT_REQUEST},
    {"hlen_over_16_is_dropped", hlen_17, DHCP_DROP_BAD_HWADDR},
    {"ethernet_hlen_not_6_is_dropped", ethernet_hlen_5, DHCP_DROP_BAD_HWADDR},
    {"hlen_0_is_dropped", hlen_0, DHCP_DROP_BAD_HWADDR},
    {"option_running_past_end_is_dropped", option_past_end, DHCP_DROP_OPTION_OVERRUN},
    {"option_without_length_is_dropped", lone_option_code_at_end, DHCP_DROP_OPTION_OVERRUN},
    {"missing_message_type_is_dropped", no_msg_type, DHCP_DROP_NO_MSG_TYPE},
    {"server_message_type_is_dropped", msg_type_offer, DHCP_DROP_BAD_MSG_TYPE},
    {"message_type_zero_is_dropped", msg_type_zero, DHCP_DROP_BAD_MSG_TYPE},
    {"message_type_of_length_2_is_dropped", msg_type_len_2, DHCP_DROP_BAD_MSG_TYPE},
    {"oversized_packet_is_dropped", oversized, DHCP_DROP_OVERSIZED},
};

static void bad_inputs_are_dropped_with_their_reason(void **state)
{
    (void)state;
    struct conf *conf = conf_from_text(TEST_CONF);
    struct dhcp_server *srv;
    assert_int_equal(dhcp_server_new(conf, &srv), 0);
    struct dhcp_rx_meta meta = {.ifindex = 2, .ifname = "eth0", .local_addr = ip("10.213.0.1")};
    static struct dhcp_reply reply;
    static struct req r;
    for (size_t i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
        good_discover(&r);
        assert_int_equal(dhcp_server_handle(srv, r.b, r.len, &meta, 1000, &reply), 1); /* control */
        bad_inputs[i].mutate(&r);
        uint64_t before = dhcp_drop_count(bad_inputs[i].reason);
        int rc = dhcp_server_handle(srv, r.b, r.len, &meta, 1000, &reply);
        if (rc != 0 || dhcp_server_last_drop(srv) != bad_inputs[i].reason)
            fail_msg("%s: got rc %d reason %s", bad_inputs[i].name, rc, dhcp_drop_name(dhcp_server_last_drop(srv)));
        assert_int_equal(dhcp_drop_count(bad_inputs[i].reason), before + 1);
    }
    dhcp_server_free(srv);
    conf_free(conf);
}

/* Tolerated: an options field that ends exactly at the end of the packet
 * without an End option (nothing is ambiguous). */
static void missing_end_option_is_tolerated(void **state)
{
    (void)state;
    static struct req r;
    static struct dhcp_packet p;
    req_begin(&r, DHCPDISCOVER, MAC, 1);
    req_opt(&r, OPT_HOSTNAME, "host", 4);
    assert_int_equal(dhcp_parse(r.b, r.len, &p), DHCP_PARSE_OK);
    size_t n;
    const uint8_t *v = dhcp_opt(&p, OPT_HOSTNAME, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "host", 4);
}

static void repeated_options_are_concatenated(void **state)
{
    (void)state;
    static struct req r;
    static struct dhcp_packet p;
    req_begin(&r, DHCPDISCOVER, MAC, 1);
    req_opt(&r, OPT_HOSTNAME, "ab", 2);
    req_opt(&r, OPT_DOMAIN, "x", 1);
    req_opt(&r, OPT_HOSTNAME, "cd", 2);
    req_end(&r);
    assert_int_equal(dhcp_parse(r.b, r.len, &p), DHCP_PARSE_OK);
    size_t n;
    const uint8_t *v = dhcp_opt(&p, OPT_HOSTNAME, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "abcd", 4);
}

static void overloaded_file_and_sname_fields_are_read_in_order(void **state)
{
    (void)state;
    static struct req r;
    static struct dhcp_packet p;
    req_begin(&r, DHCPREQUEST, MAC, 1);
    req_opt(&r, OPT_OVERLOAD, "\x03", 1);
    req_opt(&r, OPT_HOSTNAME, "a", 1);
    req_end(&r);
    /* file (offset 108) then sname (offset 44), per RFC 3396 §7. */
    memcpy(r.b + 108, "\x0c\x01" "b" "\x32\x04\x0a\xd5\x00\x07" "\xff", 10);
    memcpy(r.b + 44, "\x0c\x01" "c" "\xff", 4);
    assert_int_equal(dhcp_parse(r.b, r.len, &p), DHCP_PARSE_OK);
    size_t n;
    const uint8_t *v = dhcp_opt(&p, OPT_HOSTNAME, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "abc", 3);
    uint32_t a;
    assert_true(dhcp_opt_addr(&p, OPT_REQUESTED_ADDR, &a));
    assert_int_equal(a, ip("10.213.0.7"));
}

static void overrun_inside_overloaded_field_is_dropped(void **state)
{
    (void)state;
    static struct req r;
    static struct dhcp_packet p;
    req_begin(&r, DHCPDISCOVER, MAC, 1);
    req_opt(&r, OPT_OVERLOAD, "\x02", 1);
    req_end(&r);
    r.b[44 + 62] = OPT_HOSTNAME;
    r.b[44 + 63] = 10; /* runs past the 64-byte sname field */
    assert_int_equal(dhcp_parse(r.b, r.len, &p), DHCP_PARSE_OPTION_OVERRUN);
}

static void malformed_fixed_size_option_reads_as_absent(void **state)
{
    (void)state;
    static struct req r;
    static struct dhcp_packet p;
    req_begin(&r, DHCPDISCOVER, MAC, 1);
    req_opt(&r, OPT_REQUESTED_ADDR, "\x0a\x00\x00", 3);
    req_end(&r);
    assert_int_equal(dhcp_parse(r.b, r.len, &p), DHCP_PARSE_OK);
    uint32_t a;
    assert_false(dhcp_opt_addr(&p, OPT_REQUESTED_ADDR, &a));
}

static void builder_splits_long_options_and_keeps_room_for_end(void **state)
{
    (void)state;
    static struct req r;
    static struct dhcp_packet p;
    good_discover(&r);
    assert_int_equal(dhcp_parse(r.b, r.len, &p), DHCP_PARSE_OK);
    uint8_t buf[600], data[300];
    memset(data, 'z', sizeof data);
    struct dhcp_builder b;
    assert_int_equal(dhcp_build_begin(&b, buf, sizeof buf, &p, DHCPOFFER), 0);
    assert_int_equal(dhcp_build_option(&b, OPT_RELAY_AGENT, data, 300), 0);
    assert_int_equal(b.len, 243 + 2 + 255 + 2 + 45);
    assert_int_equal(buf[243], OPT_RELAY_AGENT);
    assert_int_equal(buf[244], 255);
    assert_int_equal(buf[243 + 257], OPT_RELAY_AGENT);
    assert_int_equal(buf[243 + 258], 45);
    /* 600 - 547 = 53 bytes left: a 52-byte option needs 54 with End. */
    assert_int_equal(dhcp_build_option(&b, OPT_HOSTNAME, data, 52), -ENOSPC);
    assert_true(b.overflow);
    assert_int_equal(dhcp_build_option(&b, OPT_HOSTNAME, data, 50), 0);
    assert_int_equal(dhcp_build_finish(&b), 600);
    assert_int_equal(buf[599], OPT_END);
}

int main(void)
{
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_inputs_are_dropped_with_their_reason),
        cmocka_unit_test(missing_end_option_is_tolerated),
        cmocka_unit_test(repeated_options_are_concatenated),
        cmocka_unit_test(overloaded_file_and_sname_fields_are_read_in_order),
        cmocka_unit_test(overrun_inside_overloaded_field_is_dropped),
        cmocka_unit_test(malformed_fixed_size_option_reads_as_absent),
        cmocka_unit_test(builder_splits_long_options_and_keeps_room_for_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
