/* The reporter that talks to midwife: each step is POSTed to the
 * document's report_url with the boot token (best effort, one try) and
 * printed on the console, which is how people watch a busybox host:
 *   midwife-agent: STEP: STATUS[: message]
 * The final ready or failed report is retried for a while: it is the one
 * that moves the host's state. */
#ifndef MIDWIFE_AGENT_REPORT_HTTP_H
#define MIDWIFE_AGENT_REPORT_HTTP_H

#include <jansson.h>
#include <stdio.h>

#include "report.h"

/* The server keeps at most this much of a message, and of a step name. */
#define REPORT_MESSAGE_MAX 400
#define REPORT_STEP_MAX 64

struct http_reporter {
    const char *url;   /* report_url; NULL: print only */
    const char *token;
    unsigned timeout_ms; /* per report (0: 5 s) */
    FILE *console;       /* NULL: stderr */
};

/* A reporter whose ctx is hr (which must outlive it). */
struct reporter http_reporter(struct http_reporter *hr);

/* {"step","status","message"?}, the message cut to REPORT_MESSAGE_MAX
 * bytes on a character boundary. */
json_t *report_step_body(const char *step, enum step_status status, const char *message);

/* {"ready": true, "facts": facts} (facts may be NULL); 0 or -1. */
int report_ready(const struct http_reporter *hr, const json_t *facts);
/* {"failed": message, "step": step} (step may be NULL); 0 or -1. */
int report_failed(const struct http_reporter *hr, const char *step, const char *message);

/* The console line for a step (also used for local-only messages). */
void report_print(FILE *console, const char *step, const char *status, const char *message);

#endif
