/* lifecycle/ boots, births and reports on a real store: tokens (single
 * use, expiry, revocation, foreign), the birth's cleanup (duplicate
 * records, stale leases, old tokens, stale operations), state changes and
 * the events that explain them. No event loop: events are flushed by hand
 * and hooks are not configured. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf/conf.h"
#include "lifecycle/birth.h"
#include "lifecycle/lifecycle.h"
#include "store/store_events.h"
#include "store/store_inventory.h"

#define BASE "http://192.0.2.1:8080"

static char dir[64];
static struct conf conf;
static struct store *st;
static struct lifecycle *lc;

static const uint8_t MAC1[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01};
static const uint8_t MAC2[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x02};
static const uint8_t MAC9[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x09};
#define PEER1 0xc0000264u /* 192.0.2.100 */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/midwife-test-birth-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    memset(&conf, 0, sizeof conf);
    snprintf(conf.state_dir, sizeof conf.state_dir, "%s", dir);
    conf.token_ttl = 3600;
    conf.events_keep = 1000;
    conf.born_hook_holds = true;
    char err[256];
    if (store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0)
        return -1;
    return lifecycle_start(NULL, &conf, st, &lc);
}

static int teardown(void **state)
{
    (void)state;
    lifecycle_stop(lc);
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void make_host(struct host *h, const char *name, const uint8_t *mac)
{
    assert_int_equal(host_init(h), 0);
    snprintf(h->name, sizeof h->name, "%s", name);
    if (mac) {
        memcpy(h->macs[0], mac, 6);
        h->n_macs = 1;
    }
    const char *where = NULL;
    assert_int_equal(store_host_put(st, h, &where), 0);
}

static void bound_lease(const uint8_t *mac, uint32_t addr)
{
    struct store_lease l = {.address = addr, .hwtype = 1, .hwaddr_len = 6, .state = LEASE_BOUND,
                            .starts = 1, .expires = 4000000000, .arch = -1};
    memcpy(l.hwaddr, mac, 6);
    snprintf(l.subnet, sizeof l.subnet, "lab");
    assert_int_equal(store_lease_put(st, &l), 0);
}

static json_t *facts(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("facts: %s", e.text);
    return j;
}

struct count {
    const char *kind;
    const char *needle;
    unsigned n;
};

static int count_events(const struct event *ev, void *arg)
{
    struct count *c = arg;
    if (strcmp(ev->kind, c->kind) == 0 && (!c->needle || strstr(ev->message, c->needle)))
        c->n++;
    return 0;
}

static unsigned events_of(const char *kind, const char *needle)
{
    lifecycle_flush(lc);
    struct count c = {.kind = kind, .needle = needle};
    struct event_filter f = {0};
    store_event_query(st, &f, count_events, &c);
    return c.n;
}

static int count_lease_of_mac(const struct store_lease *l, void *arg)
{
    unsigned *n = arg;
    if (l->hwaddr_len == 6 && memcmp(l->hwaddr, MAC1, 6) == 0)
        (*n)++;
    return 0;
}

static void boot_begin_issues_a_token_and_moves_to_booting(void **state)
{
    (void)state;
    struct host h;
    make_host(&h, "n1", MAC1);
    char tok[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &h, tok, "test"), 0);
    assert_int_equal(strlen(tok), BOOT_TOKEN_LEN);
    assert_int_equal(h.boot_id, 1);
    assert_int_equal(h.state, HOST_BOOTING);
    struct host got;
    assert_int_equal(store_host_by_name(st, "n1", &got), 0);
    assert_int_equal(got.state, HOST_BOOTING);
    assert_int_equal(got.boot_id, 1);
    host_clear(&got);
    /* A second boot revokes the first token. */
    char tok2[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &h, tok2, "again"), 0);
    assert_string_not_equal(tok, tok2);
    assert_int_equal(h.boot_id, 2);
    struct boot_token t;
    struct host th;
    assert_int_equal(lifecycle_token_check(lc, tok, true, PEER1, &t, &th), TOKEN_REVOKED);
    assert_int_equal(lifecycle_token_check(lc, tok2, true, PEER1, &t, &th), TOKEN_OK);
    assert_int_equal(t.boot_id, 2);
    host_clear(&th);
    assert_int_equal(events_of("token.issued", NULL), 2);
    assert_int_equal(events_of("birth.refused", "revoked"), 1);
    host_clear(&h);
}

static void birth_spends_the_token_and_renders_the_document(void **state)
{
    (void)state;
    struct host h;
    make_host(&h, "n1", MAC1);
    char tok[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &h, tok, "test"), 0);
    struct birth_outcome o;
    json_t *f = facts("{\"macs\":[\"52:54:00:00:00:01\"],\"uuid\":\"4C4C4544-0000-1111-2222-333344445555\","
                      "\"serial\":\"SER1\",\"cpus\":4}");
    lifecycle_birth(lc, tok, f, PEER1, BASE, &o);
    assert_int_equal(o.status, 200);
    assert_non_null(o.doc);
    json_t *doc = json_loads(o.doc, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "report_url")), BASE "/api/v1/report");
    json_decref(doc);
    free(o.doc);
    struct host got;
    assert_int_equal(store_host_by_name(st, "n1", &got), 0);
    assert_int_equal(got.state, HOST_BORN);
    assert_string_equal(got.uuid, "4c4c4544-0000-1111-2222-333344445555");
    assert_string_equal(got.serial, "SER1");
    json_t *stored = json_loads(got.facts, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(stored, "cpus")), 4);
    json_decref(stored);
    assert_true(got.last_seen > 0);
    host_clear(&got);

    /* Replayed: 401, nothing changes. */
    lifecycle_birth(lc, tok, f, PEER1, BASE, &o);
    assert_int_equal(o.status, 401);
    assert_non_null(strstr(o.error, "replayed"));
    assert_null(o.doc);
    assert_int_equal(events_of("birth.accepted", NULL), 1);
    assert_int_equal(events_of("birth.refused", "replayed"), 1);
    json_decref(f);
    host_clear(&h);
}

static void refusals_change_nothing(void **state)
{
    (void)state;
    struct host a, b;
    make_host(&a, "a", MAC1);
    make_host(&b, "b", MAC2);
    char ta[BOOT_TOKEN_LEN + 1], tb[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &a, ta, "test"), 0);
    assert_int_equal(lifecycle_boot_begin(lc, &b, tb, "test"), 0);
    struct birth_outcome o;
    json_t *fa = facts("{\"macs\":[\"52:54:00:00:00:01\"]}");
    /* No token, an unknown one, another host's. */
    lifecycle_birth(lc, NULL, fa, PEER1, BASE, &o);
    assert_int_equal(o.status, 401);
    lifecycle_birth(lc, "00ff", fa, PEER1, BASE, &o);
    assert_int_equal(o.status, 401);
    assert_non_null(strstr(o.error, "unknown"));
    lifecycle_birth(lc, tb, fa, PEER1, BASE, &o);
    assert_int_equal(o.status, 401);
    assert_non_null(strstr(o.error, "foreign"));
    /* Bad facts name the field. */
    json_t *bad = facts("{\"macs\":[\"52:54:00:00:00:01\", 7]}");
    lifecycle_birth(lc, ta, bad, PEER1, BASE, &o);
    assert_int_equal(o.status, 400);
    assert_string_equal(o.field, "macs[1]");
    json_decref(bad);
    /* A profile that does not exist: 422, the token stays unspent. */
    snprintf(a.profile, sizeof a.profile, "missing");
    const char *where;
    assert_int_equal(store_host_put(st, &a, &where), 0);
    lifecycle_birth(lc, ta, fa, PEER1, BASE, &o);
    assert_int_equal(o.status, 422);
    a.profile[0] = '\0';
    assert_int_equal(store_host_put(st, &a, &where), 0);
    lifecycle_birth(lc, ta, fa, PEER1, BASE, &o);
    assert_int_equal(o.status, 200);
    free(o.doc);
    /* b's token still works for b: the foreign attempt changed nothing. */
    struct host got;
    assert_int_equal(store_host_by_name(st, "b", &got), 0);
    assert_int_equal(got.state, HOST_BOOTING);
    host_clear(&got);
    json_decref(fa);
    host_clear(&a);
    host_clear(&b);
}

static void expired_tokens_are_refused(void **state)
{
    (void)state;
    struct host h;
    make_host(&h, "n1", MAC1);
    conf.token_ttl = 0; /* expires as it is made */
    char tok[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &h, tok, "test"), 0);
    conf.token_ttl = 3600;
    struct birth_outcome o;
    json_t *f = facts("{\"macs\":[\"52:54:00:00:00:01\"]}");
    lifecycle_birth(lc, tok, f, PEER1, BASE, &o);
    assert_int_equal(o.status, 401);
    assert_non_null(strstr(o.error, "expired"));
    json_decref(f);
    host_clear(&h);
}

/* The issue's case: the machine booted before as record "old"; its MAC
 * moved to a new record "new", and it boots again. */
static void second_life_folds_the_old_record(void **state)
{
    (void)state;
    struct host old, nw;
    make_host(&old, "old", MAC1);
    char t1[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &old, t1, "first life"), 0);
    struct birth_outcome o;
    json_t *f = facts("{\"macs\":[\"52:54:00:00:00:01\",\"52:54:00:00:00:09\"],"
                      "\"uuid\":\"4c4c4544-0000-1111-2222-333344445555\",\"serial\":\"SER1\"}");
    lifecycle_birth(lc, t1, f, PEER1, BASE, &o);
    assert_int_equal(o.status, 200);
    free(o.doc);
    struct operation op = {.host_id = old.id, .boot_id = old.boot_id, .created = 1, .updated = 1};
    snprintf(op.kind, sizeof op.kind, "reinstall");
    snprintf(op.status, sizeof op.status, "pending");
    assert_int_equal(store_op_add(st, &op), 0);

    /* The operator moves the MACs to a new record. */
    struct host cur;
    assert_int_equal(store_host_by_name(st, "old", &cur), 0);
    assert_int_equal(cur.n_macs, 2);
    cur.n_macs = 0;
    const char *where;
    assert_int_equal(store_host_put(st, &cur, &where), 0);
    make_host(&nw, "new", MAC1);
    /* Leases: the one it boots from, and a stale one elsewhere. */
    bound_lease(MAC1, PEER1);
    bound_lease(MAC1, PEER1 + 7);
    char t2[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &nw, t2, "second life"), 0);
    lifecycle_birth(lc, t2, f, PEER1, BASE, &o);
    assert_int_equal(o.status, 200);
    free(o.doc);
    assert_int_equal(o.duplicates, 1);
    assert_int_equal(o.leases, 1);

    /* One record, carrying both MACs, the UUID and the serial. */
    struct host got;
    assert_int_equal(store_host_by_name(st, "old", &got), -ENOENT);
    assert_int_equal(store_host_by_uuid(st, "4c4c4544-0000-1111-2222-333344445555", &got), 0);
    assert_string_equal(got.name, "new");
    assert_int_equal(got.n_macs, 2);
    host_clear(&got);
    assert_int_equal(store_host_by_mac(st, MAC9, &got), 0);
    assert_string_equal(got.name, "new");
    host_clear(&got);
    /* One lease: the address it spoke from. */
    unsigned n = 0;
    store_lease_foreach(st, count_lease_of_mac, &n);
    assert_int_equal(n, 1);
    struct store_lease l;
    assert_int_equal(store_lease_by_mac(st, MAC1, &l), 0);
    assert_int_equal(l.address, PEER1);
    /* The first life's token is dead. */
    struct boot_token t;
    struct host th;
    assert_int_not_equal(lifecycle_token_check(lc, t1, false, PEER1, &t, &th), TOKEN_OK);
    /* Events say why. */
    assert_int_equal(events_of("birth.cleanup", "duplicate record old"), 1);
    assert_int_equal(events_of("birth.accepted", "1 stale leases, 1 duplicate records"), 1);
    json_decref(f);
    host_clear(&cur);
    host_clear(&old);
    host_clear(&nw);
}

static void stale_operations_are_abandoned(void **state)
{
    (void)state;
    struct host h;
    make_host(&h, "n1", MAC1);
    char t1[BOOT_TOKEN_LEN + 1], t2[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &h, t1, "one"), 0);
    struct operation op = {.host_id = h.id, .boot_id = h.boot_id, .created = 1, .updated = 1};
    snprintf(op.kind, sizeof op.kind, "reinstall");
    snprintf(op.status, sizeof op.status, "pending");
    assert_int_equal(store_op_add(st, &op), 0);
    assert_int_equal(lifecycle_boot_begin(lc, &h, t2, "two"), 0);
    struct birth_outcome o;
    json_t *f = facts("{\"boot_mac\":\"52:54:00:00:00:01\"}");
    lifecycle_birth(lc, t2, f, PEER1, BASE, &o);
    assert_int_equal(o.status, 200);
    free(o.doc);
    assert_int_equal(o.operations, 1);
    json_decref(f);
    host_clear(&h);
}

static void reports_move_the_host(void **state)
{
    (void)state;
    struct host h;
    make_host(&h, "n1", MAC1);
    char tok[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &h, tok, "test"), 0);
    struct report_outcome r;
    json_t *step = facts("{\"step\":\"network\",\"status\":\"running\"}");
    lifecycle_report(lc, tok, step, PEER1, &r);
    assert_int_equal(r.status, 401); /* before the birth */
    struct birth_outcome o;
    json_t *f = facts("{\"macs\":[\"52:54:00:00:00:01\"]}");
    lifecycle_birth(lc, tok, f, PEER1, BASE, &o);
    free(o.doc);
    lifecycle_report(lc, tok, step, PEER1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "configuring");
    json_t *bad = facts("{\"step\":\"x;y\"}");
    lifecycle_report(lc, tok, bad, PEER1, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.field, "step");
    json_decref(bad);
    bad = facts("{\"status\":\"ok\"}");
    lifecycle_report(lc, tok, bad, PEER1, &r);
    assert_int_equal(r.status, 400);
    json_decref(bad);
    json_t *ready = facts("{\"ready\":true}");
    lifecycle_report(lc, tok, ready, PEER1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "ready");
    json_t *failed = facts("{\"failed\":\"mount: refused\",\"step\":\"storage\"}");
    lifecycle_report(lc, tok, failed, PEER1, &r);
    assert_string_equal(r.state, "failed");
    assert_non_null(strstr(r.reason, "storage"));
    assert_int_equal(events_of("state.changed", "configuring → ready"), 1);
    assert_int_equal(events_of("report.failed", "storage"), 1);
    json_decref(step);
    json_decref(f);
    json_decref(ready);
    json_decref(failed);
    host_clear(&h);
}

/* A born hook that failed (recorded as its operation) holds the host. */
static void a_failed_born_hook_holds_ready(void **state)
{
    (void)state;
    struct host h;
    make_host(&h, "n1", MAC1);
    char tok[BOOT_TOKEN_LEN + 1];
    assert_int_equal(lifecycle_boot_begin(lc, &h, tok, "test"), 0);
    struct birth_outcome o;
    json_t *f = facts("{\"macs\":[\"52:54:00:00:00:01\"]}");
    lifecycle_birth(lc, tok, f, PEER1, BASE, &o);
    free(o.doc);
    struct operation op = {.host_id = h.id, .boot_id = h.boot_id, .created = 1, .updated = 1};
    snprintf(op.kind, sizeof op.kind, "hook:born");
    snprintf(op.status, sizeof op.status, "failed");
    snprintf(op.detail, sizeof op.detail, "born hook /x: exit 3");
    assert_int_equal(store_op_add(st, &op), 0);
    struct report_outcome r;
    json_t *ready = facts("{\"ready\":true}");
    lifecycle_report(lc, tok, ready, PEER1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.state, "configuring");
    assert_non_null(strstr(r.reason, "exit 3"));
    json_decref(ready);
    json_decref(f);
    host_clear(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(boot_begin_issues_a_token_and_moves_to_booting, setup, teardown),
        cmocka_unit_test_setup_teardown(birth_spends_the_token_and_renders_the_document, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_tokens_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(second_life_folds_the_old_record, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_operations_are_abandoned, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_move_the_host, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_born_hook_holds_ready, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
