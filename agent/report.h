/* How the agent tells midwife what it is doing: one report per step
 * (POST /api/v1/report), then ready or failed. The apply code talks to this
 * interface only, so tests can record the reports instead of sending them. */
#ifndef MIDWIFE_AGENT_REPORT_H
#define MIDWIFE_AGENT_REPORT_H

enum step_status { STEP_RUNNING, STEP_OK, STEP_SKIPPED, STEP_FAILED };

struct reporter {
    /* step: a name of [A-Za-z0-9._:/-], e.g. "network.vlan:vlan42",
     * "hostname", "storage.nfs:/mnt/iso". message: one line for people
     * (may be NULL). Returns 0, or -1 when the report could not be sent
     * (the caller carries on: reports are best effort, the result is not). */
    int (*step)(void *ctx, const char *step, enum step_status status, const char *message);
    void *ctx;
};

const char *step_status_name(enum step_status s);

/* Shorthand: rep->step(rep->ctx, ...), with printf-style message. */
int report_step(const struct reporter *rep, const char *step, enum step_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
