/* What the kickstart's two halves share (kickstart.c: the output, the
 * reading of the document, the reports, the preamble and the whole;
 * kickstart_esxcli.c: the steps that configure the host with esxcli).
 * Not for anything outside boot/kickstart*.c. */
#ifndef MIDWIFE_BOOT_KICKSTART_WRITE_H
#define MIDWIFE_BOOT_KICKSTART_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/addr.h"

#define MSG_VALUE_MAX 80 /* bytes of a value shown in a report message */

/* The kickstart being written. */
struct ks {
    char *p;
    size_t len, cap, line_start;
    int rc; /* the first error; everything after it is a no-op */
    char *err;
    size_t errlen;
    char step[64];          /* the step being written */
    int vmk;                /* the next vmkernel NIC number */
    const json_t *bonds;
    const json_t *bridges;
    int mgmt;               /* index of the management bridge, -1: none */
    const char *gateway_to; /* the default route the network line carries, NULL: none */
};

/* The first error wins (code and message); everything after it is a no-op. */
void ks_failf(struct ks *k, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Output, capped, line by line: text as it is, a number, a whole line, a
 * value single-quoted for busybox sh (the one quoting function), a number
 * quoted. */
void ks_w(struct ks *k, const char *s);
void ks_wnum(struct ks *k, long long v);
void ks_line(struct ks *k, const char *s);
void ks_q(struct ks *k, const char *v);
void ks_qnum(struct ks *k, long long v);

/* The document, every field checked; errors name it ("where.key"). */
const json_t *ks_field(struct ks *k, const json_t *o, const char *key, json_type type, const char *where,
                       bool required);
const char *ks_str(struct ks *k, const json_t *o, const char *key, const char *where, bool required);
const char *ks_str_at(struct ks *k, const json_t *a, size_t i, const char *where);
bool ks_num(struct ks *k, const json_t *o, const char *key, const char *where, long long lo, long long hi,
            long long *out);
const json_t *ks_list(struct ks *k, const json_t *o, const char *key, const char *where);
bool ks_address(struct ks *k, const char *s, const char *where, char ip[IPV4_STRLEN], char mask[IPV4_STRLEN]);

/* Reports: a value cut for a message; a step's start, end, skip, and the
 * "|| fail" that ends its command lines. */
const char *ks_clip(const char *s, char *buf, size_t buflen);
void ks_step_begin(struct ks *k, const char *step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ks_step_end(struct ks *k);
void ks_step_skipped(struct ks *k, const char *step, const char *msg);
void ks_or_fail(struct ks *k);

/* kickstart_esxcli.c: the shell functions the steps call, and the steps
 * themselves in order (hostname, vSwitches, VLAN port groups, routes,
 * DNS, NTP, NFS, iSCSI, commands). */
extern const char ks_esxcli_helpers[];
void ks_esxcli_steps(struct ks *k, const json_t *doc);

#endif
