/* images/import: from a directory, a tarball and an ISO built here, by
 * recognised layout or explicit options; layering; clear refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "images/blobs.h"
#include "images/import.h"

static char dir[64], state[96], src[96];
static struct store *st;

static int setup(void **s)
{
    (void)s;
    snprintf(dir, sizeof dir, "/tmp/midwife-test-import-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(src, sizeof src, "%s/src", dir);
    mkdir(src, 0755);
    char err[256];
    return store_open(state, STORE_SYNC_NORMAL, &st, err, sizeof err);
}

static int teardown(void **s)
{
    (void)s;
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes content to src/rel, creating directories. */
static void put(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", src, rel);
    for (char *c = p + strlen(src) + 1; (c = strchr(c, '/')); c++) {
        *c = '\0';
        mkdir(p, 0755);
        *c = '/';
    }
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

/* Every file of the build is a stored, verified blob of the right size. */
static void assert_blobs_stored(const struct build *b)
{
    for (size_t i = 0; i < b->n_files; i++) {
        uint64_t size;
        assert_true(store_blob_known(st, b->files[i].sha256, &size));
        assert_int_equal(size, b->files[i].size);
        assert_int_equal(blob_verify(state, b->files[i].sha256), 0);
    }
}

static void debian_netboot_layout(void)
{
    put("debian-installer/amd64/linux", "kernel-amd64");
    put("debian-installer/amd64/initrd.gz", "initrd-amd64");
    put("debian-installer/arm64/linux", "kernel-arm64");
    put("debian-installer/arm64/initrd.gz", "initrd-arm64");
    put("pxelinux.cfg/default", "x");
}

static void directory_with_debian_netboot_is_recognised(void **s)
{
    (void)s;
    debian_netboot_layout();
    struct import_opts o = {.name = "debian-12", .path = src};
    struct build b;
    char err[1024] = "";
    if (image_import(state, st, &o, &b, err, sizeof err) < 0)
        fail_msg("import: %s", err);
    assert_int_equal(b.version, 1);
    assert_int_equal(b.kind, BUILD_LINUX);
    assert_int_equal(b.n_files, 2);
    assert_int_equal(b.files[0].role, BUILD_FILE_KERNEL);
    assert_string_equal(b.files[0].name, "linux");
    assert_int_equal(b.files[0].size, strlen("kernel-amd64"));
    assert_string_equal(b.files[1].name, "initrd.gz");
    assert_int_equal(b.files[1].size, strlen("initrd-amd64"));
    assert_blobs_stored(&b);
    build_clear(&b);
}

static void tarball_with_ubuntu_live_is_recognised(void **s)
{
    (void)s;
    put("casper/vmlinuz", "k");
    put("casper/initrd", "i");
    put("casper/filesystem.squashfs", "fs");
    sh("tar -C '%s' -czf '%s/live.tar.gz' .", src, dir);
    char tgz[128];
    snprintf(tgz, sizeof tgz, "%s/live.tar.gz", dir);
    struct import_opts o = {.name = "ubuntu", .path = tgz};
    struct build b;
    char err[1024] = "";
    if (image_import(state, st, &o, &b, err, sizeof err) < 0)
        fail_msg("import: %s", err);
    assert_int_equal(b.kind, BUILD_LINUX);
    assert_string_equal(b.cmdline, "boot=casper");
    assert_int_equal(b.n_files, 2);
    assert_string_equal(b.files[0].name, "vmlinuz");
    assert_string_equal(b.files[1].name, "initrd");
    assert_non_null(strstr(b.source, "live.tar.gz"));
    assert_blobs_stored(&b);
    build_clear(&b);
}

static void esxi_iso_keeps_boot_cfg_modules_in_order(void **s)
{
    (void)s;
    if (system("command -v xorriso >/dev/null 2>&1") != 0)
        skip(); /* scripts/deps.sh test installs it */
    put("BOOT.CFG", "bootstate=0\ntitle=Loading ESXi installer\nprefix=\nkernel=/b.b00\n"
                    "kernelopt=runweasel cdromBoot\n"
                    "modules=/jumpstrt.gz --- /useropts.gz --- /features.gz --- /k.b00 --- /s.v00\n");
    put("B.B00", "kernel");
    put("JUMPSTRT.GZ", "j");
    put("USEROPTS.GZ", "u");
    put("FEATURES.GZ", "f");
    put("K.B00", "kk");
    put("S.V00", "sss");
    put("MBOOT.C32", "mboot");
    put("EFI/BOOT/BOOTX64.EFI", "efi");
    put("EFI/BOOT/BOOT.CFG", "kernel=/b.b00\n");
    /* Plain ISO 9660 level 1 names (upper case, no Rock Ridge), as ESXi ships. */
    sh("xorriso -as mkisofs -quiet -o '%s/esxi.iso' '%s' >/dev/null 2>&1", dir, src);
    char iso[128];
    snprintf(iso, sizeof iso, "%s/esxi.iso", dir);
    struct import_opts o = {.name = "esxi-8", .path = iso};
    struct build b;
    char err[1024] = "";
    if (image_import(state, st, &o, &b, err, sizeof err) < 0)
        fail_msg("import: %s", err);
    assert_int_equal(b.kind, BUILD_ESXI);
    assert_string_equal(b.cmdline, "runweasel cdromBoot");
    const char *want[] = {"b.b00", "jumpstrt.gz", "useropts.gz", "features.gz", "k.b00", "s.v00", "mboot.c32",
                          "bootx64.efi"};
    assert_int_equal(b.n_files, 8);
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(b.files[i].name, want[i]);
    assert_int_equal(b.files[0].role, BUILD_FILE_KERNEL);
    assert_int_equal(b.files[5].role, BUILD_FILE_MODULE);
    assert_int_equal(b.files[6].role, BUILD_FILE_LOADER);
    assert_int_equal(b.files[5].size, 3);
    assert_blobs_stored(&b);
    build_clear(&b);

    struct build got;
    assert_int_equal(store_build_get(st, "esxi-8", 0, &got), 0);
    assert_int_equal(got.n_files, 8);
    assert_string_equal(got.files[1].name, "jumpstrt.gz");
    build_clear(&got);
}

static void explicit_kernel_and_initrds_keep_their_order(void **s)
{
    (void)s;
    put("boot/kernel", "K");
    put("boot/z-first.img", "1");
    put("boot/a-second.img", "2");
    struct import_opts o = {.name = "custom", .path = src, .kernel = "boot/kernel",
                            .initrds = {"boot/z-first.img", "boot/a-second.img"}, .n_initrds = 2,
                            .cmdline = "console=ttyS0 quiet"};
    struct build b;
    char err[1024] = "";
    if (image_import(state, st, &o, &b, err, sizeof err) < 0)
        fail_msg("import: %s", err);
    assert_int_equal(b.n_files, 3);
    assert_string_equal(b.files[1].name, "z-first.img");
    assert_string_equal(b.files[2].name, "a-second.img");
    assert_string_equal(b.cmdline, "console=ttyS0 quiet");
    build_clear(&b);
}

static void sanboot_and_local_need_no_source(void **s)
{
    (void)s;
    struct import_opts o = {.name = "san", .kind_set = true, .kind = BUILD_SANBOOT,
                            .san_uri = "iscsi:192.0.2.10::::iqn.2024-01.org.example:esx"};
    struct build b;
    char err[1024] = "";
    if (image_import(state, st, &o, &b, err, sizeof err) < 0)
        fail_msg("import: %s", err);
    assert_int_equal(b.kind, BUILD_SANBOOT);
    assert_int_equal(b.n_files, 0);
    build_clear(&b);
    struct import_opts l = {.name = "disk", .kind_set = true, .kind = BUILD_LOCAL};
    assert_int_equal(image_import(state, st, &l, &b, err, sizeof err), 0);
    build_clear(&b);
}

struct refusal {
    const char *name;
    struct import_opts o;
    const char *error;
};

static void unusable_sources_are_refused_clearly(void **s)
{
    (void)s;
    put("README", "nothing to boot here");
    put("boot/kernel", "K");
    char outside[128];
    snprintf(outside, sizeof outside, "%s/escape", src);
    assert_int_equal(symlink("/etc/passwd", outside), 0);
    const struct refusal cases[] = {
        {"nothing_recognisable_lists_what_was_looked_for", {.name = "x", .path = src}, "looked for: boot.cfg"},
        {"missing_path", {.name = "x", .path = "/nonexistent/path"}, "No such file"},
        {"kernel_outside_the_source", {.name = "x", .path = src, .kernel = "../etc/passwd"}, "no file"},
        {"symlink_out_of_the_source", {.name = "x", .path = src, .kernel = "escape"}, "escape"},
        {"bad_build_name", {.name = "a/b", .path = src}, "not allowed"},
        {"control_bytes_in_cmdline", {.name = "x", .path = src, .kernel = "boot/kernel", .cmdline = "a\nb"},
         "--cmdline"},
        {"ipxe_expansion_in_cmdline", {.name = "x", .path = src, .kernel = "boot/kernel", .cmdline = "x=${net0/ip}"},
         "command line refused"},
        {"shell_operator_in_cmdline", {.name = "x", .path = src, .kernel = "boot/kernel", .cmdline = "a; reboot"},
         "command line refused"},
        {"sanboot_without_uri", {.name = "x", .kind_set = true, .kind = BUILD_SANBOOT}, "--san-uri"},
        {"initrd_without_kernel", {.name = "x", .path = src, .initrds = {"boot/kernel"}, .n_initrds = 1},
         "--initrd needs --kernel"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct build b;
        char err[1024] = "";
        print_message("case %s\n", cases[i].name);
        assert_true(image_import(state, st, &cases[i].o, &b, err, sizeof err) < 0);
        if (!strstr(err, cases[i].error))
            fail_msg("%s: message '%s' lacks '%s'", cases[i].name, err, cases[i].error);
    }
    struct build b;
    assert_int_equal(store_build_get(st, "x", 0, &b), -ENOENT);
}

static void layer_appends_a_module_and_bumps_the_version(void **s)
{
    (void)s;
    debian_netboot_layout();
    struct import_opts o = {.name = "deb", .path = src};
    struct build b;
    char err[1024] = "";
    if (image_import(state, st, &o, &b, err, sizeof err) < 0)
        fail_msg("import: %s", err);
    build_clear(&b);
    char pack[128], pack2[128];
    snprintf(pack, sizeof pack, "%s/drivers.cpio", dir);
    snprintf(pack2, sizeof pack2, "%s/oem.tgz", dir);
    FILE *f = fopen(pack, "w");
    fputs("driver pack", f);
    fclose(f);
    f = fopen(pack2, "w");
    fputs("oem", f);
    fclose(f);
    const char *packs[] = {pack, pack2};
    if (image_layer(state, st, "deb", packs, 2, &b, err, sizeof err) < 0)
        fail_msg("layer: %s", err);
    assert_int_equal(b.version, 2);
    assert_int_equal(b.n_files, 4);
    assert_string_equal(b.files[2].name, "drivers.cpio");
    assert_true(b.files[2].layered);
    assert_int_equal(b.files[2].role, BUILD_FILE_MODULE);
    assert_string_equal(b.files[3].name, "oem.tgz");
    assert_false(b.files[1].layered);
    assert_blobs_stored(&b);
    build_clear(&b);

    /* Version 1 is untouched. */
    assert_int_equal(store_build_get(st, "deb", 1, &b), 0);
    assert_int_equal(b.n_files, 2);
    build_clear(&b);

    /* The same module twice is refused, and so is layering a sanboot build. */
    assert_int_equal(image_layer(state, st, "deb", packs, 1, &b, err, sizeof err), -EEXIST);
    assert_non_null(strstr(err, "already has a file named drivers.cpio"));
    struct import_opts san = {.name = "san", .kind_set = true, .kind = BUILD_SANBOOT, .san_uri = "iscsi:1.2.3.4::::t"};
    assert_int_equal(image_import(state, st, &san, &b, err, sizeof err), 0);
    build_clear(&b);
    assert_int_equal(image_layer(state, st, "san", packs, 1, &b, err, sizeof err), -EINVAL);
    assert_int_equal(image_layer(state, st, "nope", packs, 1, &b, err, sizeof err), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(directory_with_debian_netboot_is_recognised, setup, teardown),
        cmocka_unit_test_setup_teardown(tarball_with_ubuntu_live_is_recognised, setup, teardown),
        cmocka_unit_test_setup_teardown(esxi_iso_keeps_boot_cfg_modules_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(explicit_kernel_and_initrds_keep_their_order, setup, teardown),
        cmocka_unit_test_setup_teardown(sanboot_and_local_need_no_source, setup, teardown),
        cmocka_unit_test_setup_teardown(unusable_sources_are_refused_clearly, setup, teardown),
        cmocka_unit_test_setup_teardown(layer_appends_a_module_and_bumps_the_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
