/* The built-in templates, one per build kind. An operator overrides any of
 * them with a file of the same name in [boot] templates.
 *
 * VLANs: `vcreate` exists only in iPXE builds with VLAN_CMD, which is off
 * by default, and Debian 12's iPXE (1.0.0+git-20190125, /usr/lib/ipxe)
 * does not have it: there `vcreate` fails with "command not found", the
 * `||` runs the echo and the script carries on untagged on the native
 * VLAN. With it, iPXE tags net0 and configures the VLAN device by DHCP
 * (midwife answers there through a relay); if that DHCP fails the same
 * echo runs. Either way the kernel gets midwife.vlan=N, so the booted
 * host uses the VLAN. */
#include "boot/script_builtin.h"

#include <string.h>

#define HEADER                                                                                        \
    "#!ipxe\n"                                                                                        \
    "# midwife: {{#if host}}host {{host}}{{/if}}{{#unless host}}unknown host{{#if mac}} {{mac}}{{/if}}{{/unless}}"     \
    ", build {{build}} v{{version}} ({{kind}})\n"

#define VLAN_SETUP                                                                                    \
    "{{#if vlan}}\n"                                                                                  \
    "vcreate --tag {{vlan}} net0 && ifconf net0-{{vlan}} || echo midwife: iPXE did not join VLAN "    \
    "{{vlan}}, continuing untagged\n"                                                                 \
    "{{/if}}\n"

static const char linux_ipxe[] =
    HEADER VLAN_SETUP
    /* initrd=NAME: EFI iPXE (2019) hands initrds to the kernel's EFI stub
     * only when named on the command line; BIOS boots ignore it. */
    "kernel {{base_url}}/boot/file/{{kernel_sha256}}/{{kernel_name}}"
    "{{#each modules}} initrd={{name}}{{/each}}"
    "{{#if cmdline}} {{cmdline}}{{/if}}"
    "{{#if vlan}} midwife.vlan={{vlan}}{{/if}}"
    " midwife.url={{base_url}}"
    "{{#if token}} midwife.token={{token}}{{#if mac}} midwife.mac={{mac}}{{/if}}{{/if}}"
    "{{#if extra_cmdline}} {{extra_cmdline}}{{/if}}\n"
    "{{#each modules}}\n"
    "initrd {{base_url}}/boot/file/{{sha256}}/{{name}}\n"
    "{{/each}}\n"
    "boot\n";

/* ESXi boots through its own loader, which reads boot.cfg: mboot.c32 (a
 * COM32 module) under BIOS, the EFI loader under UEFI. A boot with a
 * token names it in the boot.cfg path, so boot.cfg can hand it on (and
 * point ks= at the host's kickstart). */
static const char esxi_ipxe[] =
    HEADER VLAN_SETUP
    "iseq ${platform} efi && goto midwife_efi ||\n"
    "{{#if mboot_sha256}}\n"
    "kernel {{base_url}}/boot/file/{{mboot_sha256}}/{{mboot_name}} -c {{base_url}}/boot/esxi/{{mac}}/{{#if token}}{{token}}/{{/if}}boot.cfg\n"
    "boot\n"
    "{{/if}}\n"
    "echo midwife: build {{build}} v{{version}} has no BIOS loader (mboot.c32)\n"
    "exit 1\n"
    ":midwife_efi\n"
    "{{#if efi_sha256}}\n"
    "kernel {{base_url}}/boot/file/{{efi_sha256}}/{{efi_name}} -c {{base_url}}/boot/esxi/{{mac}}/{{#if token}}{{token}}/{{/if}}boot.cfg\n"
    "boot\n"
    "{{/if}}\n"
    "echo midwife: build {{build}} v{{version}} has no EFI loader\n"
    "exit 1\n";

static const char chain_ipxe[] =
    HEADER VLAN_SETUP
    "chain {{base_url}}/boot/file/{{kernel_sha256}}/{{kernel_name}}{{#if cmdline}} {{cmdline}}{{/if}}\n";

/* Given a root path (DHCP option 17) next to the boot file, iPXE's
 * autoboot hooks it as drive 0x80 (logging in with option 203's
 * initiator name) before it runs this script: the same URI is then
 * booted as hooked. A hooked disk
 * of another URI (a root path from elsewhere) is let go first, or
 * `sanboot URI` would find drive 0x80 taken (EADDRINUSE). The "x"
 * keeps iseq at two words when ${root-path} is empty. `set
 * initiator-iqn` is the name `sanboot URI` logs in with. */
static const char sanboot_ipxe[] =
    HEADER VLAN_SETUP
    "{{#if iscsi_initiator}}\n"
    "set initiator-iqn {{iscsi_initiator}}\n"
    "{{/if}}\n"
    "iseq x${root-path} x{{san_uri}} && sanboot ||\n"
    "iseq x${root-path} x || sanunhook ||\n"
    "sanboot {{san_uri}}\n";

/* BIOS: boot the first hard disk; where that fails (UEFI has no drive
 * 0x80) exit, and the firmware tries its next boot device. */
static const char local_ipxe[] =
    HEADER
    "sanboot --no-describe --drive 0x80 || exit\n";

static const char exit_ipxe[] =
    "#!ipxe\n"
    "# midwife: no build for {{#if host}}host {{host}}{{/if}}{{#unless host}}unknown host{{#if mac}} {{mac}}{{/if}}{{/unless}}\n"
    "echo midwife: no build for this host{{#if mac}} ({{mac}}){{/if}}, leaving it to the next boot device\n"
    "exit\n";

/* ESXi boot.cfg (the loader's own format: KEY=VALUE lines). Module paths
 * are relative to prefix, each pinned by its SHA-256. */
static const char esxi_boot_cfg[] =
    "bootstate=0\n"
    "title=midwife: {{build}} v{{version}}\n"
    "timeout=0\n"
    "prefix={{base_url}}/boot/file\n"
    "kernel={{kernel_sha256}}/{{kernel_name}}\n"
    "kernelopt={{#if cmdline}}{{cmdline}} {{/if}}"
    "{{#if vlan}}vlanid={{vlan}} midwife.vlan={{vlan}} {{/if}}"
    "midwife.url={{base_url}}{{#if token}} midwife.token={{token}}{{/if}}{{#if ks_url}} ks={{ks_url}}{{/if}}\n"
    "modules={{#each modules}}{{#unless first}} --- {{/unless}}{{sha256}}/{{name}}{{#if args}} {{args}}{{/if}}"
    "{{/each}}\n";

static const struct {
    const char *name;
    const char *text;
    size_t len;
} builtins[] = {
    {"linux.ipxe", linux_ipxe, sizeof linux_ipxe - 1},
    {"esxi.ipxe", esxi_ipxe, sizeof esxi_ipxe - 1},
    {"chain.ipxe", chain_ipxe, sizeof chain_ipxe - 1},
    {"sanboot.ipxe", sanboot_ipxe, sizeof sanboot_ipxe - 1},
    {"local.ipxe", local_ipxe, sizeof local_ipxe - 1},
    {"exit.ipxe", exit_ipxe, sizeof exit_ipxe - 1},
    {"esxi-boot.cfg", esxi_boot_cfg, sizeof esxi_boot_cfg - 1},
};

const char *boot_builtin_template(const char *name, size_t *len)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0) {
            *len = builtins[i].len;
            return builtins[i].text;
        }
    return NULL;
}

const char *boot_builtin_template_name(size_t i)
{
    return i < sizeof builtins / sizeof builtins[0] ? builtins[i].name : NULL;
}
