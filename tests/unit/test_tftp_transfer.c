/* The transfer state machine: negotiation, windows, acknowledgements,
 * retransmission and the end of a transfer, asserted on the packets it
 * hands out. No sockets: time is passed in. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tftp/tftp_transfer.h"
#include "test_tftp_helpers.h"

static const struct tftp_limits default_limits = {
    .max_blksize = 1468, .max_windowsize = 64, .timeout_ms = 1000, .retries = 3};

struct sent {
    uint16_t op, block;
    size_t len;           /* payload (DATA) or whole packet (others) */
    uint8_t bytes[1600];  /* the packet, header included, cut at 1600 */
};

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    tt_tmpdir(tmpdir, sizeof tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tt_rmtree(tmpdir);
    return 0;
}

/* A transfer of data (len bytes) asked for with mode and options
 * (name, value, ..., NULL). */
static struct tftp_transfer *start(const void *data, size_t len, const struct tftp_limits *lim, const char *mode,
                                   const char *const *opts)
{
    uint8_t req[512];
    size_t n = tt_request(req, sizeof req, TFTP_RRQ, "file", mode, NULL);
    for (size_t i = 0; opts && opts[i]; i++) {
        size_t l = strlen(opts[i]) + 1;
        memcpy(req + n, opts[i], l);
        n += l;
    }
    tt_write(tmpdir, "file", data, len);
    char path[128];
    snprintf(path, sizeof path, "%s/file", tmpdir);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct tftp_packet p;
    enum tftp_bad why;
    assert_int_equal(tftp_parse(req, n, &p, &why), 0);
    struct tftp_transfer *t = NULL;
    assert_int_equal(tftp_transfer_new(&p.u.req, fd, len, lim, 1000, &t), 0);
    return t;
}

static size_t drain(struct tftp_transfer *t, struct sent *out, size_t max)
{
    struct tftp_out o;
    size_t n = 0;
    while (tftp_transfer_pull(t, &o)) {
        assert_true(n < max);
        struct sent *s = &out[n++];
        s->op = tt_u16(o.hdr);
        s->block = o.hdr_len >= 4 ? tt_u16(o.hdr + 2) : 0;
        s->len = s->op == 3 ? o.data_len : o.hdr_len;
        size_t h = o.hdr_len < sizeof s->bytes ? o.hdr_len : sizeof s->bytes;
        memcpy(s->bytes, o.hdr, h);
        size_t d = o.data_len < sizeof s->bytes - h ? o.data_len : sizeof s->bytes - h;
        if (d)
            memcpy(s->bytes + h, o.data, d);
    }
    return n;
}

static enum tftp_rx ack(struct tftp_transfer *t, uint16_t block, uint64_t now)
{
    uint8_t b[4];
    return tftp_transfer_receive(t, b, tt_ack(b, block), now);
}

static uint8_t *pattern(size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + (i >> 9));
    return p;
}

static void plain_rrq_sends_block_1_without_oack(void **state)
{
    (void)state;
    uint8_t *d = pattern(700);
    struct tftp_transfer *t = start(d, 700, &default_limits, "octet", NULL);
    struct sent s[4];
    assert_int_equal(drain(t, s, 4), 1);
    assert_int_equal(s[0].op, TFTP_DATA);
    assert_int_equal(s[0].block, 1);
    assert_int_equal(s[0].len, 512);
    assert_memory_equal(s[0].bytes + 4, d, 512);
    assert_int_equal(ack(t, 1, 1100), TFTP_RX_OK);
    assert_int_equal(drain(t, s, 4), 1);
    assert_int_equal(s[0].block, 2);
    assert_int_equal(s[0].len, 188);
    assert_memory_equal(s[0].bytes + 4, d + 512, 188);
    assert_int_equal(ack(t, 2, 1200), TFTP_RX_OK);
    assert_int_equal(tftp_transfer_state(t), TFTP_DONE);
    assert_int_equal(tftp_transfer_end(t), TFTP_END_COMPLETE);
    assert_int_equal(drain(t, s, 4), 0);
    tftp_transfer_free(t);
    free(d);
}

static void oack_only_lists_accepted_options(void **state)
{
    (void)state;
    uint8_t *d = pattern(5000);
    const char *opts[] = {"blksize", "1024", "multicast", "", "tsize", "0", "rollover", "0", NULL};
    struct tftp_transfer *t = start(d, 5000, &default_limits, "octet", opts);
    struct sent s[4];
    assert_int_equal(drain(t, s, 4), 1);
    const uint8_t want[] = "\0\6blksize\0001024\0tsize\0005000";
    assert_int_equal(s[0].len, sizeof want);
    assert_memory_equal(s[0].bytes, want, sizeof want);
    assert_int_equal(tftp_transfer_state(t), TFTP_WAIT_OACK_ACK);
    /* Nothing else until ACK 0 arrives. */
    assert_int_equal(ack(t, 1, 1001), TFTP_RX_STALE);
    assert_int_equal(drain(t, s, 4), 0);
    assert_int_equal(ack(t, 0, 1002), TFTP_RX_OK);
    assert_int_equal(drain(t, s, 4), 1);
    assert_int_equal(s[0].block, 1);
    assert_int_equal(s[0].len, 1024);
    tftp_transfer_free(t);
    free(d);
}

static void blksize_is_capped(void **state)
{
    (void)state;
    uint8_t *d = pattern(100000);
    const char *opts[] = {"blksize", "65464", NULL};
    struct tftp_transfer *t = start(d, 100000, &default_limits, "octet", opts);
    struct sent s[2];
    assert_int_equal(drain(t, s, 2), 1);
    const uint8_t want[] = "\0\6blksize\0001468";
    assert_memory_equal(s[0].bytes, want, sizeof want);
    ack(t, 0, 1001);
    assert_int_equal(drain(t, s, 2), 1);
    assert_int_equal(s[0].len, 1468);
    tftp_transfer_free(t);
    free(d);
}

static void windowsize_is_capped(void **state)
{
    (void)state;
    struct tftp_limits lim = default_limits;
    lim.max_windowsize = 8;
    uint8_t *d = pattern(100000);
    const char *opts[] = {"windowsize", "32", NULL};
    struct tftp_transfer *t = start(d, 100000, &lim, "octet", opts);
    struct sent s[40];
    assert_int_equal(drain(t, s, 40), 1);
    const uint8_t want[] = "\0\6windowsize\0008";
    assert_memory_equal(s[0].bytes, want, sizeof want);
    ack(t, 0, 1001);
    assert_int_equal(drain(t, s, 40), 8);
    tftp_transfer_free(t);
    free(d);
}

static void window_16_sends_16_blocks(void **state)
{
    (void)state;
    size_t len = 1468 * 40 + 100;
    uint8_t *d = pattern(len);
    const char *opts[] = {"blksize", "1468", "windowsize", "16", NULL};
    struct tftp_transfer *t = start(d, len, &default_limits, "octet", opts);
    struct sent s[20];
    drain(t, s, 20);
    ack(t, 0, 1001);
    assert_int_equal(drain(t, s, 20), 16);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(s[i].block, i + 1);
        assert_int_equal(s[i].len, 1468);
        assert_memory_equal(s[i].bytes + 4, d + (size_t)i * 1468, 1468);
    }
    /* The ACK of the window's last block opens the next window. */
    assert_int_equal(ack(t, 16, 1002), TFTP_RX_OK);
    assert_int_equal(drain(t, s, 20), 16);
    assert_int_equal(s[0].block, 17);
    assert_int_equal(s[15].block, 32);
    assert_int_equal(ack(t, 32, 1003), TFTP_RX_OK);
    /* 9 blocks left: 8 full and the 100-byte last one. */
    assert_int_equal(drain(t, s, 20), 9);
    assert_int_equal(s[8].block, 41);
    assert_int_equal(s[8].len, 100);
    assert_memory_equal(s[8].bytes + 4, d + 40 * 1468, 100);
    assert_int_equal(ack(t, 41, 1004), TFTP_RX_OK);
    assert_int_equal(tftp_transfer_state(t), TFTP_DONE);
    tftp_transfer_free(t);
    free(d);
}

static void duplicate_ack_sends_nothing(void **state)
{
    (void)state;
    uint8_t *d = pattern(20000);
    const char *opts[] = {"windowsize", "4", NULL};
    struct tftp_transfer *t = start(d, 20000, &default_limits, "octet", opts);
    struct sent s[8];
    drain(t, s, 8);
    ack(t, 0, 1001);
    assert_int_equal(drain(t, s, 8), 4);
    /* The sorcerer's apprentice: a repeated ACK 0 must not send anything. */
    assert_int_equal(ack(t, 0, 1002), TFTP_RX_DUPLICATE);
    assert_int_equal(drain(t, s, 8), 0);
    assert_int_equal(ack(t, 4, 1003), TFTP_RX_OK);
    assert_int_equal(drain(t, s, 8), 4);
    assert_int_equal(ack(t, 4, 1004), TFTP_RX_DUPLICATE);
    assert_int_equal(ack(t, 4, 1005), TFTP_RX_DUPLICATE);
    assert_int_equal(drain(t, s, 8), 0);
    tftp_transfer_free(t);
    free(d);
}

static void ack_inside_window_resends_from_next_block(void **state)
{
    (void)state;
    uint8_t *d = pattern(100000);
    const char *opts[] = {"windowsize", "16", NULL};
    struct tftp_transfer *t = start(d, 100000, &default_limits, "octet", opts);
    struct sent s[20];
    drain(t, s, 20);
    ack(t, 0, 1001);
    assert_int_equal(drain(t, s, 20), 16);
    /* The client got 1..5 and lost 6: it acknowledges 5. */
    assert_int_equal(ack(t, 5, 1002), TFTP_RX_OK);
    assert_int_equal(drain(t, s, 20), 16);
    assert_int_equal(s[0].block, 6);
    assert_int_equal(s[15].block, 21);
    assert_memory_equal(s[0].bytes + 4, d + 5 * 512, 512);
    /* An ACK for a block never sent is ignored. */
    assert_int_equal(ack(t, 40, 1003), TFTP_RX_STALE);
    assert_int_equal(drain(t, s, 20), 0);
    tftp_transfer_free(t);
    free(d);
}

static void timeout_retransmits_with_backoff_then_gives_up(void **state)
{
    (void)state;
    uint8_t *d = pattern(3000);
    const char *opts[] = {"windowsize", "2", NULL};
    struct tftp_transfer *t = start(d, 3000, &default_limits, "octet", opts);
    struct sent s[4];
    drain(t, s, 4);
    ack(t, 0, 2000);
    assert_int_equal(drain(t, s, 4), 2);
    assert_int_equal(tftp_transfer_deadline(t), 3000);
    tftp_transfer_timeout(t, 2999); /* early: nothing */
    assert_int_equal(drain(t, s, 4), 0);
    /* Each timeout resends the whole unacknowledged window, waiting twice
     * as long before the next one. */
    uint64_t now = 3000, wait = 2000;
    for (int i = 0; i < 3; i++) {
        tftp_transfer_timeout(t, now);
        assert_int_equal(drain(t, s, 4), 2);
        assert_int_equal(s[0].block, 1);
        assert_int_equal(s[1].block, 2);
        assert_int_equal(tftp_transfer_deadline(t), now + wait);
        now += wait;
        wait *= 2;
    }
    tftp_transfer_timeout(t, now);
    assert_int_equal(drain(t, s, 4), 1);
    const uint8_t want[] = "\0\5\0\0timed out";
    assert_memory_equal(s[0].bytes, want, sizeof want);
    assert_int_equal(tftp_transfer_state(t), TFTP_FAILED);
    assert_int_equal(tftp_transfer_end(t), TFTP_END_TIMEOUT);
    tftp_transfer_free(t);
    free(d);
}

static void progress_resets_the_backoff(void **state)
{
    (void)state;
    uint8_t *d = pattern(3000);
    struct tftp_transfer *t = start(d, 3000, &default_limits, "octet", NULL);
    struct sent s[4];
    drain(t, s, 4);
    tftp_transfer_timeout(t, 2000);
    assert_int_equal(drain(t, s, 4), 1);
    tftp_transfer_timeout(t, 4000);
    assert_int_equal(drain(t, s, 4), 1);
    assert_int_equal(tftp_transfer_deadline(t), 8000);
    ack(t, 1, 4100);
    assert_int_equal(tftp_transfer_deadline(t), 5100);
    tftp_transfer_free(t);
    free(d);
}

static void negotiated_timeout_is_used(void **state)
{
    (void)state;
    uint8_t *d = pattern(3000);
    const char *opts[] = {"timeout", "3", NULL};
    struct tftp_transfer *t = start(d, 3000, &default_limits, "octet", opts);
    struct sent s[4];
    drain(t, s, 4);
    const uint8_t want[] = "\0\6timeout\0003";
    assert_memory_equal(s[0].bytes, want, sizeof want);
    assert_int_equal(tftp_transfer_deadline(t), 1000 + 3000);
    /* The OACK itself is retransmitted until ACK 0 comes. */
    tftp_transfer_timeout(t, 4000);
    assert_int_equal(drain(t, s, 4), 1);
    assert_int_equal(s[0].op, TFTP_OACK);
    tftp_transfer_free(t);
    free(d);
}

static void final_block_is_empty_when_size_is_multiple(void **state)
{
    (void)state;
    uint8_t *d = pattern(1024);
    struct tftp_transfer *t = start(d, 1024, &default_limits, "octet", NULL);
    struct sent s[2];
    assert_int_equal(drain(t, s, 2), 1);
    assert_int_equal(s[0].len, 512);
    ack(t, 1, 1001);
    assert_int_equal(drain(t, s, 2), 1);
    assert_int_equal(s[0].len, 512);
    ack(t, 2, 1002);
    assert_int_equal(drain(t, s, 2), 1);
    assert_int_equal(s[0].block, 3);
    assert_int_equal(s[0].len, 0);
    ack(t, 3, 1003);
    assert_int_equal(tftp_transfer_state(t), TFTP_DONE);
    tftp_transfer_free(t);
    free(d);
}

static void empty_file_is_one_empty_block(void **state)
{
    (void)state;
    struct tftp_transfer *t = start("", 0, &default_limits, "octet", NULL);
    struct sent s[2];
    assert_int_equal(drain(t, s, 2), 1);
    assert_int_equal(s[0].block, 1);
    assert_int_equal(s[0].len, 0);
    ack(t, 1, 1001);
    assert_int_equal(tftp_transfer_state(t), TFTP_DONE);
    tftp_transfer_free(t);
}

static void block_number_rolls_over(void **state)
{
    (void)state;
    /* blksize 8 makes 65536+ blocks cheap: 65540 blocks, the last short. */
    size_t len = 8 * 65539 + 3;
    uint8_t *d = pattern(len);
    const char *opts[] = {"blksize", "8", NULL};
    struct tftp_transfer *t = start(d, len, &default_limits, "octet", opts);
    struct sent s[2];
    drain(t, s, 2);
    ack(t, 0, 1001);
    uint64_t k;
    for (k = 1;; k++) {
        assert_int_equal(drain(t, s, 2), 1);
        assert_int_equal(s[0].block, (uint16_t)k);
        size_t want = k < 65540 ? 8 : 3;
        assert_int_equal(s[0].len, want);
        if (memcmp(s[0].bytes + 4, d + (k - 1) * 8, want) != 0)
            fail_msg("block %llu differs", (unsigned long long)k);
        /* The ACK of block 65536 is ACK 0: it must advance, not be taken
         * for a duplicate of the OACK's ACK 0. */
        assert_int_equal(ack(t, (uint16_t)k, 1002), TFTP_RX_OK);
        if (tftp_transfer_state(t) == TFTP_DONE)
            break;
    }
    assert_int_equal(k, 65540);
    assert_int_equal(tftp_transfer_bytes_sent(t), len);
    tftp_transfer_free(t);
    free(d);
}

static void error_after_tsize_probe_frees_transfer(void **state)
{
    (void)state;
    uint8_t *d = pattern(4096);
    const char *opts[] = {"tsize", "0", NULL};
    struct tftp_transfer *t = start(d, 4096, &default_limits, "octet", opts);
    struct sent s[2];
    assert_int_equal(drain(t, s, 2), 1);
    const uint8_t want[] = "\0\6tsize\0004096";
    assert_memory_equal(s[0].bytes, want, sizeof want);
    /* UEFI: takes the size from the OACK and ends with ERROR 8. */
    const uint8_t err[] = {0, 5, 0, 8, 'a', 'b', 'o', 'r', 't', 0};
    assert_int_equal(tftp_transfer_receive(t, err, sizeof err, 1001), TFTP_RX_OK);
    assert_int_equal(tftp_transfer_state(t), TFTP_FAILED);
    assert_int_equal(tftp_transfer_end(t), TFTP_END_CLIENT_ERROR);
    const char *msg;
    assert_int_equal(tftp_transfer_client_error(t, &msg), 8);
    assert_string_equal(msg, "abort");
    /* Nothing is sent in reply, and later timeouts change nothing. */
    assert_int_equal(drain(t, s, 2), 0);
    tftp_transfer_timeout(t, 100000);
    assert_int_equal(drain(t, s, 2), 0);
    assert_int_equal(ack(t, 0, 100001), TFTP_RX_UNEXPECTED);
    tftp_transfer_free(t);
    free(d);
}

static void netascii_converts_lf_to_crlf(void **state)
{
    (void)state;
    const char text[] = "a\nb\rc\r\n";
    const char *opts[] = {"tsize", "0", NULL};
    struct tftp_transfer *t = start(text, sizeof text - 1, &default_limits, "netascii", opts);
    struct sent s[2];
    /* tsize is not offered for netascii (the wire size differs), and no
     * other option was accepted: no OACK, data at once. */
    assert_int_equal(drain(t, s, 2), 1);
    assert_int_equal(s[0].op, TFTP_DATA);
    const uint8_t want[] = {'a', '\r', '\n', 'b', '\r', 0, 'c', '\r', 0, '\r', '\n'};
    assert_int_equal(s[0].len, sizeof want);
    assert_memory_equal(s[0].bytes + 4, want, sizeof want);
    ack(t, 1, 1001);
    assert_int_equal(tftp_transfer_state(t), TFTP_DONE);
    tftp_transfer_free(t);
}

static void netascii_pair_split_across_blocks(void **state)
{
    (void)state;
    /* 7 plain bytes then LF: CR ends block 1 (blksize 8), LF opens block 2. */
    const char text[] = "1234567\nxyz";
    const char *opts[] = {"blksize", "8", NULL};
    struct tftp_transfer *t = start(text, sizeof text - 1, &default_limits, "netascii", opts);
    struct sent s[2];
    drain(t, s, 2);
    ack(t, 0, 1001);
    assert_int_equal(drain(t, s, 2), 1);
    assert_int_equal(s[0].len, 8);
    assert_memory_equal(s[0].bytes + 4, "1234567\r", 8);
    ack(t, 1, 1002);
    assert_int_equal(drain(t, s, 2), 1);
    assert_int_equal(s[0].len, 4);
    assert_memory_equal(s[0].bytes + 4, "\nxyz", 4);
    tftp_transfer_free(t);
}

static void large_file_arrives_intact_through_windows(void **state)
{
    (void)state;
    /* More than the read-ahead buffer, with losses: every byte must
     * arrive in order, whatever the ACK pattern. */
    size_t len = 300000;
    uint8_t *d = pattern(len);
    uint8_t *got = calloc(1, len);
    const char *opts[] = {"blksize", "1000", "windowsize", "7", NULL};
    struct tftp_transfer *t = start(d, len, &default_limits, "octet", opts);
    static struct sent s[8];
    drain(t, s, 8);
    ack(t, 0, 1001);
    uint16_t have = 0;
    for (int round = 0; tftp_transfer_state(t) == TFTP_SENDING; round++) {
        size_t n = drain(t, s, 8);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            /* Lose one packet in five rounds, in the middle of a window. */
            if (round % 5 == 4 && i == 3)
                break;
            if (s[i].block != (uint16_t)(have + 1))
                break;
            memcpy(got + (size_t)(s[i].block - 1) * 1000, s[i].bytes + 4, s[i].len);
            have = s[i].block;
        }
        ack(t, have, 1002);
    }
    assert_int_equal(tftp_transfer_state(t), TFTP_DONE);
    assert_memory_equal(got, d, len);
    tftp_transfer_free(t);
    free(d);
    free(got);
}

static void abort_sends_error_0(void **state)
{
    (void)state;
    struct tftp_transfer *t = start("hello", 5, &default_limits, "octet", NULL);
    struct sent s[2];
    drain(t, s, 2);
    tftp_transfer_abort(t, "server shutting down");
    assert_int_equal(drain(t, s, 2), 1);
    const uint8_t want[] = "\0\5\0\0server shutting down";
    assert_memory_equal(s[0].bytes, want, sizeof want);
    assert_int_equal(tftp_transfer_end(t), TFTP_END_ABORTED);
    tftp_transfer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_rrq_sends_block_1_without_oack),
        cmocka_unit_test(oack_only_lists_accepted_options),
        cmocka_unit_test(blksize_is_capped),
        cmocka_unit_test(windowsize_is_capped),
        cmocka_unit_test(window_16_sends_16_blocks),
        cmocka_unit_test(duplicate_ack_sends_nothing),
        cmocka_unit_test(ack_inside_window_resends_from_next_block),
        cmocka_unit_test(timeout_retransmits_with_backoff_then_gives_up),
        cmocka_unit_test(progress_resets_the_backoff),
        cmocka_unit_test(negotiated_timeout_is_used),
        cmocka_unit_test(final_block_is_empty_when_size_is_multiple),
        cmocka_unit_test(empty_file_is_one_empty_block),
        cmocka_unit_test(block_number_rolls_over),
        cmocka_unit_test(error_after_tsize_probe_frees_transfer),
        cmocka_unit_test(netascii_converts_lf_to_crlf),
        cmocka_unit_test(netascii_pair_split_across_blocks),
        cmocka_unit_test(large_file_arrives_intact_through_windows),
        cmocka_unit_test(abort_sends_error_0),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
