/* apply_document: the steps in the order apply.h gives, each reported
 * running and then ok, skipped or failed; the first failure ends it. */
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "apply_internal.h"
#include "apply_net.h"

/* Seconds the DHCP client may take for one interface. */
#define DHCP_TIMEOUT_S 60

void msg_append(char *msg, size_t len, const char *fmt, ...)
{
    size_t at = strnlen(msg, len);
    if (at + 1 >= len)
        return;
    if (at > 0) {
        int n = snprintf(msg + at, len - at, "; ");
        if (n < 0 || (size_t)n >= len - at)
            return;
        at += (size_t)n;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + at, len - at, fmt, ap);
    va_end(ap);
}

struct run {
    const struct apply_env *env;
    const struct reporter *rep;
    char *err;
    size_t errlen;
    const char **failed_step;
    struct net net;
    bool net_open;
};

static char failed_step_copy[320];

static void report(const struct run *r, const char *step, enum step_status status, const char *msg)
{
    if (r->rep && r->rep->step)
        r->rep->step(r->rep->ctx, step, status, msg);
}

/* "PREFIX:WHAT" with anything outside the report's step alphabet
 * ([A-Za-z0-9._:/-]) replaced by '_'. */
static void step_name(char *out, size_t len, const char *prefix, const char *what)
{
    snprintf(out, len, "%s%s%s", prefix, what ? ":" : "", what ? what : "");
    for (char *p = out; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == ':' || c == '/' || c == '-';
        if (!ok)
            *p = '_';
    }
}

/* Reports the outcome of step; -1 (and err, failed_step) when it failed.
 * msg may quote what the system said (mount sources, command output):
 * it is made one clean line first. */
static int finish(struct run *r, const char *step, int result, char *msg)
{
    make_one_line(msg);
    switch (result) {
    case RESULT_UNCHANGED:
        report(r, step, STEP_OK, "unchanged");
        return 0;
    case RESULT_CHANGED:
        report(r, step, STEP_OK, msg[0] ? msg : "changed");
        return 0;
    case RESULT_SKIPPED:
        report(r, step, STEP_SKIPPED, msg[0] ? msg : "skipped");
        return 0;
    default:
        report(r, step, STEP_FAILED, msg[0] ? msg : "failed");
        snprintf(r->err, r->errlen, "%s: %s", step, msg[0] ? msg : "failed");
        snprintf(failed_step_copy, sizeof failed_step_copy, "%s", step);
        if (r->failed_step)
            *r->failed_step = failed_step_copy;
        return -1;
    }
}

static int need_net(struct run *r)
{
    if (r->net_open)
        return 0;
    char msg[STEP_MSG_MAX] = "";
    if (net_open(&r->net, msg, sizeof msg) < 0) {
        report(r, "network", STEP_RUNNING, NULL);
        return finish(r, "network", RESULT_FAILED, msg);
    }
    r->net_open = true;
    return 0;
}

typedef int (*entry_fn)(struct net *, const json_t *, char *, size_t);

/* One step per entry of the document's list key. */
static int net_steps(struct run *r, const json_t *doc, const char *key, const char *prefix, entry_fn fn)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(doc, key), i, e) {
        if (need_net(r) < 0)
            return -1;
        char step[96], msg[STEP_MSG_MAX] = "";
        const char *label = json_string_value(json_object_get(e, strcmp(key, "routes") == 0 ? "to" : "name"));
        step_name(step, sizeof step, prefix, label ? label : "?");
        report(r, step, STEP_RUNNING, NULL);
        if (finish(r, step, fn(&r->net, e, msg, sizeof msg), msg) < 0)
            return -1;
    }
    return 0;
}

/* The host's management VLAN on the boot NIC (apply_mgmt.c). The agent
 * brought it up before the birth; here it is kept (or made, for a
 * document applied on its own). */
static int mgmt_vlan_step(struct run *r, const json_t *doc)
{
    json_int_t id = json_integer_value(json_object_get(doc, "mgmt_vlan"));
    if (id <= 0)
        return 0;
    char msg[STEP_MSG_MAX] = "", name[IFNAMSIZ + 8];
    report(r, "mgmt_vlan", STEP_RUNNING, NULL);
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(doc, "vlans"), i, v) {
        if (json_integer_value(json_object_get(v, "id")) == id) {
            const char *vn = json_string_value(json_object_get(v, "name"));
            snprintf(msg, sizeof msg, "the document's vlans have VLAN %d (%s)", (int)id, vn ? vn : "?");
            return finish(r, "mgmt_vlan", RESULT_SKIPPED, msg);
        }
    }
    if (!r->env->boot_mac) {
        snprintf(msg, sizeof msg, "no boot NIC known (midwife.mac= on the kernel command line)");
        return finish(r, "mgmt_vlan", RESULT_SKIPPED, msg);
    }
    if (need_net(r) < 0)
        return -1;
    int res = net_mgmt_vlan(&r->net, r->env->boot_mac, (unsigned)id, DHCP_TIMEOUT_S, name, sizeof name, msg,
                            sizeof msg);
    return finish(r, "mgmt_vlan", res, msg);
}

static int address_steps(struct run *r, const json_t *doc)
{
    static const char *const lists[] = {"interfaces", "bonds", "vlans", "bridges"};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(doc, lists[l]), i, e) {
            if (need_net(r) < 0)
                return -1;
            char step[96], msg[STEP_MSG_MAX] = "";
            const char *name = json_string_value(json_object_get(e, "name"));
            step_name(step, sizeof step, "address", name ? name : "?");
            report(r, step, STEP_RUNNING, NULL);
            if (finish(r, step, net_addresses(&r->net, e, DHCP_TIMEOUT_S, msg, sizeof msg), msg) < 0)
                return -1;
        }
    }
    return 0;
}

typedef int (*file_fn)(const json_t *, const struct apply_env *, char *, size_t);

static int file_step(struct run *r, const char *step, file_fn fn, const json_t *doc)
{
    char msg[STEP_MSG_MAX] = "";
    report(r, step, STEP_RUNNING, NULL);
    return finish(r, step, fn(doc, r->env, msg, sizeof msg), msg);
}

static int storage_steps(struct run *r, const json_t *doc)
{
    const json_t *storage = json_object_get(doc, "storage");
    static const struct {
        const char *key, *prefix, *label;
        file_fn fn;
    } kinds[] = {{"nfs", "storage.nfs", "mount", apply_nfs}, {"iscsi", "storage.iscsi", "target", apply_iscsi}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(storage, kinds[k].key), i, e) {
            char step[320], msg[STEP_MSG_MAX] = "";
            const char *label = json_string_value(json_object_get(e, kinds[k].label));
            step_name(step, sizeof step, kinds[k].prefix, label ? label : "?");
            report(r, step, STEP_RUNNING, NULL);
            int res = RESULT_SKIPPED;
            if (r->env->storage_and_commands)
                res = kinds[k].fn(e, r->env, msg, sizeof msg);
            else
                snprintf(msg, sizeof msg, "storage and commands are off");
            if (finish(r, step, res, msg) < 0)
                return -1;
        }
    }
    return 0;
}

static int command_steps(struct run *r, const json_t *doc)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(doc, "commands"), i, c) {
        char step[32], msg[STEP_MSG_MAX] = "";
        snprintf(step, sizeof step, "command:%zu", i + 1);
        report(r, step, STEP_RUNNING, NULL);
        int res;
        if (!r->env->storage_and_commands) {
            snprintf(msg, sizeof msg, "storage and commands are off");
            res = RESULT_SKIPPED;
        } else if (!json_is_string(c)) {
            snprintf(msg, sizeof msg, "not a string");
            res = RESULT_FAILED;
        } else {
            res = apply_command(json_string_value(c), r->env, msg, sizeof msg);
        }
        if (finish(r, step, res, msg) < 0)
            return -1;
    }
    return 0;
}

int apply_document(const json_t *doc, const struct apply_env *env, const struct reporter *rep, char *err,
                   size_t errlen, const char **failed_step)
{
    static const struct apply_env defaults = {.root = "", .set_kernel_hostname = true, .storage_and_commands = true};
    struct run r = {.env = env ? env : &defaults, .rep = rep, .err = err, .errlen = errlen,
                    .failed_step = failed_step};
    if (errlen > 0)
        err[0] = '\0';
    if (failed_step)
        *failed_step = NULL;
    if (!json_is_object(doc)) {
        char msg[] = "the document is not a JSON object";
        report(&r, "document", STEP_RUNNING, NULL);
        return finish(&r, "document", RESULT_FAILED, msg);
    }
    int rc = -1;
    if (file_step(&r, "hostname", apply_hostname, doc) < 0)
        goto out;
    if (net_steps(&r, doc, "interfaces", "link", net_interface) < 0 ||
        net_steps(&r, doc, "bonds", "bond", net_bond) < 0 || net_steps(&r, doc, "vlans", "vlan", net_vlan) < 0 ||
        mgmt_vlan_step(&r, doc) < 0 || net_steps(&r, doc, "bridges", "bridge", net_bridge) < 0 || address_steps(&r, doc) < 0 ||
        net_steps(&r, doc, "routes", "route", net_route) < 0)
        goto out;
    if (file_step(&r, "dns", apply_dns, doc) < 0 || file_step(&r, "ntp", apply_ntp, doc) < 0)
        goto out;
    if (storage_steps(&r, doc) < 0 || command_steps(&r, doc) < 0)
        goto out;
    rc = 0;
out:
    if (r.net_open)
        net_close(&r.net);
    return rc;
}

int apply_mgmt_vlan(const uint8_t mac[6], unsigned id, unsigned dhcp_timeout_s, char *name, size_t namelen,
                    char *msg, size_t msglen)
{
    struct net n;
    msg[0] = '\0';
    if (namelen)
        name[0] = '\0';
    if (net_open(&n, msg, msglen) < 0)
        return -1;
    int r = net_mgmt_vlan(&n, mac, id, dhcp_timeout_s, name, namelen, msg, msglen);
    net_close(&n);
    make_one_line(msg);
    return r == RESULT_FAILED ? -1 : r == RESULT_CHANGED ? 1 : 0;
}
