/* The DHCP handler in proxy mode ([dhcp] mode = proxy): boot information
 * for PXE clients, never an address; the PXE boot server port; and the
 * config rules of proxy mode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "dhcp/dhcp_server.h"
#include "test_dhcp_helpers.h"
#include "util/log.h"

static const uint8_t MAC_A[6] = {0x52, 0x54, 0x00, 0xaa, 0x00, 0x01};
#define NOW 1700000000
#define PXE_VC "PXEClient:Arch:00007:UNDI:003016"
#define BIOS_VC "PXEClient:Arch:00000:UNDI:002001"

#define PROXY_CONF                                 \
    "[server]\n"                                   \
    "state_dir = /tmp/mw-dhcp-test-state\n"        \
    "log_level = error\n"                          \
    "[dhcp]\n"                                     \
    "interfaces = eth0\n"                          \
    "mode = proxy\n"                               \
    "[subnet lan]\n"                               \
    "network = 10.213.0.0/24\n"                    \
    "router = 10.213.0.254\n"                      \
    "[subnet far]\n"                               \
    "network = 10.214.0.0/24\n"                    \
    "[pxe]\n"                                      \
    "ipxe_script = http://10.213.0.1/boot/ipxe?mac={mac}\n" \
    "[tftp]\n"                                     \
    "enabled = no\n"

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
    f->conf = conf_from_text(PROXY_CONF);
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    assert_int_equal(f->conf->dhcp_mode, DHCP_MODE_PROXY);
    assert_int_equal(f->conf->dhcp_pxe_port, 4011);
    assert_int_equal(dhcp_server_new(f->conf, &f->srv), 0);
    f->meta.ifindex = 2;
    strcpy(f->meta.ifname, "eth0");
    f->meta.local_addr = ip("10.213.0.1");
    f->meta.src_port = 68;
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

static int handle(struct fx *f)
{
    return dhcp_server_handle(f->srv, f->req.b, f->req.len, &f->meta, NOW, &f->reply);
}

static const uint8_t *opt(const struct fx *f, uint8_t code, size_t *n)
{
    return reply_opt(f->reply.data, f->reply.len, code, n);
}

static uint8_t reply_type(const struct fx *f)
{
    size_t n;
    const uint8_t *t = opt(f, OPT_MSG_TYPE, &n);
    return t && n == 1 ? t[0] : 0;
}

static const char *file_field(const struct fx *f)
{
    return (const char *)f->reply.data + 108;
}

/* A UUID as RFC 4578 §2.5 has it: type 0, then 16 bytes. */
static const uint8_t UUID_OPT[17] = {0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                     0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};

static void pxe_request(struct fx *f, uint8_t type, const char *vc, uint16_t arch)
{
    req_begin(&f->req, type, MAC_A, 0xc0ffee);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, (uint8_t)strlen(vc));
    uint8_t a[2] = {(uint8_t)(arch >> 8), (uint8_t)arch};
    req_opt(&f->req, OPT_CLIENT_ARCH, a, 2);
    req_opt(&f->req, OPT_UUID, UUID_OPT, sizeof UUID_OPT);
    /* What EDK2's PXE asks for. */
    static const uint8_t prl[] = {1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51,
                                  54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135};
    req_opt(&f->req, OPT_PARAM_LIST, prl, sizeof prl);
}

/* Every proxy reply: boot information, our server id, no address and
 * nothing about the network (the other server's to say). */
static void assert_proxy_reply(const struct fx *f, uint8_t type, const char *file)
{
    assert_int_equal(reply_type(f), type);
    assert_int_equal(f->reply.data[0], BOOTREPLY);
    assert_int_equal(get32be(f->reply.data + 16), 0); /* yiaddr */
    assert_int_equal(get32be(f->reply.data + 20), ip("10.213.0.1")); /* siaddr: next server */
    size_t n;
    const uint8_t *v = opt(f, OPT_SERVER_ID, &n);
    assert_int_equal(n, 4);
    assert_int_equal(get32be(v), ip("10.213.0.1"));
    v = opt(f, OPT_VENDOR_CLASS, &n);
    assert_non_null(v);
    assert_int_equal(n, 9);
    assert_memory_equal(v, "PXEClient", 9);
    /* PXE_DISCOVERY_CONTROL bit 3: boot the named file, no discovery. */
    v = opt(f, OPT_VENDOR_SPECIFIC, &n);
    assert_non_null(v);
    assert_int_equal(n, 4);
    assert_memory_equal(v, "\x06\x01\x08\xff", 4);
    v = opt(f, OPT_UUID, &n);
    assert_non_null(v);
    assert_int_equal(n, 17);
    assert_memory_equal(v, UUID_OPT, 17);
    v = opt(f, OPT_BOOTFILE, &n);
    assert_non_null(v);
    assert_int_equal(n, strlen(file));
    assert_memory_equal(v, file, n);
    assert_null(opt(f, OPT_SUBNET_MASK, &n));
    assert_null(opt(f, OPT_ROUTER, &n));
    assert_null(opt(f, OPT_LEASE_TIME, &n));
    assert_false(f->reply.needs_commit);
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 0);
    assert_int_equal(dhcp_server_lease_count(f->srv), 0);
    struct dhcp_exchange x;
    dhcp_server_last_exchange(f->srv, &x);
    assert_true(x.proxy);
    assert_int_equal(x.reply_type, type);
    assert_string_equal(x.file, file);
}

static void pxe_discover_gets_proxy_offer_without_address(void **state)
{
    struct fx *f = *state;
    pxe_request(f, DHCPDISCOVER, PXE_VC, 7);
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    assert_proxy_reply(f, DHCPOFFER, "snponly.efi");
    assert_string_equal(file_field(f), "snponly.efi");
    size_t n;
    const uint8_t *v = opt(f, OPT_TFTP_SERVER, &n);
    assert_non_null(v);
    assert_memory_equal(v, "10.213.0.1", n);
    /* The client has no address yet: everyone on the link hears it. */
    assert_int_equal(f->reply.dest, DHCP_DEST_BROADCAST);
    assert_int_equal(f->reply.dst_addr, 0xffffffffu);
    assert_int_equal(f->reply.dst_port, 68);
    assert_false(f->meta.pxe_port);
}

static void ipxe_discover_gets_script_url(void **state)
{
    struct fx *f = *state;
    pxe_request(f, DHCPDISCOVER, BIOS_VC, 0);
    req_opt(&f->req, OPT_USER_CLASS, "iPXE", 4);
    req_opt(&f->req, OPT_IPXE_ENCAP, "\x13\x01\x01", 3);
    req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("10.213.0.77")); /* the other server's lease */
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    /* The script, never the boot program again (no chainload loop). */
    assert_proxy_reply(f, DHCPOFFER, "http://10.213.0.1/boot/ipxe?mac=52-54-00-aa-00-01");
    struct dhcp_exchange x;
    dhcp_server_last_exchange(f->srv, &x);
    assert_int_equal(x.client, BOOT_CLIENT_IPXE);
    assert_int_equal(x.address, 0); /* a proxy offer offers no address */
}

static void bios_pxe_discover_gets_undionly(void **state)
{
    struct fx *f = *state;
    pxe_request(f, DHCPDISCOVER, BIOS_VC, 0);
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    assert_proxy_reply(f, DHCPOFFER, "undionly.kpxe");
}

/* A SAN-booting host behind a proxy: the root path (17) is boot
 * information the site's server does not have, so the proxy offer carries
 * it, and iPXE also gets its initiator name (203); firmware PXE gets 17
 * only; the recorder tells the root path. */
static void san_host_gets_root_path_in_proxy_offers(void **state)
{
    struct fx *f = *state;
    static const char root[] = "iscsi:10.213.0.9::3260:1:iqn.2026-12.lab:disk-7";
    static const char iqn[] = "iqn.2026-12.midwife:san-7";
    struct dhcp_inventory_host inv[] = {{.mac = {0x52, 0x54, 0x00, 0xaa, 0x00, 0x01}, .name = "san-7"}};
    snprintf(inv[0].root_path, sizeof inv[0].root_path, "%s", root);
    snprintf(inv[0].initiator, sizeof inv[0].initiator, "%s", iqn);
    assert_int_equal(dhcp_server_set_inventory(f->srv, inv, 1), 0);
    for (int ipxe = 0; ipxe < 2; ipxe++) {
        pxe_request(f, DHCPDISCOVER, BIOS_VC, 0);
        if (ipxe) {
            req_opt(&f->req, OPT_USER_CLASS, "iPXE", 4);
            req_opt(&f->req, OPT_IPXE_ENCAP, "\x13\x01\x01", 3);
        }
        req_end(&f->req);
        assert_int_equal(handle(f), 1);
        assert_proxy_reply(f, DHCPOFFER, ipxe ? "http://10.213.0.1/boot/ipxe?mac=52-54-00-aa-00-01" : "undionly.kpxe");
        size_t n;
        const uint8_t *v = opt(f, OPT_ROOT_PATH, &n);
        assert_non_null(v);
        assert_int_equal(n, sizeof root - 1);
        assert_memory_equal(v, root, n);
        v = opt(f, OPT_ISCSI_INITIATOR, &n);
        if (ipxe) {
            assert_non_null(v);
            assert_int_equal(n, sizeof iqn - 1);
            assert_memory_equal(v, iqn, n);
        } else {
            assert_null(v);
        }
        struct dhcp_exchange x;
        dhcp_server_last_exchange(f->srv, &x);
        assert_string_equal(x.root_path, root);
    }
    /* Without a root path in the inventory: neither. */
    inv[0].root_path[0] = '\0';
    assert_int_equal(dhcp_server_set_inventory(f->srv, inv, 1), 0);
    pxe_request(f, DHCPDISCOVER, BIOS_VC, 0);
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    size_t n;
    assert_null(opt(f, OPT_ROOT_PATH, &n));
}

/* UEFI HTTP Boot beside another DHCP server: an offer with no address,
 * option 60 "HTTPClient" and the boot program's URL, which the firmware
 * pairs with the other server's address offer. No PXE vendor options. */
static void http_boot_discover_gets_proxy_offer_with_url(void **state)
{
    struct fx *f = *state;
    pxe_request(f, DHCPDISCOVER, "HTTPClient:Arch:00016:UNDI:003001", 16);
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    assert_int_equal(reply_type(f), DHCPOFFER);
    assert_int_equal(get32be(f->reply.data + 16), 0); /* yiaddr */
    size_t n = 0;
    const uint8_t *v = opt(f, OPT_VENDOR_CLASS, &n);
    assert_non_null(v);
    assert_int_equal(n, 10);
    assert_memory_equal(v, "HTTPClient", 10);
    v = opt(f, OPT_BOOTFILE, &n);
    assert_non_null(v);
    assert_true(n > 7 && memcmp(v, "http://", 7) == 0);
    assert_non_null(strstr(file_field(f), "/boot/program/"));
    assert_null(opt(f, OPT_VENDOR_SPECIFIC, &n));
    assert_null(opt(f, OPT_TFTP_SERVER, &n));
    assert_null(opt(f, OPT_SUBNET_MASK, &n));
    assert_null(opt(f, OPT_LEASE_TIME, &n));
    assert_int_equal(dhcp_server_lease_count(f->srv), 0);
}

static void plain_clients_get_nothing_and_are_only_counted(void **state)
{
    struct fx *f = *state;
    static const char *const classes[] = {NULL, "MSFT 5.0", "HTTPClien", "PXEClien"};
    static const uint8_t types[] = {DHCPDISCOVER, DHCPREQUEST, DHCPINFORM, DHCPRELEASE};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        for (size_t t = 0; t < sizeof types; t++) {
            uint64_t before = dhcp_drop_count(DHCP_DROP_PROXY_NOT_PXE);
            req_begin(&f->req, types[t], MAC_A, 0x77);
            if (classes[i])
                req_opt(&f->req, OPT_VENDOR_CLASS, classes[i], (uint8_t)strlen(classes[i]));
            req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("10.213.0.77"));
            req_end(&f->req);
            assert_int_equal(handle(f), 0);
            assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_PROXY_NOT_PXE);
            assert_int_equal(dhcp_drop_count(DHCP_DROP_PROXY_NOT_PXE), before + 1);
        }
    assert_string_equal(dhcp_drop_name(DHCP_DROP_PROXY_NOT_PXE), "proxy_not_pxe");
    assert_int_equal(dhcp_server_lease_count(f->srv), 0);
}

/* The addresses are the other server's: a PXE client's REQUEST to it,
 * its INIT-REBOOT, DECLINE, RELEASE and INFORM get no answer from us,
 * and certainly no NAK (authoritative is on by default). */
static void address_traffic_of_pxe_clients_is_never_answered(void **state)
{
    struct fx *f = *state;
    static const uint8_t types[] = {DHCPREQUEST, DHCPREQUEST, DHCPDECLINE, DHCPRELEASE, DHCPINFORM};
    for (size_t t = 0; t < sizeof types; t++) {
        pxe_request(f, types[t], PXE_VC, 7);
        if (t == 0)
            req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.254"));
        req_opt_addr(&f->req, OPT_REQUESTED_ADDR, ip("10.213.0.77"));
        req_end(&f->req);
        assert_int_equal(handle(f), 0);
        assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_OTHER_SERVER);
    }
    const struct store_lease *w;
    assert_int_equal(dhcp_server_pending(f->srv, &w), 0);
    assert_int_equal(dhcp_server_lease_count(f->srv), 0);
}

static void request_on_pxe_port_gets_ack_back_to_client(void **state)
{
    struct fx *f = *state;
    f->meta.pxe_port = true;
    f->meta.src_addr = ip("10.213.0.57");
    f->meta.src_port = 4011;
    pxe_request(f, DHCPREQUEST, PXE_VC, 7);
    req_set_ciaddr(&f->req, ip("10.213.0.57"));
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    assert_proxy_reply(f, DHCPACK, "snponly.efi");
    assert_int_equal(get32be(f->reply.data + 12), ip("10.213.0.57")); /* ciaddr copied */
    assert_int_equal(f->reply.dest, DHCP_DEST_UNICAST);
    assert_int_equal(f->reply.dst_addr, ip("10.213.0.57"));
    assert_int_equal(f->reply.dst_port, 4011);
    assert_int_equal(f->reply.src_addr, ip("10.213.0.1"));
    struct dhcp_exchange x;
    dhcp_server_last_exchange(f->srv, &x);
    assert_true(x.pxe_port);
    assert_string_equal(x.subnet, "lan");
    assert_int_equal(x.address, ip("10.213.0.57"));

    /* The source port is where the answer goes, whatever it is. */
    f->meta.src_port = 68;
    assert_int_equal(handle(f), 1);
    assert_int_equal(f->reply.dst_port, 68);
}

/* A client on a routed network reaches port 4011 directly: its own
 * address says which [subnet] it is on, not the receiving interface. */
static void routed_request_on_pxe_port_uses_the_clients_subnet(void **state)
{
    struct fx *f = *state;
    f->meta.pxe_port = true;
    f->meta.src_addr = ip("10.214.0.9");
    pxe_request(f, DHCPREQUEST, BIOS_VC, 0);
    req_set_ciaddr(&f->req, ip("10.214.0.9"));
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    assert_proxy_reply(f, DHCPACK, "undionly.kpxe");
    struct dhcp_exchange x;
    dhcp_server_last_exchange(f->srv, &x);
    assert_string_equal(x.subnet, "far");
    assert_int_equal(f->reply.dst_addr, ip("10.214.0.9"));

    /* From a network midwife does not serve: nothing. */
    f->meta.src_addr = ip("192.0.2.9");
    pxe_request(f, DHCPREQUEST, BIOS_VC, 0);
    req_set_ciaddr(&f->req, ip("192.0.2.9"));
    req_end(&f->req);
    assert_int_equal(handle(f), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_NO_SUBNET);
}

static void pxe_port_serves_only_requests_for_us(void **state)
{
    struct fx *f = *state;
    f->meta.pxe_port = true;
    f->meta.src_addr = ip("10.213.0.57");
    pxe_request(f, DHCPDISCOVER, PXE_VC, 7);
    req_end(&f->req);
    assert_int_equal(handle(f), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_BAD_REQUEST);

    pxe_request(f, DHCPREQUEST, PXE_VC, 7);
    req_set_ciaddr(&f->req, ip("10.213.0.57"));
    req_opt_addr(&f->req, OPT_SERVER_ID, ip("10.213.0.99"));
    req_end(&f->req);
    assert_int_equal(handle(f), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_OTHER_SERVER);

    /* A plain client is not answered on the PXE port either. */
    req_begin(&f->req, DHCPREQUEST, MAC_A, 1);
    req_set_ciaddr(&f->req, ip("10.213.0.57"));
    req_end(&f->req);
    assert_int_equal(handle(f), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_PROXY_NOT_PXE);
}

static void relayed_proxy_offer_goes_to_the_relay_with_option82(void **state)
{
    struct fx *f = *state;
    pxe_request(f, DHCPDISCOVER, BIOS_VC, 0);
    req_set_giaddr(&f->req, ip("10.214.0.1"));
    req_opt(&f->req, OPT_RELAY_AGENT, "\x01\x03" "ge1", 5);
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    assert_proxy_reply(f, DHCPOFFER, "undionly.kpxe");
    assert_int_equal(f->reply.dest, DHCP_DEST_RELAY);
    assert_int_equal(f->reply.dst_addr, ip("10.214.0.1"));
    assert_int_equal(f->reply.dst_port, 67);
    size_t n;
    const uint8_t *v = opt(f, OPT_RELAY_AGENT, &n);
    assert_non_null(v);
    assert_int_equal(n, 5);
    assert_memory_equal(v, "\x01\x03" "ge1", 5);
}

static void pxe_client_with_nothing_to_boot_gets_no_offer(void **state)
{
    struct fx *f = *state;
    pxe_request(f, DHCPDISCOVER, "PXEClient:Arch:00042:UNDI:003016", 42);
    req_end(&f->req);
    assert_int_equal(handle(f), 0);
    assert_int_equal(dhcp_server_last_drop(f->srv), DHCP_DROP_PROXY_NO_BOOT);
}

static void malformed_uuid_is_not_echoed(void **state)
{
    struct fx *f = *state;
    req_begin(&f->req, DHCPDISCOVER, MAC_A, 5);
    req_opt(&f->req, OPT_VENDOR_CLASS, PXE_VC, (uint8_t)strlen(PXE_VC));
    req_opt(&f->req, OPT_CLIENT_ARCH, "\x00\x07", 2);
    req_opt(&f->req, OPT_UUID, "\x01\x02\x03", 3);
    req_end(&f->req);
    assert_int_equal(handle(f), 1);
    size_t n;
    assert_null(opt(f, OPT_UUID, &n));
    assert_non_null(opt(f, OPT_BOOTFILE, &n));
}

/* The full-mode server never answers on the PXE port (only proxy mode
 * listens there, but the handler does not rely on it). */
static void full_mode_refuses_the_pxe_port(void **state)
{
    (void)state;
    struct conf *c = conf_from_text(TEST_CONF);
    struct dhcp_server *srv;
    assert_int_equal(dhcp_server_new(c, &srv), 0);
    struct dhcp_rx_meta meta = {.ifindex = 2, .ifname = "eth0", .local_addr = ip("10.213.0.1"), .pxe_port = true,
                                .src_addr = ip("10.213.0.57"), .src_port = 68};
    struct req r;
    req_begin(&r, DHCPREQUEST, MAC_A, 9);
    req_opt(&r, OPT_VENDOR_CLASS, PXE_VC, (uint8_t)strlen(PXE_VC));
    req_set_ciaddr(&r, ip("10.213.0.57"));
    req_end(&r);
    static struct dhcp_reply reply;
    assert_int_equal(dhcp_server_handle(srv, r.b, r.len, &meta, NOW, &reply), 0);
    assert_int_equal(dhcp_server_last_drop(srv), DHCP_DROP_BAD_REQUEST);
    dhcp_server_free(srv);
    conf_free(c);
}

/* ---- config ---- */

static int load(const char *text, struct conf **c, char *err, size_t errlen)
{
    char path[] = "/tmp/mw-proxy-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    *c = NULL;
    int r = conf_load(path, c, err, errlen);
    unlink(path);
    return r;
}

#define BASE "[server]\nstate_dir = /tmp/x\n[tftp]\nenabled = no\n[dhcp]\ninterfaces = eth0\n"

static void proxy_mode_config_rules(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want; /* NULL: loads */
    } cases[] = {
        /* Line 7: the mode key. */
        {BASE "mode = relay\n[subnet a]\nnetwork = 10.0.0.0/24\n", ":7: mode: expected full or proxy, got 'relay'"},
        /* A proxy subnet needs no range; [dhcp] may come after it. */
        {"[server]\nstate_dir = /tmp/x\n[tftp]\nenabled = no\n[subnet a]\nnetwork = 10.0.0.0/24\n"
         "[dhcp]\ninterfaces = eth0\nmode = proxy\n", NULL},
        {BASE "mode = proxy\npxe_port = 4012\n[subnet a]\nnetwork = 10.0.0.0/24\n", NULL},
        /* Full mode (the default) still needs one: the subnet's header line. */
        {BASE "[subnet a]\nnetwork = 10.0.0.0/24\n", ":7: [subnet a] is missing required key 'range'"},
        {BASE "mode = full\n[subnet a]\nnetwork = 10.0.0.0/24\n", ":8: [subnet a] is missing required key 'range'"},
        /* A range in proxy mode would promise addresses midwife never gives. */
        {BASE "mode = proxy\n[subnet a]\nnetwork = 10.0.0.0/24\nrange = 10.0.0.10-10.0.0.20\n",
         ":8: [subnet a] has a range, but [dhcp] mode = proxy (line 7) hands out no addresses"},
        {BASE "mode = proxy\npxe_port = 67\n[subnet a]\nnetwork = 10.0.0.0/24\n",
         ":7: [dhcp] pxe_port must differ from port"},
        {BASE "mode = proxy\npxe_port = 0\n[subnet a]\nnetwork = 10.0.0.0/24\n", ":8: pxe_port:"},
        /* The networks still say where hosts live: one is required. */
        {BASE "mode = proxy\n", ": dhcp is enabled but no [subnet NAME] is defined"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct conf *c;
        char err[512];
        int r = load(cases[i].text, &c, err, sizeof err);
        if (!cases[i].want) {
            if (r != 0)
                fail_msg("case %zu: %s", i, err);
            assert_int_equal(c->dhcp_mode, DHCP_MODE_PROXY);
            assert_int_equal(c->subnets[0].n_ranges, 0);
            conf_free(c);
            continue;
        }
        if (r == 0)
            fail_msg("case %zu loaded, wanted %s", i, cases[i].want);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got '%s', wanted '%s'", i, err, cases[i].want);
    }
}

static void full_mode_is_the_default(void **state)
{
    (void)state;
    struct conf *c = conf_from_text(TEST_CONF);
    assert_int_equal(c->dhcp_mode, DHCP_MODE_FULL);
    conf_free(c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(pxe_discover_gets_proxy_offer_without_address),
        T(ipxe_discover_gets_script_url),
        T(bios_pxe_discover_gets_undionly),
        T(http_boot_discover_gets_proxy_offer_with_url),
        T(plain_clients_get_nothing_and_are_only_counted),
        T(address_traffic_of_pxe_clients_is_never_answered),
        T(request_on_pxe_port_gets_ack_back_to_client),
        T(routed_request_on_pxe_port_uses_the_clients_subnet),
        T(pxe_port_serves_only_requests_for_us),
        T(relayed_proxy_offer_goes_to_the_relay_with_option82),
        T(pxe_client_with_nothing_to_boot_gets_no_offer),
        T(malformed_uuid_is_not_echoed),
        T(san_host_gets_root_path_in_proxy_offers),
        cmocka_unit_test(full_mode_refuses_the_pxe_port),
        cmocka_unit_test(proxy_mode_config_rules),
        cmocka_unit_test(full_mode_is_the_default),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
