#include "boot/boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/addr.h"

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
    return boot_expand(tmpl, mac, NULL, out, outlen);
}

int boot_expand(const char *tmpl, const uint8_t mac[6], const char *http, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0)
        return -ENOSPC;
    for (const char *p = tmpl; *p;) {
        if (http && strncmp(p, "{http}", 6) == 0) {
            size_t n = strlen(http);
            if (o + n >= outlen)
                goto nospace;
            memcpy(out + o, http, n);
            o += n;
            p += 6;
        } else if (strncmp(p, "{mac}", 5) == 0) {
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

int boot_http_base(const struct conf *conf, uint32_t addr, char *out, size_t outlen)
{
    int n;
    if (conf->http_public_url[0]) {
        n = snprintf(out, outlen, "%s", conf->http_public_url);
    } else {
        if (!addr) {
            if (outlen)
                out[0] = '\0';
            return -EADDRNOTAVAIL;
        }
        char a[IPV4_STRLEN], port[8] = "";
        format_ipv4(addr, a);
        if (conf->http_port != 80)
            snprintf(port, sizeof port, ":%u", (unsigned)conf->http_port);
        n = snprintf(out, outlen, "http://%s%s", a, port);
    }
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen)
            out[0] = '\0';
        return -ENOSPC;
    }
    return 0;
}

int32_t boot_http_arch_program_arch(int32_t arch)
{
    switch (arch) {
    case 15: return 6;  /* x86 UEFI HTTP → EFI IA32 */
    case 16: return 7;  /* x64 UEFI HTTP → EFI x86-64 */
    case 18: return 10; /* ARM 32-bit UEFI HTTP → EFI ARM32 */
    case 19: return 11; /* ARM 64-bit UEFI HTTP → EFI ARM64 */
    default: return arch;
    }
}

/* UEFI HTTP boot (UEFI 2.5+ §24.7): the client sends vendor class
 * "HTTPClient:Arch:xxxxx" and expects the reply to carry option 60
 * "HTTPClient" and a URI in the boot file name. It fetches the boot
 * program over HTTP itself, so it gets a full URL, not a TFTP name. */
static void decide_http_boot(const struct conf *conf, const struct boot_identity *id, struct boot_plan *plan)
{
    char base[CONF_URL_MAX];
    int32_t arch = id->arch >= 0 ? id->arch : 16;
    const char *assumed = id->arch >= 0 ? "" : " (no option 93, assumed)";
    int32_t prog_arch = boot_http_arch_program_arch(arch);
    const char *prog = prog_arch >= 0 && prog_arch <= 65535 ? conf_boot_program(conf, (uint16_t)prog_arch) : NULL;
    if (!prog) {
        snprintf(plan->reason, sizeof plan->reason, "HTTP boot arch %d (%s)%s: no boot program for arch %d",
                 (int)arch, boot_arch_name(arch), assumed, (int)prog_arch);
        return;
    }
    if (!conf->http_enabled && !conf->http_public_url[0]) {
        snprintf(plan->reason, sizeof plan->reason, "HTTP boot arch %d: [http] is disabled and has no public_url",
                 (int)arch);
        return;
    }
    if (boot_http_base(conf, id->server_addr, base, sizeof base) < 0 ||
        snprintf(plan->filename, sizeof plan->filename, "%s/boot/program/%s", base, prog) >=
            (int)sizeof plan->filename) {
        plan->filename[0] = '\0';
        snprintf(plan->reason, sizeof plan->reason, "HTTP boot arch %d: no usable HTTP URL for this server",
                 (int)arch);
        return;
    }
    snprintf(plan->reason, sizeof plan->reason, "HTTP boot arch %d (%s)%s → %.120s", (int)arch,
             boot_arch_name(arch), assumed, plan->filename);
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
        char base[CONF_URL_MAX] = "";
        if (strstr(conf->ipxe_script, "{http}") && boot_http_base(conf, id->server_addr, base, sizeof base) < 0) {
            snprintf(plan->reason, sizeof plan->reason, "iPXE: no server address to fill {http}");
            return;
        }
        static const uint8_t none[6];
        if (boot_expand(conf->ipxe_script, id->has_mac ? id->mac : none, base, plan->filename,
                        sizeof plan->filename) < 0) {
            snprintf(plan->reason, sizeof plan->reason, "iPXE: ipxe_script too long after expansion");
            return;
        }
        snprintf(plan->reason, sizeof plan->reason, "iPXE already running → script %.120s", plan->filename);
        return;
    }
    if (plan->client == BOOT_CLIENT_HTTP) {
        decide_http_boot(conf, id, plan);
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
