/* conf/: a good file gives typed values; a bad one gives FILE:LINE: reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* For [hooks]: an executable, a file that is not, and a directory. */
static char hook_dir[] = "/tmp/midwife-test-conf-hooks-XXXXXX";
static char hook_exe[sizeof hook_dir + 16], hook_exe2[sizeof hook_dir + 16], hook_plain[sizeof hook_dir + 16];

static int make_file(const char *p, mode_t mode)
{
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fputs("#!/bin/sh\nexit 0\n", f);
    fclose(f);
    return chmod(p, mode);
}

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    if (!mkdtemp(hook_dir))
        return -1;
    snprintf(hook_exe, sizeof hook_exe, "%s/notify", hook_dir);
    snprintf(hook_exe2, sizeof hook_exe2, "%s/join", hook_dir);
    snprintf(hook_plain, sizeof hook_plain, "%s/plain", hook_dir);
    if (make_file(hook_exe, 0755) < 0 || make_file(hook_exe2, 0700) < 0 || make_file(hook_plain, 0644) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    unlink(hook_exe);
    unlink(hook_exe2);
    unlink(hook_plain);
    rmdir(hook_dir);
    return 0;
}

/* text with @X@ (an executable), @Y@ (another), @N@ (not executable)
 * and @D@ (a directory) replaced. */
static void expand(char *dst, size_t dstlen, const char *text)
{
    size_t n = 0;
    while (*text && n + 1 < dstlen) {
        const char *sub = NULL;
        if (text[0] == '@' && text[1] && text[2] == '@') {
            switch (text[1]) {
            case 'X': sub = hook_exe; break;
            case 'Y': sub = hook_exe2; break;
            case 'N': sub = hook_plain; break;
            case 'D': sub = hook_dir; break;
            default: break;
            }
        }
        if (sub) {
            n += (size_t)snprintf(dst + n, dstlen - n, "%s", sub);
            text += 3;
        } else {
            dst[n++] = *text++;
        }
    }
    dst[n < dstlen ? n : dstlen - 1] = '\0';
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
    assert_false(c->boot_agent_off);
    assert_string_equal(c->boot_agent, ""); /* found next to the binary or installed */
    conf_free(c);

    assert_int_equal(write_conf(BASE SUBNET "[boot]\nagent = none\n"), 0);
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_true(c->boot_agent_off);
    conf_free(c);

    assert_int_equal(write_conf(BASE SUBNET "[http]\nenabled = no\n"), 0);
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_string_equal(c->ipxe_script, "boot.ipxe"); /* no HTTP: the TFTP script */
    conf_free(c);
}

static void lifecycle_and_hooks_defaults(void **state)
{
    (void)state;
    assert_int_equal(write_conf(BASE SUBNET), 0);
    struct conf *c;
    char err[512];
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(c->token_ttl, 3600);
    assert_int_equal(c->events_keep, 200000);
    assert_int_equal(c->events_max_age, 30 * 86400);
    assert_int_equal(c->birth_timeout, 600);
    assert_int_equal(c->state_max_bytes, 64ull << 20);
    assert_true(c->born_hook_holds);
    assert_int_equal(c->n_hooks, 0);
    assert_null(c->hooks);
    assert_int_equal(c->hook_timeout, 30);
    conf_free(c);
}

static void lifecycle_keys_are_typed(void **state)
{
    (void)state;
    assert_int_equal(write_conf(BASE SUBNET "[lifecycle]\ntoken_ttl = 2h\nevents_keep = 5000\n"
                                            "events_max_age = 0\nbirth_timeout = 90s\nstate_max_bytes = 2G\n"
                                            "born_hook_holds = no\n"),
                     0);
    struct conf *c;
    char err[512];
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(c->token_ttl, 7200);
    assert_int_equal(c->events_keep, 5000);
    assert_int_equal(c->events_max_age, 0);
    assert_int_equal(c->birth_timeout, 90);
    assert_int_equal(c->state_max_bytes, 2ull << 30);
    assert_false(c->born_hook_holds);
    conf_free(c);
}

static void sizes_take_k_m_g_suffixes(void **state)
{
    (void)state;
    static const struct { const char *v; uint64_t want; } cases[] = {
        {"1024", 1024}, {"1k", 1024}, {"1K", 1024}, {"64M", 64ull << 20}, {"16G", 16ull << 30}, {"3000", 3000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, BASE SUBNET "[lifecycle]\nstate_max_bytes = %s\n", cases[i].v);
        assert_int_equal(write_conf(text), 0);
        struct conf *c;
        char err[512];
        if (conf_load(path, &c, err, sizeof err) < 0)
            fail_msg("case %zu: %s", i, err);
        assert_int_equal(c->state_max_bytes, cases[i].want);
        conf_free(c);
    }
}

static void hooks_keys_are_typed(void **state)
{
    (void)state;
    char text[2048];
    /* line 11: born, 12: continuation of born, 13: ready, 14: webhook, 15: events */
    expand(text, sizeof text,
           BASE SUBNET "[hooks]\nborn = @X@ @Y@\nretired = @Y@\nready = @X@\n"
                       "webhook = http://192.0.2.20:8000/midwife?k=v http://hooks.example/x\n"
                       "webhook_events = ready, failed\ntimeout = 2m\n");
    assert_int_equal(write_conf(text), 0);
    struct conf *c;
    char err[512];
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(c->hook_timeout, 120);
    static const struct { const char *transition; enum conf_hook_kind kind; int target; int line; } want[] = {
        {"born", CONF_HOOK_EXEC, 0, 11},    {"born", CONF_HOOK_EXEC, 1, 11},   {"retired", CONF_HOOK_EXEC, 1, 12},
        {"ready", CONF_HOOK_EXEC, 0, 13},   {"ready", CONF_HOOK_WEBHOOK, 2, 14}, {"failed", CONF_HOOK_WEBHOOK, 2, 14},
        {"ready", CONF_HOOK_WEBHOOK, 3, 14}, {"failed", CONF_HOOK_WEBHOOK, 3, 14},
    };
    const char *targets[] = {hook_exe, hook_exe2, "http://192.0.2.20:8000/midwife?k=v", "http://hooks.example/x"};
    assert_int_equal(c->n_hooks, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < c->n_hooks; i++) {
        assert_string_equal(c->hooks[i].transition, want[i].transition);
        assert_int_equal(c->hooks[i].kind, want[i].kind);
        assert_string_equal(c->hooks[i].target, targets[want[i].target]);
        assert_int_equal(c->hooks[i].line, want[i].line);
    }
    conf_free(c);
}

static void webhooks_follow_every_transition_by_default(void **state)
{
    (void)state;
    char text[2048];
    /* webhook_events may come before the webhook; a repeated key and an
     * indented continuation line both add to the list. */
    expand(text, sizeof text,
           BASE SUBNET "[hooks]\nwebhook = http://a.example\nborn = @X@\n  @Y@\nborn = @N@x\n");
    assert_int_equal(write_conf(text), 0);
    struct conf *c;
    char err[512];
    assert_true(conf_load(path, &c, err, sizeof err) < 0); /* @N@x does not exist */
    assert_non_null(strstr(err, ":14: born: "));
    assert_non_null(strstr(err, "plainx: not an executable file"));

    expand(text, sizeof text, BASE SUBNET "[hooks]\nwebhook = http://a.example\nborn = @X@\n  @Y@\n");
    assert_int_equal(write_conf(text), 0);
    if (conf_load(path, &c, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(c->n_hooks, 8);
    assert_string_equal(c->hooks[0].target, hook_exe);
    assert_string_equal(c->hooks[1].target, hook_exe2);
    assert_int_equal(c->hooks[1].line, 13);
    static const char *const order[] = {"discovered", "booting", "born", "ready", "failed", "retired"};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(c->hooks[2 + i].transition, order[i]);
        assert_int_equal(c->hooks[2 + i].kind, CONF_HOOK_WEBHOOK);
        assert_string_equal(c->hooks[2 + i].target, "http://a.example");
        assert_int_equal(c->hooks[2 + i].line, 11);
    }
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
        {BASE SUBNET "[boot]\nagent = /nonexistent-dir\n", ":11: agent: '/nonexistent-dir' has no midwife-agent"},
        {BASE SUBNET "[lifecycle]\nbogus = 1\n", ":11: unknown key 'bogus' in [lifecycle]"},
        {BASE SUBNET "[lifecycle]\ntoken_ttl = 10\n", ":11: token_ttl: too small duration '10'"},
        {BASE SUBNET "[lifecycle]\ntoken_ttl = 31d\n", ":11: token_ttl: too large duration '31d'"},
        {BASE SUBNET "[lifecycle]\nevents_keep = 5\n", ":11: events_keep: too small number '5'"},
        {BASE SUBNET "[lifecycle]\nevents_keep = lots\n", ":11: events_keep: invalid number 'lots'"},
        {BASE SUBNET "[lifecycle]\nevents_max_age = 3651d\n", ":11: events_max_age: too large duration '3651d'"},
        {BASE SUBNET "[lifecycle]\nbirth_timeout = 2d\n", ":11: birth_timeout: too large duration '2d'"},
        {BASE SUBNET "[lifecycle]\nbirth_timeout = 5\n", ":11: birth_timeout: too small duration '5'"},
        {BASE SUBNET "[lifecycle]\nstate_max_bytes = 64X\n", ":11: state_max_bytes: invalid size '64X'"},
        {BASE SUBNET "[lifecycle]\nstate_max_bytes = M\n", ":11: state_max_bytes: invalid size 'M'"},
        {BASE SUBNET "[lifecycle]\nstate_max_bytes = 17G\n", ":11: state_max_bytes: too large size '17G'"},
        {BASE SUBNET "[lifecycle]\nstate_max_bytes = 99999999999999999999G\n",
         ":11: state_max_bytes: too large size '99999999999999999999G'"},
        {BASE SUBNET "[lifecycle]\nstate_max_bytes = 512\n", ":11: state_max_bytes: too small size '512'"},
        {BASE SUBNET "[lifecycle]\nborn_hook_holds = perhaps\n", ":11: born_hook_holds: expected yes or no, got 'perhaps'"},
        {BASE SUBNET "[hooks]\nexec = @X@\n", ":11: unknown key 'exec' in [hooks]"},
        {BASE SUBNET "[hooks]\nborn = bin/notify\n", ":11: born: bin/notify: not an absolute path"},
        {BASE SUBNET "[hooks]\nready = /nonexistent/notify\n", ":11: ready: /nonexistent/notify: not an executable file"},
        {BASE SUBNET "[hooks]\nfailed = @N@\n", ":11: failed: @N@: not an executable file"},
        {BASE SUBNET "[hooks]\ndiscovered = @D@\n", ":11: discovered: @D@: not an executable file"},
        {BASE SUBNET "[hooks]\nbooting = @X@\nbooting = @Y@ @X@\n", ":12: booting: @X@ listed twice for booting"},
        {BASE SUBNET "[hooks]\nborn =\n", ":11: born: empty list"},
        {BASE SUBNET "[hooks]\nwebhook = https://a.example/x\n", ":11: webhook: expected http://HOST[:PORT][/PATH]"},
        {BASE SUBNET "[hooks]\nwebhook = http:///x\n", ":11: webhook: expected http://HOST"},
        {BASE SUBNET "[hooks]\nwebhook = http://a_b.example/x\n", ":11: webhook: expected http://HOST"},
        {BASE SUBNET "[hooks]\nwebhook = http://a.example:0/x\n", ":11: webhook: expected http://HOST"},
        {BASE SUBNET "[hooks]\nwebhook = http://a.example:65536/x\n", ":11: webhook: expected http://HOST"},
        {BASE SUBNET "[hooks]\nwebhook = http://a.example:/x\n", ":11: webhook: expected http://HOST"},
        {BASE SUBNET "[hooks]\nwebhook = http://a.example:80x\n", ":11: webhook: expected http://HOST"},
        {BASE SUBNET "[hooks]\nwebhook = http://a.example/x#frag\n", ":11: webhook: expected http://HOST"},
        {BASE SUBNET "[hooks]\nwebhook = http://a.example/\"x\"\n", ":11: webhook: expected http://HOST"},
        {BASE SUBNET "[hooks]\nwebhook = http://a.example/x\nwebhook = http://a.example/x\n",
         ":12: webhook: http://a.example/x listed twice"},
        {BASE SUBNET "[hooks]\nwebhook_events = born, shutdown\n",
         ":11: webhook_events: 'shutdown' is not a transition (expected discovered, booting, born, ready, failed or retired)"},
        {BASE SUBNET "[hooks]\ntimeout = 0\n", ":11: timeout: too small duration '0'"},
        {BASE SUBNET "[hooks]\ntimeout = 2h\n", ":11: timeout: too large duration '2h'"},
        /* 11 webhooks × 6 transitions: over the cap, reported at the webhook */
        {BASE SUBNET "[hooks]\nwebhook = http://a/1 http://a/2 http://a/3 http://a/4 http://a/5 http://a/6\n"
                     "timeout = 5s\nwebhook = http://a/7 http://a/8 http://a/9 http://a/10 http://a/11\n",
         ":13: webhook: at most 64 hooks in all"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048], want_tail[1024];
        expand(text, sizeof text, cases[i].text);
        expand(want_tail, sizeof want_tail, cases[i].want);
        assert_int_equal(write_conf(text), 0);
        struct conf *c = NULL;
        char err[512] = "";
        int r = conf_load(path, &c, err, sizeof err);
        if (r == 0)
            fail_msg("case %zu: accepted, wanted %s", i, cases[i].want);
        assert_null(c);
        char want[1200];
        snprintf(want, sizeof want, "%s%s", path, want_tail);
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
        cmocka_unit_test(lifecycle_and_hooks_defaults),
        cmocka_unit_test(lifecycle_keys_are_typed),
        cmocka_unit_test(sizes_take_k_m_g_suffixes),
        cmocka_unit_test(hooks_keys_are_typed),
        cmocka_unit_test(webhooks_follow_every_transition_by_default),
        cmocka_unit_test(broken_configs_name_line_and_reason),
        cmocka_unit_test(missing_file_names_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
