/* The DHCP side of HTTP boot: "{http}" in ipxe_script, and UEFI HTTP boot
 * clients getting option 60 "HTTPClient" and a boot program URL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "dhcp/dhcp_server.h"
#include "test_dhcp_helpers.h"
#include "util/log.h"

#define HTTP_CONF                                  \
    "[server]\n"                                   \
    "state_dir = /tmp/mw-dhcp-test-state\n"        \
    "log_level = error\n"                          \
    "[dhcp]\n"                                     \
    "interfaces = eth0\n"                          \
    "[subnet lan]\n"                               \
    "network = 10.213.0.0/24\n"                    \
    "range = 10.213.0.100-10.213.0.199\n"          \
    "[tftp]\n"                                     \
    "enabled = no\n"

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
#define VC(s) (const uint8_t *)(s), sizeof(s) - 1

static const struct {
    const char *name;
    int32_t arch;
    const uint8_t *vc;
    size_t vc_len;
    bool ipxe;
    uint16_t http_port;
    const char *public_url;
    uint32_t server_addr;
    enum boot_client client;
    const char *filename;
} cases[] = {
    {"ipxe_gets_expanded_http_url", 7, VC("PXEClient"), true, 80, "", 0x0ad50001, BOOT_CLIENT_IPXE,
     "http://10.213.0.1/boot/ipxe?mac=52-54-00-12-34-56"},
    {"ipxe_url_carries_non_default_port", 7, VC("PXEClient"), true, 8080, "", 0x0ad50001, BOOT_CLIENT_IPXE,
     "http://10.213.0.1:8080/boot/ipxe?mac=52-54-00-12-34-56"},
    {"ipxe_url_prefers_public_url", 7, VC("PXEClient"), true, 8080, "https://boot.example/mw", 0x0ad50001,
     BOOT_CLIENT_IPXE, "https://boot.example/mw/boot/ipxe?mac=52-54-00-12-34-56"},
    {"ipxe_without_server_address_gets_nothing", 7, VC("PXEClient"), true, 80, "", 0, BOOT_CLIENT_IPXE, ""},
    {"http_client_arch_16_gets_x64_efi_program_url", 16, VC("HTTPClient:Arch:00016:UNDI:003001"), false, 80, "",
     0x0ad50001, BOOT_CLIENT_HTTP, "http://10.213.0.1/boot/program/snponly.efi"},
    {"http_client_arch_19_gets_arm64_program_url", 19, VC("HTTPClient:Arch:00019"), false, 80, "", 0x0ad50001,
     BOOT_CLIENT_HTTP, "http://10.213.0.1/boot/program/snponly-arm64.efi"},
    {"http_client_arch_15_gets_ia32_program_url", 15, VC("HTTPClient:Arch:00015"), false, 80, "", 0x0ad50001,
     BOOT_CLIENT_HTTP, "http://10.213.0.1/boot/program/ipxe-ia32.efi"},
    {"http_client_uses_public_url", 16, VC("HTTPClient"), false, 80, "http://192.0.2.7:81", 0x0ad50001,
     BOOT_CLIENT_HTTP, "http://192.0.2.7:81/boot/program/snponly.efi"},
    {"http_client_unknown_arch_gets_nothing", 99, VC("HTTPClient"), false, 80, "", 0x0ad50001, BOOT_CLIENT_HTTP,
     ""},
    {"pxe_client_still_gets_tftp_name", 7, VC("PXEClient:Arch:00007"), false, 80, "", 0x0ad50001, BOOT_CLIENT_PXE,
     "snponly.efi"},
};

static void http_boot_decision_table(void **state)
{
    (void)state;
    struct conf *conf = conf_from_text(HTTP_CONF);
    assert_string_equal(conf->ipxe_script, "{http}/boot/ipxe?mac={mac}"); /* the default with [http] on */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conf->http_port = cases[i].http_port;
        snprintf(conf->http_public_url, sizeof conf->http_public_url, "%s", cases[i].public_url);
        struct boot_identity id = {.has_mac = true, .arch = cases[i].arch, .vendor_class = cases[i].vc,
                                   .vendor_class_len = cases[i].vc_len, .ipxe_options = cases[i].ipxe,
                                   .server_addr = cases[i].server_addr};
        memcpy(id.mac, MAC, 6);
        struct boot_plan plan;
        boot_decide(conf, &id, &plan);
        if (plan.client != cases[i].client || strcmp(plan.filename, cases[i].filename) != 0 || !plan.reason[0])
            fail_msg("%s: client %d file '%s' reason '%s'", cases[i].name, plan.client, plan.filename, plan.reason);
    }
    conf_free(conf);
}

struct fx {
    struct conf *conf;
    struct dhcp_server *srv;
    struct dhcp_rx_meta meta;
    struct dhcp_reply reply;
    struct req req;
};

static void offer(struct fx *f, const char *vc, uint16_t arch, bool ipxe)
{
    f->conf = conf_from_text(HTTP_CONF);
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    assert_int_equal(dhcp_server_new(f->conf, &f->srv), 0);
    f->meta.ifindex = 2;
    strcpy(f->meta.ifname, "eth0");
    f->meta.local_addr = ip("10.213.0.1");
    req_begin(&f->req, DHCPDISCOVER, MAC, 0x4242);
    req_opt(&f->req, OPT_VENDOR_CLASS, vc, (uint8_t)strlen(vc));
    uint8_t a[2] = {(uint8_t)(arch >> 8), (uint8_t)arch};
    req_opt(&f->req, OPT_CLIENT_ARCH, a, 2);
    if (ipxe)
        req_opt(&f->req, OPT_USER_CLASS, "iPXE", 4);
    req_end(&f->req);
    assert_int_equal(dhcp_server_handle(f->srv, f->req.b, f->req.len, &f->meta, 1700000000, &f->reply), 1);
}

static void done(struct fx *f)
{
    dhcp_server_free(f->srv);
    conf_free(f->conf);
}

static void expect_opt(const struct fx *f, uint8_t code, const char *want)
{
    size_t n = 0;
    const uint8_t *v = reply_opt(f->reply.data, f->reply.len, code, &n);
    if (!want) {
        if (v)
            fail_msg("option %u present, expected absent", code);
        return;
    }
    if (!v || n != strlen(want) || memcmp(v, want, n) != 0)
        fail_msg("option %u: got '%.*s', want '%s'", code, v ? (int)n : 6, v ? (const char *)v : "(none)", want);
}

static void http_client_offer_has_httpclient_and_url(void **state)
{
    (void)state;
    struct fx f = {0};
    offer(&f, "HTTPClient:Arch:00016:UNDI:003001", 16, false);
    const char *url = "http://10.213.0.1/boot/program/snponly.efi";
    expect_opt(&f, OPT_VENDOR_CLASS, "HTTPClient");
    expect_opt(&f, OPT_BOOTFILE, url);
    expect_opt(&f, OPT_TFTP_SERVER, NULL);
    assert_string_equal((const char *)f.reply.data + 108, url); /* BOOTP file field */
    done(&f);
}

static void ipxe_client_offer_has_http_script_url(void **state)
{
    (void)state;
    struct fx f = {0};
    offer(&f, "PXEClient:Arch:00000", 0, true);
    const char *url = "http://10.213.0.1/boot/ipxe?mac=52-54-00-12-34-56";
    expect_opt(&f, OPT_VENDOR_CLASS, "PXEClient");
    expect_opt(&f, OPT_BOOTFILE, url);
    assert_string_equal((const char *)f.reply.data + 108, url);
    done(&f);
}

static void http_base_omits_port_80(void **state)
{
    (void)state;
    struct conf *conf = conf_from_text(HTTP_CONF);
    char out[64];
    assert_int_equal(boot_http_base(conf, ip("192.0.2.1"), out, sizeof out), 0);
    assert_string_equal(out, "http://192.0.2.1");
    conf->http_port = 8080;
    assert_int_equal(boot_http_base(conf, ip("192.0.2.1"), out, sizeof out), 0);
    assert_string_equal(out, "http://192.0.2.1:8080");
    assert_int_equal(boot_http_base(conf, 0, out, sizeof out), -EADDRNOTAVAIL);
    assert_int_equal(boot_http_base(conf, ip("192.0.2.1"), out, 10), -ENOSPC);
    conf_free(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_boot_decision_table),
        cmocka_unit_test(http_client_offer_has_httpclient_and_url),
        cmocka_unit_test(ipxe_client_offer_has_http_script_url),
        cmocka_unit_test(http_base_omits_port_80),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
