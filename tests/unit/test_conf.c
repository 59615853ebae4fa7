/* conf/: a good file gives typed values; a bad one gives FILE:LINE: reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/conf.h"

static char path[] = "/tmp/midwife-test-conf-XXXXXX";

static int write_conf(const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    fclose(f);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

#define BASE "[server]\nstate_dir = /tmp/mw\n[tftp]\nroot = /tmp\n[dhcp]\ninterfaces = br0\n"
#define SUBNET "[subnet a]\nnetwork = 10.0.0.0/24\nrange = 10.0.0.10-10.0.0.20\n"

static void shipped_example_is_valid(void **state)
{
    (void)state;
    struct conf *c;
    char err[512];
    int r = conf_load("../../examples/midwife.conf", &c, err, sizeof err);
    if (r < 0)
        fail_msg("%s", err);
    assert_int_equal(c->n_subnets, 1);
    assert_int_equal(c->subnets[0].lease_time, 3600);
    conf_free(c);
}

static void full_config_is_typed(void **state)
{
    (void)state;
    assert_int_equal(write_conf(BASE "log_format = json\n" /* still [dhcp]? no: see below */), 0);
    struct conf *c;
    char err[512];
    /* log_format belongs to [server]: in [dhcp] it is an unknown key. */
    assert_true(conf_load(path, &c, err, sizeof err) < 0);
    assert_non_null(strstr(err, ":7: unknown key 'log_format' in [dhcp]"));

    assert_int_equal(write_conf("[server]\nstate_dir = /tmp/mw\nlog_format = json\nlog_level = debug\n"
                                "server_address = 10.0.0.1\nsync = full\n"
                                "[dhcp]\ninterfaces = br0, eth1 eth2\nport = 1067\nunknown_clients = ignore\n"
                                "offer_hold = 1m\nauthoritative = no\n"
                                "[subnet a]\nnetwork = 10.0.0.0/24\nrange = 10.0.0.10 - 10.0.0.20\n"
                                "range = 10.0.0.100-10.0.0.200\nrouter = 10.0.0.1\ndns = 10.0.0.2 10.0.0.3\n"
                                "domain = lab.example\nlease_time = 2h\ninterface = br0\n"
                                "[reservation h1]\nmac = 52:54:00:00:00:01\naddress = 10.0.0.5\nhostname = h1\n"
                                "[pxe]\narch.7 = ipxe.efi\narch.42 = x.efi\nipxe_script = http://10.0.0.1/boot/{mac}\n"
                                "[tftp]\nroot = /srv\nport = 1069\nmax_blksize = 8192\n"),
                     0);
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(c->log_format, LOG_FORMAT_JSON);
    assert_int_equal(c->log_level, LOG_DEBUG);
    assert_int_equal(c->server_address, 0x0a000001);
    assert_int_equal(c->sync, STORE_SYNC_FULL);
    assert_int_equal(c->n_dhcp_interfaces, 3);
    assert_string_equal(c->dhcp_interfaces[2], "eth2");
    assert_int_equal(c->dhcp_port, 1067);
    assert_int_equal(c->unknown_clients, UNKNOWN_IGNORE);
    assert_int_equal(c->offer_hold, 60);
    assert_false(c->authoritative);
    assert_int_equal(c->subnets[0].n_ranges, 2);
    assert_int_equal(c->subnets[0].ranges[0].first, 0x0a00000a);
    assert_int_equal(c->subnets[0].ranges[1].last, 0x0a0000c8);
    assert_int_equal(c->subnets[0].n_dns, 2);
    assert_int_equal(c->subnets[0].lease_time, 7200);
    assert_string_equal(c->subnets[0].interface, "br0");
    assert_int_equal(c->reservations[0].address, 0x0a000005);
    assert_int_equal(c->reservations[0].mac[5], 1);
    assert_string_equal(conf_boot_program(c, 7), "ipxe.efi");
    assert_string_equal(conf_boot_program(c, 9), "snponly.efi"); /* default kept */
    assert_string_equal(conf_boot_program(c, 0), "undionly.kpxe");
    assert_string_equal(conf_boot_program(c, 42), "x.efi");
    assert_null(conf_boot_program(c, 43));
    assert_int_equal(c->tftp_port, 1069);
    assert_int_equal(c->tftp_max_blksize, 8192);
    /* [http] defaults, and the iPXE script default that follows them */
    assert_true(c->http_enabled);
    assert_int_equal(c->http_port, 80);
    assert_string_equal(c->ipxe_script, "http://10.0.0.1/boot/{mac}"); /* set explicitly above */
    conf_free(c);

    assert_int_equal(write_conf(BASE SUBNET "[http]\nport = 8080\npublic_url = http://boot.example:8080\n"
                                            "idle_timeout = 1m\n[boot]\ndefault_build = discovery\n"),
                     0);
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(c->http_port, 8080);
    assert_string_equal(c->http_public_url, "http://boot.example:8080");
    assert_int_equal(c->http_idle_timeout, 60);
    assert_string_equal(c->boot_default_build, "discovery");
    assert_string_equal(c->ipxe_script, "{http}/boot/ipxe?mac={mac}");
    conf_free(c);

    assert_int_equal(write_conf(BASE SUBNET "[http]\nenabled = no\n"), 0);
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_string_equal(c->ipxe_script, "boot.ipxe"); /* no HTTP: the TFTP script */
    conf_free(c);
}

/* Each broken file must fail with this exact "FILE:LINE: message" tail. */
static void broken_configs_name_line_and_reason(void **state)
{
    (void)state;
    static const struct { const char *text; const char *want; } cases[] = {
        {BASE SUBNET "bogus = 1\n", ":10: unknown key 'bogus' in [subnet a]"},
        {BASE SUBNET "lease_time = 400d\n", ":10: lease_time: too large duration '400d'"},
        {BASE SUBNET "router = 10.0.1.1\n", ":7: [subnet a] router lies outside network"},
        {BASE "[subnet a]\nrange = 10.0.0.1-10.0.0.2\n", ":7: [subnet a] is missing required key 'network'"},
        {BASE "[subnet a]\nnetwork = 10.0.0.0/24\n[pxe]\n", ":7: [subnet a] is missing required key 'range'"},
        {BASE SUBNET "range = 10.0.0.30-10.0.0.20\n", ":10: range: first address is after the last"},
        {BASE SUBNET "range = 10.0.1.30-10.0.1.40\n", ":7: [subnet a] range 2 lies outside network"},
        {BASE SUBNET "[subnet a]\nnetwork = 10.0.1.0/24\n", ":10: [subnet a] defined twice (first at line 7)"},
        {BASE SUBNET "[subnet b]\nnetwork = 10.0.0.128/25\nrange = 10.0.0.130-10.0.0.140\n",
         ":10: [subnet b] overlaps [subnet a] (line 7)"},
        {BASE SUBNET "[reservation r]\nmac = 52:54:00:00:00:01\n", ":10: [reservation r] is missing required key 'address'"},
        {BASE SUBNET "[reservation r]\nmac = 52:54:00:00:00:0x\n", ":11: mac: '52:54:00:00:00:0x' is not a MAC"},
        {BASE SUBNET "[reservation r]\nmac = 52:54:00:00:00:01\naddress = 10.9.0.1\n",
         ":10: [reservation r] address is in no [subnet]"},
        {BASE SUBNET "[frobnicate]\nx = 1\n", ":10: unknown section [frobnicate]"},
        {BASE SUBNET "[pxe]\narch.70000 = a.efi\n", ":11: arch.70000: too large number '70000'"},
        {BASE SUBNET "[pxe]\narch.7 = a b.efi\n", ":11: arch.7: 'a b.efi' is not a usable boot filename"},
        {BASE SUBNET "this line has no equals sign\n", ":10: syntax error"},
        {BASE SUBNET "[tftp]\nmax_blksize = 100\n", ":11: max_blksize: too small number '100'"},
        {"[server]\nlog_level = loud\n", ":2: log_level: expected error, warn, info or debug, got 'loud'"},
        {"[dhcp]\nenabled = no\n[tftp]\nenabled = no\n", ": [server] is missing required key 'state_dir'"},
        {"[server]\nstate_dir = /x\n[tftp]\nroot = /t\n", ": [dhcp] is missing required key 'interfaces'"},
        {"[server]\nstate_dir = /x\n[tftp]\nroot = /t\n[dhcp]\ninterfaces = a\n",
         ": dhcp is enabled but no [subnet NAME] is defined"},
        {"[server]\nstate_dir = /x\n[dhcp]\nenabled = no\n", ": [tftp] is missing required key 'root'"},
        {"[server]\nstate_dir = /x\n[dhcp]\nenabled = maybe\n", ":4: enabled: expected yes or no, got 'maybe'"},
        {"state_dir = /x\n", ":1: key 'state_dir' outside any section"},
        {BASE SUBNET "[http]\npublic_url = http://a.example/\n", ":11: public_url: expected http://HOST"},
        {BASE SUBNET "[http]\npublic_url = http://a.example/${x}\n", ":11: public_url: expected http://HOST"},
        {BASE SUBNET "[http]\nport = 0\n", ":11: port: too small number '0'"},
        {BASE SUBNET "[http]\nkeepalive = yes\n", ":11: unknown key 'keepalive' in [http]"},
        {BASE SUBNET "[boot]\ndefault_build = a/b\n", ":11: default_build: 'a/b' is not a build name"},
        {BASE SUBNET "[boot]\nextra_cmdline = a;reboot\n", ":11: extra_cmdline: character ';' is not allowed"},
        {BASE SUBNET "[boot]\ntemplates = /nonexistent-dir\n", ":11: templates: '/nonexistent-dir' is not a directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(write_conf(cases[i].text), 0);
        struct conf *c = NULL;
        char err[512] = "";
        int r = conf_load(path, &c, err, sizeof err);
        if (r == 0)
            fail_msg("case %zu: accepted, wanted %s", i, cases[i].want);
        assert_null(c);
        char want[600];
        snprintf(want, sizeof want, "%s%s", path, cases[i].want);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, err, want);
    }
}

static void missing_file_names_the_file(void **state)
{
    (void)state;
    struct conf *c = NULL;
    char err[512];
    assert_true(conf_load("/nonexistent/midwife.conf", &c, err, sizeof err) < 0);
    assert_string_equal(err, "/nonexistent/midwife.conf: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_example_is_valid),
        cmocka_unit_test(full_config_is_typed),
        cmocka_unit_test(broken_configs_name_line_and_reason),
        cmocka_unit_test(missing_file_names_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
