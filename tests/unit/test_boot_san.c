/* SAN boot per host: iSCSI names checked strictly, a host's vars choosing
 * its target and initiator, and the root path DHCP hands only to hosts in
 * mode sanboot whose build is an iSCSI sanboot build. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/san.h"
#include "util/log.h"

static const struct {
    const char *name;
    bool ok;
    const char *why; /* a part of the refusal */
} names[] = {
    {"iqn.2026-12.midwife:node1", true, NULL},
    {"iqn.2001-04.com.example", true, NULL},
    {"iqn.2001-04.com.example:storage:diskarrays-sn-a8675309", true, NULL},
    {"iqn.1992-01.com.example.storage.tape.sys1.xyz", true, NULL},
    {"eui.02004567A425678D", true, NULL},
    {"eui.02004567a425678d", true, NULL},
    {"naa.52004567BA64678D", true, NULL},
    {"naa.62004567BA64678D0123456789ABCDEF", true, NULL},
    {"", false, "1..223 bytes"},
    {"IQN.2001-04.com.example", false, "not an iSCSI name"},
    {"iqn.2001-04.com.Example:x", false, "reversed domain name"},
    {"iqn.2001-04.com.example:Disk", false, "character 'D'"},
    {"iqn.2001-13.com.example", false, "month 13"},
    {"iqn.2001-00.com.example", false, "month 00"},
    {"iqn.01-04.com.example", false, "iqn.YYYY-MM."},
    {"iqn.2001-04", false, "iqn.YYYY-MM."},
    {"iqn.2001-04.", false, "reversed domain name"},
    {"iqn.2001-04.com..example", false, "reversed domain name"},
    {"iqn.2001-04.-com.example", false, "reversed domain name"},
    {"iqn.2001-04.com.example-", false, "reversed domain name"},
    {"iqn.2001-04.com.example:", false, "':' and a name"},
    {"iqn.2001-04.com.example;x", false, "':' and a name"},
    {"iqn.2001-04.com.example:a_b", false, "character '_'"},
    {"iqn.2001-04.com.example:a b", false, "byte 0x20"},
    {"iqn.2001-04.com.example:x\nsanboot", false, "byte 0x0a"},
    {"iqn.2001-04.com.example:${net0/ip}", false, "character '$'"},
    {"iqn.2001-04.com.example:${x}", false, "character '$'"},
    {"eui.02004567A425678", false, "exactly 16 hex"},
    {"eui.02004567A425678DX", false, "exactly 16 hex"},
    {"eui.02004567A425678G", false, "exactly 16 hex"},
    {"naa.52004567BA64678D0", false, "16 or 32 hex"},
    {"iqn.2001-04.com.example:disk1 || shell", false, "byte 0x20"},
};

static void iscsi_names_are_checked_strictly(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char why[200] = "";
        bool ok = boot_iscsi_name_valid(names[i].name, why, sizeof why);
        if (ok != names[i].ok || (!ok && !strstr(why, names[i].why)))
            fail_msg("'%s': %s (%s), wanted %s%s", names[i].name, ok ? "accepted" : "refused", why,
                     names[i].ok ? "accepted" : "refused: ", names[i].why ? names[i].why : "");
    }
    /* 223 bytes is the most an iSCSI name may have. */
    char longest[240] = "iqn.2001-04.com.example:";
    size_t n = strlen(longest);
    memset(longest + n, 'a', 223 - n);
    longest[223] = '\0';
    char why[200];
    assert_true(boot_iscsi_name_valid(longest, why, sizeof why));
    longest[223] = 'a';
    longest[224] = '\0';
    assert_false(boot_iscsi_name_valid(longest, why, sizeof why));
}

static const struct {
    const char *name;
    const char *host;    /* NULL: an unknown host */
    const char *vars;
    const char *san_uri; /* the build's */
    int r;
    const char *uri;       /* r == 0 */
    const char *initiator; /* r == 0 */
    const char *err;       /* r < 0 */
} sans[] = {
    {"default_initiator_from_the_host_name", "node1", "{}", "iscsi:192.0.2.9::3260:0:iqn.2000-01.com.example:d1", 0,
     "iscsi:192.0.2.9::3260:0:iqn.2000-01.com.example:d1", "iqn.2026-12.midwife:node1", NULL},
    {"default_initiator_lowercase_without_underscore", "Rack_7.Node", "{}", "iscsi:san::::iqn.2000-01.com.example:d",
     0, "iscsi:san::::iqn.2000-01.com.example:d", "iqn.2026-12.midwife:rack-7.node", NULL},
    {"vars_name_target_and_initiator", "node1",
     "{\"iscsi_target\":\"iqn.2001-04.com.example:disk-7\",\"iscsi_initiator\":\"eui.02004567A425678D\"}",
     "iscsi:192.0.2.9::3260:1:iqn.2000-01.com.example:template", 0,
     "iscsi:192.0.2.9::3260:1:iqn.2001-04.com.example:disk-7", "eui.02004567A425678D", NULL},
    {"target_var_fills_an_empty_target", "node1", "{\"iscsi_target\":\"iqn.2001-04.com.example:n1\"}",
     "iscsi:192.0.2.9::::", 0, "iscsi:192.0.2.9::::iqn.2001-04.com.example:n1", "iqn.2026-12.midwife:node1", NULL},
    {"target_var_after_an_ipv6_server", "node1", "{\"iscsi_target\":\"naa.52004567BA64678D\"}",
     "iscsi:[2001:db8::9]:6:3260:0:iqn.2000-01.com.example:x", 0, "iscsi:[2001:db8::9]:6:3260:0:naa.52004567BA64678D",
     "iqn.2026-12.midwife:node1", NULL},
    {"unknown_host_gets_the_build_uri_and_no_initiator", NULL, NULL, "iscsi:192.0.2.9::::iqn.2000-01.com.example:d",
     0, "iscsi:192.0.2.9::::iqn.2000-01.com.example:d", "", NULL},
    {"http_uri_without_iscsi_vars", "node1", "{\"rack\":\"r1\"}", "http://192.0.2.9/disk.img", 0,
     "http://192.0.2.9/disk.img", "", NULL},
    {"no_target_anywhere", "node1", "{}", "iscsi:192.0.2.9::::", -EINVAL, NULL, NULL,
     "build disk v2: its san_uri names no target and host node1 has no iscsi_target var"},
    {"initiator_var_with_a_command", "node1", "{\"iscsi_initiator\":\"iqn.2001-04.com.example:a\\nshell\"}",
     "iscsi:192.0.2.9::::iqn.2000-01.com.example:d", -EINVAL, NULL, NULL,
     "host node1: var iscsi_initiator refused: byte 0x0a is not allowed in an iSCSI name"},
    {"target_var_not_an_iscsi_name", "node1", "{\"iscsi_target\":\"disk7\"}",
     "iscsi:192.0.2.9::::iqn.2000-01.com.example:d", -EINVAL, NULL, NULL,
     "host node1: var iscsi_target refused: 'disk7' is not an iSCSI name (iqn., eui. or naa.)"},
    {"target_var_into_a_uri_without_fields", "node1", "{\"iscsi_target\":\"iqn.2001-04.com.example:n1\"}",
     "iscsi:192.0.2.9:iqn.2000-01.com.example:d", -EINVAL, NULL, NULL,
     "build disk v2: san_uri is not of the form iscsi:SERVER:[6]:[PORT]:[LUN]:TARGET"},
    {"iscsi_var_with_an_http_uri", "node1", "{\"iscsi_initiator\":\"iqn.2001-04.com.example:n1\"}",
     "http://192.0.2.9/disk.img", -EINVAL, NULL, NULL,
     "host node1: var iscsi_initiator needs an iscsi: SAN URI, and build disk v2 has http://192.0.2.9/disk.img"},
    {"var_not_a_string", "node1", "{\"iscsi_target\":7}", "iscsi:192.0.2.9::::iqn.2000-01.com.example:d", -EINVAL,
     NULL, NULL, "host node1: var iscsi_target is not a string"},
    {"no_san_uri", "node1", "{}", "", -EINVAL, NULL, NULL, "build disk v2 (sanboot) has no SAN URI"},
};

static void host_vars_choose_target_and_initiator(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sans / sizeof sans[0]; i++) {
        struct build b = {.version = 2, .kind = BUILD_SANBOOT};
        snprintf(b.name, sizeof b.name, "disk");
        snprintf(b.san_uri, sizeof b.san_uri, "%s", sans[i].san_uri);
        struct host h = {0};
        if (sans[i].host)
            snprintf(h.name, sizeof h.name, "%s", sans[i].host);
        h.vars = (char *)sans[i].vars;
        struct boot_san san;
        char err[256] = "";
        int r = boot_san_for(sans[i].host ? &h : NULL, &b, &san, err, sizeof err);
        if (r != sans[i].r)
            fail_msg("%s: r=%d (want %d) err='%s'", sans[i].name, r, sans[i].r, err);
        if (r == 0 && (strcmp(san.uri, sans[i].uri) != 0 || strcmp(san.initiator, sans[i].initiator) != 0 ||
                       san.iscsi != (strncmp(sans[i].uri, "iscsi:", 6) == 0)))
            fail_msg("%s: uri '%s' initiator '%s' (want '%s', '%s')", sans[i].name, san.uri, san.initiator,
                     sans[i].uri, sans[i].initiator);
        if (r < 0 && strcmp(err, sans[i].err) != 0)
            fail_msg("%s: err '%s'\n want '%s'", sans[i].name, err, sans[i].err);
    }
}

static void put_build(struct store *st, const char *name, enum build_kind kind, const char *san_uri)
{
    struct build b = {.kind = kind};
    snprintf(b.name, sizeof b.name, "%s", name);
    snprintf(b.san_uri, sizeof b.san_uri, "%s", san_uri);
    assert_int_equal(store_build_publish(st, &b), 0);
}

static void dhcp_root_path_only_for_sanboot_hosts_with_iscsi_builds(void **state)
{
    (void)state;
    char dir[] = "/tmp/mw-san-XXXXXX", err[256] = "";
    assert_non_null(mkdtemp(dir));
    struct store *st = NULL;
    if (store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0)
        fail_msg("store_open: %s", err);
    struct conf conf = {0};
    put_build(st, "disk", BUILD_SANBOOT, "iscsi:10.0.0.9::3260:1:iqn.2001-04.com.example:disk");
    put_build(st, "web", BUILD_SANBOOT, "http://10.0.0.9/disk.img");
    put_build(st, "local", BUILD_LOCAL, "");
    /* 270 bytes, each part within its own limit. */
    char longer[300] = "iscsi:";
    memset(longer + 6, 's', 60);
    snprintf(longer + 66, sizeof longer - 66, "::::iqn.2001-04.com.example:%0176d", 0);
    assert_int_equal(strlen(longer), 270);
    put_build(st, "long", BUILD_SANBOOT, longer);

    struct host h;
    assert_int_equal(host_init(&h), 0);
    snprintf(h.name, sizeof h.name, "san1");
    free(h.vars);
    h.vars = strdup("{\"iscsi_initiator\":\"iqn.2001-04.com.example:san1\"}");
    struct boot_san san;
    static const struct {
        const char *name;
        enum host_mode mode;
        const char *build;
        const char *default_build;
        enum host_state state;
        int r;
        const char *uri;
    } cases[] = {
        {"sanboot_host_with_iscsi_build", HOST_MODE_SANBOOT, "disk", "", HOST_DISCOVERED, 1,
         "iscsi:10.0.0.9::3260:1:iqn.2001-04.com.example:disk"},
        {"default_build_counts", HOST_MODE_SANBOOT, "", "disk", HOST_READY, 1,
         "iscsi:10.0.0.9::3260:1:iqn.2001-04.com.example:disk"},
        {"stateless_host_gets_none", HOST_MODE_STATELESS, "disk", "", HOST_DISCOVERED, 0, ""},
        {"retired_host_gets_none", HOST_MODE_SANBOOT, "disk", "", HOST_RETIRED, 0, ""},
        /* The host's iscsi_initiator cannot go with an http URI. */
        {"iscsi_var_with_http_sanboot_is_an_error", HOST_MODE_SANBOOT, "web", "", HOST_DISCOVERED, -EINVAL, ""},
        {"local_build_gets_none", HOST_MODE_SANBOOT, "local", "", HOST_DISCOVERED, 0, ""},
        {"no_build_at_all_gets_none", HOST_MODE_SANBOOT, "", "", HOST_DISCOVERED, 0, ""},
        {"missing_build_is_an_error", HOST_MODE_SANBOOT, "gone", "", HOST_DISCOVERED, -ENOENT, ""},
        {"over_255_bytes_is_an_error", HOST_MODE_SANBOOT, "long", "", HOST_DISCOVERED, -E2BIG, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h.mode = cases[i].mode;
        h.state = cases[i].state;
        snprintf(h.build, sizeof h.build, "%s", cases[i].build);
        snprintf(conf.boot_default_build, sizeof conf.boot_default_build, "%s", cases[i].default_build);
        int r = boot_san_dhcp(&conf, st, &h, &san, err, sizeof err);
        if (r != cases[i].r || strcmp(san.uri, cases[i].uri) != 0)
            fail_msg("%s: r=%d uri='%s' err='%s'", cases[i].name, r, san.uri, err);
        assert_string_equal(san.initiator, r == 1 ? "iqn.2001-04.com.example:san1" : "");
    }
    /* An http sanboot build without iSCSI vars: no error, no root path. */
    free(h.vars);
    h.vars = strdup("{}");
    h.mode = HOST_MODE_SANBOOT;
    h.state = HOST_DISCOVERED;
    snprintf(h.build, sizeof h.build, "web");
    assert_int_equal(boot_san_dhcp(&conf, st, &h, &san, err, sizeof err), 0);
    assert_string_equal(san.uri, "");
    /* A refused var: an error, and nothing for DHCP. */
    h.mode = HOST_MODE_SANBOOT;
    h.state = HOST_DISCOVERED;
    snprintf(h.build, sizeof h.build, "disk");
    free(h.vars);
    h.vars = strdup("{\"iscsi_initiator\":\"iqn.2001-04.com.example:San1\"}");
    assert_int_equal(boot_san_dhcp(&conf, st, &h, &san, err, sizeof err), -EINVAL);
    assert_string_equal(san.uri, "");
    assert_non_null(strstr(err, "var iscsi_initiator refused"));
    host_clear(&h);
    store_close(st);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iscsi_names_are_checked_strictly),
        cmocka_unit_test(host_vars_choose_target_and_initiator),
        cmocka_unit_test(dhcp_root_path_only_for_sanboot_hosts_with_iscsi_builds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
