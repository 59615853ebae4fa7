/* cli/cli_sse: the Server-Sent Events parser behind `midwife events
 * --follow`, fed the way libcurl hands bytes over: in chunks cut anywhere. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli_sse.h"

#define MAX_SEEN 16

struct seen {
    size_t n;
    char type[MAX_SEEN][SSE_FIELD_MAX];
    char data[MAX_SEEN][256];
    size_t data_len[MAX_SEEN];
    char id[MAX_SEEN][SSE_FIELD_MAX];
    size_t stop_after; /* 0 = never stop */
};

static int collect(void *arg, const struct sse_event *ev)
{
    struct seen *s = arg;
    assert_true(s->n < MAX_SEEN);
    snprintf(s->type[s->n], sizeof s->type[0], "%s", ev->type);
    assert_true(ev->data_len < sizeof s->data[0]);
    memcpy(s->data[s->n], ev->data, ev->data_len + 1);
    s->data_len[s->n] = ev->data_len;
    snprintf(s->id[s->n], sizeof s->id[0], "%s", ev->last_id);
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

static struct sse_parser *parser(void)
{
    struct sse_parser *p = malloc(sizeof *p);
    assert_non_null(p);
    sse_init(p);
    return p;
}

static void feed(struct sse_parser *p, struct seen *s, const char *text)
{
    assert_int_equal(sse_feed(p, text, strlen(text), collect, s), 0);
}

static void one_event_with_id_type_and_data(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, "id: 41\nevent: dhcp.ack\ndata: {\"id\":41}\n\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.type[0], "dhcp.ack");
    assert_string_equal(s.data[0], "{\"id\":41}");
    assert_string_equal(s.id[0], "41");
    assert_string_equal(p->last_id, "41");
    free(p);
}

/* The same stream cut at every byte, and byte by byte, gives the same
 * events: libcurl's chunks fall anywhere, CRLF pairs included. */
static void a_stream_cut_anywhere_gives_the_same_events(void **state)
{
    (void)state;
    const char stream[] = "\xef\xbb\xbf: hello\r\nid: 1\r\nevent: tftp.done\r\ndata: a\r\ndata: b\r\n\r\n"
                          "id: 2\rdata: c\r\r"
                          "data: d\n\n";
    size_t len = strlen(stream);
    for (size_t cut = 0; cut <= len; cut++) {
        struct sse_parser *p = parser();
        struct seen s = {0};
        assert_int_equal(sse_feed(p, stream, cut, collect, &s), 0);
        assert_int_equal(sse_feed(p, stream + cut, len - cut, collect, &s), 0);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.type[0], "tftp.done");
        assert_string_equal(s.data[0], "a\nb");
        assert_string_equal(s.id[0], "1");
        assert_string_equal(s.type[1], "message");
        assert_string_equal(s.data[1], "c");
        assert_string_equal(s.id[1], "2");
        assert_string_equal(s.data[2], "d");
        assert_string_equal(s.id[2], "2"); /* the last event ID stays */
        free(p);
    }
    struct sse_parser *p = parser();
    struct seen s = {0};
    for (size_t i = 0; i < len; i++)
        assert_int_equal(sse_feed(p, stream + i, 1, collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.data[0], "a\nb");
    free(p);
}

/* A CR that ends one chunk and the LF that starts the next are one line
 * end, not an empty line that would dispatch half an event. */
static void cr_then_lf_in_the_next_chunk_is_one_line_end(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, "data: first\r");
    feed(p, &s, "\ndata: second\r");
    assert_int_equal(s.n, 0);
    feed(p, &s, "\n\r\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "first\nsecond");
    free(p);
}

static void comments_are_ignored_even_between_data_lines(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, ":keepalive\n\n: another\n\n");
    assert_int_equal(s.n, 0);
    feed(p, &s, "data: x\n: in between\ndata: y\n\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "x\ny");
    free(p);
}

static void multi_line_data_keeps_empty_lines_and_drops_one_space(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, "data: a\ndata\ndata:  b\ndata:c\n\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "a\n\n b\nc");
    /* One empty data line is an event with empty data. */
    feed(p, &s, "data:\n\n");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.data_len[1], 0);
    free(p);
}

static void an_event_without_data_is_not_dispatched_and_its_type_is_forgotten(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, "event: dhcp.nak\n\n");
    assert_int_equal(s.n, 0);
    feed(p, &s, "data: later\n\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.type[0], "message");
    free(p);
}

static void id_persists_resets_when_empty_and_ignores_nul(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, "id: 9\ndata: a\n\ndata: b\n\n");
    assert_string_equal(s.id[1], "9");
    const char nul_id[] = "id: 1\0002\ndata: c\n\n";
    assert_int_equal(sse_feed(p, nul_id, sizeof nul_id - 1, collect, &s), 0);
    assert_string_equal(s.id[2], "9");
    /* An id alone (no data) still moves the resume point. */
    feed(p, &s, "id: 12\n\n");
    assert_string_equal(p->last_id, "12");
    feed(p, &s, "id\ndata: d\n\n");
    assert_string_equal(s.id[3], "");
    free(p);
}

static void retry_takes_digits_only(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    assert_int_equal(p->retry_ms, -1);
    feed(p, &s, "retry: 2500\n");
    assert_int_equal(p->retry_ms, 2500);
    feed(p, &s, "retry: 3s\nretry: -1\nretry:\n");
    assert_int_equal(p->retry_ms, 2500);
    free(p);
}

static void unknown_fields_are_ignored(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, "colour: red\nDATA: no\ndata: yes\n\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "yes");
    free(p);
}

/* What a dropped connection leaves half-read is discarded; the resume
 * point and the reconnection time survive for the next connection. */
static void a_lost_connection_discards_the_partial_event(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, "retry: 700\nid: 3\ndata: whole\n\nid: 4\ndata: half");
    assert_int_equal(s.n, 1);
    sse_reset_connection(p);
    assert_string_equal(p->last_id, "4");
    assert_int_equal(p->retry_ms, 700);
    feed(p, &s, "\n\n");
    assert_int_equal(s.n, 1);
    feed(p, &s, "data: next\n\n");
    assert_int_equal(s.n, 2);
    assert_string_equal(s.data[1], "next");
    free(p);
}

static void an_overlong_line_spoils_only_its_event(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    size_t n = SSE_LINE_MAX + 100;
    char *big = malloc(n + 16);
    assert_non_null(big);
    memcpy(big, "data: ", 6);
    memset(big + 6, 'x', n - 6);
    memcpy(big + n, "\ndata: y\n\n", 11);
    assert_int_equal(sse_feed(p, big, strlen(big), collect, &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(p->dropped, 1);
    feed(p, &s, "data: fine\n\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "fine");
    free(big);
    free(p);
}

static void data_over_the_cap_spoils_the_event(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    char line[1024 + 8];
    memcpy(line, "data: ", 6);
    memset(line + 6, 'z', 1024);
    line[1030] = '\n';
    line[1031] = '\0';
    for (size_t i = 0; i <= SSE_DATA_MAX / 1024; i++)
        feed(p, &s, line);
    feed(p, &s, "\n");
    assert_int_equal(s.n, 0);
    assert_int_equal(p->dropped, 1);
    feed(p, &s, "data: ok\n\n");
    assert_int_equal(s.n, 1);
    free(p);
}

static void a_bom_only_counts_at_the_start(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {0};
    feed(p, &s, "\xef\xbb");
    feed(p, &s, "\xbf" "data: x\n\n");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "x");
    /* Later, the same bytes are data. */
    feed(p, &s, "data: \xef\xbb\xbf\n\n");
    assert_string_equal(s.data[1], "\xef\xbb\xbf");
    free(p);
    /* Not a BOM after all: the bytes are kept. */
    p = parser();
    feed(p, &s, "\xef" "data: y\n\n");
    assert_int_equal(s.n, 2); /* field "\xefdata" is unknown */
    free(p);
}

static void a_callback_can_stop_the_stream(void **state)
{
    (void)state;
    struct sse_parser *p = parser();
    struct seen s = {.stop_after = 2};
    const char stream[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    assert_int_equal(sse_feed(p, stream, strlen(stream), collect, &s), 7);
    assert_int_equal(s.n, 2);
    assert_int_equal(p->events, 2);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_event_with_id_type_and_data),
        cmocka_unit_test(a_stream_cut_anywhere_gives_the_same_events),
        cmocka_unit_test(cr_then_lf_in_the_next_chunk_is_one_line_end),
        cmocka_unit_test(comments_are_ignored_even_between_data_lines),
        cmocka_unit_test(multi_line_data_keeps_empty_lines_and_drops_one_space),
        cmocka_unit_test(an_event_without_data_is_not_dispatched_and_its_type_is_forgotten),
        cmocka_unit_test(id_persists_resets_when_empty_and_ignores_nul),
        cmocka_unit_test(retry_takes_digits_only),
        cmocka_unit_test(unknown_fields_are_ignored),
        cmocka_unit_test(a_lost_connection_discards_the_partial_event),
        cmocka_unit_test(an_overlong_line_spoils_only_its_event),
        cmocka_unit_test(data_over_the_cap_spoils_the_event),
        cmocka_unit_test(a_bom_only_counts_at_the_start),
        cmocka_unit_test(a_callback_can_stop_the_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
