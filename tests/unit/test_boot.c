/* The boot decision, table-driven: identity in, plan and reason out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "boot/boot.h"
#include "test_dhcp_helpers.h"

#define VC(s) (const uint8_t *)(s), sizeof(s) - 1
#define NONE NULL, 0

static const struct {
    const char *name;
    int32_t arch;
    const uint8_t *vc;
    size_t vc_len;
    const uint8_t *uc;
    size_t uc_len;
    bool ipxe_175, known, ignore_unknown;
    enum boot_client client;
    bool answer;
    const char *filename;
    const char *reason;
} cases[] = {
    {"arch_7_gets_snponly", 7, VC("PXEClient:Arch:00007:UNDI:003016"), NONE, false, false, false,
     BOOT_CLIENT_PXE, true, "snponly.efi", "arch 7 (EFI x86-64) → snponly.efi"},
    {"arch_9_gets_snponly", 9, VC("PXEClient:Arch:00009"), NONE, false, false, false, BOOT_CLIENT_PXE, true,
     "snponly.efi", NULL},
    {"arch_11_arm64_map", 11, VC("PXEClient:Arch:00011"), NONE, false, false, false, BOOT_CLIENT_PXE, true,
     "snponly-arm64.efi", "arch 11 (EFI ARM64) → snponly-arm64.efi"},
    {"arch_0_bios_gets_undionly", 0, VC("PXEClient:Arch:00000:UNDI:002001"), NONE, false, false, false,
     BOOT_CLIENT_PXE, true, "undionly.kpxe", NULL},
    {"missing_arch_is_assumed_bios", -1, VC("PXEClient"), NONE, false, false, false, BOOT_CLIENT_PXE, true,
     "undionly.kpxe", "arch 0 (x86 BIOS) (no option 93, assumed) → undionly.kpxe"},
    {"unknown_arch_gets_no_boot_file", 99, VC("PXEClient:Arch:00099"), NONE, false, false, false,
     BOOT_CLIENT_PXE, true, "", "arch 99 (unknown): no boot program configured"},
    {"ipxe_client_gets_script_not_boot_program", 0, VC("PXEClient:Arch:00000"), VC("iPXE"), false, false,
     false, BOOT_CLIENT_IPXE, true, "http://x/boot/52-54-00-12-34-56.ipxe", NULL},
    {"ipxe_by_option_175_gets_script", 7, VC("PXEClient:Arch:00007"), NONE, true, false, false,
     BOOT_CLIENT_IPXE, true, "http://x/boot/52-54-00-12-34-56.ipxe", NULL},
    {"ipxe_rfc3004_user_class_gets_script", 7, VC("PXEClient"), VC("\x04iPXE"), false, false, false,
     BOOT_CLIENT_IPXE, true, "http://x/boot/52-54-00-12-34-56.ipxe", NULL},
    {"http_client_is_a_boot_client", 16, VC("HTTPClient:Arch:00016"), NONE, false, false, false,
     BOOT_CLIENT_HTTP, true, "", NULL},
    {"plain_client_gets_address_only", -1, VC("udhcp 1.35.0"), NONE, false, false, false, BOOT_CLIENT_PLAIN,
     true, "", NULL},
    {"unknown_pxe_client_ignored", 7, VC("PXEClient"), NONE, false, false, true, BOOT_CLIENT_PXE, false, "",
     NULL},
    {"unknown_ipxe_client_ignored", 7, VC("PXEClient"), VC("iPXE"), false, false, true, BOOT_CLIENT_IPXE,
     false, "", NULL},
    {"known_pxe_client_boots_under_ignore", 7, VC("PXEClient"), NONE, false, true, true, BOOT_CLIENT_PXE,
     true, "snponly.efi", NULL},
    {"plain_client_answered_under_ignore", -1, NONE, NONE, false, false, true, BOOT_CLIENT_PLAIN, true, "",
     NULL},
    {"pxeclient_prefix_must_match_exactly", 7, VC("pxeclient"), NONE, false, false, false, BOOT_CLIENT_PLAIN,
     true, "", NULL},
};

static void decision_table(void **state)
{
    (void)state;
    struct conf *conf = conf_from_text(TEST_CONF);
    strcpy(conf->ipxe_script, "http://x/boot/{mac}.ipxe");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct boot_identity id = {.mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, .has_mac = true,
                                   .arch = cases[i].arch, .vendor_class = cases[i].vc,
                                   .vendor_class_len = cases[i].vc_len, .user_class = cases[i].uc,
                                   .user_class_len = cases[i].uc_len, .ipxe_options = cases[i].ipxe_175,
                                   .known = cases[i].known};
        conf->unknown_clients = cases[i].ignore_unknown ? UNKNOWN_IGNORE : UNKNOWN_BOOT;
        struct boot_plan plan;
        boot_decide(conf, &id, &plan);
        if (plan.client != cases[i].client || plan.answer != cases[i].answer ||
            strcmp(plan.filename, cases[i].filename) != 0 ||
            (cases[i].reason && strcmp(plan.reason, cases[i].reason) != 0) || !plan.reason[0])
            fail_msg("%s: client %d answer %d file '%s' reason '%s'", cases[i].name, plan.client, plan.answer,
                     plan.filename, plan.reason);
    }
    conf_free(conf);
}

static void mac_expansion_replaces_every_placeholder_and_checks_room(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    char out[64];
    assert_int_equal(boot_expand_mac("a/{mac}/{mac}", mac, out, sizeof out), 0);
    assert_string_equal(out, "a/aa-bb-cc-dd-ee-ff/aa-bb-cc-dd-ee-ff");
    assert_int_equal(boot_expand_mac("{mac}", mac, out, 17), -ENOSPC);
    assert_string_equal(out, "");
    assert_int_equal(boot_expand_mac("{mac}", mac, out, 18), 0);
    assert_int_equal(boot_expand_mac("{ma", mac, out, sizeof out), 0);
    assert_string_equal(out, "{ma");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decision_table),
        cmocka_unit_test(mac_expansion_replaces_every_placeholder_and_checks_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
