/* The ESXi kickstart: the esxcli lines the docs/profiles.md ESXi example
 * gives, hostile values that stay single arguments when the rendered
 * %firstboot runs against stub esxcli/wget, where the token goes, the
 * caps, the operator's preamble, and the route's lookup through a store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "boot/kickstart.h"
#include "inventory/profile.h"
#include "store/store.h"
#include "store/store_build.h"

#define URL "http://10.0.0.1:8080"
#define MACTEXT "52:54:00:12:34:56"
#define TOKEN "5f0c2a9d4be81e7736a1c0ffee00d15ea5e0b1e55ed0c0de0ddba11deadbeef0"

/* The ESXi example of docs/profiles.md, with a vMotion VLAN (for a
 * vmkernel NIC) and an NFS datastore, which the example leaves out. */
static const char esxi_profile[] =
    "{\"hostname\": \"esx-${index}.lab.example\","
    " \"interfaces\": [{\"name\": \"vmnic0\", \"mac\": \"${mac}\"}, {\"name\": \"vmnic1\"}],"
    " \"bridges\": [{\"name\": \"vSwitch0\", \"uplinks\": [\"vmnic0\", \"vmnic1\"], \"mtu\": 9000,"
    "   \"port_groups\": [{\"name\": \"Management Network\", \"vlan\": \"${vlan}\"},"
    "                     {\"name\": \"VM Network\", \"vlan\": 0}, {\"name\": \"Trunk\", \"vlan\": 4095}]}],"
    " \"vlans\": [{\"name\": \"vMotion\", \"link\": \"vSwitch0\", \"id\": 50, \"mtu\": 9000,"
    "             \"addresses\": [\"10.0.50.5/24\"]}],"
    " \"dns\": {\"servers\": [\"10.0.0.53\"], \"search\": [\"lab.example\"]},"
    " \"ntp\": [\"10.0.0.1\"],"
    " \"storage\": {\"iscsi\": [{\"portal\": \"10.0.0.10:3260\", \"target\": \"iqn.2000-01.com.example:${name}\"}],"
    "             \"nfs\": [{\"server\": \"10.0.0.9\", \"export\": \"/vol/iso\", \"mount\": \"/vmfs/iso\","
    "                       \"options\": \"ro,vers=4\"}]},"
    " \"persist\": [\"/etc/vmware/esx.conf\"],"
    " \"commands\": [\"esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 1\"]}";

static void test_host(struct host *h)
{
    assert_int_equal(host_init(h), 0);
    snprintf(h->name, sizeof h->name, "esx-01");
    h->id = 12;
    h->boot_id = 3;
    h->vlan = 42;
    h->address = 0x0a002a05; /* 10.0.42.5 */
    h->n_macs = 1;
    memcpy(h->macs[0], "\x52\x54\x00\x12\x34\x56", 6);
    free(h->vars);
    h->vars = strdup("{\"index\": \"01\"}");
}

static json_t *rendered_doc(const char *profile)
{
    struct host h;
    test_host(&h);
    struct configdoc_ctx ctx = {.base_url = URL, .now_ms = 1};
    char *text = NULL, err[256] = "";
    if (configdoc_render(profile, &h, &ctx, &text, err, sizeof err) != 0)
        fail_msg("configdoc_render: %s", err);
    host_clear(&h);
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(doc);
    return doc;
}

static char *render_ok(const json_t *doc)
{
    char *out = NULL, err[256] = "";
    size_t len = 0;
    if (boot_kickstart_render(doc, MACTEXT, TOKEN, URL, &out, &len, err, sizeof err) != 0)
        fail_msg("boot_kickstart_render: %s", err);
    assert_int_equal(len, strlen(out));
    return out;
}

static void expect_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return;
    fail_msg("no line\n  %s\nin:\n%s", line, text);
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void esxi_example_renders_exact_esxcli_lines(void **state)
{
    (void)state;
    json_t *doc = rendered_doc(esxi_profile);
    char *ks = render_ok(doc);
    static const char *const want[] = {
        "vmaccepteula",
        "install --firstdisk --overwritevmfs",
        "network --device=" MACTEXT " --bootproto=dhcp --vlanid=42",
        "reboot",
        KS_FIRSTBOOT_LINE,
        "MW_URL='" URL "'",
        "MW_TOKEN='" TOKEN "'",
        "MW_BOOT_MAC='" MACTEXT "'",
        "mw_birth",
        "mw_begin '{\"step\":\"hostname\",\"status\":\"running\",\"message\":\"hostname esx-01.lab.example\"}'"
        " '{\"failed\":\"hostname esx-01.lab.example: failed\",\"step\":\"hostname\"}'",
        "esxcli system hostname set --fqdn='esx-01.lab.example' || mw_fail",
        "mw_end '{\"step\":\"hostname\",\"status\":\"ok\"}'",
        "mw_add esxcli network vswitch standard add --vswitch-name='vSwitch0' || mw_fail",
        "esxcli network vswitch standard set --vswitch-name='vSwitch0' --mtu='9000' || mw_fail",
        "mw_add esxcli network vswitch standard uplink add --uplink-name='vmnic0' --vswitch-name='vSwitch0' || mw_fail",
        "mw_add esxcli network vswitch standard uplink add --uplink-name='vmnic1' --vswitch-name='vSwitch0' || mw_fail",
        "mw_add esxcli network vswitch standard portgroup add --portgroup-name='Management Network'"
        " --vswitch-name='vSwitch0' || mw_fail",
        "esxcli network vswitch standard portgroup set --portgroup-name='Management Network' --vlan-id='42' || mw_fail",
        "mw_add esxcli network vswitch standard portgroup add --portgroup-name='VM Network' --vswitch-name='vSwitch0'"
        " || mw_fail",
        "esxcli network vswitch standard portgroup set --portgroup-name='VM Network' --vlan-id='0' || mw_fail",
        "esxcli network vswitch standard portgroup set --portgroup-name='Trunk' --vlan-id='4095' || mw_fail",
        "mw_add esxcli network vswitch standard portgroup add --portgroup-name='vMotion' --vswitch-name='vSwitch0'"
        " || mw_fail",
        "esxcli network vswitch standard portgroup set --portgroup-name='vMotion' --vlan-id='50' || mw_fail",
        "mw_add esxcli network ip interface add --interface-name=vmk1 --portgroup-name='vMotion' || mw_fail",
        "esxcli network ip interface ipv4 set --interface-name=vmk1 --ipv4='10.0.50.5' --netmask='255.255.255.0'"
        " --type=static || mw_fail",
        "esxcli network ip interface set --interface-name=vmk1 --mtu='9000' || mw_fail",
        "mw_add esxcli network ip dns server add --server='10.0.0.53' || mw_fail",
        "mw_add esxcli network ip dns search add --domain='lab.example' || mw_fail",
        "esxcli system ntp set --server='10.0.0.1' --enabled=true || mw_fail",
        "mw_add esxcli storage nfs41 add --hosts='10.0.0.9' --share='/vol/iso' --volume-name='iso' --readonly"
        " || mw_fail",
        "esxcli iscsi software set --enabled=true || mw_fail",
        "mw_iscsi_hba || mw_fail",
        "mw_add esxcli iscsi adapter discovery sendtarget add --adapter=\"$MW_HBA\" --address='10.0.0.10:3260'"
        " || mw_fail",
        "esxcli storage core adapter rescan --adapter=\"$MW_HBA\" || mw_fail",
        "mw_sh 'esxcli system settings advanced set -o /UserVars/SuppressShellWarning -i 1' || mw_fail",
        "mw_post '{\"ready\":true}'",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        expect_line(ks, want[i]);
    /* The management vSwitch's vmk0 is the installer's: no vmk there. */
    assert_int_equal(count(ks, "--interface-name=vmk"), 3);
    assert_null(strstr(ks, "vmk0"));
    /* The root password is the operator's: a comment, never a line. */
    assert_null(strstr(ks, "\nrootpw"));
    assert_non_null(strstr(ks, "# No rootpw here"));
    /* Ready comes last. */
    assert_string_equal(ks + strlen(ks) - strlen("mw_post '{\"ready\":true}'\n"), "mw_post '{\"ready\":true}'\n");
    free(ks);
    json_decref(doc);
}

static void token_appears_only_in_its_assignment(void **state)
{
    (void)state;
    json_t *doc = rendered_doc(esxi_profile);
    char *ks = render_ok(doc);
    assert_int_equal(count(ks, TOKEN), 1);
    const char *at = strstr(ks, TOKEN);
    assert_true(at - ks > 10 && strncmp(at - 10, "MW_TOKEN='", 10) == 0);
    /* Sent only as the bearer, never in a body or URL. */
    assert_int_equal(count(ks, "$MW_TOKEN"), 2);
    assert_int_equal(count(ks, "\"Authorization: Bearer $MW_TOKEN\""), 2);
    /* And nowhere above %firstboot. */
    assert_true(strstr(ks, KS_FIRSTBOOT_LINE) < at);
    free(ks);
    json_decref(doc);
}

static void management_address_makes_a_static_network_line(void **state)
{
    (void)state;
    json_t *doc = rendered_doc("{\"bridges\": [{\"name\": \"vSwitch0\", \"uplinks\": [\"vmnic0\"],"
                               " \"addresses\": [\"${address}/24\"],"
                               " \"port_groups\": [{\"name\": \"Management Network\", \"vlan\": 42}]},"
                               " {\"name\": \"vSwitch1\", \"uplinks\": [\"bond0\"], \"dhcp\": true}],"
                               " \"bonds\": [{\"name\": \"bond0\", \"members\": [\"vmnic2\", \"vmnic3\"]}],"
                               " \"routes\": [{\"to\": \"0.0.0.0/0\", \"via\": \"10.0.42.1\"},"
                               "            {\"to\": \"10.9.0.0/16\", \"via\": \"10.0.42.254\"},"
                               "            {\"to\": \"10.8.0.0/16\", \"dev\": \"vmk0\"}]}");
    /* The host's static address came in through ${address}. */
    char *ks = render_ok(doc);
    expect_line(ks, "network --device=" MACTEXT " --bootproto=static --ip=10.0.42.5 --netmask=255.255.255.0"
                    " --gateway=10.0.42.1 --vlanid=42");
    /* The default route is the network line's; the other two are steps. */
    assert_null(strstr(ks, "--network='0.0.0.0/0'"));
    expect_line(ks, "mw_add esxcli network ip route ipv4 add --network='10.9.0.0/16' --gateway='10.0.42.254'"
                    " || mw_fail");
    expect_line(ks, "mw_post '{\"step\":\"route.2\",\"status\":\"skipped\",\"message\":\"ESXi routes need a gateway"
                    " (via)\"}'");
    /* A DHCP vSwitch without port groups gets one for its vmk; a bond
     * uplink is its members. */
    expect_line(ks, "mw_add esxcli network vswitch standard portgroup add --portgroup-name='vSwitch1'"
                " --vswitch-name='vSwitch1' || mw_fail");
    expect_line(ks, "mw_add esxcli network ip interface add --interface-name=vmk1 --portgroup-name='vSwitch1'"
                    " || mw_fail");
    expect_line(ks, "esxcli network ip interface ipv4 set --interface-name=vmk1 --type=dhcp || mw_fail");
    expect_line(ks, "mw_add esxcli network vswitch standard uplink add --uplink-name='vmnic2'"
                    " --vswitch-name='vSwitch1' || mw_fail");
    expect_line(ks, "mw_add esxcli network vswitch standard uplink add --uplink-name='vmnic3'"
                    " --vswitch-name='vSwitch1' || mw_fail");
    assert_null(strstr(ks, "'bond0'"));
    assert_int_equal(count(ks, "--interface-name=vmk"), 2);
    free(ks);
    json_decref(doc);
}

/* ---- the rendered script, run ---- */

static const char hostile_doc[] =
    "{\"hostname\": \"esx$(touch pwned).lab\","
    " \"bridges\": [{\"name\": \"vSwitch0\", \"uplinks\": [\"vmnic0\"],"
    "   \"port_groups\": [{\"name\": \"x'; reboot; echo '\", \"vlan\": 7}, {\"name\": \"a `reboot` \\\\ \\\" b\"}]}],"
    " \"dns\": {\"servers\": [], \"search\": [\"$(reboot)\"]},"
    " \"storage\": {\"nfs\": [{\"server\": \"nas\", \"export\": \"/vol/it's\", \"mount\": \"/a/b'c\"}]},"
    " \"commands\": [\"esxcli system settings advanced set -o '/UserVars/It'\\\"'\\\"'s \\\"x\\\"' -i 1\","
    "                \"esxcli hostile '; reboot; '\"]}";

static char *make_dir(void)
{
    char *dir = strdup("/tmp/mw-ks-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[1024];
    assert_true((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

static char *read_file(const char *dir, const char *name)
{
    char path[1024];
    assert_true((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return strdup("");
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[1024];
    assert_true((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path);
    return access(path, F_OK) == 0;
}

/* Stubs log their argv one per line, "--" after each call. esxcli
 * answers the three queries the script makes, says "already exists" to
 * adding vSwitch0 (as ESXi does after the install), and fails the call
 * starting with $MW_TEST_FAIL. */
static const char stub_esxcli[] =
    "#!/bin/sh\n"
    "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >> \"$MW_TEST_DIR/esxcli.log\"\n"
    "echo -- >> \"$MW_TEST_DIR/esxcli.log\"\n"
    "if [ -n \"$MW_TEST_FAIL\" ]; then case \"$*\" in \"$MW_TEST_FAIL\"*) echo 'Error: no' >&2; exit 1 ;; esac; fi\n"
    "case \"$*\" in\n"
    "'network nic list') echo 'Name    PCI Device    Driver  Admin Status  Link Status  Speed  Duplex  MAC Address';\n"
    "  echo 'vmnic0  0000:00:03.0  ne1000  Up  Up  1000  Full  52:54:00:12:34:56  1500  Intel';\n"
    "  echo 'vmnic1  0000:00:04.0  ne1000  Up  Up  1000  Full  52:54:00:AB:CD:EF  1500  Intel' ;;\n"
    "'hardware platform get') printf 'Platform Information\\n   Product Name: Standard PC \"q35\"\\n"
    "   Vendor Name: QEMU$(reboot)\\n   Serial Number: SN-1\\n' ;;\n"
    "'iscsi adapter list') echo 'vmhba64  iscsi_vmk  online  iscsi.vmhba64  iSCSI Software Adapter' ;;\n"
    "'network vswitch standard add --vswitch-name=vSwitch0') echo 'A portset with this name already exists'; exit 1 ;;\n"
    "esac\n"
    "exit 0\n";
static const char stub_wget[] =
    "#!/bin/sh\n"
    "for a in \"$@\"; do printf '%s\\n' \"$a\"; done >> \"$MW_TEST_DIR/wget.log\"\n"
    "echo -- >> \"$MW_TEST_DIR/wget.log\"\n"
    "exit 0\n";
static const char stub_reboot[] = "#!/bin/sh\ntouch \"$MW_TEST_DIR/REBOOTED\"\n";

/* Writes the %firstboot part of ks into dir/firstboot.sh. */
static void write_firstboot(const char *dir, const char *ks)
{
    const char *fb = strstr(ks, "\n" KS_FIRSTBOOT_LINE "\n");
    assert_non_null(fb);
    write_file(dir, "firstboot.sh", fb + strlen(KS_FIRSTBOOT_LINE) + 2, 0644);
}

static int run_sh(const char *dir, const char *what, const char *env)
{
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && env MW_TEST_DIR='%s' PATH='%s/bin':\"$PATH\" %s %s >'%s/run.out' 2>&1",
                     dir, dir, dir, env, what, dir);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    int r = system(cmd);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static void setup_stubs(const char *dir)
{
    char bin[1024];
    assert_true((size_t)snprintf(bin, sizeof bin, "%s/bin", dir) < sizeof bin);
    assert_int_equal(mkdir(bin, 0755), 0);
    write_file(bin, "esxcli", stub_esxcli, 0755);
    write_file(bin, "wget", stub_wget, 0755);
    write_file(bin, "reboot", stub_reboot, 0755);
}

static void remove_tree(char *dir)
{
    char cmd[600];
    assert_true((size_t)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir) < sizeof cmd);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* The argument after "--post-data" in the n-th (0-based) logged wget call. */
static char *post_data(const char *log, int n)
{
    const char *p = log;
    for (int i = 0; i < n && p; i++) {
        p = strstr(p, "\n--\n");
        p = p ? p + 4 : NULL;
    }
    assert_non_null(p);
    const char *d = strstr(p, "--post-data\n");
    assert_non_null(d);
    d += strlen("--post-data\n");
    const char *e = strchr(d, '\n');
    return strndup(d, (size_t)(e - d));
}

static void hostile_values_stay_single_arguments_when_run(void **state)
{
    (void)state;
    json_t *doc = json_loads(hostile_doc, 0, NULL);
    assert_non_null(doc);
    char *ks = render_ok(doc);
    char *dir = make_dir();
    setup_stubs(dir);
    write_firstboot(dir, ks);
    assert_int_equal(run_sh(dir, "/bin/sh -n firstboot.sh", ""), 0);
    if (access("/usr/bin/busybox", X_OK) == 0)
        assert_int_equal(run_sh(dir, "/usr/bin/busybox sh -n firstboot.sh", ""), 0);
    int rc = run_sh(dir, "/bin/sh firstboot.sh", "");
    char *out = read_file(dir, "run.out");
    if (rc != 0)
        fail_msg("firstboot exited %d:\n%s", rc, out);
    free(out);
    assert_false(file_exists(dir, "REBOOTED"));
    assert_false(file_exists(dir, "pwned"));

    char *log = read_file(dir, "esxcli.log");
    expect_line(log, "--fqdn=esx$(touch pwned).lab");
    expect_line(log, "--portgroup-name=x'; reboot; echo '");
    expect_line(log, "--portgroup-name=a `reboot` \\ \" b");
    expect_line(log, "--domain=$(reboot)");
    expect_line(log, "--share=/vol/it's");
    expect_line(log, "--volume-name=b'c");
    /* The command ran as the shell command it is, its quoted word whole. */
    expect_line(log, "/UserVars/It's \"x\"");
    expect_line(log, "; reboot; ");
    /* vSwitch0 "already exists" (the installer's) did not stop anything. */
    expect_line(log, "--vswitch-name=vSwitch0");
    free(log);

    log = read_file(dir, "wget.log");
    expect_line(log, "Authorization: Bearer " TOKEN);
    expect_line(log, URL "/api/v1/birth");
    expect_line(log, "/tmp/midwife-doc.json");
    /* The birth's facts: JSON, with what the host told, cut down. */
    char *facts = post_data(log, 0);
    json_error_t jerr;
    json_t *f = json_loads(facts, 0, &jerr);
    if (!f)
        fail_msg("birth body is not JSON (%s): %s", jerr.text, facts);
    json_t *want_macs = json_pack("[ss]", MACTEXT, "52:54:00:ab:cd:ef");
    assert_true(json_equal(json_object_get(f, "macs"), want_macs));
    json_decref(want_macs);
    assert_string_equal(json_string_value(json_object_get(f, "boot_mac")), MACTEXT);
    assert_string_equal(json_string_value(json_object_get(f, "vendor")), "QEMU(reboot)");
    assert_string_equal(json_string_value(json_object_get(f, "model")), "Standard PC q35");
    assert_string_equal(json_string_value(json_object_get(f, "serial")), "SN-1");
    json_decref(f);
    free(facts);
    /* Every report body arrives as JSON; the last one says ready. */
    char *first = post_data(log, 1);
    json_t *j = json_loads(first, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "step")), "hostname");
    assert_string_equal(json_string_value(json_object_get(j, "message")), "hostname esx$(touch pwned).lab");
    json_decref(j);
    free(first);
    size_t calls = count(log, "\n--\n");
    char *last = post_data(log, (int)calls - 1);
    assert_string_equal(last, "{\"ready\":true}");
    free(last);
    free(log);
    remove_tree(dir);
    free(ks);
    json_decref(doc);
}

static void failed_step_is_reported_and_stops_the_script(void **state)
{
    (void)state;
    json_t *doc = rendered_doc(esxi_profile);
    char *ks = render_ok(doc);
    char *dir = make_dir();
    setup_stubs(dir);
    write_firstboot(dir, ks);
    assert_int_equal(run_sh(dir, "/bin/sh firstboot.sh", "MW_TEST_FAIL='network ip dns server add'"), 1);
    char *log = read_file(dir, "wget.log");
    size_t calls = count(log, "\n--\n");
    char *last = post_data(log, (int)calls - 1);
    assert_string_equal(last, "{\"failed\":\"DNS servers and search domains: failed\",\"step\":\"dns\"}");
    free(last);
    assert_null(strstr(log, "{\"ready\":true}"));
    free(log);
    /* Nothing after the failed step ran. */
    log = read_file(dir, "esxcli.log");
    assert_null(strstr(log, "ntp\n"));
    assert_non_null(strstr(log, "dns\nserver\nadd\n"));
    free(log);
    remove_tree(dir);
    free(ks);
    json_decref(doc);
}

/* ---- refusals and caps ---- */

static int render_err(const char *doc_text, const char *mac, const char *token, char *err, size_t errlen)
{
    json_t *doc = json_loads(doc_text, 0, NULL);
    assert_non_null(doc);
    char *out = (char *)1;
    int r = boot_kickstart_render(doc, mac, token, URL, &out, NULL, err, errlen);
    if (r != 0)
        assert_null(out);
    free(r == 0 ? out : NULL);
    json_decref(doc);
    return r;
}

static void wrong_shapes_and_control_bytes_are_refused_with_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *mac, *token, *err;
    } cases[] = {
        {"[]", MACTEXT, TOKEN, "document: expected a JSON object"},
        {"{}", "52:54:00", TOKEN, "not a MAC address"},
        {"{}", MACTEXT, "a b", "not a boot token"},
        {"{}", MACTEXT, "", "not a boot token"},
        {"{\"bridges\": {}}", MACTEXT, TOKEN, "bridges: expected an array"},
        {"{\"bridges\": [{\"uplinks\": []}]}", MACTEXT, TOKEN, "bridges[0].name: missing, expected a string"},
        {"{\"bridges\": [{\"name\": \"v\", \"port_groups\": [{\"name\": \"a\\nb\"}]}]}", MACTEXT, TOKEN,
         "bridges[0].port_groups[0].name: holds a control byte"},
        {"{\"bridges\": [{\"name\": \"v\", \"port_groups\": [{\"name\": \"a\", \"vlan\": 4096}]}]}", MACTEXT, TOKEN,
         "bridges[0].port_groups[0].vlan: 4096 is outside 0..4095"},
        {"{\"hostname\": \"a\\u0085b\"}", MACTEXT, TOKEN, "hostname: holds a control byte"},
        {"{\"commands\": [\"ok\", \"x\\ry\"]}", MACTEXT, TOKEN, "commands[1]: expected a string without control bytes"},
        {"{\"vlans\": [{\"name\": \"v\", \"link\": \"vSwitch0\"}]}", MACTEXT, TOKEN,
         "vlans[0].id: missing, expected an integer"},
        {"{\"bridges\": [{\"name\": \"v\", \"addresses\": [\"10.0.0.300/24\"]}]}", MACTEXT, TOKEN,
         "bridges[0].addresses[0]: not an IPv4 address with an optional prefix"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        int r = render_err(cases[i].doc, cases[i].mac, cases[i].token, err, sizeof err);
        if (r != -EINVAL || strcmp(err, cases[i].err) != 0)
            fail_msg("case %zu: r=%d err='%s', want '%s'", i, r, err, cases[i].err);
    }
}

static void long_lines_and_large_documents_are_e2big(void **state)
{
    (void)state;
    char err[256];
    /* One command of quotes: each becomes '\'' and the line outgrows its cap. */
    char *cmd = malloc(KS_LINE_MAX / 4 + 2);
    assert_non_null(cmd);
    memset(cmd, '\'', KS_LINE_MAX / 4 + 1);
    cmd[KS_LINE_MAX / 4 + 1] = '\0';
    json_t *doc = json_pack("{s:[s]}", "commands", cmd);
    char *out = NULL;
    assert_int_equal(boot_kickstart_render(doc, MACTEXT, TOKEN, URL, &out, NULL, err, sizeof err), -E2BIG);
    assert_null(out);
    assert_string_equal(err, "a line of the kickstart would be longer than 16384 bytes");
    /* Just under: renders. */
    cmd[KS_LINE_MAX / 8] = '\0';
    json_array_set_new(json_object_get(doc, "commands"), 0, json_string(cmd));
    assert_int_equal(boot_kickstart_render(doc, MACTEXT, TOKEN, URL, &out, NULL, err, sizeof err), 0);
    free(out);
    json_decref(doc);
    free(cmd);

    /* Thousands of port groups: every line short, the whole too big. */
    json_t *pgs = json_array();
    for (int i = 0; i < 2000; i++)
        json_array_append_new(pgs, json_pack("{s:s, s:i}", "name", "a port group with a long enough name", "vlan", i));
    doc = json_pack("{s:[{s:s, s:o}]}", "bridges", "name", "vSwitch0", "port_groups", pgs);
    assert_int_equal(boot_kickstart_render(doc, MACTEXT, TOKEN, URL, &out, NULL, err, sizeof err), -E2BIG);
    assert_null(out);
    assert_string_equal(err, "the kickstart would be larger than 262144 bytes");
    json_decref(doc);
}

static void operator_preamble_replaces_the_builtin_one(void **state)
{
    (void)state;
    json_t *doc = rendered_doc(esxi_profile);
    static const char pre[] = "vmaccepteula\nrootpw --iscrypted $6$salt$hash\ninstall --firstdisk=local --novmfsondisk\n"
                              "network --bootproto=dhcp --device=vmnic0\nreboot";
    char *out = NULL, err[256] = "";
    assert_int_equal(boot_kickstart_render_with(pre, sizeof pre - 1, doc, MACTEXT, TOKEN, URL, &out, NULL, err,
                                                sizeof err),
                     0);
    assert_memory_equal(out, pre, sizeof pre - 1);
    assert_int_equal(strncmp(out + sizeof pre - 1, "\n\n" KS_FIRSTBOOT_LINE "\n", strlen(KS_FIRSTBOOT_LINE) + 3), 0);
    assert_null(strstr(out, "# No rootpw here"));
    assert_null(strstr(out, "--overwritevmfs"));
    expect_line(out, "esxcli system ntp set --server='10.0.0.1' --enabled=true || mw_fail");
    free(out);
    assert_int_equal(boot_kickstart_render_with("a\0b", 3, doc, MACTEXT, TOKEN, URL, &out, NULL, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, KS_PREAMBLE_FILE ": holds a NUL byte");
    json_decref(doc);
}

/* What the route calls: the host's esxi build and profile from a store,
 * the override from [boot] templates. */
static void kickstart_for_reads_build_profile_and_override(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256] = "";
    struct store *st = NULL;
    if (store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0)
        fail_msg("store_open: %s", err);
    static const char sha[] = "1111111111111111111111111111111111111111111111111111111111111111";
    struct build_file bf = {.role = BUILD_FILE_KERNEL, .size = 1};
    snprintf(bf.name, sizeof bf.name, "b.b00");
    memcpy(bf.sha256, sha, sizeof sha);
    assert_int_equal(store_blob_put(st, sha, 1), 0);
    struct build b = {.kind = BUILD_ESXI, .files = &bf, .n_files = 1};
    snprintf(b.name, sizeof b.name, "esxi8");
    assert_int_equal(store_build_publish(st, &b), 0);
    b.kind = BUILD_LINUX;
    snprintf(b.name, sizeof b.name, "debian");
    assert_int_equal(store_build_publish(st, &b), 0);
    struct profile p = {.doc = strdup(esxi_profile)};
    snprintf(p.name, sizeof p.name, "esx-lab");
    assert_int_equal(store_profile_put(st, &p), 0);
    profile_clear(&p);

    struct host h;
    test_host(&h);
    snprintf(h.build, sizeof h.build, "esxi8");
    snprintf(h.profile, sizeof h.profile, "esx-lab");
    struct conf conf;
    memset(&conf, 0, sizeof conf);
    char *out = NULL;
    const uint8_t *mac = h.macs[0];
    if (boot_kickstart_for(&conf, st, &h, mac, TOKEN, URL, &out, NULL, err, sizeof err) != 0)
        fail_msg("boot_kickstart_for: %s", err);
    expect_line(out, "install --firstdisk --overwritevmfs");
    expect_line(out, "esxcli system hostname set --fqdn='esx-01.lab.example' || mw_fail");
    free(out);

    char tdir[600];
    assert_true((size_t)snprintf(tdir, sizeof tdir, "%s/templates", dir) < sizeof tdir);
    assert_int_equal(mkdir(tdir, 0755), 0);
    snprintf(conf.boot_templates, sizeof conf.boot_templates, "%s", tdir);
#define PRE "vmaccepteula\nrootpw --iscrypted HASH\ninstall --firstdisk\nreboot\n"
    write_file(tdir, KS_PREAMBLE_FILE, PRE, 0644);
    assert_int_equal(boot_kickstart_for(&conf, st, &h, mac, TOKEN, URL, &out, NULL, err, sizeof err), 0);
    assert_int_equal(strncmp(out, PRE "\n" KS_FIRSTBOOT_LINE "\n", strlen(PRE "\n" KS_FIRSTBOOT_LINE "\n")), 0);
    free(out);

    snprintf(h.build, sizeof h.build, "debian");
    assert_int_equal(boot_kickstart_for(&conf, st, &h, mac, TOKEN, URL, &out, NULL, err, sizeof err), -ENOENT);
    assert_string_equal(err, "host esx-01: build debian is not an esxi build: no kickstart");
    snprintf(h.build, sizeof h.build, "esxi8");
    snprintf(h.profile, sizeof h.profile, "gone");
    assert_int_equal(boot_kickstart_for(&conf, st, &h, mac, TOKEN, URL, &out, NULL, err, sizeof err), -ENOENT);
    host_clear(&h);
    store_close(st);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(esxi_example_renders_exact_esxcli_lines),
        cmocka_unit_test(token_appears_only_in_its_assignment),
        cmocka_unit_test(management_address_makes_a_static_network_line),
        cmocka_unit_test(hostile_values_stay_single_arguments_when_run),
        cmocka_unit_test(failed_step_is_reported_and_stops_the_script),
        cmocka_unit_test(wrong_shapes_and_control_bytes_are_refused_with_the_field),
        cmocka_unit_test(long_lines_and_large_documents_are_e2big),
        cmocka_unit_test(operator_preamble_replaces_the_builtin_one),
        cmocka_unit_test(kickstart_for_reads_build_profile_and_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
