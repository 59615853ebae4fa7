/* The DHCP handler, driven with packets, asserting reply bytes and state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "dhcp/dhcp_server.h"
#include "test_dhcp_helpers.h"
#include "store/store.h"
#include "util/log.h"

static const uint8_t MAC_A[6] = {0x52, 0x54, 0x00, 0xaa, 0x00, 0x01};
static const uint8_t MAC_B[6] = {0x52, 0x54, 0x00, 0xbb, 0x00, 0x02};
static const uint8_t MAC_RES[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01}; /* node1 */
#define NOW 1700000000

struct fx {
    struct conf *conf;
    struct dhcp_server *srv;
    struct dhcp_rx_meta meta;
    struct dhcp_reply reply;
    struct req req;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->conf = conf_from_text(TEST_CONF);
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    assert_int_equal(dhcp_server_new(f->conf, &f->srv), 0);
    f->meta.ifindex = 2;
    strcpy(f->meta.ifname, "eth0");
    f->meta.local_addr = ip("10.213.0.1");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    dhcp_server_free(f->srv);
    conf_free(f->conf);
    free(f);
    return 0;
}

static int handle(struct fx *f, int64_t now)
{
    return dhcp_server_handle(f->srv, f->req.b, f->req.len, &f->meta, now, &f->reply);
}

static uint32_t yiaddr(const struct fx *f) { return get32be(f->reply.data + 16); }
static uint8_t reply_type(const struct fx *f)
{
    size_t n;
    const uint8_t *t = reply_opt(f->reply.data, f->reply.len, OPT_MSG_TYPE, &n);
    return t && n == 1 ? t[0] : 0;
}

static void discover(struct fx *f, const uint8_t mac[6])
{
    req_begin(&f->req, DHCPDISCOVER, mac, 0x1234);
    req_end(&f->req);
}

/* DISCOVER then REQUEST (SELECTING); returns the bound address. */
static uint32_t dora(struct fx *f, const uint8_t mac[6], int64_t now)
{
    discover(f, mac);
    assert_int_equal(handle(f, now), 1);
    uint32_t a = yiaddr(f);
    req_begin(&f->req, DHCPREQUEST, mac, 0x1235);
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.1"));
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, a);
    req_end(&f->req);
    assert_int_equal(handle(f, now), 1);
    assert_int_equal(reply_type(f), DHCPACK);
    return a;
}

static void discover_gets_offer_from_pool(void **state)
{
    struct fx *f = *state;
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPOFFER);
    assert_int_equal(f->reply.data[0], BOOTREPLY);
    assert_memory_equal(f->reply.data + 4, "\x00\x00\x12\x34", 4);
    assert_true(yiaddr(f) >= ip("10.213.0.100") && yiaddr(f) <= ip("10.213.0.199"));
    size_t n;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_SERVER_ID, &n);
    assert_non_null(v);
    assert_int_equal(get32be(v), ip("10.213.0.1"));
    v = reply_opt(f->reply.data, f->reply.len, OPT_LEASE_TIME, &n);
    assert_non_null(v);
    assert_int_equal(get32be(v), 3600);
    v = reply_opt(f->reply.data, f->reply.len, OPT_T1, &n);
    assert_int_equal(get32be(v), 1800);
    v = reply_opt(f->reply.data, f->reply.len, OPT_SUBNET_MASK, &n);
    assert_int_equal(get32be(v), 0xffffff00u);
    v = reply_opt(f->reply.data, f->reply.len, OPT_DNS, &n);
    assert_int_equal(n, 8);
    /* No broadcast bit, no ciaddr: unicast to chaddr/yiaddr (RFC 2131 §4.1). */
    assert_int_equal(f->reply.dest, DHCP_DEST_UNICAST_HW);
    assert_int_equal(f->reply.dst_addr, yiaddr(f));
    assert_int_equal(f->reply.dst_port, 68);
    assert_false(f->reply.needs_commit);
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 0); /* offers are not stored */
    assert_null(reply_opt(f->reply.data, f->reply.len, OPT_BOOTFILE, &n)); /* not a PXE client */
}

static void discover_with_broadcast_bit_is_broadcast(void **state)
{
    struct fx *f = *state;
    discover(f, MAC_A);
    req_set_broadcast(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(f->reply.dest, DHCP_DEST_BROADCAST);
    assert_int_equal(f->reply.dst_addr, 0xffffffffu);
    assert_int_equal(f->reply.data[10], 0x80);
}

static void offered_address_is_held_for_other_clients(void **state)
{
    struct fx *f = *state;
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW), 1);
    uint32_t a = yiaddr(f);
    discover(f, MAC_B);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_not_equal(yiaddr(f), a);
    /* The same client asking again gets the same offer. */
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW + 1), 1);
    assert_int_equal(yiaddr(f), a);
}

static void request_selecting_gets_ack_and_queues_lease(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    assert_int_equal(yiaddr(f), a);
    assert_true(f->reply.needs_commit);
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 1);
    assert_int_equal(w[0].address, a);
    assert_int_equal(w[0].state, LEASE_BOUND);
    assert_int_equal(w[0].expires, NOW + 3600);
    assert_memory_equal(w[0].hwaddr, MAC_A, 6);
    assert_string_equal(w[0].subnet, "lan");
}

static void request_for_foreign_address_gets_nak(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    /* B claims A's address (INIT-REBOOT). */
    req_begin(&f->req, DHCPREQUEST, MAC_B, 9);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPNAK);
    assert_int_equal(yiaddr(f), 0);
    assert_int_equal(f->reply.dest, DHCP_DEST_BROADCAST);
    assert_false(f->reply.needs_commit);
}

static void request_selecting_for_unoffered_taken_address_gets_nak(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    req_begin(&f->req, DHCPREQUEST, MAC_B, 9);
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.1"));
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPNAK);
}

static void init_reboot_on_wrong_network_gets_nak(void **state)
{
    struct fx *f = *state;
    req_begin(&f->req, DHCPREQUEST, MAC_A, 9);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("192.168.1.7"));
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPNAK);
}

static void init_reboot_of_own_lease_gets_ack(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    dhcp_server_clear_pending(f->srv);
    req_begin(&f->req, DHCPREQUEST, MAC_A, 9);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW + 100), 1);
    assert_int_equal(reply_type(f), DHCPACK);
    assert_int_equal(yiaddr(f), a);
}

static void init_reboot_unknown_is_silent_when_not_authoritative(void **state)
{
    struct fx *f = *state;
    f->conf->authoritative = false;
    req_begin(&f->req, DHCPREQUEST, MAC_A, 9);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("10.213.0.150"));
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_NOT_AUTHORITATIVE);
    f->conf->authoritative = true;
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPNAK);
}

static void request_for_other_server_is_dropped_and_offer_forgotten(void **state)
{
    struct fx *f = *state;
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW), 1);
    uint32_t a = yiaddr(f);
    req_begin(&f->req, DHCPREQUEST, MAC_A, 9);
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.254"));
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("10.213.0.77"));
    req_end(&f->req);
    uint64_t before = dhcp_drop_count(DHCP_DROP_OTHER_SERVER);
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_OTHER_SERVER);
    assert_int_equal(dhcp_drop_count(DHCP_DROP_OTHER_SERVER), before + 1);
    (void)a;
}

static void renew_is_acked_by_unicast_to_ciaddr(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    dhcp_server_clear_pending(f->srv);
    req_begin(&f->req, DHCPREQUEST, MAC_A, 9);
    req_set_ciaddr(&f->req, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW + 1800), 1);
    assert_int_equal(reply_type(f), DHCPACK);
    assert_int_equal(f->reply.dest, DHCP_DEST_UNICAST);
    assert_int_equal(f->reply.dst_addr, a);
    assert_int_equal(get32be(f->reply.data + 12), a); /* ciaddr copied */
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 1);
    assert_int_equal(w[0].expires, NOW + 1800 + 3600);
}

static void renew_of_someone_elses_address_gets_nak(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    req_begin(&f->req, DHCPREQUEST, MAC_B, 9);
    req_set_ciaddr(&f->req, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPNAK);
}

static void relayed_discover_picks_subnet_by_giaddr(void **state)
{
    struct fx *f = *state;
    discover(f, MAC_A);
    req_set_giaddr(&f->req, ip("10.214.0.1"));
    assert_int_equal(handle(f, NOW), 1);
    assert_true(yiaddr(f) >= ip("10.214.0.10") && yiaddr(f) <= ip("10.214.0.20"));
    assert_int_equal(f->reply.dest, DHCP_DEST_RELAY);
    assert_int_equal(f->reply.dst_addr, ip("10.214.0.1"));
    assert_int_equal(f->reply.dst_port, 67);
    assert_int_equal(get32be(f->reply.data + 24), ip("10.214.0.1")); /* giaddr kept */
    size_t n;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_ROUTER, &n);
    assert_int_equal(get32be(v), ip("10.214.0.1"));
}

static void subnet_selection_option_overrides_giaddr(void **state)
{
    struct fx *f = *state;
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 1);
    req_opt_addr(&f->req, OPT_SUBNET_SELECTION, ip("10.214.0.0"));
    req_end(&f->req);
    req_set_giaddr(&f->req, ip("10.213.0.1"));
    assert_int_equal(handle(f, NOW), 1);
    assert_true(yiaddr(f) >= ip("10.214.0.10") && yiaddr(f) <= ip("10.214.0.20"));
}

static void discover_from_unknown_network_is_dropped(void **state)
{
    struct fx *f = *state;
    discover(f, MAC_A);
    req_set_giaddr(&f->req, ip("172.16.0.1"));
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_NO_SUBNET);
}

static void option82_is_echoed_and_recorded(void **state)
{
    struct fx *f = *state;
    static const uint8_t relay[] = {1, 4, 'p', 'o', 'r', 't', 2, 3, 's', 'w', '1'};
    discover(f, MAC_A);
    f->req.len = 243;
    req_opt(&f->req, OPT_RELAY_AGENT, relay, sizeof relay);
    req_end(&f->req);
    req_set_giaddr(&f->req, ip("10.213.0.1"));
    assert_int_equal(handle(f, NOW), 1);
    size_t n;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_RELAY_AGENT, &n);
    assert_non_null(v);
    assert_int_equal(n, sizeof relay);
    assert_memory_equal(v, relay, sizeof relay);
    /* Last option before End (RFC 3046 §2.2). */
    uint8_t codes[32];
    size_t k = reply_opt_order(f->reply.data, f->reply.len, codes, 32);
    assert_int_equal(codes[k - 1], OPT_RELAY_AGENT);
    uint32_t a = yiaddr(f);
    req_begin(&f->req, DHCPREQUEST, MAC_A, 2);
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.1"));
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, a);
    req_opt(&f->req, OPT_RELAY_AGENT, relay, sizeof relay);
    req_end(&f->req);
    req_set_giaddr(&f->req, ip("10.213.0.1"));
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPACK);
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 1);
    assert_int_equal(w[0].relay_info_len, sizeof relay);
    assert_memory_equal(w[0].relay_info, relay, sizeof relay);
    assert_int_equal(w[0].giaddr, ip("10.213.0.1"));
}

static void reservation_gets_fixed_address_and_hostname(void **state)
{
    struct fx *f = *state;
    discover(f, MAC_RES);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(yiaddr(f), ip("10.213.0.50"));
    size_t n;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_HOSTNAME, &n);
    assert_non_null(v);
    assert_int_equal(n, 5);
    assert_memory_equal(v, "node1", 5);
    /* Nobody else is offered the reserved address, even by asking. */
    req_begin(&f->req, DHCPDISCOVER, MAC_B, 1);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("10.213.0.50"));
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_not_equal(yiaddr(f), ip("10.213.0.50"));
}

static void discover_honours_free_requested_address(void **state)
{
    struct fx *f = *state;
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 1);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("10.213.0.177"));
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(yiaddr(f), ip("10.213.0.177"));
}

static void decline_quarantines_address(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    dhcp_server_clear_pending(f->srv);
    req_begin(&f->req, DHCPDECLINE, MAC_A, 3);
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.1"));
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_NONE);
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 1);
    assert_int_equal(w[0].state, LEASE_DECLINED);
    assert_int_equal(w[0].expires, NOW + f->conf->decline_quarantine);
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW + 1), 1);
    assert_int_not_equal(yiaddr(f), a);
    /* Another client asking for it during the quarantine is refused. */
    req_begin(&f->req, DHCPREQUEST, MAC_B, 9);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW + 2), 1);
    assert_int_equal(reply_type(f), DHCPNAK);
}

static void release_marks_lease_released(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    dhcp_server_clear_pending(f->srv);
    req_begin(&f->req, DHCPRELEASE, MAC_A, 4);
    req_set_ciaddr(&f->req, a);
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.1"));
    req_end(&f->req);
    assert_int_equal(handle(f, NOW + 5), 0);
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 1);
    assert_int_equal(w[0].state, LEASE_RELEASED);
    /* It comes back to the same client. */
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW + 6), 1);
    assert_int_equal(yiaddr(f), a);
}

static void release_by_another_client_is_ignored(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    dhcp_server_clear_pending(f->srv);
    req_begin(&f->req, DHCPRELEASE, MAC_B, 4);
    req_set_ciaddr(&f->req, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_NO_LEASE);
    assert_int_equal(dhcp_server_lease(f->srv, a)->state, LEASE_BOUND);
}

static void inform_gets_ack_without_lease(void **state)
{
    struct fx *f = *state;
    req_begin(&f->req, DHCPINFORM, MAC_A, 5);
    req_set_ciaddr(&f->req, ip("10.213.0.9"));
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPACK);
    assert_int_equal(yiaddr(f), 0);
    size_t n;
    assert_null(reply_opt(f->reply.data, f->reply.len, OPT_LEASE_TIME, &n));
    assert_non_null(reply_opt(f->reply.data, f->reply.len, OPT_ROUTER, &n));
    assert_int_equal(f->reply.dest, DHCP_DEST_UNICAST);
    assert_int_equal(f->reply.dst_addr, ip("10.213.0.9"));
    assert_false(f->reply.needs_commit);
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 0);
}

static void pxe_discover_arch_7_gets_snponly_and_pxe_options(void **state)
{
    struct fx *f = *state;
    static const char vc[] = "PXEClient:Arch:00007:UNDI:003016";
    static const uint8_t arch[] = {0, 7};
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 1);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, sizeof vc - 1);
    req_opt(&f->req, OPT_CLIENT_ARCH, arch, 2);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_string_equal((const char *)f->reply.data + 108, "snponly.efi");
    assert_int_equal(get32be(f->reply.data + 20), ip("10.213.0.1")); /* siaddr */
    size_t n;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_VENDOR_CLASS, &n);
    assert_int_equal(n, 9);
    assert_memory_equal(v, "PXEClient", 9);
    v = reply_opt(f->reply.data, f->reply.len, OPT_VENDOR_SPECIFIC, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "\x06\x01\x08\xff", 4);
    v = reply_opt(f->reply.data, f->reply.len, OPT_BOOTFILE, &n);
    assert_memory_equal(v, "snponly.efi", n);
}

static void ipxe_client_gets_script_not_boot_program(void **state)
{
    struct fx *f = *state;
    static const char vc[] = "PXEClient:Arch:00000:UNDI:002001";
    static const uint8_t arch[] = {0, 0}, enc[] = {0xb1, 1, 1};
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 1);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, sizeof vc - 1);
    req_opt(&f->req, OPT_CLIENT_ARCH, arch, 2);
    req_opt(&f->req, OPT_USER_CLASS, "iPXE", 4);
    req_opt(&f->req, OPT_IPXE_ENCAP, enc, 3);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    size_t n;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_BOOTFILE, &n);
    static const char want[] = "http://10.213.0.1/boot/52-54-00-aa-00-01.ipxe";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(v, want, n);
    assert_null(strstr((const char *)f->reply.data + 108, "undionly"));
    /* iPXE does not need the PXE discovery-control option. */
    assert_null(reply_opt(f->reply.data, f->reply.len, OPT_VENDOR_SPECIFIC, &n));
}

static void unknown_pxe_client_is_ignored_but_plain_client_served(void **state)
{
    struct fx *f = *state;
    f->conf->unknown_clients = UNKNOWN_IGNORE;
    static const char vc[] = "PXEClient:Arch:00000:UNDI:002001";
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 1);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, sizeof vc - 1);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_UNKNOWN_CLIENT);
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW), 1);
    /* The reserved (known) PXE client still boots. */
    req_begin(&f->req, DHCPDISCOVER, MAC_RES, 1);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, sizeof vc - 1);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_string_equal((const char *)f->reply.data + 108, "undionly.kpxe");
}

/* Host records reach DHCP as known clients and static addresses. */
static void inventory_hosts_are_known_and_get_their_static_address(void **state)
{
    struct fx *f = *state;
    f->conf->unknown_clients = UNKNOWN_IGNORE;
    static const char vc[] = "PXEClient:Arch:00000:UNDI:002001";
    static const uint8_t MAC_INV[6] = {0x52, 0x54, 0x00, 0xcc, 0x00, 0x03};
    struct dhcp_inventory_host inv[] = {
        {.mac = {0x52, 0x54, 0x00, 0xaa, 0x00, 0x01}, .address = 0, .name = "plain-record"},
        {.mac = {0x52, 0x54, 0x00, 0xcc, 0x00, 0x03}, .address = 0, .name = "esx-7"},
    };
    inv[1].address = ip("10.213.0.77");
    assert_int_equal(dhcp_server_set_inventory(f->srv, inv, 2), 0);
    /* MAC_A has a record without an address: known, so its PXE DISCOVER
     * is answered from the pool. */
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 1);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, sizeof vc - 1);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_not_equal(yiaddr(f), ip("10.213.0.77"));
    /* MAC_B has none: ignored. */
    req_begin(&f->req, DHCPDISCOVER, MAC_B, 2);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, sizeof vc - 1);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_UNKNOWN_CLIENT);
    /* The static address goes to its host, with the host's name. */
    assert_int_equal(dora(f, MAC_INV, NOW), ip("10.213.0.77"));
    size_t n;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_HOSTNAME, &n);
    assert_non_null(v);
    assert_memory_equal(v, "esx-7", 5);
    /* Nobody else gets it, even by asking. */
    f->conf->unknown_clients = UNKNOWN_BOOT;
    req_begin(&f->req, DHCPDISCOVER, MAC_B, 3);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("10.213.0.77"));
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_not_equal(yiaddr(f), ip("10.213.0.77"));
    /* The flight recorder's view of the last exchange. */
    struct dhcp_exchange x;
    dhcp_server_last_exchange(f->srv, &x);
    assert_true(x.parsed && x.has_mac);
    assert_memory_equal(x.mac, MAC_B, 6);
    assert_int_equal(x.msg_type, DHCPDISCOVER);
    assert_int_equal(x.reply_type, DHCPOFFER);
    assert_int_equal(x.address, yiaddr(f));
    assert_string_equal(x.subnet, f->conf->subnets[0].name);
    /* Replaced as a whole: the record is gone, so is the reservation. */
    assert_int_equal(dhcp_server_set_inventory(f->srv, NULL, 0), 0);
    f->conf->unknown_clients = UNKNOWN_IGNORE;
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 4);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, sizeof vc - 1);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 0);
}

/* A SAN-booting host's MACs get its root path (option 17) in every
 * reply, byte for byte; iPXE also gets the initiator name (option 203),
 * other clients never; a MAC without one gets neither. */
static void san_host_gets_root_path_and_ipxe_its_initiator(void **state)
{
    struct fx *f = *state;
    static const char root[] = "iscsi:10.213.0.9::3260:1:iqn.2026-12.lab:disk-7";
    static const char iqn[] = "iqn.2026-12.midwife:san-7";
    static const uint8_t MAC_SAN[6] = {0x52, 0x54, 0x00, 0x5a, 0x00, 0x07};
    struct dhcp_inventory_host inv[] = {
        {.mac = {0x52, 0x54, 0x00, 0xaa, 0x00, 0x01}, .name = "plain-record"},
        {.mac = {0x52, 0x54, 0x00, 0x5a, 0x00, 0x07}, .name = "san-7"},
    };
    snprintf(inv[1].root_path, sizeof inv[1].root_path, "%s", root);
    snprintf(inv[1].initiator, sizeof inv[1].initiator, "%s", iqn);
    assert_int_equal(dhcp_server_set_inventory(f->srv, inv, 2), 0);

    /* iPXE: OFFER and ACK both carry 17 and 203 next to the script. */
    static const uint8_t enc[] = {0xb1, 1, 1};
    static const uint8_t types[] = {DHCPDISCOVER, DHCPREQUEST};
    for (size_t t = 0; t < sizeof types; t++) {
        uint8_t type = types[t];
        req_begin(&f->req, type, MAC_SAN, 7);
        req_opt(&f->req, OPT_USER_CLASS, "iPXE", 4);
        req_opt(&f->req, OPT_IPXE_ENCAP, enc, 3);
        if (type == DHCPREQUEST) {
            req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.1"));
            req_opt_addr(&f->req, OPT_REQUESTED_ADDR, yiaddr(f));
        }
        req_end(&f->req);
        assert_int_equal(handle(f, NOW), 1);
        assert_int_equal(reply_type(f), type == DHCPDISCOVER ? DHCPOFFER : DHCPACK);
        size_t n;
        const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_ROOT_PATH, &n);
        assert_non_null(v);
        assert_int_equal(n, sizeof root - 1);
        assert_memory_equal(v, root, n);
        v = reply_opt(f->reply.data, f->reply.len, OPT_ISCSI_INITIATOR, &n);
        assert_non_null(v);
        assert_int_equal(n, sizeof iqn - 1);
        assert_memory_equal(v, iqn, n);
        assert_non_null(reply_opt(f->reply.data, f->reply.len, OPT_BOOTFILE, &n));
        struct dhcp_exchange x;
        dhcp_server_last_exchange(f->srv, &x);
        assert_string_equal(x.root_path, root);
    }
    /* The booted system (a plain client, same MAC): the root path only. */
    req_begin(&f->req, DHCPDISCOVER, MAC_SAN, 8);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    size_t n;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, OPT_ROOT_PATH, &n);
    assert_non_null(v);
    assert_memory_equal(v, root, n);
    assert_null(reply_opt(f->reply.data, f->reply.len, OPT_ISCSI_INITIATOR, &n));
    /* Another host record, and a MAC midwife does not know: neither. */
    for (int i = 0; i < 2; i++) {
        req_begin(&f->req, DHCPDISCOVER, i ? MAC_B : MAC_A, 9);
        req_opt(&f->req, OPT_USER_CLASS, "iPXE", 4);
        req_end(&f->req);
        assert_int_equal(handle(f, NOW), 1);
        assert_null(reply_opt(f->reply.data, f->reply.len, OPT_ROOT_PATH, &n));
        assert_null(reply_opt(f->reply.data, f->reply.len, OPT_ISCSI_INITIATOR, &n));
        struct dhcp_exchange x;
        dhcp_server_last_exchange(f->srv, &x);
        assert_string_equal(x.root_path, "");
    }
    /* A later inventory without it takes it away. */
    inv[1].root_path[0] = '\0';
    assert_int_equal(dhcp_server_set_inventory(f->srv, inv, 2), 0);
    req_begin(&f->req, DHCPDISCOVER, MAC_SAN, 10);
    req_opt(&f->req, OPT_USER_CLASS, "iPXE", 4);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_null(reply_opt(f->reply.data, f->reply.len, OPT_ROOT_PATH, &n));
    assert_null(reply_opt(f->reply.data, f->reply.len, OPT_ISCSI_INITIATOR, &n));
}

/* The birth's cleanup: a MAC's leases but one are forgotten. */
static void forget_mac_keeps_one_lease_and_frees_the_rest(void **state)
{
    struct fx *f = *state;
    uint32_t a = dora(f, MAC_A, NOW);
    /* A second lease for the same MAC, on the relayed subnet. */
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 9);
    req_set_giaddr(&f->req, ip("10.214.0.1"));
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    uint32_t b = yiaddr(f);
    req_begin(&f->req, DHCPREQUEST, MAC_A, 10);
    req_set_giaddr(&f->req, ip("10.214.0.1"));
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.1"));
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, b);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    assert_int_equal(reply_type(f), DHCPACK);
    assert_int_equal(dhcp_server_forget_mac(f->srv, MAC_A, a), 1);
    /* Its pending write is gone, so the row cannot come back. */
    const struct store_lease *w;
    size_t np = dhcp_server_pending(f->srv, &w);
    for (size_t i = 0; i < np; i++)
        assert_int_not_equal(w[i].address, b);
    /* The forgotten record belongs to nobody; the kept one is untouched. */
    assert_int_equal(dhcp_server_lease(f->srv, b)->hwaddr_len, 0);
    assert_int_equal(dhcp_server_lease(f->srv, a)->hwaddr_len, 6);
    assert_int_equal(dhcp_server_forget_mac(f->srv, MAC_A, 0), 1);
    assert_int_equal(dhcp_server_lease(f->srv, a)->hwaddr_len, 0);
}

static void parameter_request_list_order_is_honoured(void **state)
{
    struct fx *f = *state;
    static const uint8_t prl[] = {OPT_DNS, OPT_DOMAIN, OPT_ROUTER, OPT_SUBNET_MASK};
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 1);
    req_opt(&f->req, OPT_PARAM_LIST, prl, sizeof prl);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    uint8_t codes[32];
    size_t k = reply_opt_order(f->reply.data, f->reply.len, codes, 32);
    /* 53 54 51 58 59, then the list in the client's order. */
    assert_true(k >= 9);
    assert_memory_equal(codes + 5, prl, sizeof prl);
}

static void reply_fits_576_unless_option57_allows_more(void **state)
{
    struct fx *f = *state;
    /* An option 82 of 400 bytes leaves room only when 57 allows more. */
    uint8_t relay[255];
    memset(relay, 'x', sizeof relay);
    relay[0] = 1;
    relay[1] = 253;
    discover(f, MAC_A);
    f->req.len = 243;
    req_opt(&f->req, OPT_RELAY_AGENT, relay, 255);
    req_opt(&f->req, OPT_RELAY_AGENT, relay, 150);
    req_end(&f->req);
    req_set_giaddr(&f->req, ip("10.213.0.1"));
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_REPLY_TOO_BIG);
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW), 1);
    assert_true(f->reply.len <= 576 - 28);

    discover(f, MAC_A);
    f->req.len = 243;
    static const uint8_t big[] = {0x05, 0xdc}; /* 1500 */
    req_opt(&f->req, OPT_MAX_MSG_SIZE, big, 2);
    req_opt(&f->req, OPT_RELAY_AGENT, relay, 255);
    req_opt(&f->req, OPT_RELAY_AGENT, relay, 255);
    req_end(&f->req);
    req_set_giaddr(&f->req, ip("10.213.0.1"));
    assert_int_equal(handle(f, NOW), 1);
    assert_true(f->reply.len > 576 - 28 && f->reply.len <= 1500 - 28);
}

static void pool_exhaustion_is_dropped_with_reason(void **state)
{
    struct fx *f = *state;
    /* far: .10-.20, router .1 outside: 11 addresses. */
    uint8_t mac[6] = {2, 0, 0, 0, 0, 0};
    for (int i = 0; i < 11; i++) {
        mac[5] = (uint8_t)i;
        discover(f, mac);
        req_set_giaddr(&f->req, ip("10.214.0.1"));
        assert_int_equal(handle(f, NOW), 1);
    }
    mac[5] = 99;
    discover(f, mac);
    req_set_giaddr(&f->req, ip("10.214.0.1"));
    assert_int_equal(handle(f, NOW), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_POOL_EXHAUSTED);
    /* Once the offers lapse, their addresses are reused. */
    assert_int_equal(handle(f, NOW + f->conf->offer_hold + 1), 1);
    assert_true(yiaddr(f) >= ip("10.214.0.10") && yiaddr(f) <= ip("10.214.0.20"));
}

static void returning_client_gets_same_address_after_restart(void **state)
{
    struct fx *f = *state;
    char dir[] = "/tmp/mw-dhcp-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct store *st;
    char err[256];
    assert_int_equal(store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err), 0);
    dora(f, MAC_B, NOW);            /* someone else first, so A's address is not the first */
    uint32_t a = dora(f, MAC_A, NOW);
    const struct store_lease *w;
    size_t n = dhcp_server_pending(f->srv, &w);
    assert_int_equal(store_begin(st), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(store_lease_put(st, &w[i]), 0);
    assert_int_equal(store_commit(st), 0);
    store_close(st);

    /* A new process: fresh server, leases from the store, long after expiry. */
    dhcp_server_free(f->srv);
    assert_int_equal(dhcp_server_new(f->conf, &f->srv), 0);
    assert_int_equal(store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err), 0);
    struct store_lease l;
    assert_int_equal(store_lease_get(st, a, &l), 0);
    assert_int_equal(dhcp_server_load_lease(f->srv, &l), 0);
    assert_int_equal(store_lease_get(st, a == ip("10.213.0.100") ? ip("10.213.0.101") : ip("10.213.0.100"), &l), 0);
    assert_int_equal(dhcp_server_load_lease(f->srv, &l), 0);
    store_close(st);
    discover(f, MAC_A);
    assert_int_equal(handle(f, NOW + 86400), 1);
    assert_int_equal(yiaddr(f), a);
    /* A new client does not get either remembered address. */
    static const uint8_t mac_c[6] = {0x52, 0x54, 0, 0xcc, 0, 3};
    discover(f, mac_c);
    assert_int_equal(handle(f, NOW + 86400), 1);
    assert_int_not_equal(yiaddr(f), a);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void client_id_identifies_client_across_mac_lookups(void **state)
{
    struct fx *f = *state;
    static const uint8_t cid[] = {0xff, 1, 2, 3, 4, 5, 6, 7};
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 1);
    req_opt(&f->req, OPT_CLIENT_ID, cid, sizeof cid);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    uint32_t a = yiaddr(f);
    req_begin(&f->req, DHCPREQUEST, MAC_A, 2);
    req_opt(&f->req, OPT_CLIENT_ID, cid, sizeof cid);
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.1"));
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, a);
    req_end(&f->req);
    assert_int_equal(handle(f, NOW), 1);
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 1);
    assert_int_equal(w[0].client_id_len, sizeof cid);
    assert_memory_equal(w[0].client_id, cid, sizeof cid);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(discover_gets_offer_from_pool),
        T(discover_with_broadcast_bit_is_broadcast),
        T(offered_address_is_held_for_other_clients),
        T(request_selecting_gets_ack_and_queues_lease),
        T(request_for_foreign_address_gets_nak),
        T(request_selecting_for_unoffered_taken_address_gets_nak),
        T(init_reboot_on_wrong_network_gets_nak),
        T(init_reboot_of_own_lease_gets_ack),
        T(init_reboot_unknown_is_silent_when_not_authoritative),
        T(request_for_other_server_is_dropped_and_offer_forgotten),
        T(renew_is_acked_by_unicast_to_ciaddr),
        T(renew_of_someone_elses_address_gets_nak),
        T(relayed_discover_picks_subnet_by_giaddr),
        T(subnet_selection_option_overrides_giaddr),
        T(discover_from_unknown_network_is_dropped),
        T(option82_is_echoed_and_recorded),
        T(reservation_gets_fixed_address_and_hostname),
        T(inventory_hosts_are_known_and_get_their_static_address),
        T(san_host_gets_root_path_and_ipxe_its_initiator),
        T(forget_mac_keeps_one_lease_and_frees_the_rest),
        T(discover_honours_free_requested_address),
        T(decline_quarantines_address),
        T(release_marks_lease_released),
        T(release_by_another_client_is_ignored),
        T(inform_gets_ack_without_lease),
        T(pxe_discover_arch_7_gets_snponly_and_pxe_options),
        T(ipxe_client_gets_script_not_boot_program),
        T(unknown_pxe_client_is_ignored_but_plain_client_served),
        T(parameter_request_list_order_is_honoured),
        T(reply_fits_576_unless_option57_allows_more),
        T(pool_exhaustion_is_dropped_with_reason),
        T(returning_client_gets_same_address_after_restart),
        T(client_id_identifies_client_across_mac_lookups),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
