/* store/ events: the flight recorder's append, every query filter, and
 * bounded retention. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/store_events.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/midwife-test-store-events-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_store(void)
{
    struct store *st = NULL;
    char err[256];
    if (store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0)
        fail_msg("store_open: %s", err);
    return st;
}

static const char MAC_A[] = "52:54:00:00:00:0a", MAC_B[] = "52:54:00:00:00:0b";

/* The events every query test reads: ids 1..10 in this order. */
static const struct {
    int64_t ts, host_id;
    const char *mac, *kind;
} rows[] = {
    {1000, 0, MAC_A, "dhcp.discover"}, /* 1 */
    {1001, 0, MAC_A, "dhcp.offer"},    /* 2 */
    {1002, 0, MAC_A, "dhcp.request"},  /* 3 */
    {1003, 7, MAC_A, "dhcp.ack"},      /* 4 */
    {1004, 7, MAC_A, "tftp.start"},    /* 5 */
    {1005, 0, MAC_B, "dhcp.ack"},      /* 6 */
    {1006, 7, MAC_A, "hook.done"},     /* 7 */
    {1007, 7, "", "webhook.done"},     /* 8 */
    {1008, 0, "", "dhcpx.odd"},        /* 9: not in the dhcp room */
    {1009, 7, MAC_A, "dhcp.ack"},      /* 10 */
};
#define N_ROWS (sizeof rows / sizeof rows[0])

static void append_rows(struct store *st)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        struct event ev = {.ts_ms = rows[i].ts, .host_id = rows[i].host_id};
        snprintf(ev.mac, sizeof ev.mac, "%s", rows[i].mac);
        snprintf(ev.kind, sizeof ev.kind, "%s", rows[i].kind);
        assert_int_equal(store_event_append(st, &ev), 0);
        assert_int_equal(ev.id, (int64_t)i + 1);
    }
}

struct ids {
    char text[256];
    size_t stop_after;
    size_t n;
};

static int collect_ids(const struct event *ev, void *arg)
{
    struct ids *c = arg;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof c->text - len, "%s%lld", len ? "," : "", (long long)ev->id);
    c->n++;
    return c->stop_after && c->n >= c->stop_after ? 7 : 0;
}

static const char *query(struct store *st, const struct event_filter *f, struct ids *c)
{
    memset(c, 0, sizeof *c);
    int r = store_event_query(st, f, collect_ids, c);
    if (r != 0)
        fail_msg("store_event_query: %d", r);
    return c->text;
}

static int copy_event(const struct event *ev, void *arg)
{
    struct event *out = arg;
    *out = *ev;
    out->data = ev->data ? strdup(ev->data) : NULL;
    return 0;
}

static void append_round_trips_every_field(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct event ev = {.ts_ms = 1733088600123, .host_id = 3, .boot_id = 2, .status = EVENT_FAIL,
                       .data = "{\"file\":\"undionly.kpxe\",\"ms\":12}"};
    snprintf(ev.host, sizeof ev.host, "esx-01");
    snprintf(ev.mac, sizeof ev.mac, "52:54:00:AB:CD:EF"); /* stored lowercase */
    snprintf(ev.kind, sizeof ev.kind, "tftp.error");
    snprintf(ev.message, sizeof ev.message, "transfer of undionly.kpxe timed out");
    assert_int_equal(store_event_append(st, &ev), 0);
    assert_int_equal(ev.id, 1);
    struct event plain = {.ts_ms = 5};
    snprintf(plain.kind, sizeof plain.kind, "dhcp.discover");
    assert_int_equal(store_event_append(st, &plain), 0);
    assert_int_equal(plain.id, 2);

    struct event got = {0};
    assert_int_equal(store_event_query(st, &(struct event_filter){.before_id = 2}, copy_event, &got), 0);
    assert_int_equal(got.id, 1);
    assert_int_equal(got.ts_ms, 1733088600123);
    assert_int_equal(got.host_id, 3);
    assert_string_equal(got.host, "esx-01");
    assert_string_equal(got.mac, "52:54:00:ab:cd:ef");
    assert_int_equal(got.boot_id, 2);
    assert_string_equal(got.kind, "tftp.error");
    assert_int_equal(got.status, EVENT_FAIL);
    assert_string_equal(got.message, "transfer of undionly.kpxe timed out");
    assert_non_null(got.data);
    assert_string_equal(got.data, "{\"file\":\"undionly.kpxe\",\"ms\":12}");
    free(got.data);
    memset(&got, 0, sizeof got);
    assert_int_equal(store_event_query(st, &(struct event_filter){.after_id = 1}, copy_event, &got), 0);
    assert_int_equal(got.id, 2);
    assert_null(got.data);
    assert_int_equal(got.status, EVENT_INFO);
    assert_string_equal(got.mac, "");
    assert_string_equal(got.host, "");
    assert_string_equal(event_status_name(EVENT_OK), "ok");

    /* Refused: no kind, an unknown status. Nothing is stored. */
    struct event bad = {.ts_ms = 1};
    assert_int_equal(store_event_append(st, &bad), -EINVAL);
    snprintf(bad.kind, sizeof bad.kind, "x.y");
    bad.status = (enum event_status)5;
    assert_int_equal(store_event_append(st, &bad), -EINVAL);
    struct ids c;
    assert_string_equal(query(st, NULL, &c), "1,2");
    store_close(st);
}

static void every_filter_selects_what_it_names(void **state)
{
    (void)state;
    struct store *st = open_store();
    append_rows(st);
    struct ids c;
    assert_string_equal(query(st, NULL, &c), "1,2,3,4,5,6,7,8,9,10");
    /* Kind: a room matches its dotted kinds, a full kind only itself. */
    assert_string_equal(query(st, &(struct event_filter){.kind = "dhcp"}, &c), "1,2,3,4,6,10");
    assert_string_equal(query(st, &(struct event_filter){.kind = "dhcp.ack"}, &c), "4,6,10");
    assert_string_equal(query(st, &(struct event_filter){.kind = "dhcp.a"}, &c), "");
    assert_string_equal(query(st, &(struct event_filter){.kind = "hook"}, &c), "7"); /* not webhook.* */
    assert_string_equal(query(st, &(struct event_filter){.kind = "dhcpx"}, &c), "9");
    /* Host, MAC (any case). */
    assert_string_equal(query(st, &(struct event_filter){.host_id = 7}, &c), "4,5,7,8,10");
    assert_string_equal(query(st, &(struct event_filter){.mac = MAC_B}, &c), "6");
    assert_string_equal(query(st, &(struct event_filter){.mac = "52:54:00:00:00:0A"}, &c), "1,2,3,4,5,7,10");
    /* Id bounds and time. */
    assert_string_equal(query(st, &(struct event_filter){.after_id = 7}, &c), "8,9,10");
    assert_string_equal(query(st, &(struct event_filter){.before_id = 3}, &c), "1,2");
    assert_string_equal(query(st, &(struct event_filter){.after_id = 2, .before_id = 5}, &c), "3,4");
    assert_string_equal(query(st, &(struct event_filter){.since_ms = 1008}, &c), "9,10");
    /* Combined: every filter must hold. */
    assert_string_equal(query(st, &(struct event_filter){.mac = MAC_A, .kind = "dhcp", .host_id = 7}, &c), "4,10");
    assert_string_equal(query(st, &(struct event_filter){.mac = MAC_A, .kind = "dhcp", .after_id = 1, .limit = 2},
                              &c),
                        "2,3");
    assert_string_equal(query(st, &(struct event_filter){.kind = "tftp", .since_ms = 1005}, &c), "");
    /* Newest first: limit takes the newest. */
    assert_string_equal(query(st, &(struct event_filter){.newest_first = true, .limit = 3}, &c), "10,9,8");
    assert_string_equal(
        query(st, &(struct event_filter){.newest_first = true, .limit = 2, .kind = "dhcp", .before_id = 10}, &c),
        "6,4");
    assert_string_equal(query(st, &(struct event_filter){.limit = 3}, &c), "1,2,3");
    /* The callback stops the walk; its value comes back. */
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    assert_int_equal(store_event_query(st, &(struct event_filter){.host_id = 7}, collect_ids, &c), 7);
    assert_string_equal(c.text, "4,5");
    store_close(st);
}

static void prune_bounds_count_and_age(void **state)
{
    (void)state;
    struct store *st = open_store();
    append_rows(st);
    uint64_t n = 99;
    struct ids c;
    assert_int_equal(store_event_prune(st, 100, 0, &n), 0); /* under both bounds */
    assert_int_equal(n, 0);
    assert_int_equal(store_event_prune(st, 7, 0, &n), 0); /* the newest 7 stay */
    assert_int_equal(n, 3);
    assert_string_equal(query(st, NULL, &c), "4,5,6,7,8,9,10");
    assert_int_equal(store_event_prune(st, 100, 1006, &n), 0); /* older than ts 1006 go */
    assert_int_equal(n, 3);
    assert_string_equal(query(st, NULL, &c), "7,8,9,10");
    assert_int_equal(store_event_prune(st, 3, 1008, &n), 0); /* both bounds at once */
    assert_int_equal(n, 2);
    assert_string_equal(query(st, NULL, &c), "9,10");
    assert_int_equal(store_event_prune(st, 0, 0, NULL), 0); /* keep 0: all go */
    assert_string_equal(query(st, NULL, &c), "");

    /* Ids are never handed out again, even once the table is empty. */
    struct event ev = {.ts_ms = 2000};
    snprintf(ev.kind, sizeof ev.kind, "dhcp.discover");
    assert_int_equal(store_event_append(st, &ev), 0);
    assert_int_equal(ev.id, 11);
    store_close(st);
    st = open_store();
    assert_int_equal(store_event_append(st, &ev), 0);
    assert_int_equal(ev.id, 12);
    store_close(st);
}

static void appends_join_the_callers_transaction(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct event ev = {.ts_ms = 1};
    snprintf(ev.kind, sizeof ev.kind, "dhcp.ack");
    assert_int_equal(store_begin(st), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(store_event_append(st, &ev), 0);
    store_rollback(st);
    struct ids c;
    assert_string_equal(query(st, NULL, &c), "");
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_event_append(st, &ev), 0);
    assert_int_equal(store_event_append(st, &ev), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(query(st, NULL, &c)[0] != '\0', 1);
    assert_int_equal(c.n, 2);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_round_trips_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(every_filter_selects_what_it_names, setup, teardown),
        cmocka_unit_test_setup_teardown(prune_bounds_count_and_age, setup, teardown),
        cmocka_unit_test_setup_teardown(appends_join_the_callers_transaction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
