/* store/ inventory: hosts and their identities, profiles, rules, boot
 * tokens, state archives, operations, leases by MAC, the admin token, and
 * the migration of version 3 hosts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store_events.h"
#include "store/store_inventory.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/midwife-test-store-inv-XXXXXX");
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

static void set_json(char **field, const char *json)
{
    free(*field);
    *field = strdup(json);
    assert_non_null(*field);
}

/* A host named name with one MAC 52:54:00:00:00:<last>. */
static void make_host(struct host *h, const char *name, uint8_t last)
{
    assert_int_equal(host_init(h), 0);
    snprintf(h->name, sizeof h->name, "%s", name);
    const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, last};
    memcpy(h->macs[0], mac, 6);
    h->n_macs = 1;
}

static int64_t put_host(struct store *st, const char *name, uint8_t last)
{
    struct host h;
    make_host(&h, name, last);
    const char *where = NULL;
    int r = store_host_put(st, &h, &where);
    if (r != 0)
        fail_msg("put %s: %d (%s)", name, r, where ? where : "-");
    host_clear(&h);
    return h.id;
}

static void fake_sha(char out[SHA256_HEX_LEN + 1], char c)
{
    memset(out, c, SHA256_HEX_LEN);
    out[SHA256_HEX_LEN] = '\0';
}

static const char UUID1[] = "4c4c4544-0042-3510-8052-b4c04f333232";

static void host_round_trips_every_field(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct host h;
    make_host(&h, "esx-01", 1);
    const uint8_t second[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    memcpy(h.macs[1], second, 6);
    h.n_macs = 2;
    snprintf(h.uuid, sizeof h.uuid, "%s", UUID1);
    snprintf(h.serial, sizeof h.serial, "SN 1234/A");
    snprintf(h.build, sizeof h.build, "esxi8");
    h.build_version = 2;
    snprintf(h.profile, sizeof h.profile, "esx-lab");
    h.mode = HOST_MODE_STATEFUL;
    h.address = 0xc0000205;
    h.vlan = 42;
    set_json(&h.labels, "{\"rack\":\"r1\"}");
    set_json(&h.vars, "{\"index\":\"01\"}");
    set_json(&h.facts, "{\"cpus\":2}");
    h.state = HOST_DISCOVERED;
    snprintf(h.state_reason, sizeof h.state_reason, "matched rule lab");
    h.last_seen = 1234;
    h.boot_id = 7;
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    assert_true(h.id > 0);
    assert_true(h.created > 1600000000000); /* milliseconds */
    assert_int_equal(h.updated, h.created);
    assert_int_equal(h.state_since, h.created);

    struct host got[5];
    assert_int_equal(store_host_get(st, h.id, &got[0]), 0);
    assert_int_equal(store_host_by_name(st, "esx-01", &got[1]), 0);
    assert_int_equal(store_host_by_mac(st, second, &got[2]), 0); /* any of its MACs */
    assert_int_equal(store_host_by_uuid(st, UUID1, &got[3]), 0);
    assert_int_equal(store_host_by_serial(st, "SN 1234/A", &got[4]), 0);
    for (int i = 0; i < 5; i++) {
        struct host *g = &got[i];
        assert_int_equal(g->id, h.id);
        assert_string_equal(g->name, "esx-01");
        assert_int_equal(g->n_macs, 2);
        assert_memory_equal(g->macs[0], h.macs[0], 6); /* order kept: [0] is the boot MAC */
        assert_memory_equal(g->macs[1], second, 6);
        assert_string_equal(g->uuid, UUID1);
        assert_string_equal(g->serial, "SN 1234/A");
        assert_string_equal(g->build, "esxi8");
        assert_int_equal(g->build_version, 2);
        assert_string_equal(g->profile, "esx-lab");
        assert_int_equal(g->mode, HOST_MODE_STATEFUL);
        assert_int_equal(g->address, 0xc0000205);
        assert_int_equal(g->vlan, 42);
        assert_string_equal(g->labels, "{\"rack\":\"r1\"}");
        assert_string_equal(g->vars, "{\"index\":\"01\"}");
        assert_string_equal(g->facts, "{\"cpus\":2}");
        assert_int_equal(g->state, HOST_DISCOVERED);
        assert_string_equal(g->state_reason, "matched rule lab");
        assert_int_equal(g->state_since, h.state_since);
        assert_int_equal(g->last_seen, 1234);
        assert_int_equal(g->created, h.created);
        assert_int_equal(g->updated, h.updated);
        assert_int_equal(g->boot_id, 7);
        host_clear(g);
    }
    host_clear(&h);

    /* Unknown keys find nobody; an empty UUID or serial is "unknown". */
    const uint8_t none[6] = {9, 9, 9, 9, 9, 9};
    assert_int_equal(store_host_get(st, 999, &got[0]), -ENOENT);
    assert_int_equal(store_host_by_name(st, "nope", &got[0]), -ENOENT);
    assert_int_equal(store_host_by_mac(st, none, &got[0]), -ENOENT);
    put_host(st, "anon", 2);
    assert_int_equal(store_host_by_uuid(st, "", &got[0]), -ENOENT);
    assert_int_equal(store_host_by_serial(st, "", &got[0]), -ENOENT);
    host_clear(&got[0]); /* safe after a failed get */

    /* A host without MACs (known by UUID only) is allowed. */
    struct host bare;
    assert_int_equal(host_init(&bare), 0);
    snprintf(bare.name, sizeof bare.name, "bare");
    assert_int_equal(store_host_put(st, &bare, NULL), 0);
    assert_int_equal(store_host_get(st, bare.id, &got[0]), 0);
    assert_int_equal(got[0].n_macs, 0);
    assert_string_equal(got[0].labels, "{}");
    host_clear(&got[0]);
    host_clear(&bare);
    store_close(st);
}

struct conflict_case {
    const char *what;
    void (*apply)(struct host *h);
};

static void same_name(struct host *h) { snprintf(h->name, sizeof h->name, "first"); }
static void same_mac(struct host *h)
{
    const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 1};
    memcpy(h->macs[1], mac, 6); /* the other host's, as a second MAC */
    h->n_macs = 2;
}
static void same_uuid(struct host *h) { snprintf(h->uuid, sizeof h->uuid, "%s", UUID1); }
static void same_serial(struct host *h) { snprintf(h->serial, sizeof h->serial, "ABC123"); }

static void identities_belong_to_one_host(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct host first;
    make_host(&first, "first", 1);
    snprintf(first.uuid, sizeof first.uuid, "%s", UUID1);
    snprintf(first.serial, sizeof first.serial, "ABC123");
    assert_int_equal(store_host_put(st, &first, NULL), 0);

    const struct conflict_case cases[] = {
        {"name", same_name}, {"mac", same_mac}, {"uuid", same_uuid}, {"serial", same_serial}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* As a new host... */
        struct host h;
        make_host(&h, "second", 2);
        cases[i].apply(&h);
        const char *where = NULL;
        assert_int_equal(store_host_put(st, &h, &where), -EEXIST);
        assert_non_null(where);
        assert_string_equal(where, cases[i].what);
        assert_int_equal(h.id, 0); /* nothing half-written */
        host_clear(&h);
        struct host g;
        assert_int_equal(store_host_by_name(st, "second", &g), -ENOENT);
        const uint8_t mac2[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 2};
        assert_int_equal(store_host_by_mac(st, mac2, &g), -ENOENT);

        /* ...and as an update of an existing one, which stays as it was. */
        int64_t id = put_host(st, "second", 2);
        assert_int_equal(store_host_get(st, id, &h), 0);
        const uint8_t moved[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 3};
        memcpy(h.macs[0], moved, 6);
        cases[i].apply(&h);
        where = NULL;
        assert_int_equal(store_host_put(st, &h, &where), -EEXIST);
        assert_string_equal(where, cases[i].what);
        host_clear(&h);
        assert_int_equal(store_host_get(st, id, &g), 0);
        assert_string_equal(g.name, "second");
        assert_int_equal(g.n_macs, 1);
        assert_int_equal(g.macs[0][5], 2);
        assert_string_equal(g.uuid, "");
        host_clear(&g);
        assert_int_equal(store_host_delete(st, id), 0);
    }
    /* Two hosts may both have no UUID and no serial. */
    put_host(st, "third", 3);
    put_host(st, "fourth", 4);
    /* A host's own identities are no conflict on update. */
    assert_int_equal(store_host_put(st, &first, NULL), 0);
    host_clear(&first);
    store_close(st);
}

static void invalid_hosts_are_refused(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct host h;
    make_host(&h, "ok", 1);
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    int64_t id = h.id;
    struct {
        const char *what;
        int r;
    } results[12];
    size_t n = 0;
#define TRY(label, mutate)                                           \
    do {                                                             \
        struct host t;                                               \
        make_host(&t, "bad", 9);                                     \
        mutate;                                                      \
        results[n].what = label;                                     \
        results[n++].r = store_host_put(st, &t, NULL);               \
        host_clear(&t);                                              \
    } while (0)
    TRY("name", snprintf(t.name, sizeof t.name, "a b"));
    TRY("empty name", t.name[0] = '\0');
    TRY("uuid case", snprintf(t.uuid, sizeof t.uuid, "4C4C4544-0042-3510-8052-B4C04F333232"));
    TRY("serial", snprintf(t.serial, sizeof t.serial, "a;b"));
    TRY("duplicate mac", (memcpy(t.macs[1], t.macs[0], 6), t.n_macs = 2));
    TRY("too many macs", t.n_macs = HOST_MAX_MACS + 1);
    TRY("vlan", t.vlan = 4095);
    TRY("mode", t.mode = (enum host_mode)9);
    TRY("state", t.state = (enum host_state)HOST_STATE_COUNT);
    TRY("build", snprintf(t.build, sizeof t.build, "../x"));
    TRY("labels json", set_json(&t.labels, "{not json"));
    TRY("update of a deleted host", t.id = id + 100);
#undef TRY
    for (size_t i = 0; i < n; i++) {
        int want = strcmp(results[i].what, "update of a deleted host") == 0 ? -ENOENT : -EINVAL;
        if (results[i].r != want)
            fail_msg("%s: got %d, want %d", results[i].what, results[i].r, want);
    }
    struct host g;
    assert_int_equal(store_host_by_name(st, "bad", &g), -ENOENT);
    host_clear(&h);
    store_close(st);
}

static void update_leaves_the_lifecycle_fields_alone(void **state)
{
    (void)state;
    struct store *st = open_store();
    int64_t id = put_host(st, "node", 1);
    assert_int_equal(store_host_set_state(st, id, HOST_BOOTING, "token issued", 5000), 0);
    assert_int_equal(store_host_set_facts(st, id, "{\"model\":\"x\"}", 6000), 0);
    int64_t boot = 0;
    assert_int_equal(store_host_next_boot(st, id, &boot), 0);
    assert_int_equal(boot, 1);
    assert_int_equal(store_host_next_boot(st, id, &boot), 0);
    assert_int_equal(boot, 2);

    struct host h;
    assert_int_equal(store_host_get(st, id, &h), 0);
    assert_int_equal(h.state, HOST_BOOTING);
    assert_string_equal(h.state_reason, "token issued");
    assert_int_equal(h.state_since, 5000);
    assert_int_equal(h.updated, 5000);
    assert_string_equal(h.facts, "{\"model\":\"x\"}");
    assert_int_equal(h.last_seen, 6000);
    int64_t created = h.created;

    /* An operator edit writes its fields and nothing of the lifecycle's. */
    h.state = HOST_READY;
    set_json(&h.facts, "{}");
    h.boot_id = 0;
    h.vlan = 7;
    set_json(&h.labels, "{\"rack\":\"r9\"}");
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    assert_int_equal(h.created, created);
    host_clear(&h);
    assert_int_equal(store_host_get(st, id, &h), 0);
    assert_int_equal(h.vlan, 7);
    assert_string_equal(h.labels, "{\"rack\":\"r9\"}");
    assert_int_equal(h.state, HOST_BOOTING);
    assert_string_equal(h.facts, "{\"model\":\"x\"}");
    assert_int_equal(h.boot_id, 2);
    assert_int_equal(h.created, created);
    host_clear(&h);

    /* The same state with a new reason keeps state_since; a new state moves it. */
    assert_int_equal(store_host_set_state(st, id, HOST_BOOTING, "token reissued", 7000), 0);
    assert_int_equal(store_host_get(st, id, &h), 0);
    assert_int_equal(h.state_since, 5000);
    assert_string_equal(h.state_reason, "token reissued");
    assert_int_equal(h.updated, 7000);
    host_clear(&h);
    assert_int_equal(store_host_set_state(st, id, HOST_BORN, NULL, 8000), 0);
    assert_int_equal(store_host_get(st, id, &h), 0);
    assert_int_equal(h.state, HOST_BORN);
    assert_int_equal(h.state_since, 8000);
    assert_string_equal(h.state_reason, "");
    host_clear(&h);

    assert_int_equal(store_host_set_state(st, id, (enum host_state)99, "x", 1), -EINVAL);
    assert_int_equal(store_host_set_facts(st, id, "[not json", 1), -EINVAL);
    assert_int_equal(store_host_set_state(st, id + 1, HOST_READY, "x", 1), -ENOENT);
    assert_int_equal(store_host_set_facts(st, id + 1, "{}", 1), -ENOENT);
    assert_int_equal(store_host_next_boot(st, id + 1, &boot), -ENOENT);

    uint64_t counts[HOST_STATE_COUNT];
    int64_t other = put_host(st, "other", 2);
    put_host(st, "third", 3);
    assert_int_equal(store_host_set_state(st, other, HOST_BORN, "x", 1), 0);
    assert_int_equal(store_host_count_by_state(st, counts), 0);
    assert_int_equal(counts[HOST_BORN], 2);
    assert_int_equal(counts[HOST_UNKNOWN], 1);
    assert_int_equal(counts[HOST_READY], 0);
    store_close(st);
}

static int count_event(const struct event *e, void *arg)
{
    (void)e;
    (*(size_t *)arg)++;
    return 0;
}

static int count_op(const struct operation *op, void *arg)
{
    (void)op;
    (*(size_t *)arg)++;
    return 0;
}

static void deleting_a_host_takes_what_is_bound_to_it(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct host h;
    make_host(&h, "gone", 1);
    const uint8_t second[6] = {2, 0, 0, 0, 0, 2};
    memcpy(h.macs[1], second, 6);
    h.n_macs = 2;
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    int64_t id = h.id;
    int64_t keep = put_host(st, "stays", 3);

    struct boot_token t = {.host_id = id, .boot_id = 1, .created = 1, .expires = 2};
    fake_sha(t.hash, 'a');
    assert_int_equal(store_token_put(st, &t), 0);
    char sha[SHA256_HEX_LEN + 1];
    fake_sha(sha, 'b');
    assert_int_equal(store_blob_put(st, sha, 10), 0);
    struct state_archive a = {.host_id = id, .size = 10, .boot_id = 1};
    memcpy(a.sha256, sha, sizeof sha);
    assert_int_equal(store_state_put(st, &a), 0);
    struct operation op = {.host_id = id, .boot_id = 1, .kind = "hook:born", .status = "running"};
    assert_int_equal(store_op_add(st, &op), 0);
    struct event ev = {.host_id = id, .kind = "birth.accepted", .ts_ms = 1};
    assert_int_equal(store_event_append(st, &ev), 0);

    assert_int_equal(store_host_delete(st, id), 0);
    assert_int_equal(store_host_delete(st, id), -ENOENT);
    struct host g;
    assert_int_equal(store_host_by_mac(st, h.macs[0], &g), -ENOENT);
    assert_int_equal(store_host_by_mac(st, second, &g), -ENOENT);
    struct boot_token tg;
    assert_int_equal(store_token_get(st, t.hash, &tg), -ENOENT);
    struct state_archive ag;
    assert_int_equal(store_state_get(st, id, &ag), -ENOENT);
    size_t n = 0;
    assert_int_equal(store_op_list(st, id, count_op, &n), 0);
    assert_int_equal(n, 0);
    assert_true(store_blob_known(st, sha, NULL)); /* blobs stay for gc */
    /* The flight recorder keeps the history. */
    struct event_filter f = {.host_id = id};
    assert_int_equal(store_event_query(st, &f, count_event, &n), 0);
    assert_int_equal(n, 1);
    /* The other host and its MAC are untouched; the freed MAC can be reused. */
    assert_int_equal(store_host_get(st, keep, &g), 0);
    host_clear(&g);
    h.id = 0;
    snprintf(h.name, sizeof h.name, "reborn");
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    host_clear(&h);
    store_close(st);
}

struct names {
    char text[256];
    int stop_after; /* 0 = never */
    int seen;
};

static int collect(const struct host *h, void *arg)
{
    struct names *n = arg;
    size_t len = strlen(n->text);
    snprintf(n->text + len, sizeof n->text - len, "%s%s", len ? "," : "", h->name);
    n->seen++;
    return n->stop_after && n->seen >= n->stop_after ? 42 : 0;
}

static const char *list(struct store *st, const struct host_filter *f, struct names *n)
{
    memset(n, 0, sizeof *n);
    int r = store_host_list(st, f, collect, n);
    if (r != 0)
        fail_msg("store_host_list: %d", r);
    return n->text;
}

static void host_list_filters_and_pages(void **state)
{
    (void)state;
    struct store *st = open_store();
    const struct {
        const char *name, *build, *labels, *uuid, *serial;
        uint8_t last;
        enum host_state state;
    } rows[] = {
        {"esx-03", "esxi8", "{\"rack\":\"r1\",\"role\":\"gpu\"}", "", "SERIAL-A", 0xab, HOST_READY},
        {"esx-01", "esxi8", "{\"rack\":\"r1\"}", UUID1, "", 0x01, HOST_READY},
        {"deb-01", "debian", "{\"rack\":\"r2\"}", "", "", 0x02, HOST_FAILED},
        {"esx-02", "esxi7", "{}", "", "", 0x03, HOST_BOOTING},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct host h;
        make_host(&h, rows[i].name, rows[i].last);
        snprintf(h.build, sizeof h.build, "%s", rows[i].build);
        snprintf(h.uuid, sizeof h.uuid, "%s", rows[i].uuid);
        snprintf(h.serial, sizeof h.serial, "%s", rows[i].serial);
        set_json(&h.labels, rows[i].labels);
        h.state = rows[i].state;
        assert_int_equal(store_host_put(st, &h, NULL), 0);
        host_clear(&h);
    }
    struct names n;
    assert_string_equal(list(st, NULL, &n), "deb-01,esx-01,esx-02,esx-03");
    assert_string_equal(list(st, &(struct host_filter){.state = "ready"}, &n), "esx-01,esx-03");
    assert_string_equal(list(st, &(struct host_filter){.build = "esxi8"}, &n), "esx-01,esx-03");
    assert_string_equal(list(st, &(struct host_filter){.label = "rack=r1"}, &n), "esx-01,esx-03");
    assert_string_equal(list(st, &(struct host_filter){.label = "rack"}, &n), "deb-01,esx-01,esx-03");
    assert_string_equal(list(st, &(struct host_filter){.label = "role=gpu"}, &n), "esx-03");
    assert_string_equal(list(st, &(struct host_filter){.label = "rack=r"}, &n), ""); /* values match whole */
    assert_string_equal(list(st, &(struct host_filter){.label = "rack=r1", .state = "failed"}, &n), "");
    /* Search: name, MAC (colon form), UUID, serial; any case. */
    assert_string_equal(list(st, &(struct host_filter){.search = "ESX-0"}, &n), "esx-01,esx-02,esx-03");
    assert_string_equal(list(st, &(struct host_filter){.search = "00:00:AB"}, &n), "esx-03");
    assert_string_equal(list(st, &(struct host_filter){.search = "52:54:00:00:00:02"}, &n), "deb-01");
    assert_string_equal(list(st, &(struct host_filter){.search = "b4c04f"}, &n), "esx-01");
    assert_string_equal(list(st, &(struct host_filter){.search = "serial-a"}, &n), "esx-03");
    assert_string_equal(list(st, &(struct host_filter){.search = "0:0"}, &n), "deb-01,esx-01,esx-02,esx-03");
    assert_string_equal(list(st, &(struct host_filter){.search = "nothing"}, &n), "");
    /* MACs are matched in their colon form, not as bare hex. */
    assert_string_equal(list(st, &(struct host_filter){.search = "5400"}, &n), "");
    /* Paging by name. */
    assert_string_equal(list(st, &(struct host_filter){.limit = 2}, &n), "deb-01,esx-01");
    assert_string_equal(list(st, &(struct host_filter){.limit = 2, .after = "esx-01"}, &n), "esx-02,esx-03");
    assert_string_equal(list(st, &(struct host_filter){.limit = 2, .after = "esx-03"}, &n), "");
    assert_string_equal(list(st, &(struct host_filter){.state = "ready", .after = "esx-01"}, &n), "esx-03");
    /* The callback stops the walk and its value comes back. */
    memset(&n, 0, sizeof n);
    n.stop_after = 1;
    assert_int_equal(store_host_list(st, NULL, collect, &n), 42);
    assert_string_equal(n.text, "deb-01");
    assert_int_equal(store_host_list(st, &(struct host_filter){.state = "sleeping"}, collect, &n), -EINVAL);
    store_close(st);
}

static int collect_profile(const struct profile *p, void *arg)
{
    struct names *n = arg;
    size_t len = strlen(n->text);
    snprintf(n->text + len, sizeof n->text - len, "%s%s=%s", len ? "," : "", p->name, p->doc);
    return 0;
}

static void profiles_round_trip_and_refuse_delete_in_use(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct profile p = {.name = "lab", .doc = "{\"ntp\":[\"a\"]}"};
    assert_int_equal(store_profile_put(st, &p), 0);
    int64_t created = p.created;
    assert_true(created > 0);
    struct profile q = {.name = "edge", .doc = "{}"};
    assert_int_equal(store_profile_put(st, &q), 0);
    usleep(2000);
    p.doc = "{\"ntp\":[\"b\"]}";
    assert_int_equal(store_profile_put(st, &p), 0); /* replace keeps created */
    assert_int_equal(p.created, created);
    assert_true(p.updated > created);

    struct profile got;
    assert_int_equal(store_profile_get(st, "lab", &got), 0);
    assert_string_equal(got.doc, "{\"ntp\":[\"b\"]}");
    assert_int_equal(got.created, created);
    assert_int_equal(got.updated, p.updated);
    profile_clear(&got);
    assert_int_equal(store_profile_get(st, "nope", &got), -ENOENT);
    profile_clear(&got);

    struct names n = {0};
    assert_int_equal(store_profile_list(st, NULL, 0, collect_profile, &n), 0);
    assert_string_equal(n.text, "edge={},lab={\"ntp\":[\"b\"]}");
    memset(&n, 0, sizeof n);
    assert_int_equal(store_profile_list(st, NULL, 1, collect_profile, &n), 0);
    assert_string_equal(n.text, "edge={}");
    memset(&n, 0, sizeof n);
    assert_int_equal(store_profile_list(st, "edge", 1, collect_profile, &n), 0);
    assert_string_equal(n.text, "lab={\"ntp\":[\"b\"]}");

    struct profile bad = {.name = "bad", .doc = "{x"};
    assert_int_equal(store_profile_put(st, &bad), -EINVAL);
    struct profile bad_name = {.name = "a/b", .doc = "{}"};
    assert_int_equal(store_profile_put(st, &bad_name), -EINVAL);

    /* In use by a host, then by a rule: refused; then free. */
    struct host h;
    make_host(&h, "node", 1);
    snprintf(h.profile, sizeof h.profile, "lab");
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    assert_int_equal(store_profile_delete(st, "lab"), -EBUSY);
    h.profile[0] = '\0';
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    host_clear(&h);
    struct rule ru = {.name = "r", .rank = 1, .profile = "lab", .mode = -1};
    assert_int_equal(store_rule_put(st, &ru, NULL), 0);
    assert_int_equal(store_profile_delete(st, "lab"), -EBUSY);
    assert_int_equal(store_profile_get(st, "lab", &got), 0); /* still there */
    profile_clear(&got);
    assert_int_equal(store_rule_delete(st, "r"), 0);
    assert_int_equal(store_profile_delete(st, "lab"), 0);
    assert_int_equal(store_profile_delete(st, "lab"), -ENOENT);
    store_close(st);
}

static int collect_rule(const struct rule *r, void *arg)
{
    struct names *n = arg;
    size_t len = strlen(n->text);
    snprintf(n->text + len, sizeof n->text - len, "%s%s@%d", len ? "," : "", r->name, r->rank);
    return 0;
}

static void rules_are_ranked_and_ranks_are_unique(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct rule a;
    assert_int_equal(rule_init(&a), 0);
    snprintf(a.name, sizeof a.name, "gpu");
    a.rank = 20;
    set_json(&a.match, "{\"mac\":[\"52:54:00:*\"]}");
    snprintf(a.build, sizeof a.build, "esxi8");
    a.build_version = 3;
    snprintf(a.profile, sizeof a.profile, "lab");
    a.mode = HOST_MODE_SANBOOT;
    set_json(&a.labels, "{\"role\":\"gpu\"}");
    assert_int_equal(store_rule_put(st, &a, NULL), 0);
    int64_t created = a.created;
    struct rule b = {.name = "catchall", .rank = 100, .mode = -1}; /* NULL JSON = {} */
    assert_int_equal(store_rule_put(st, &b, NULL), 0);
    struct rule c = {.name = "first", .rank = 5, .mode = HOST_MODE_LOCAL};
    assert_int_equal(store_rule_put(st, &c, NULL), 0);

    struct names n = {0};
    assert_int_equal(store_rule_list(st, collect_rule, &n), 0);
    assert_string_equal(n.text, "first@5,gpu@20,catchall@100");

    struct rule got;
    assert_int_equal(store_rule_get(st, "gpu", &got), 0);
    assert_int_equal(got.rank, 20);
    assert_string_equal(got.match, "{\"mac\":[\"52:54:00:*\"]}");
    assert_string_equal(got.build, "esxi8");
    assert_int_equal(got.build_version, 3);
    assert_string_equal(got.profile, "lab");
    assert_int_equal(got.mode, HOST_MODE_SANBOOT);
    assert_string_equal(got.labels, "{\"role\":\"gpu\"}");
    assert_int_equal(got.created, created);
    rule_clear(&got);
    assert_int_equal(store_rule_get(st, "catchall", &got), 0);
    assert_int_equal(got.mode, -1);
    assert_string_equal(got.match, "{}");
    assert_string_equal(got.labels, "{}");
    rule_clear(&got);

    /* Another rule's rank: -EEXIST, where "rank", for a new and a replaced rule. */
    const char *where = NULL;
    struct rule d = {.name = "dup", .rank = 20, .mode = -1};
    assert_int_equal(store_rule_put(st, &d, &where), -EEXIST);
    assert_string_equal(where, "rank");
    where = NULL;
    b.rank = 5;
    assert_int_equal(store_rule_put(st, &b, &where), -EEXIST);
    assert_string_equal(where, "rank");
    assert_int_equal(store_rule_get(st, "dup", &got), -ENOENT);
    /* Replacing by name may keep its own rank or move to a free one. */
    b.rank = 100;
    assert_int_equal(store_rule_put(st, &b, NULL), 0);
    a.rank = 1;
    assert_int_equal(store_rule_put(st, &a, NULL), 0);
    assert_int_equal(a.created, created);
    memset(&n, 0, sizeof n);
    assert_int_equal(store_rule_list(st, collect_rule, &n), 0);
    assert_string_equal(n.text, "gpu@1,first@5,catchall@100");

    struct rule bad = {.name = "bad", .rank = 7, .mode = 9};
    assert_int_equal(store_rule_put(st, &bad, NULL), -EINVAL);
    bad.mode = -1;
    bad.match = "{oops";
    assert_int_equal(store_rule_put(st, &bad, NULL), -EINVAL);

    assert_int_equal(store_rule_delete(st, "first"), 0);
    assert_int_equal(store_rule_delete(st, "first"), -ENOENT);
    rule_clear(&a);
    store_close(st);
}

static void boot_tokens_are_single_use_and_revocable(void **state)
{
    (void)state;
    struct store *st = open_store();
    int64_t host = put_host(st, "node", 1), other = put_host(st, "other", 2);
    struct boot_token t[4];
    for (int i = 0; i < 4; i++) {
        memset(&t[i], 0, sizeof t[i]);
        fake_sha(t[i].hash, (char)('a' + i));
        t[i].host_id = i < 3 ? host : other;
        t[i].boot_id = i < 3 ? i + 1 : 1;
        t[i].created = 1000;
        t[i].expires = 2000 + i * 1000;
        assert_int_equal(store_token_put(st, &t[i]), 0);
    }
    assert_int_equal(store_token_put(st, &t[0]), -EEXIST);
    struct boot_token orphan = t[0];
    fake_sha(orphan.hash, 'f');
    orphan.host_id = 999;
    assert_int_equal(store_token_put(st, &orphan), -ENOENT);
    struct boot_token bad = t[0];
    memcpy(bad.hash, "not-hex", 8);
    assert_int_equal(store_token_put(st, &bad), -EINVAL);

    struct boot_token got;
    assert_int_equal(store_token_get(st, t[2].hash, &got), 0);
    assert_string_equal(got.hash, t[2].hash);
    assert_int_equal(got.host_id, host);
    assert_int_equal(got.boot_id, 3);
    assert_int_equal(got.created, 1000);
    assert_int_equal(got.expires, 4000);
    assert_false(got.birth_used);
    assert_false(got.revoked);

    /* Single use for the birth. */
    assert_int_equal(store_token_use_birth(st, t[2].hash), 0);
    assert_int_equal(store_token_use_birth(st, t[2].hash), -EALREADY);
    assert_int_equal(store_token_use_birth(st, orphan.hash), -ENOENT);
    assert_int_equal(store_token_get(st, t[2].hash, &got), 0);
    assert_true(got.birth_used);

    /* A new boot revokes the host's older tokens, not its own nor another host's. */
    unsigned n = 99;
    assert_int_equal(store_token_revoke_host(st, host, 3, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_token_get(st, t[0].hash, &got), 0);
    assert_true(got.revoked);
    assert_int_equal(store_token_get(st, t[2].hash, &got), 0);
    assert_false(got.revoked);
    assert_int_equal(store_token_get(st, t[3].hash, &got), 0);
    assert_false(got.revoked);
    assert_int_equal(store_token_revoke_host(st, host, 3, &n), 0);
    assert_int_equal(n, 0); /* already revoked ones are not counted again */
    assert_int_equal(store_token_revoke_host(st, host, 0, NULL), 0); /* 0 = all */
    assert_int_equal(store_token_get(st, t[2].hash, &got), 0);
    assert_true(got.revoked);

    /* Housekeeping drops the expired ones only. */
    assert_int_equal(store_token_prune(st, 3500), 0); /* expires 2000 and 3000 go */
    assert_int_equal(store_token_get(st, t[0].hash, &got), -ENOENT);
    assert_int_equal(store_token_get(st, t[1].hash, &got), -ENOENT);
    assert_int_equal(store_token_get(st, t[2].hash, &got), 0);
    assert_int_equal(store_token_get(st, t[3].hash, &got), 0);
    store_close(st);
}

static void state_archives_need_a_known_blob_and_replace(void **state)
{
    (void)state;
    struct store *st = open_store();
    int64_t host = put_host(st, "node", 1);
    struct state_archive a = {.host_id = host, .size = 10, .boot_id = 1, .updated = 5};
    fake_sha(a.sha256, 'c');
    assert_int_equal(store_state_put(st, &a), -ENOENT); /* blob not known */
    assert_int_equal(store_blob_put(st, a.sha256, 10), 0);
    assert_int_equal(store_state_put(st, &a), 0);
    struct state_archive b = {.host_id = host, .size = 20, .boot_id = 2};
    fake_sha(b.sha256, 'd');
    assert_int_equal(store_blob_put(st, b.sha256, 20), 0);
    assert_int_equal(store_state_put(st, &b), 0); /* one per host: replaces */
    struct state_archive got;
    assert_int_equal(store_state_get(st, host, &got), 0);
    assert_string_equal(got.sha256, b.sha256);
    assert_int_equal(got.size, 20);
    assert_int_equal(got.boot_id, 2);
    assert_true(got.updated > 1600000000000); /* 0 = now */
    b.host_id = 999;
    assert_int_equal(store_state_put(st, &b), -ENOENT);
    memcpy(b.sha256, "zz", 3);
    assert_int_equal(store_state_put(st, &b), -EINVAL);
    assert_int_equal(store_state_delete(st, host), 0);
    assert_int_equal(store_state_get(st, host, &got), -ENOENT);
    assert_int_equal(store_state_delete(st, host), 0);
    store_close(st);
}

struct ops_seen {
    char text[512];
};

static int collect_op(const struct operation *op, void *arg)
{
    struct ops_seen *o = arg;
    size_t len = strlen(o->text);
    snprintf(o->text + len, sizeof o->text - len, "%s%s/%lld/%s/%s", len ? "," : "", op->kind,
             (long long)op->boot_id, op->status, op->detail);
    return 0;
}

static void stale_operations_are_abandoned_at_the_next_birth(void **state)
{
    (void)state;
    struct store *st = open_store();
    int64_t host = put_host(st, "node", 1), other = put_host(st, "other", 2);
    const struct {
        int64_t host, boot;
        const char *kind, *status;
    } rows[] = {
        {host, 1, "hook:born", "running"}, {host, 1, "reinstall", "pending"}, {host, 1, "hook:ready", "done"},
        {host, 2, "hook:born", "pending"}, {other, 1, "hook:born", "running"},
    };
    int64_t ids[5];
    for (size_t i = 0; i < 5; i++) {
        struct operation op = {.host_id = rows[i].host, .boot_id = rows[i].boot, .created = 100};
        snprintf(op.kind, sizeof op.kind, "%s", rows[i].kind);
        snprintf(op.status, sizeof op.status, "%s", rows[i].status);
        assert_int_equal(store_op_add(st, &op), 0);
        assert_int_equal(op.created, 100);
        assert_int_equal(op.updated, 100);
        ids[i] = op.id;
        assert_true(i == 0 || ids[i] > ids[i - 1]);
    }
    unsigned n = 99;
    assert_int_equal(store_op_abandon_stale(st, host, 2, 500, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_op_set_status(st, ids[3], "failed", "exit 3", 600), 0);
    assert_int_equal(store_op_set_status(st, ids[3], "done", NULL, 700), 0); /* NULL keeps the detail */
    struct ops_seen o = {0};
    assert_int_equal(store_op_list(st, host, collect_op, &o), 0);
    assert_string_equal(o.text, "hook:born/1/abandoned/,reinstall/1/abandoned/,hook:ready/1/done/,"
                                "hook:born/2/done/exit 3");
    memset(&o, 0, sizeof o);
    assert_int_equal(store_op_list(st, other, collect_op, &o), 0);
    assert_string_equal(o.text, "hook:born/1/running/"); /* another host's are its own */

    assert_int_equal(store_op_set_status(st, ids[0], "sleeping", NULL, 1), -EINVAL);
    assert_int_equal(store_op_set_status(st, 9999, "done", NULL, 1), -ENOENT);
    struct operation bad = {.host_id = host, .kind = "x", .status = "bogus"};
    assert_int_equal(store_op_add(st, &bad), -EINVAL);
    struct operation empty = {.host_id = host, .status = "pending"};
    assert_int_equal(store_op_add(st, &empty), -EINVAL);
    struct operation orphan = {.host_id = 999, .kind = "x", .status = "pending"};
    assert_int_equal(store_op_add(st, &orphan), -ENOENT);
    store_close(st);
}

static void put_lease(struct store *st, uint32_t address, uint8_t last, enum lease_state s, int64_t expires)
{
    struct store_lease l = {.address = address, .hwtype = 1, .hwaddr_len = 6, .state = s, .starts = 1,
                            .expires = expires, .arch = -1};
    const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, last};
    memcpy(l.hwaddr, mac, 6);
    snprintf(l.subnet, sizeof l.subnet, "lab");
    assert_int_equal(store_lease_put(st, &l), 0);
}

static void leases_are_cleaned_up_by_mac(void **state)
{
    (void)state;
    struct store *st = open_store();
    const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 1};
    struct store_lease l;
    assert_int_equal(store_lease_by_mac(st, mac, &l), -ENOENT);
    put_lease(st, 0x0a000010, 1, LEASE_EXPIRED, 100);
    put_lease(st, 0x0a000011, 1, LEASE_BOUND, 200);
    put_lease(st, 0x0a000012, 1, LEASE_BOUND, 300);
    put_lease(st, 0x0a000013, 1, LEASE_RELEASED, 400);
    put_lease(st, 0x0a000020, 2, LEASE_BOUND, 500);
    assert_int_equal(store_lease_by_mac(st, mac, &l), 0);
    assert_int_equal(l.address, 0x0a000012); /* the bound one that lasts longest */
    assert_int_equal(l.state, LEASE_BOUND);

    unsigned n = 99;
    assert_int_equal(store_lease_delete_mac_except(st, mac, 0x0a000011, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(store_lease_get(st, 0x0a000011, &l), 0);
    assert_int_equal(store_lease_get(st, 0x0a000010, &l), -ENOENT);
    assert_int_equal(store_lease_get(st, 0x0a000012, &l), -ENOENT);
    assert_int_equal(store_lease_get(st, 0x0a000013, &l), -ENOENT);
    assert_int_equal(store_lease_get(st, 0x0a000020, &l), 0); /* another MAC's */
    assert_int_equal(store_lease_by_mac(st, mac, &l), 0);
    assert_int_equal(l.address, 0x0a000011);
    assert_int_equal(store_lease_delete_mac_except(st, mac, 0, &n), 0); /* none kept */
    assert_int_equal(n, 1);
    assert_int_equal(store_lease_by_mac(st, mac, &l), -ENOENT);
    store_close(st);
}

static void admin_token_is_replaced(void **state)
{
    (void)state;
    struct store *st = open_store();
    char hash[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
    assert_int_equal(store_admin_token_get(st, got), -ENOENT);
    fake_sha(hash, '1');
    assert_int_equal(store_admin_token_set(st, hash, 10), 0);
    assert_int_equal(store_admin_token_get(st, got), 0);
    assert_string_equal(got, hash);
    fake_sha(hash, '2');
    assert_int_equal(store_admin_token_set(st, hash, 20), 0);
    assert_int_equal(store_admin_token_get(st, got), 0);
    assert_string_equal(got, hash);
    assert_int_equal(store_admin_token_set(st, "short", 30), -EINVAL);
    store_close(st);
    /* Durable: a new open sees it. */
    st = open_store();
    assert_int_equal(store_admin_token_get(st, got), 0);
    assert_string_equal(got, hash);
    store_close(st);
}

static void writes_join_the_callers_transaction(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct host g;
    /* Rolled back with the caller's batch. */
    assert_int_equal(store_begin(st), 0);
    int64_t id = put_host(st, "temp", 1);
    assert_int_equal(store_host_set_state(st, id, HOST_BORN, "x", 1), 0);
    store_rollback(st);
    assert_int_equal(store_host_by_name(st, "temp", &g), -ENOENT);

    /* A refused put inside the batch undoes only itself. */
    assert_int_equal(store_begin(st), 0);
    put_host(st, "kept", 1);
    struct host dup;
    make_host(&dup, "dup", 1); /* kept's MAC */
    const char *where = NULL;
    assert_int_equal(store_host_put(st, &dup, &where), -EEXIST);
    assert_string_equal(where, "mac");
    host_clear(&dup);
    put_host(st, "also", 2);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_host_by_name(st, "kept", &g), 0);
    host_clear(&g);
    assert_int_equal(store_host_by_name(st, "also", &g), 0);
    host_clear(&g);
    assert_int_equal(store_host_by_name(st, "dup", &g), -ENOENT);
    store_close(st);
}

/* A store as version 3 left it (the schema of migrations 1 to 3), with hosts. */
static const char v3_schema[] =
    "CREATE TABLE leases (address INTEGER PRIMARY KEY, hwtype INTEGER NOT NULL, hwaddr BLOB NOT NULL,"
    " client_id BLOB, hostname TEXT, subnet TEXT NOT NULL, state INTEGER NOT NULL, starts INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, giaddr INTEGER NOT NULL DEFAULT 0, relay_info BLOB,"
    " arch INTEGER NOT NULL DEFAULT -1, vendor_class TEXT, user_class TEXT);"
    "CREATE INDEX leases_hwaddr ON leases(hwaddr);"
    "ALTER TABLE leases ADD COLUMN uuid BLOB;"
    "CREATE TABLE blobs (sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64), size INTEGER NOT NULL,"
    " created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE build_names (name TEXT PRIMARY KEY, last_version INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE builds (id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL CHECK (version > 0),"
    " kind TEXT NOT NULL CHECK (kind IN ('linux','esxi','chain','sanboot','local')),"
    " cmdline TEXT NOT NULL DEFAULT '', san_uri TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL, no_agent INTEGER NOT NULL DEFAULT 0, UNIQUE (name, version));"
    "CREATE TABLE build_files (build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,"
    " position INTEGER NOT NULL, role TEXT NOT NULL CHECK (role IN ('kernel','module','loader')),"
    " name TEXT NOT NULL, sha256 TEXT NOT NULL REFERENCES blobs(sha256), size INTEGER NOT NULL,"
    " args TEXT NOT NULL DEFAULT '', layered INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (build_id, position),"
    " UNIQUE (build_id, name));"
    "CREATE INDEX build_files_sha256 ON build_files(sha256);"
    "CREATE TRIGGER builds_immutable BEFORE UPDATE ON builds"
    "  BEGIN SELECT RAISE(ABORT, 'published builds are immutable'); END;"
    "CREATE TRIGGER build_files_immutable BEFORE UPDATE ON build_files"
    "  BEGIN SELECT RAISE(ABORT, 'published builds are immutable'); END;"
    "CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " mac BLOB NOT NULL UNIQUE CHECK (length(mac) = 6), build TEXT NOT NULL DEFAULT '',"
    " build_version INTEGER NOT NULL DEFAULT 0, vlan INTEGER NOT NULL DEFAULT 0 CHECK (vlan BETWEEN 0 AND 4094),"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE INDEX hosts_build ON hosts(build);"
    "INSERT INTO builds (id, name, version, kind, created) VALUES (1, 'esx', 1, 'local', 10);"
    "INSERT INTO build_names VALUES ('esx', 1);"
    "INSERT INTO hosts VALUES (5, 'esx-01', x'525400abcdef', 'esx', 0, 12, 1700000000, 1700000100);"
    "INSERT INTO hosts VALUES (9, 'deb-01', x'525400000009', '', 0, 0, 1700000200, 1700000200);"
    "INSERT INTO hosts VALUES (11, 'pinned', x'52540000000b', 'esx', 1, 4094, 1700000300, 1700000300);"
    "INSERT INTO leases (address, hwtype, hwaddr, subnet, state, starts, expires)"
    " VALUES (167772260, 1, x'525400000009', 'lab', 1, 10, 20);"
    "PRAGMA user_version = 3;";

static void version_3_hosts_survive_the_migration(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/midwife.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, v3_schema, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("v3 schema: %s", msg);
    sqlite3_close(db);

    struct store *st = open_store();
    assert_int_equal(store_schema_version(st), 4);
    const uint8_t mac1[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
    struct host h;
    assert_int_equal(store_host_by_mac(st, mac1, &h), 0);
    assert_int_equal(h.id, 5);
    assert_string_equal(h.name, "esx-01");
    assert_int_equal(h.n_macs, 1);
    assert_string_equal(h.build, "esx");
    assert_int_equal(h.build_version, 0);
    assert_int_equal(h.vlan, 12);
    assert_int_equal(h.created, 1700000000000); /* seconds became milliseconds */
    assert_int_equal(h.updated, 1700000100000);
    assert_int_equal(h.state, HOST_UNKNOWN);
    assert_int_equal(h.mode, HOST_MODE_STATELESS);
    assert_string_equal(h.labels, "{}");
    assert_string_equal(h.uuid, "");
    host_clear(&h);
    assert_int_equal(store_host_by_name(st, "pinned", &h), 0);
    assert_int_equal(h.id, 11);
    assert_int_equal(h.build_version, 1);
    assert_int_equal(h.vlan, 4094);
    assert_int_equal(h.macs[0][5], 0x0b);
    host_clear(&h);
    struct names n;
    assert_string_equal(list(st, NULL, &n), "deb-01,esx-01,pinned");
    /* The migrated rows still block their build, and the new tables work. */
    assert_int_equal(store_build_delete(st, "esx", 0), -EBUSY);
    struct store_lease l;
    const uint8_t mac9[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x09};
    assert_int_equal(store_lease_by_mac(st, mac9, &l), 0);
    assert_int_equal(l.address, 167772260);
    int64_t id = put_host(st, "new", 0x20);
    assert_true(id > 11); /* ids go on after the migrated ones */
    /* Foreign keys are on: deleting a migrated host frees its MAC. */
    assert_int_equal(store_host_delete(st, 9), 0);
    assert_int_equal(store_host_by_mac(st, mac9, &h), -ENOENT);
    put_host(st, "deb-02", 0x09);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(host_round_trips_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(identities_belong_to_one_host, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_hosts_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(update_leaves_the_lifecycle_fields_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(deleting_a_host_takes_what_is_bound_to_it, setup, teardown),
        cmocka_unit_test_setup_teardown(host_list_filters_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(profiles_round_trip_and_refuse_delete_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(rules_are_ranked_and_ranks_are_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(boot_tokens_are_single_use_and_revocable, setup, teardown),
        cmocka_unit_test_setup_teardown(state_archives_need_a_known_blob_and_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_operations_are_abandoned_at_the_next_birth, setup, teardown),
        cmocka_unit_test_setup_teardown(leases_are_cleaned_up_by_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_token_is_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_join_the_callers_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(version_3_hosts_survive_the_migration, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
