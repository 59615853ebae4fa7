/* util/: escaping hostile bytes, range-checked numbers, addresses, rate limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <unistd.h>

#include "util/addr.h"
#include "util/file.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/strnum.h"

static void escape_keeps_printable_and_hexes_the_rest(void **state)
{
    (void)state;
    char out[64];
    const char in[] = "ok\x1b[31m\n\"q\"\\\xff";
    assert_string_equal(log_escape(out, sizeof out, in, sizeof in - 1),
                        "ok\\x1b[31m\\x0a\\\"q\\\"\\\\\\xff");
}

static void escape_of_nul_bytes_is_visible(void **state)
{
    (void)state;
    char out[32];
    assert_string_equal(log_escape(out, sizeof out, "a\0b", 3), "a\\x00b");
}

static void json_safe_replaces_quotes_and_backslashes_only(void **state)
{
    (void)state;
    char buf[64];
    const char raw[] = "a\"b\\c\n";
    log_escape(buf, sizeof buf, raw, sizeof raw - 1);
    assert_string_equal(buf, "a\\\"b\\\\c\\x0a");
    assert_ptr_equal(log_json_safe(buf, '_'), buf);
    assert_string_equal(buf, "a__b__c_x0a");
    char other[] = "it's \"q\"";
    assert_string_equal(log_json_safe(other, '\''), "it's 'q'");
}

static void escape_cut_is_marked_and_terminated(void **state)
{
    (void)state;
    char out[10];
    log_escape(out, sizeof out, "abcdefghijklmnop", 16);
    assert_int_equal(strlen(out), 9);
    assert_memory_equal(out + 6, "...", 3);
}

static void parse_u64_rejects_out_of_range_and_junk(void **state)
{
    (void)state;
    struct { const char *in; uint64_t min, max; int ok; uint64_t want; const char *err; } cases[] = {
        {"512", 8, 65464, 1, 512, NULL},
        {"7", 8, 65464, 0, 0, "too small"},
        {"65465", 8, 65464, 0, 0, "too large"},
        {"12x", 0, 100, 0, 0, "invalid"},
        {"", 0, 100, 0, 0, "invalid"},
        {"-1", 0, 100, 0, 0, "invalid"},
        {" 5", 0, 100, 0, 0, "invalid"},
        {"99999999999999999999999", 0, UINT64_MAX, 0, 0, "too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 0;
        const char *e = NULL;
        int r = parse_u64(cases[i].in, cases[i].min, cases[i].max, &v, &e);
        if (cases[i].ok) {
            assert_int_equal(r, 0);
            assert_int_equal(v, cases[i].want);
        } else {
            assert_true(r < 0);
            assert_string_equal(e, cases[i].err);
        }
    }
}

static void duration_suffixes_multiply(void **state)
{
    (void)state;
    uint64_t s;
    const char *e;
    assert_int_equal(parse_duration("90", 0, 1000000, &s, &e), 0);
    assert_int_equal(s, 90);
    assert_int_equal(parse_duration("10m", 0, 1000000, &s, &e), 0);
    assert_int_equal(s, 600);
    assert_int_equal(parse_duration("2h", 0, 1000000, &s, &e), 0);
    assert_int_equal(s, 7200);
    assert_int_equal(parse_duration("1d", 0, 1000000, &s, &e), 0);
    assert_int_equal(s, 86400);
    assert_true(parse_duration("20d", 0, 1000000, &s, &e) < 0);
    assert_string_equal(e, "too large");
    assert_true(parse_duration("m", 0, 1000000, &s, &e) < 0);
}

static void cidr_with_host_bits_is_rejected(void **state)
{
    (void)state;
    uint32_t net;
    unsigned p;
    assert_int_equal(parse_cidr("10.1.0.0/16", &net, &p), 0);
    assert_int_equal(net, 0x0a010000);
    assert_int_equal(p, 16);
    assert_true(parse_cidr("10.1.0.1/16", &net, &p) < 0);
    assert_true(parse_cidr("10.1.0.0/33", &net, &p) < 0);
    assert_true(parse_cidr("10.1.0.0", &net, &p) < 0);
}

static void mac_round_trips_and_rejects_junk(void **state)
{
    (void)state;
    uint8_t mac[6];
    char s[MAC_STRLEN];
    assert_int_equal(parse_mac("52-54-00-AB-cd-0f", mac), 0);
    assert_string_equal(format_mac(mac, s), "52:54:00:ab:cd:0f");
    assert_true(parse_mac("52:54:00:ab:cd", mac) < 0);
    assert_true(parse_mac("52:54:00:ab:cd:0f:11", mac) < 0);
    assert_true(parse_mac("52:54:00:ab:cd:0g", mac) < 0);
}

static void ipv4_formats_every_octet_width(void **state)
{
    (void)state;
    char s[IPV4_STRLEN];
    assert_string_equal(format_ipv4(0, s), "0.0.0.0");
    assert_string_equal(format_ipv4(0xffffffffu, s), "255.255.255.255");
    assert_string_equal(format_ipv4(0x0a630001, s), "10.99.0.1");
    assert_string_equal(format_ipv4(0x01146407, s), "1.20.100.7");
    /* Every octet value, against the printf spelling, in every place. */
    for (unsigned o = 0; o < 256; o++) {
        char want[IPV4_STRLEN];
        snprintf(want, sizeof want, "%u.%u.%u.%u", o, 255 - o, o ^ 0x5a, o / 3);
        assert_string_equal(format_ipv4(o << 24 | (255 - o) << 16 | (o ^ 0x5a) << 8 | o / 3, s), want);
    }
}

static void ratelimit_allows_burst_then_counts_suppressed(void **state)
{
    (void)state;
    struct ratelimit rl = RATELIMIT_INIT(1000, 3);
    unsigned sup = 99;
    for (int i = 0; i < 3; i++)
        assert_true(ratelimit_allow(&rl, 5000, &sup));
    assert_false(ratelimit_allow(&rl, 5001, &sup));
    assert_false(ratelimit_allow(&rl, 5999, &sup));
    assert_true(ratelimit_allow(&rl, 6000, &sup));
    assert_int_equal(sup, 2);
}

static void metrics_print_prometheus_text(void **state)
{
    (void)state;
    static struct metric m[] = {
        {.name = "t_dropped_total", .help = "drops", .label = "reason", .label_value = "short"},
        {.name = "t_dropped_total", .help = "drops", .label = "reason", .label_value = "hlen"},
        {.name = "t_active", .help = "active", .type = METRIC_GAUGE},
    };
    metrics_register_array(m, 3);
    metrics_register(&m[0]); /* twice is harmless */
    m[0].value = 2;
    m[1].value = 5;
    m[2].value = 7;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    metrics_write_prometheus(f);
    fclose(f);
    assert_non_null(strstr(buf, "# TYPE t_dropped_total counter\n"
                                "t_dropped_total{reason=\"short\"} 2\n"
                                "t_dropped_total{reason=\"hlen\"} 5\n"));
    assert_non_null(strstr(buf, "# TYPE t_active gauge\nt_active 7\n"));
    assert_int_equal(metrics_sum("t_dropped_total"), 7);
    free(buf);
}

/* JSON log lines must stay one valid object per line whatever the message holds. */
static void json_log_line_is_escaped(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    log_setup(LOG_FORMAT_JSON, LOG_INFO, f);
    char esc[64];
    const char host[] = "evil\"\n}{";
    log_info("dhcp", "host %s said \"hi\"\tthere", log_escape(esc, sizeof esc, host, sizeof host - 1));
    log_debug("dhcp", "not shown at info");
    fclose(f);
    log_setup(LOG_FORMAT_TEXT, LOG_INFO, NULL);
    assert_non_null(strstr(buf, "\"level\":\"info\",\"room\":\"dhcp\","
                                "\"msg\":\"host evil\\\\\\\"\\\\x0a}{ said \\\"hi\\\"\\u0009there\"}\n"));
    assert_null(strstr(buf, "not shown"));
    assert_int_equal(strchr(buf, '\n') - buf + 1, (long)len); /* exactly one line */
    free(buf);
}

static void file_read_capped_reads_up_to_the_cap(void **state)
{
    (void)state;
    char path[] = "/tmp/mwt-file-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "12345", 5), 5);
    close(fd);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(file_read_capped(path, 5, &data, &len), 0); /* exactly the cap */
    assert_int_equal(len, 5);
    assert_string_equal(data, "12345");
    free(data);
    data = NULL;
    assert_int_equal(file_read_capped(path, 4, &data, &len), -E2BIG);
    assert_null(data);
    unlink(path);
    assert_int_equal(file_read_capped(path, 4, &data, &len), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_formats_every_octet_width),
        cmocka_unit_test(escape_keeps_printable_and_hexes_the_rest),
        cmocka_unit_test(escape_of_nul_bytes_is_visible),
        cmocka_unit_test(escape_cut_is_marked_and_terminated),
        cmocka_unit_test(json_safe_replaces_quotes_and_backslashes_only),
        cmocka_unit_test(parse_u64_rejects_out_of_range_and_junk),
        cmocka_unit_test(duration_suffixes_multiply),
        cmocka_unit_test(cidr_with_host_bits_is_rejected),
        cmocka_unit_test(mac_round_trips_and_rejects_junk),
        cmocka_unit_test(ratelimit_allows_burst_then_counts_suppressed),
        cmocka_unit_test(metrics_print_prometheus_text),
        cmocka_unit_test(json_log_line_is_escaped),
        cmocka_unit_test(file_read_capped_reads_up_to_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
