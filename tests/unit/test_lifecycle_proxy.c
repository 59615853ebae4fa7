/* Who gets a boot token at the script request (discover.h): in full mode
 * the asker must be at midwife's bound lease of that MAC; in proxy mode,
 * where the lease is another server's, at an address on a [subnet]
 * network soon after midwife's proxy answer to that MAC. Real store, no
 * event loop. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "lifecycle/discover.h"
#include "lifecycle/lifecycle.h"
#include "store/store_events.h"
#include "store/store_inventory.h"

static char dir[64];
static struct conf conf;
static struct conf_subnet lab;
static struct store *st;
static struct lifecycle *lc;

#define ON_LAB 0xc0000264u  /* 192.0.2.100 */
#define OFF_LAB 0xc6336407u /* 198.51.100.7 */
#define LAB_BCAST 0xc00002ffu

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/midwife-test-proxy-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    memset(&conf, 0, sizeof conf);
    snprintf(conf.state_dir, sizeof conf.state_dir, "%s", dir);
    conf.token_ttl = 3600;
    conf.events_keep = 1000;
    conf.dhcp_mode = DHCP_MODE_PROXY;
    memset(&lab, 0, sizeof lab);
    snprintf(lab.name, sizeof lab.name, "lab");
    lab.network = 0xc0000200u; /* 192.0.2.0/24 */
    lab.prefix = 24;
    lab.netmask = 0xffffff00u;
    conf.subnets = &lab;
    conf.n_subnets = 1;
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

static void make_host(const char *name, const uint8_t mac[6])
{
    struct host h;
    assert_int_equal(host_init(&h), 0);
    snprintf(h.name, sizeof h.name, "%s", name);
    memcpy(h.macs[0], mac, 6);
    h.n_macs = 1;
    const char *where = NULL;
    assert_int_equal(store_host_put(st, &h, &where), 0);
    host_clear(&h);
}

/* Asks for mac's script from peer; true when it started a boot. */
static bool script_started_boot(const uint8_t mac[6], uint32_t peer)
{
    struct script_ask ask = {.peer = peer, .base_url = "http://192.0.2.1:8080"};
    memcpy(ask.mac, mac, 6);
    char *out = NULL, err[256] = "";
    size_t len = 0;
    int r = lifecycle_script_for(lc, &ask, &out, &len, err, sizeof err);
    if (r != 0)
        fail_msg("script: %d %s", r, err);
    free(out);
    struct host h;
    assert_int_equal(store_host_by_mac(st, mac, &h), 0);
    bool booting = h.state == HOST_BOOTING;
    host_clear(&h);
    return booting;
}

struct find {
    const char *kind, *needle;
    bool found;
};

static int find_event(const struct event *ev, void *arg)
{
    struct find *f = arg;
    if (strcmp(ev->kind, f->kind) == 0 && strstr(ev->message, f->needle))
        f->found = true;
    return 0;
}

static bool event_says(const char *kind, const char *needle)
{
    lifecycle_flush(lc);
    struct find f = {kind, needle, false};
    struct event_filter flt = {0};
    store_event_query(st, &flt, find_event, &f);
    return f.found;
}

static void proxy_mode_needs_a_recent_proxy_answer(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x01};
    make_host("p1", mac);
    assert_false(script_started_boot(mac, ON_LAB));
    assert_true(event_says("http.script", "midwife answered no PXE DHCP of this MAC"));

    lifecycle_proxy_answered(lc, mac);
    assert_true(script_started_boot(mac, ON_LAB));
    /* The boot says what it was bound to. */
    assert_true(event_says("token.issued", "served to 192.0.2.100 on subnet lab (proxy mode"));
}

static void proxy_mode_needs_an_address_on_a_subnet(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x02};
    make_host("p2", mac);
    lifecycle_proxy_answered(lc, mac);
    assert_false(script_started_boot(mac, OFF_LAB));
    assert_true(event_says("http.script", "asked from 198.51.100.7, which is on no [subnet]"));
    /* The network's broadcast address is no host's. */
    assert_false(script_started_boot(mac, LAB_BCAST));
    assert_true(script_started_boot(mac, ON_LAB));
}

static void proxy_answer_to_another_mac_does_not_count(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x03};
    static const uint8_t other[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x04};
    make_host("p3", mac);
    lifecycle_proxy_answered(lc, other);
    assert_false(script_started_boot(mac, ON_LAB));
}

/* A bound proxy-mode boot tells the flight recorder whose the address is
 * (no lease of midwife's says so); an address no boot was bound to stays
 * nobody's, and a later boot from it takes it over. */
static void proxy_boot_binds_its_address_for_the_recorder(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x06};
    static const uint8_t mac2[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x07};
    const uint32_t here = ON_LAB + 10;
    uint8_t got[6];
    make_host("p6", mac);
    make_host("p7", mac2);
    assert_int_equal(lifecycle_proxy_mac_at(lc, here, got), -ENOENT);
    lifecycle_proxy_answered(lc, mac);
    assert_true(script_started_boot(mac, here));
    assert_int_equal(lifecycle_proxy_mac_at(lc, here, got), 0);
    assert_memory_equal(got, mac, 6);
    assert_int_equal(lifecycle_proxy_mac_at(lc, here + 1, got), -ENOENT);
    /* No bound boot (no proxy answer): the address is not handed over. */
    assert_false(script_started_boot(mac2, here));
    assert_int_equal(lifecycle_proxy_mac_at(lc, here, got), 0);
    assert_memory_equal(got, mac, 6);
    lifecycle_proxy_answered(lc, mac2);
    assert_true(script_started_boot(mac2, here));
    assert_int_equal(lifecycle_proxy_mac_at(lc, here, got), 0);
    assert_memory_equal(got, mac2, 6);
}

/* A proxy answer as the DHCP room records it (dhcp_service.c). */
static void record_proxy_offer(const uint8_t mac[6], int64_t ts_ms)
{
    struct event ev = {.ts_ms = ts_ms, .status = EVENT_INFO,
                       .data = "{\"xid\":1,\"address\":\"0.0.0.0\",\"client\":\"pxe\",\"proxy\":true}"};
    snprintf(ev.kind, sizeof ev.kind, "dhcp.offer");
    snprintf(ev.mac, sizeof ev.mac, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    snprintf(ev.message, sizeof ev.message, "proxy offered to a PXE client");
    assert_int_equal(store_event_append(st, &ev), 0);
}

/* A restart between a host's proxy answer and its script request does not
 * cost that boot its token, nor the recorder its knowledge of whose an
 * address is: both come back from the flight recorder. Answers older than
 * the window do not. */
static void a_restart_recalls_proxy_answers_and_bound_boots(void **state)
{
    (void)state;
    static const uint8_t fresh[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x08};
    static const uint8_t stale[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x09};
    static const uint8_t booted[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x0a};
    const uint32_t here = ON_LAB + 20;
    make_host("r1", fresh);
    make_host("r2", stale);
    make_host("r3", booted);
    int64_t now = lifecycle_now_ms();
    record_proxy_offer(fresh, now - 10 * 1000);
    record_proxy_offer(stale, now - (LIFECYCLE_PROXY_SEEN_S + 60) * 1000);
    /* A boot bound before the restart. */
    lifecycle_proxy_answered(lc, booted);
    assert_true(script_started_boot(booted, here));
    lifecycle_flush(lc);

    lifecycle_stop(lc);
    assert_int_equal(lifecycle_start(NULL, &conf, st, &lc), 0);
    uint8_t got[6];
    assert_int_equal(lifecycle_proxy_mac_at(lc, here, got), 0);
    assert_memory_equal(got, booted, 6);
    assert_true(script_started_boot(fresh, ON_LAB));
    assert_false(script_started_boot(stale, ON_LAB + 1));
    assert_true(event_says("http.script", "midwife answered no PXE DHCP of this MAC"));

    /* Without the recorder's events (a fresh store), nothing is recalled. */
    lifecycle_stop(lc);
    assert_int_equal(lifecycle_start(NULL, &conf, NULL, &lc), 0);
    assert_int_equal(lifecycle_proxy_mac_at(lc, here, got), -ENOENT);
    lifecycle_stop(lc);
    assert_int_equal(lifecycle_start(NULL, &conf, st, &lc), 0);
}

static void full_mode_needs_midwifes_bound_lease(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x10, 0x00, 0x05};
    conf.dhcp_mode = DHCP_MODE_FULL;
    make_host("f1", mac);
    /* A proxy answer means nothing in full mode. */
    lifecycle_proxy_answered(lc, mac);
    assert_false(script_started_boot(mac, ON_LAB));
    assert_true(event_says("http.script", "which midwife did not lease to this MAC"));
    struct store_lease l = {.address = ON_LAB, .hwtype = 1, .hwaddr_len = 6, .state = LEASE_BOUND,
                            .starts = 1, .expires = 4000000000, .arch = -1};
    memcpy(l.hwaddr, mac, 6);
    assert_int_equal(store_lease_put(st, &l), 0);
    assert_true(script_started_boot(mac, ON_LAB));
    conf.dhcp_mode = DHCP_MODE_PROXY;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(proxy_mode_needs_a_recent_proxy_answer),
        T(proxy_mode_needs_an_address_on_a_subnet),
        T(proxy_answer_to_another_mac_does_not_count),
        T(proxy_boot_binds_its_address_for_the_recorder),
        T(a_restart_recalls_proxy_answers_and_bound_boots),
        T(full_mode_needs_midwifes_bound_lease),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
