#include "boot/boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* RFC 4578 §2.1 and the IANA "Processor Architecture Types" registry. */
const char *boot_arch_name(int32_t arch)
{
    switch (arch) {
    case 0: return "x86 BIOS";
    case 6: return "EFI IA32";
    case 7: return "EFI x86-64";
    case 9: return "EFI x86-64";
    case 10: return "EFI ARM32";
    case 11: return "EFI ARM64";
    case 15: return "EFI IA32 HTTP";
    case 16: return "EFI x86-64 HTTP";
    case 18: return "EFI ARM32 HTTP";
    case 19: return "EFI ARM64 HTTP";
    case 25: return "EFI RISC-V 64";
    default: return "unknown";
    }
}

static bool has_prefix(const uint8_t *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return s && len >= n && memcmp(s, prefix, n) == 0;
}

/* iPXE sends option 77 as the bare string "iPXE" (not the RFC 3004 list
 * of length-prefixed entries); accept both spellings. */
static bool user_class_is_ipxe(const uint8_t *uc, size_t len)
{
    if (!uc)
        return false;
    if (len == 4 && memcmp(uc, "iPXE", 4) == 0)
        return true;
    for (size_t i = 0; i < len;) {
        size_t n = uc[i];
        if (n > len - i - 1)
            return false;
        if (n == 4 && memcmp(uc + i + 1, "iPXE", 4) == 0)
            return true;
        i += 1 + n;
    }
    return false;
}

static enum boot_client classify(const struct boot_identity *id)
{
    if (id->ipxe_options || user_class_is_ipxe(id->user_class, id->user_class_len))
        return BOOT_CLIENT_IPXE;
    if (has_prefix(id->vendor_class, id->vendor_class_len, "PXEClient"))
        return BOOT_CLIENT_PXE;
    if (has_prefix(id->vendor_class, id->vendor_class_len, "HTTPClient"))
        return BOOT_CLIENT_HTTP;
    return BOOT_CLIENT_PLAIN;
}

int boot_expand_mac(const char *tmpl, const uint8_t mac[6], char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0)
        return -ENOSPC;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{mac}", 5) == 0) {
            if (o + 17 >= outlen)
                goto nospace;
            for (int i = 0; i < 6; i++) {
                if (i)
                    out[o++] = '-';
                out[o++] = hex[mac[i] >> 4];
                out[o++] = hex[mac[i] & 15];
            }
            p += 5;
        } else {
            if (o + 1 >= outlen)
                goto nospace;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return 0;
nospace:
    out[0] = '\0';
    return -ENOSPC;
}

void boot_decide(const struct conf *conf, const struct boot_identity *id, struct boot_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->client = classify(id);
    plan->answer = true;

    if (plan->client == BOOT_CLIENT_PLAIN) {
        snprintf(plan->reason, sizeof plan->reason, "not a network-boot client: address only");
        return;
    }
    /* unknown_clients = ignore leaves network booting to hosts midwife knows.
     * Only the boot is withheld: a plain DHCP client is never a boot
     * client, so it still gets an address (the caller never asks us to
     * silence it), and an unknown machine on the segment keeps working. */
    if (!id->known && conf->unknown_clients == UNKNOWN_IGNORE) {
        plan->answer = false;
        snprintf(plan->reason, sizeof plan->reason, "unknown boot client ignored (unknown_clients = ignore)");
        return;
    }
    if (plan->client == BOOT_CLIENT_IPXE) {
        /* A client already running iPXE must get the script, never a boot
         * program again, or it would chainload iPXE forever. */
        if (strstr(conf->ipxe_script, "{mac}") && !id->has_mac) {
            snprintf(plan->reason, sizeof plan->reason, "iPXE without an Ethernet address: cannot fill {mac}");
            return;
        }
        static const uint8_t none[6];
        if (boot_expand_mac(conf->ipxe_script, id->has_mac ? id->mac : none, plan->filename,
                            sizeof plan->filename) < 0) {
            snprintf(plan->reason, sizeof plan->reason, "iPXE: ipxe_script too long after {mac} expansion");
            return;
        }
        snprintf(plan->reason, sizeof plan->reason, "iPXE already running → script %.120s", plan->filename);
        return;
    }
    /* RFC 4578 §2.1: PXE clients send option 93. Pre-RFC PXE 2.0 BIOS ROMs
     * may omit it; x86 BIOS is the only thing such a ROM can be. */
    int32_t arch = id->arch >= 0 ? id->arch : 0;
    const char *assumed = id->arch >= 0 ? "" : " (no option 93, assumed)";
    const char *prog = conf_boot_program(conf, (uint16_t)arch);
    if (!prog) {
        snprintf(plan->reason, sizeof plan->reason, "arch %d (%s)%s: no boot program configured", (int)arch,
                 boot_arch_name(arch), assumed);
        return;
    }
    snprintf(plan->filename, sizeof plan->filename, "%s", prog);
    snprintf(plan->reason, sizeof plan->reason, "arch %d (%s)%s → %.120s", (int)arch, boot_arch_name(arch),
             assumed, prog);
}
