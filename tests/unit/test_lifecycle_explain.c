/* explain_diagnose: event histories in, findings out. Each case is one
 * client's events (times in seconds before "now"), the finding expected
 * first, and words its summary and advice must hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/explain.h"

#define NOW_MS 1764624000000LL /* 2025-12-01 21:20:00 UTC */
#define INFER -1
#define NO_AT 1 /* don't check at_ms */
#define J(...) #__VA_ARGS__

struct step {
    int t;            /* seconds relative to now (negative: the past); 0 ends the list unless kind is set */
    const char *kind; /* NULL ends the list */
    int status;       /* INFER: from the kind, as docs/events.md says */
    const char *data;
};

/* The usual pieces of a boot, at time T (seconds before now, negative). */
#define DHCP_PXE(T)                                                                                           \
    {T, "dhcp.discover", INFER, J({"client": "pxe", "arch": 7, "xid": "00000001"})},                          \
    {T, "dhcp.offer", INFER, J({"client": "pxe", "arch": 7, "address": "10.1.0.50", "file": "snponly.efi"})}, \
    {T, "dhcp.request", INFER, J({"client": "pxe", "arch": 7, "address": "10.1.0.50"})},                      \
    {T, "dhcp.ack", INFER, J({"client": "pxe", "arch": 7, "address": "10.1.0.50", "file": "snponly.efi"})}
#define TFTP_OK(T)                                                                          \
    {T, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "tsize": true})}, \
    {T, "tftp.done", INFER, J({"file": "snponly.efi", "role": "program", "bytes": 1049600, "ms": 820})}
#define DHCP_IPXE(T)                                                                                  \
    {T, "dhcp.discover", INFER, J({"client": "ipxe", "arch": 7})},                                     \
    {T, "dhcp.offer", INFER, J({"client": "ipxe", "address": "10.1.0.50",                              \
                                "file": "http://10.1.0.2/boot/ipxe?mac=52-54-00-12-34-56"})},          \
    {T, "dhcp.request", INFER, J({"client": "ipxe", "address": "10.1.0.50"})},                         \
    {T, "dhcp.ack", INFER, J({"client": "ipxe", "address": "10.1.0.50",                                \
                              "file": "http://10.1.0.2/boot/ipxe?mac=52-54-00-12-34-56"})}
#define SCRIPT(T, BOOT)                                                                              \
    {T, "token.issued", INFER, J({"boot_id": BOOT, "ttl_s": 3600})},                                 \
    {T, "http.script", INFER, J({"build": "esxi8", "version": 3, "kind": "esxi", "token": true})}
#define KERNEL(T)                                                                                      \
    {T, "http.file", INFER, J({"name": "mboot.c32", "role": "loader", "build": "esxi8"})},             \
    {T, "http.file", INFER, J({"name": "b.b00", "role": "kernel", "build": "esxi8", "bytes": 123})},   \
    {T, "http.file", INFER, J({"name": "s.v00", "role": "module", "build": "esxi8"})}
#define BORN(T, BOOT) {T, "birth.accepted", INFER, J({"boot_id": BOOT, "address": "10.1.0.50"})}
#define READY(T) {T, "report.ready", INFER, "{}"}
/* A whole good boot starting at T, ready 90 s later. */
#define GOOD_BOOT(T, BOOT) \
    DHCP_PXE(T), TFTP_OK(T + 1), DHCP_IPXE(T + 2), SCRIPT(T + 3, BOOT), KERNEL(T + 4), BORN(T + 40, BOOT), \
    {T + 60, "report.step", INFER, J({"step": "network", "status": "ok"})}, READY(T + 90)
#define IPXE_LOOP_ROUND(T)                                                                               \
    {T, "dhcp.discover", INFER, J({"client": "ipxe", "arch": 0})},                                        \
    {T, "dhcp.ack", INFER, J({"client": "ipxe", "address": "10.1.0.50", "file": "undionly.kpxe"})},       \
    {T, "tftp.start", INFER, J({"file": "undionly.kpxe", "role": "program"})},                            \
    {T, "tftp.done", INFER, J({"file": "undionly.kpxe", "role": "program", "bytes": 70000})}

struct scenario {
    const char *name;
    struct step steps[64];
    unsigned birth_timeout; /* 0: 600 */
    enum finding_code want;
    const char *want_name;
    const char *summary_has[6];
    const char *advice_has[4];
    int at_s; /* the expected at_ms, seconds before now; NO_AT: not checked */
};

static int infer_status(const char *kind, const char *data)
{
    static const char *const fail[] = {"dhcp.nak", "dhcp.decline", "tftp.error", "http.error", "token.refused",
                                       "birth.refused", "report.failed", "hook.failed", "hook.timeout",
                                       "webhook.failed"};
    static const char *const ok[] = {"dhcp.ack", "tftp.done", "http.script", "http.file", "http.program",
                                     "birth.accepted", "report.ready", "hook.done", "webhook.done"};
    for (size_t i = 0; i < sizeof fail / sizeof fail[0]; i++)
        if (strcmp(kind, fail[i]) == 0)
            return EVENT_FAIL;
    if (strcmp(kind, "tftp.abort") == 0)
        return data && strstr(data, "\"after_probe\": true") ? EVENT_INFO : EVENT_FAIL;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(kind, ok[i]) == 0)
            return EVENT_OK;
    return EVENT_INFO;
}

static size_t build_events(const struct step *steps, struct event *out, size_t cap)
{
    size_t n = 0;
    for (; n < cap && steps[n].kind; n++) {
        struct event *ev = &out[n];
        memset(ev, 0, sizeof *ev);
        ev->id = (int64_t)n + 1;
        ev->ts_ms = NOW_MS + (int64_t)steps[n].t * 1000;
        snprintf(ev->mac, sizeof ev->mac, "52:54:00:12:34:56");
        snprintf(ev->kind, sizeof ev->kind, "%s", steps[n].kind);
        ev->status = steps[n].status == INFER ? (enum event_status)infer_status(steps[n].kind, steps[n].data)
                                              : (enum event_status)steps[n].status;
        ev->data = (char *)steps[n].data;
    }
    return n;
}

/* Summaries and advice are always terminated, within bounds, and free of
 * control bytes whatever the data held. */
static void assert_clean(const struct finding *f)
{
    assert_non_null(memchr(f->summary, '\0', sizeof f->summary));
    assert_non_null(memchr(f->advice, '\0', sizeof f->advice));
    assert_true(strlen(f->summary) > 10);
    assert_true(strlen(f->advice) > 5);
    for (const char *p = f->summary; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    for (const char *p = f->advice; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    assert_string_equal(f->name, finding_name(f->code));
}

static size_t diagnose(const struct step *steps, unsigned birth_timeout, struct finding *out, size_t max)
{
    static struct event evs[256];
    size_t n_ev = build_events(steps, evs, 256);
    struct explain_input in = {.events = evs, .n_events = n_ev, .now_ms = NOW_MS,
                               .birth_timeout_s = birth_timeout ? birth_timeout : 600};
    size_t n = 99;
    explain_diagnose(&in, out, max, &n);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++)
        assert_clean(&out[i]);
    return n;
}

static const struct scenario scenarios[] = {
    {"only_lifecycle_events_is_never_seen",
     {{-3600, "state.changed", INFER, J({"from": "unknown", "to": "discovered", "reason": "host created"})}},
     0, FIND_NEVER_SEEN, "never-seen", {"No DHCP, TFTP or HTTP", "among its 1 recorded event."},
     {"boot from the network"}, NO_AT},

    {"unknown_client_ignored_by_dhcp",
     {{-300, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-300, "dhcp.ignored", INFER, J({"in": "discover", "client": "pxe", "why": "unknown_client",
                                       "detail": "unknown_clients = ignore"})},
      {-296, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-296, "dhcp.ignored", INFER, J({"in": "discover", "client": "pxe", "why": "unknown_client"})},
      {-288, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-288, "dhcp.ignored", INFER, J({"in": "discover", "client": "pxe", "why": "unknown_client",
                                       "detail": "unknown_clients = ignore"})}},
     0, FIND_IGNORED, "ignored", {"ignored it 3 times", "4 min ago", "an unknown client", "(unknown_clients = ignore)"},
     {"unknown_clients", "host set"},
     -288},

    {"no_subnet_names_the_relay",
     {{-30, "dhcp.discover", INFER, J({"client": "pxe", "giaddr": "10.9.0.1"})},
      {-30, "dhcp.ignored", INFER, J({"in": "discover", "client": "pxe", "why": "no_subnet", "giaddr": "10.9.0.1"})}},
     0, FIND_IGNORED, "ignored", {"ignored it once,", "no subnet serves its network"},
     {"[subnet]", "(relay 10.9.0.1)"}, -30},

    {"offers_never_requested",
     {{-40, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-40, "dhcp.offer", INFER, J({"client": "pxe", "address": "10.1.0.50"})},
      {-36, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-36, "dhcp.offer", INFER, J({"client": "pxe", "address": "10.1.0.50"})},
      {-28, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-28, "dhcp.offer", INFER, J({"client": "pxe", "address": "10.1.0.50"})},
      {-12, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-12, "dhcp.offer", INFER, J({"client": "pxe", "address": "10.1.0.50"})}},
     0, FIND_OFFER_NO_REQUEST, "offer-no-request", {"offered 10.1.0.50 4 times", "12 s ago", "never requested"},
     {"second DHCP server", "relay", "VLAN"}, -12},

    /* Proxy mode: the offer is all midwife says; the address comes from
     * the other server. Not an offer nobody requested: the boot went on. */
    {"proxy_offers_are_answers",
     {{-400, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-400, "dhcp.offer", INFER, J({"client": "pxe", "address": "0.0.0.0", "proxy": true, "file": "undionly.kpxe"})},
      {-300, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-300, "dhcp.offer", INFER, J({"client": "pxe", "address": "0.0.0.0", "proxy": true, "file": "undionly.kpxe"})}},
     0, FIND_STALLED, "stalled", {"its boot information (a proxy offer", "the boot file undionly.kpxe", "never fetched"},
     {}, -300},

    {"one_old_offer_never_requested",
     {{-400, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-400, "dhcp.offer", INFER, J({"client": "pxe", "address": "10.1.0.50"})}},
     0, FIND_OFFER_NO_REQUEST, "offer-no-request", {"10.1.0.50 once", "6 min ago"}, {"second DHCP server"}, -400},

    {"client_took_another_servers_offer",
     {{-5, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-5, "dhcp.offer", INFER, J({"client": "pxe", "address": "10.1.0.50"})},
      {-4, "dhcp.request", INFER, J({"client": "pxe", "address": "192.168.7.9", "server": "10.1.0.9"})},
      {-4, "dhcp.ignored", INFER, J({"in": "request", "client": "pxe", "why": "other_server", "server": "10.1.0.9"})}},
     0, FIND_OFFER_NO_REQUEST, "offer-no-request", {"another DHCP server's offer", "server 10.1.0.9"},
     {"second DHCP server"}, -5},

    {"a_fresh_offer_is_in_progress",
     {{-3, "dhcp.discover", INFER, J({"client": "pxe"})},
      {-3, "dhcp.offer", INFER, J({"client": "pxe", "address": "10.1.0.50"})}},
     0, FIND_IN_PROGRESS, "in-progress", {"offered it an address", "3 s ago"}, {"Nothing to do"}, -3},

    {"repeated_naks",
     {{-100, "dhcp.request", INFER, J({"client": "pxe", "address": "10.7.0.4"})},
      {-100, "dhcp.nak", INFER, J({"address": "10.7.0.4", "why": "address is not on the client's network:",
                                   "subnet": "lab"})},
      {-90, "dhcp.request", INFER, J({"client": "pxe", "address": "10.7.0.4"})},
      {-90, "dhcp.nak", INFER, J({"address": "10.7.0.4", "why": "address is not on the client's network:"})},
      {-80, "dhcp.request", INFER, J({"client": "pxe", "address": "10.7.0.4"})},
      {-80, "dhcp.nak", INFER, J({"address": "10.7.0.4", "why": "address is not on the client's network:",
                                  "subnet": "lab"})}},
     0, FIND_NAK_LOOP, "nak-loop", {"NAKed", "10.7.0.4 3 times", "not on the client's network (subnet lab)"},
     {"giaddr", "authoritative"}, -80},

    {"a_nak_then_an_ack_is_fine",
     {{-20, "dhcp.request", INFER, J({"client": "pxe", "address": "10.7.0.4"})},
      {-20, "dhcp.nak", INFER, J({"address": "10.7.0.4", "why": "requested address not offered to it"})},
      {-19, "dhcp.request", INFER, J({"client": "pxe", "address": "10.7.0.4"})},
      {-19, "dhcp.nak", INFER, J({"address": "10.7.0.4", "why": "requested address not offered to it"})},
      DHCP_PXE(-10)},
     0, FIND_IN_PROGRESS, "in-progress", {"10.1.0.50", "snponly.efi"}, {"Nothing"}, -10},

    {"ipxe_handed_the_boot_program_again_loops",
     {{-60, "dhcp.discover", INFER, J({"client": "pxe", "arch": 0})},
      {-60, "dhcp.ack", INFER, J({"client": "pxe", "address": "10.1.0.50", "file": "undionly.kpxe"})},
      {-59, "tftp.start", INFER, J({"file": "undionly.kpxe", "role": "program"})},
      {-59, "tftp.done", INFER, J({"file": "undionly.kpxe", "role": "program"})},
      IPXE_LOOP_ROUND(-50), IPXE_LOOP_ROUND(-40), IPXE_LOOP_ROUND(-30)},
     0, FIND_CHAINLOAD_LOOP, "chainload-loop", {"undionly.kpxe", "4 times", "no script request", "TFTP"},
     {"instead of the script", "ipxe_script"}, -30},

    {"ipxe_never_fetches_the_script_url_loops_over_http",
     {{-200, "dhcp.discover", INFER, J({"client": "http", "arch": 16})},
      {-200, "dhcp.ack", INFER, J({"client": "http", "address": "10.1.0.50",
                                   "file": "http://10.1.0.2/boot/program/snponly.efi"})},
      {-199, "http.program", INFER, J({"file": "snponly.efi"})},
      DHCP_IPXE(-190),
      {-150, "dhcp.discover", INFER, J({"client": "http", "arch": 16})},
      {-149, "http.program", INFER, J({"file": "snponly.efi"})},
      DHCP_IPXE(-140),
      {-100, "dhcp.discover", INFER, J({"client": "http", "arch": 16})},
      {-99, "http.program", INFER, J({"file": "snponly.efi"})},
      DHCP_IPXE(-90)},
     0, FIND_CHAINLOAD_LOOP, "chainload-loop", {"snponly.efi", "3 times", "HTTP"},
     {"never fetched it", "http://10.1.0.2/boot/ipxe?mac=52-54-00-12-34-56"}, -99},

    {"uefi_probe_abort_never_completed",
     {{-720, "dhcp.discover", INFER, J({"client": "pxe", "arch": 7})},
      {-720, "dhcp.ack", INFER, J({"client": "pxe", "arch": 7, "address": "10.1.0.50", "file": "undionly.kpxe"})},
      {-719, "tftp.start", INFER, J({"file": "undionly.kpxe", "role": "program", "tsize": true})},
      {-719, "tftp.abort", INFER, J({"file": "undionly.kpxe", "after_probe": true, "end": "client_error",
                                      "error": "TFTP Aborted"})}},
     0, FIND_TFTP_PROBE_ABORT, "tftp-probe-abort",
     {"size of undionly.kpxe", "ended the transfer there", "11 min ago", "never fetched"},
     {"EFI program", "arch 7 (EFI x86-64)", "Secure Boot"}, -719},

    {"probe_then_full_transfer_is_fine",
     {DHCP_PXE(-5),
      {-4, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "tsize": true})},
      {-4, "tftp.abort", INFER, J({"file": "snponly.efi", "after_probe": true, "end": "client_error"})},
      TFTP_OK(-3)},
     0, FIND_IN_PROGRESS, "in-progress", {"fetched snponly.efi", "3 s ago"}, {"Nothing"}, -3},

    {"tftp_transfers_time_out",
     {DHCP_PXE(-130),
      {-129, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "blksize": 1468})},
      {-100, "tftp.abort", INFER, J({"file": "snponly.efi", "after_probe": false, "end": "timeout",
                                     "error": "timed out after 5 retries at block 12"})},
      {-99, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "blksize": 1468})},
      {-70, "tftp.abort", INFER, J({"file": "snponly.efi", "after_probe": false, "end": "timeout",
                                    "error": "timed out after 5 retries at block 12"})}},
     0, FIND_TFTP_FAILED, "tftp-failed", {"2 TFTP transfers of snponly.efi", "70 s ago", "timeout", "block 12"},
     {"max_blksize", "firewall"}, -70},

    {"tftp_file_not_found",
     {DHCP_PXE(-20), {-19, "tftp.error", INFER, J({"file": "ipxe.efi", "error": "file not found", "code": 1})}},
     0, FIND_TFTP_FAILED, "tftp-failed", {"1 TFTP transfer of ipxe.efi", "refused", "file not found"},
     {"[tftp] root", "arch 7"}, -19},

    {"script_render_error",
     {DHCP_PXE(-50), TFTP_OK(-49), DHCP_IPXE(-48),
      {-47, "http.script", INFER, J({"build": "lin", "version": 2, "kind": "linux",
                                     "error": "linux.ipxe:7: refused value for cmdline"})}},
     0, FIND_SCRIPT_ERROR, "script-error", {"boot script for build lin", "47 s ago", "linux.ipxe:7"},
     {"build show", "[boot] templates"}, -47},

    {"script_route_refused",
     {DHCP_IPXE(-50), {-49, "http.error", INFER, J({"path": "/boot/ipxe?mac=52-54-00-12-34-56", "status": 404,
                                                     "route": "script", "error": "no build esx9"})}},
     0, FIND_SCRIPT_ERROR, "script-error", {"HTTP 404", "no build esx9"}, {"default_build"}, -49},

    {"script_served_kernel_never_fetched",
     {DHCP_PXE(-300), TFTP_OK(-299), DHCP_IPXE(-298), SCRIPT(-297, 4)},
     0, FIND_NO_KERNEL, "no-kernel", {"script for build esxi8", "4 min ago", "never fetched"},
     {"blob store", "public_url"}, -297},

    {"kernel_fetch_failed_is_named",
     {DHCP_IPXE(-300), SCRIPT(-297, 4),
      {-296, "http.file", INFER, J({"name": "b.b00", "role": "kernel", "error": "connection reset after 4096 bytes"})}},
     0, FIND_NO_KERNEL, "no-kernel", {"fetching b.b00 failed", "connection reset"}, {"console"}, -297},

    {"vlan_ifconf_between_script_and_kernel_does_not_cut",
     {DHCP_PXE(-300), TFTP_OK(-299), DHCP_IPXE(-298), SCRIPT(-297, 4), DHCP_IPXE(-296)},
     0, FIND_NO_KERNEL, "no-kernel", {"esxi8", "never fetched"}, {"blob store"}, -297},

    {"script_just_served_is_in_progress",
     {DHCP_IPXE(-11), SCRIPT(-10, 4)},
     0, FIND_IN_PROGRESS, "in-progress", {"script for build esxi8", "10 s ago", "kernel comes next"}, {"Nothing"}, -10},

    {"kernel_fetched_no_birth",
     {DHCP_PXE(-700), TFTP_OK(-699), DHCP_IPXE(-698), SCRIPT(-697, 4), KERNEL(-660)},
     600, FIND_NO_BIRTH, "no-birth", {"b.b00 of build esxi8", "at 2025-12-01 21:09:00 UTC", "11 min ago", "10 min"},
     {"didn't start", "midwife.url"}, -660},

    {"kernel_fetched_one_second_past_the_birth_timeout",
     {DHCP_IPXE(-602), SCRIPT(-602, 4), KERNEL(-601)},
     600, FIND_NO_BIRTH, "no-birth", {"b.b00", "10 min ago"}, {"midwife.url"}, -601},

    {"kernel_fetched_exactly_the_birth_timeout_ago_still_waits",
     {DHCP_IPXE(-602), SCRIPT(-602, 4), KERNEL(-600)},
     600, FIND_IN_PROGRESS, "in-progress", {"b.b00", "waiting for the birth", "lost after 10 min"}, {"Nothing"}, -600},

    {"birth_refused_replayed",
     {DHCP_IPXE(-100), SCRIPT(-99, 4), KERNEL(-98),
      {-60, "birth.refused", INFER, J({"why": "replayed", "error": "token of boot 4 already used"})}},
     0, FIND_BIRTH_REFUSED, "birth-refused", {"refused", "60 s ago", "token replayed", "boot 4 already used"},
     {"fresh token"}, -60},

    {"birth_refused_expired",
     {DHCP_IPXE(-5000), SCRIPT(-4999, 4), KERNEL(-4998), {-60, "birth.refused", INFER, J({"why": "expired"})}},
     0, FIND_BIRTH_REFUSED, "birth-refused", {"token expired"}, {"token_ttl"}, -60},

    {"agent_failed_names_the_step",
     {DHCP_IPXE(-300), SCRIPT(-299, 4), KERNEL(-298), BORN(-250, 4),
      {-240, "report.step", INFER, J({"step": "network", "status": "ok"})},
      {-200, "report.step", INFER, J({"step": "storage", "status": "failed", "message": "no disk matches"})},
      {-199, "report.failed", INFER, J({"step": "storage", "error": "no disk matches size >= 100 GiB",
                                        "log": "scanning vda: 8 GiB, too small"})}},
     0, FIND_AGENT_FAILED, "agent-failed", {"step storage", "3 min ago", "no disk matches size"},
     {"step storage", "scanning vda"}, -199},

    {"born_hook_failure_holds_the_host",
     {DHCP_IPXE(-300), SCRIPT(-299, 4), KERNEL(-298), BORN(-250, 4),
      {-249, "hook.failed", INFER, J({"transition": "born", "target": "/etc/midwife/born.sh", "exit": 3, "signal": 0,
                                      "ms": 40, "output": "cmdb: no such rack", "holds": true})},
      READY(-100)},
     0, FIND_HOOK_FAILED, "hook-failed", {"born hook /etc/midwife/born.sh", "exited 3", "40 ms", "holds the host"},
     {"born_hook_holds", "cmdb: no such rack"}, -249},

    {"webhook_failure_names_the_status",
     {GOOD_BOOT(-500, 4),
      {-400, "webhook.failed", INFER, J({"transition": "ready", "target": "http://cmdb/hook", "status": 500,
                                         "ms": 80})}},
     0, FIND_HOOK_FAILED, "hook-failed", {"ready webhook http://cmdb/hook", "answered 500", "does not hold"},
     {"2xx"}, -400},

    {"hook_failed_then_succeeded_is_no_finding",
     {GOOD_BOOT(-500, 4),
      {-420, "hook.failed", INFER, J({"transition": "ready", "target": "/h", "exit": 1})},
      {-400, "hook.done", INFER, J({"transition": "ready", "target": "/h", "exit": 0})}},
     0, FIND_READY, "ready", {"reached ready", "6 min ago"}, {"Nothing"}, -410},

    {"born_but_silent_is_stuck_configuring",
     {DHCP_IPXE(-2000), SCRIPT(-1999, 4), KERNEL(-1998), BORN(-1800, 4),
      {-1500, "report.step", INFER, J({"step": "network", "status": "running"})}},
     600, FIND_STUCK_CONFIGURING, "stuck-configuring", {"Born 30 min ago", "never ready", "step network (running)",
                                                        "25 min ago"}, {"console"}, -1500},

    {"stuck_with_refused_reports_says_so",
     {DHCP_IPXE(-9000), SCRIPT(-8999, 4), KERNEL(-8998), BORN(-8900, 4),
      {-8000, "token.refused", INFER, J({"why": "expired", "call": "report"})}},
     600, FIND_STUCK_CONFIGURING, "stuck-configuring", {"no report", "1 call from it refused (token expired)"},
     {"token_ttl"}, -8900},

    {"born_recently_is_configuring",
     {DHCP_IPXE(-200), SCRIPT(-199, 4), KERNEL(-198), BORN(-120, 4),
      {-60, "report.step", INFER, J({"step": "storage", "status": "running"})}},
     600, FIND_IN_PROGRESS, "in-progress", {"Born 2 min ago, configuring", "step storage (running)"}, {"Nothing"}, -60},

    {"good_boot_is_ready",
     {GOOD_BOOT(-7300, 4)},
     0, FIND_READY, "ready", {"reached ready 2 h ago", "esxi8"}, {"Nothing to do"}, -7210},

    {"failed_boot_then_good_boot_is_ready",
     {DHCP_IPXE(-9000), SCRIPT(-8999, 3), KERNEL(-8998), BORN(-8900, 3),
      {-8800, "report.failed", INFER, J({"step": "storage", "error": "no disk"})},
      GOOD_BOOT(-3700, 4)},
     0, FIND_READY, "ready", {"reached ready 60 min ago"}, {"Nothing"}, -3610},

    {"lost_boot_then_quick_reboot_to_ready",
     {DHCP_PXE(-2000), TFTP_OK(-1999), DHCP_IPXE(-1998), SCRIPT(-1997, 3), KERNEL(-1996),
      GOOD_BOOT(-1000, 4)},
     600, FIND_READY, "ready", {"reached ready 15 min ago"}, {"Nothing"}, -910},

    {"tftp_failures_then_good_boot_within_the_gap_is_ready",
     {DHCP_PXE(-200), {-199, "tftp.error", INFER, J({"file": "snponly.efi", "error": "file not found", "code": 1})},
      GOOD_BOOT(-150, 4)},
     0, FIND_READY, "ready", {"reached ready 60 s ago"}, {"Nothing"}, -60},

    {"ready_long_ago_then_a_new_discover_is_a_new_boot",
     {GOOD_BOOT(-20000, 4), {-9000, "dhcp.request", INFER, J({"client": "plain", "address": "10.1.0.50"})},
      {-9000, "dhcp.ack", INFER, J({"client": "plain", "address": "10.1.0.50"})},
      {-8, "dhcp.discover", INFER, J({"client": "pxe", "arch": 7})}},
     0, FIND_IN_PROGRESS, "in-progress", {"DISCOVER 8 s ago"}, {"Nothing"}, -8},

    {"renewals_after_ready_stay_ready",
     {GOOD_BOOT(-20000, 4), {-9000, "dhcp.request", INFER, J({"client": "plain", "address": "10.1.0.50"})},
      {-9000, "dhcp.ack", INFER, J({"client": "plain", "address": "10.1.0.50"})}},
     0, FIND_READY, "ready", {"reached ready 5 h ago"}, {"Nothing"}, -19910},

    {"new_token_cuts_off_the_previous_boots_hook_failure",
     {DHCP_PXE(-100), TFTP_OK(-99), DHCP_IPXE(-98), SCRIPT(-97, 3),
      {-97, "hook.failed", INFER, J({"transition": "booting", "target": "/h", "exit": 2})},
      DHCP_PXE(-40), TFTP_OK(-39), DHCP_IPXE(-38), SCRIPT(-37, 4)},
     0, FIND_IN_PROGRESS, "in-progress", {"script for build esxi8", "37 s ago"}, {"Nothing"}, -37},

    {"an_old_failure_before_a_quiet_gap_is_forgotten",
     {DHCP_PXE(-7200),
      {-7199, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "tsize": true})},
      {-7199, "tftp.abort", INFER, J({"file": "snponly.efi", "after_probe": true, "end": "client_error"})},
      {-5, "dhcp.discover", INFER, J({"client": "pxe", "arch": 7})}},
     0, FIND_IN_PROGRESS, "in-progress", {"DISCOVER 5 s ago"}, {"Nothing"}, -5},

    {"uefi_chainload_loop_with_size_probes",
     {DHCP_PXE(-60),
      {-59, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "tsize": true})},
      {-59, "tftp.abort", INFER, J({"file": "snponly.efi", "after_probe": true, "end": "client_error"})},
      TFTP_OK(-58),
      {-50, "dhcp.discover", INFER, J({"client": "ipxe", "arch": 7})},
      {-50, "dhcp.ack", INFER, J({"client": "ipxe", "address": "10.1.0.50", "file": "snponly.efi"})},
      {-49, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "tsize": true})},
      {-49, "tftp.abort", INFER, J({"file": "snponly.efi", "after_probe": true, "end": "client_error"})},
      TFTP_OK(-48),
      {-40, "dhcp.discover", INFER, J({"client": "ipxe", "arch": 7})},
      {-40, "dhcp.ack", INFER, J({"client": "ipxe", "address": "10.1.0.50", "file": "snponly.efi"})},
      {-39, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "tsize": true})},
      {-39, "tftp.abort", INFER, J({"file": "snponly.efi", "after_probe": true, "end": "client_error"})},
      TFTP_OK(-38)},
     0, FIND_CHAINLOAD_LOOP, "chainload-loop", {"snponly.efi was fetched 3 times in 20 s"},
     {"answered with snponly.efi"}, -38},

    {"quick_reboot_after_a_refused_birth_is_a_new_boot",
     {DHCP_PXE(-200), TFTP_OK(-199), DHCP_IPXE(-198), SCRIPT(-197, 3), KERNEL(-196),
      {-150, "birth.refused", INFER, J({"why": "replayed"})},
      DHCP_PXE(-20), TFTP_OK(-19), DHCP_IPXE(-18), SCRIPT(-17, 4)},
     0, FIND_IN_PROGRESS, "in-progress", {"script for build esxi8", "17 s ago"}, {"Nothing"}, -17},

    {"quick_reboot_after_the_kernel_is_a_new_boot_without_a_token_too",
     {DHCP_PXE(-200), TFTP_OK(-199), DHCP_IPXE(-198), SCRIPT(-197, 3), KERNEL(-196),
      {-150, "birth.refused", INFER, J({"why": "replayed"})},
      DHCP_PXE(-60),
      {-59, "tftp.start", INFER, J({"file": "snponly.efi", "role": "program", "tsize": true})},
      {-59, "tftp.abort", INFER, J({"file": "snponly.efi", "after_probe": true, "end": "client_error"})}},
     0, FIND_TFTP_PROBE_ABORT, "tftp-probe-abort", {"size of snponly.efi", "59 s ago"}, {"Secure Boot"}, -59},

    {"two_naks_in_a_row_are_a_loop",
     {{-20, "dhcp.request", INFER, J({"client": "ipxe", "address": "10.7.0.4"})},
      {-20, "dhcp.nak", INFER, J({"address": "10.7.0.4", "why": "address belongs to another client:"})},
      {-10, "dhcp.request", INFER, J({"client": "ipxe", "address": "10.7.0.4"})},
      {-10, "dhcp.nak", INFER, J({"address": "10.7.0.4", "why": "address belongs to another client:"})}},
     0, FIND_NAK_LOOP, "nak-loop", {"10.7.0.4 twice", "belongs to another client."}, {"giaddr"}, -10},

    {"a_new_boots_early_hook_failure_stays_with_it",
     {DHCP_PXE(-100), TFTP_OK(-99), DHCP_IPXE(-98), SCRIPT(-97, 3),
      DHCP_PXE(-40),
      {-40, "hook.failed", INFER, J({"transition": "booting", "target": "/hooks/booting", "exit": 2, "holds": true})},
      TFTP_OK(-39), DHCP_IPXE(-38), SCRIPT(-37, 4)},
     0, FIND_HOOK_FAILED, "hook-failed", {"booting hook /hooks/booting", "exited 2"}, {"Run it by hand"}, -40},

    {"script_error_then_served_is_fine",
     {DHCP_IPXE(-30), {-29, "http.script", INFER, J({"build": "lin", "error": "no build lin"})},
      DHCP_IPXE(-20), SCRIPT(-19, 4)},
     0, FIND_IN_PROGRESS, "in-progress", {"19 s ago"}, {"Nothing"}, -19},

    {"birth_refused_then_accepted_is_configuring",
     {DHCP_IPXE(-300), SCRIPT(-299, 4), KERNEL(-298), {-200, "birth.refused", INFER, J({"why": "expired"})},
      BORN(-100, 4)},
     0, FIND_IN_PROGRESS, "in-progress", {"Born 1 min ago, configuring"}, {"Nothing"}, -100},

    {"a_failed_step_then_ready_is_ready",
     {DHCP_IPXE(-300), SCRIPT(-299, 4), KERNEL(-298), BORN(-250, 4),
      {-200, "report.step", INFER, J({"step": "storage", "status": "failed", "message": "disk busy"})},
      {-150, "report.step", INFER, J({"step": "storage", "status": "ok"})}, READY(-100)},
     0, FIND_READY, "ready", {"reached ready 1 min ago"}, {"Nothing"}, -100},

    {"plain_dhcp_only_is_not_netbooting",
     {{-100, "dhcp.discover", INFER, J({"client": "plain"})},
      {-100, "dhcp.offer", INFER, J({"client": "plain", "address": "10.1.0.60"})},
      {-100, "dhcp.request", INFER, J({"client": "plain", "address": "10.1.0.60"})},
      {-100, "dhcp.ack", INFER, J({"client": "plain", "address": "10.1.0.60"})}},
     0, FIND_NOT_NETBOOTING, "not-netbooting", {"ordinary DHCP", "10.1.0.60"}, {"PXE", "boot order"}, -100},

    {"boot_file_handed_but_never_fetched_stalls",
     {DHCP_PXE(-300)},
     0, FIND_STALLED, "stalled", {"boot file snponly.efi", "5 min ago", "never fetched"}, {"UDP 69"}, -300},

    {"boot_program_fetched_then_silence_stalls",
     {DHCP_PXE(-300), TFTP_OK(-299)},
     0, FIND_STALLED, "stalled", {"snponly.efi", "4 min ago", "nothing followed"}, {"console"}, -299},

    {"exit_script_hands_off",
     {DHCP_IPXE(-100), {-99, "http.script", INFER, J({"kind": "exit", "token": false})}},
     0, FIND_HANDED_OFF, "handed-off", {"leave network boot", "no build"}, {"default_build"}, -99},

    {"no_agent_build_hands_off_after_the_kernel",
     {DHCP_IPXE(-5000), {-4999, "http.script", INFER, J({"build": "memtest", "kind": "linux", "token": false})},
      {-4998, "http.file", INFER, J({"name": "memtest.bin", "role": "kernel", "build": "memtest"})}},
     0, FIND_HANDED_OFF, "handed-off", {"memtest.bin", "no agent"}, {"console"}, -4998},

    {"agent_failure_outranks_a_failed_hook",
     {DHCP_IPXE(-300), SCRIPT(-299, 4), KERNEL(-298), BORN(-250, 4),
      {-200, "report.failed", INFER, J({"step": "network", "error": "no link on vmnic1"})},
      {-199, "hook.timeout", INFER, J({"transition": "failed", "target": "/h", "ms": 30000, "holds": false})}},
     0, FIND_AGENT_FAILED, "agent-failed", {"step network", "no link on vmnic1"}, {"step network"}, -200},
};

static bool contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static void every_scenario_gives_its_finding(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const struct scenario *sc = &scenarios[i];
        struct finding out[8];
        size_t n = diagnose(sc->steps, sc->birth_timeout, out, 8);
        if (n == 0)
            fail_msg("%s: no finding", sc->name);
        const struct finding *f = &out[0];
        if (getenv("EXPLAIN_SHOW")) /* to read every diagnosis: EXPLAIN_SHOW=1 */
            for (size_t k = 0; k < n; k++)
                printf("%s [%s] %s\n    -> %s\n", sc->name, out[k].name, out[k].summary, out[k].advice);
        if (f->code != sc->want || strcmp(f->name, sc->want_name) != 0)
            fail_msg("%s: got %s (%s) — %s", sc->name, f->name, f->summary, f->advice);
        for (size_t w = 0; w < 6 && sc->summary_has[w]; w++)
            if (!contains(f->summary, sc->summary_has[w]))
                fail_msg("%s: summary lacks \"%s\": %s", sc->name, sc->summary_has[w], f->summary);
        for (size_t w = 0; w < 4 && sc->advice_has[w]; w++)
            if (!contains(f->advice, sc->advice_has[w]))
                fail_msg("%s: advice lacks \"%s\": %s", sc->name, sc->advice_has[w], f->advice);
        if (sc->at_s != NO_AT && f->at_ms != NOW_MS + (int64_t)sc->at_s * 1000)
            fail_msg("%s: at_ms %lld, want %d s before now", sc->name, (long long)(f->at_ms - NOW_MS), sc->at_s);
    }
}

/* Every code has a scenario above, so a finding nobody can reach fails here. */
static void every_finding_code_is_covered(void **state)
{
    (void)state;
    bool seen[FIND_HANDED_OFF + 1] = {false};
    seen[FIND_NEVER_SEEN] = true; /* also the empty input test */
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        seen[scenarios[i].want] = true;
    for (int c = 0; c <= FIND_HANDED_OFF; c++) {
        if (!seen[c])
            fail_msg("no scenario for %s", finding_name((enum finding_code)c));
        assert_string_not_equal(finding_name((enum finding_code)c), "unknown");
    }
    assert_string_equal(finding_name((enum finding_code)999), "unknown");
}

static void empty_input_is_never_seen(void **state)
{
    (void)state;
    struct finding out[4];
    size_t n = 99;
    struct explain_input in = {.events = NULL, .n_events = 0, .now_ms = NOW_MS, .birth_timeout_s = 600};
    explain_diagnose(&in, out, 4, &n);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].code, FIND_NEVER_SEEN);
    assert_string_equal(out[0].name, "never-seen");
    assert_int_equal(out[0].at_ms, 0);
    assert_non_null(strstr(out[0].summary, "No DHCP"));
    assert_null(strstr(out[0].summary, "among"));
    assert_clean(&out[0]);
    /* max = 0 writes nothing. */
    n = 99;
    explain_diagnose(&in, NULL, 0, &n);
    assert_int_equal(n, 0);
}

static void findings_come_most_important_first_and_max_cuts(void **state)
{
    (void)state;
    static const struct step steps[] = {
        GOOD_BOOT(-500, 4),
        {-300, "hook.timeout", INFER, J({"transition": "ready", "target": "/usr/bin/cmdb-sync", "ms": 30000})},
        {0, NULL, 0, NULL},
    };
    struct finding out[4];
    size_t n = diagnose(steps, 600, out, 4);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].code, FIND_HOOK_FAILED);
    assert_non_null(strstr(out[0].summary, "timed out after 30 s"));
    assert_non_null(strstr(out[0].summary, "does not hold"));
    assert_non_null(strstr(out[0].advice, "[hooks] timeout"));
    assert_int_equal(out[1].code, FIND_READY);

    struct finding one[1];
    n = diagnose(steps, 600, one, 1);
    assert_int_equal(n, 1);
    assert_int_equal(one[0].code, FIND_HOOK_FAILED);

    /* An agent failure and a failed hook: the failure first, the hook after,
     * and no ready or in-progress beside a failure. */
    static const struct step failed[] = {
        DHCP_IPXE(-300), SCRIPT(-299, 4), KERNEL(-298), BORN(-250, 4),
        {-200, "report.failed", INFER, J({"step": "network", "error": "no link"})},
        {-199, "hook.failed", INFER, J({"transition": "failed", "target": "/h", "exit": 1})},
        {0, NULL, 0, NULL},
    };
    n = diagnose(failed, 600, out, 4);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].code, FIND_AGENT_FAILED);
    assert_int_equal(out[1].code, FIND_HOOK_FAILED);
}

static void old_failures_never_show_beside_a_good_boot(void **state)
{
    (void)state;
    static const struct step steps[] = {
        DHCP_PXE(-9000), {-8999, "tftp.abort", INFER, J({"file": "snponly.efi", "end": "timeout"})},
        DHCP_IPXE(-8000), SCRIPT(-7999, 2), KERNEL(-7998),
        {-7900, "birth.refused", INFER, J({"why": "replayed"})},
        GOOD_BOOT(-3700, 3),
        {0, NULL, 0, NULL},
    };
    struct finding out[8];
    size_t n = diagnose(steps, 600, out, 8);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].code, FIND_READY);
    if (!strstr(out[0].summary, "60 min ago"))
        fail_msg("%s", out[0].summary);
}

/* More failing hooks than the table that tracks them: the newest are told,
 * nothing overflows. */
static void many_failing_hooks_stay_bounded(void **state)
{
    (void)state;
    static char data[20][96];
    struct step steps[40] = {GOOD_BOOT(-500, 4)};
    size_t n = 0;
    while (steps[n].kind)
        n++;
    for (int i = 0; i < 20; i++) {
        snprintf(data[i], sizeof data[i], "{\"transition\": \"ready\", \"target\": \"/hooks/h%02d\", \"exit\": %d}",
                 i, i + 1);
        steps[n++] = (struct step){-300 + i, "hook.failed", INFER, data[i]};
    }
    struct finding out[4];
    size_t got = diagnose(steps, 600, out, 4);
    assert_int_equal(got, 2);
    assert_int_equal(out[0].code, FIND_HOOK_FAILED);
    if (!strstr(out[0].summary, "/hooks/h19 exited 20") || !strstr(out[0].summary, "(8 hooks failing)"))
        fail_msg("%s", out[0].summary);
    assert_int_equal(out[1].code, FIND_READY);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void hostile_data_is_escaped_and_cut(void **state)
{
    (void)state;
    /* Control bytes, quotes, a NUL and a very long name in the file field;
     * garbage where objects belong; wrong types. */
    char *longname = repeat('A', 5000);
    char *longdata = malloc(12000);
    assert_non_null(longdata);
    snprintf(longdata, 12000, "{\"file\": \"%s\", \"error\": \"%s\", \"code\": 1}", longname, longname);
    struct step steps[] = {
        {-50, "dhcp.discover", INFER, "not json at all"},
        {-50, "dhcp.ack", INFER, "[1, 2, 3]"},
        {-49, "tftp.start", INFER, J({"file": 5, "role": ["x"]})},
        {-48, "tftp.error", INFER,
         "{\"file\": \"evil\\u001b[31m\\n\\\"x\\u0000y\\u00e9\", \"error\": \"file not found\\r\"}"},
        {0, NULL, 0, NULL},
    };
    struct finding out[4];
    size_t n = diagnose(steps, 600, out, 4);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].code, FIND_TFTP_FAILED);
    if (!strstr(out[0].summary, "evil\\x1b[31m\\x0a\\\"x\\x00y\\xc3\\xa9"))
        fail_msg("%s", out[0].summary);
    assert_non_null(strstr(out[0].summary, "file not found\\x0d"));

    struct step long_steps[] = {
        DHCP_PXE(-50),
        {-48, "tftp.error", INFER, longdata},
        {0, NULL, 0, NULL},
    };
    n = diagnose(long_steps, 600, out, 4);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].code, FIND_TFTP_FAILED);
    assert_true(strlen(out[0].summary) < EXPLAIN_TEXT_MAX);
    assert_true(strlen(out[0].advice) < EXPLAIN_TEXT_MAX);
    if (!strstr(out[0].summary, "AAA..."))
        fail_msg("%s", out[0].summary);
    assert_null(strstr(out[0].summary, longname + 4000));
    /* The advice still names the (cut) file and stays whole. */
    assert_non_null(strstr(out[0].advice, "is not in [tftp] root"));

    /* Long strings in every field a finding prints still fit. */
    char *hooks = malloc(24000);
    assert_non_null(hooks);
    snprintf(hooks, 24000,
             "{\"transition\": \"%s\", \"target\": \"%s\", \"output\": \"%s\", \"error\": \"%s\", \"holds\": true}",
             longname, longname, longname, longname);
    struct step hook_steps[] = {
        GOOD_BOOT(-500, 4),
        {-300, "hook.failed", INFER, hooks},
        {0, NULL, 0, NULL},
    };
    n = diagnose(hook_steps, 600, out, 4);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].code, FIND_HOOK_FAILED);
    assert_true(strlen(out[0].summary) < EXPLAIN_TEXT_MAX);
    assert_non_null(strstr(out[0].summary, "holds"));
    free(hooks);
    free(longdata);
    free(longname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_scenario_gives_its_finding),
        cmocka_unit_test(every_finding_code_is_covered),
        cmocka_unit_test(empty_input_is_never_seen),
        cmocka_unit_test(findings_come_most_important_first_and_max_cuts),
        cmocka_unit_test(old_failures_never_show_beside_a_good_boot),
        cmocka_unit_test(many_failing_hooks_stay_bounded),
        cmocka_unit_test(hostile_data_is_escaped_and_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
