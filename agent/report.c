/* Reports (report.h) and the reporter that sends them to midwife
 * (report_http.h). */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "report_http.h"
#include "util/log.h"

const char *step_status_name(enum step_status s)
{
    switch (s) {
    case STEP_RUNNING: return "running";
    case STEP_OK: return "ok";
    case STEP_SKIPPED: return "skipped";
    case STEP_FAILED: return "failed";
    }
    return "unknown";
}

int report_step(const struct reporter *rep, const char *step, enum step_status status, const char *fmt, ...)
{
    if (!rep || !rep->step)
        return -1;
    char msg[1024];
    const char *m = NULL;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        m = msg;
    }
    return rep->step(rep->ctx, step, status, m);
}

void report_print(FILE *console, const char *step, const char *status, const char *message)
{
    char s[REPORT_STEP_MAX * 4 + 1], m[REPORT_MESSAGE_MAX * 4 + 1];
    log_escape(s, sizeof s, step, strlen(step));
    if (message && message[0])
        fprintf(console ? console : stderr, "midwife-agent: %s: %s: %s\n", s, status,
                log_escape(m, sizeof m, message, strlen(message)));
    else
        fprintf(console ? console : stderr, "midwife-agent: %s: %s\n", s, status);
    fflush(console ? console : stderr);
}

/* Text the server takes: at most max bytes, cut before a UTF-8
 * continuation byte, valid UTF-8 (else its escaped form). */
static json_t *bounded_string(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    json_t *j = json_stringn(s, n);
    if (!j) {
        char esc[REPORT_MESSAGE_MAX + 1];
        j = json_string(log_escape(esc, max + 1 < sizeof esc ? max + 1 : sizeof esc, s, n));
    }
    return j;
}

json_t *report_step_body(const char *step, enum step_status status, const char *message)
{
    json_t *b = json_object();
    if (!b)
        return NULL;
    json_object_set_new(b, "step", bounded_string(step, REPORT_STEP_MAX));
    json_object_set_new(b, "status", json_string(step_status_name(status)));
    if (message)
        json_object_set_new(b, "message", bounded_string(message, REPORT_MESSAGE_MAX));
    return b;
}

/* One POST; 0 on a 2xx answer, 1 when worth another try (no answer,
 * 5xx), -1 when refused. */
static int post(const struct http_reporter *hr, const json_t *body)
{
    if (!hr->url)
        return 0;
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return -1;
    struct http_request req = {
        .method = "POST",
        .url = hr->url,
        .token = hr->token,
        .content_type = "application/json",
        .body = text,
        .body_len = strlen(text),
        .max_body = 64 * 1024,
        .io_timeout_ms = hr->timeout_ms ? hr->timeout_ms : 5000,
        .total_timeout_ms = hr->timeout_ms ? 2 * hr->timeout_ms : 10000,
    };
    struct http_response resp;
    char err[256];
    int r = http_request(&req, &resp, err, sizeof err);
    free(text);
    if (r < 0) {
        report_print(hr->console, "report", "not sent", err);
        return 1;
    }
    int st = resp.status;
    if (st < 200 || st > 299) {
        json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
        const char *e = json_string_value(json_object_get(j, "error"));
        char msg[REPORT_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "midwife answered %d%s%.300s", st, e ? ": " : "", e ? e : "");
        report_print(hr->console, "report", "refused", msg);
        json_decref(j);
    }
    http_response_free(&resp);
    return st >= 200 && st <= 299 ? 0 : st >= 500 ? 1 : -1;
}

static int http_step(void *ctx, const char *step, enum step_status status, const char *message)
{
    struct http_reporter *hr = ctx;
    report_print(hr->console, step, step_status_name(status), message);
    json_t *b = report_step_body(step, status, message);
    int r = b ? post(hr, b) : -1;
    json_decref(b);
    return r == 0 ? 0 : -1;
}

struct reporter http_reporter(struct http_reporter *hr)
{
    return (struct reporter){.step = http_step, .ctx = hr};
}

/* The last report moves the host's state: worth a few tries (1, 2, 4, 8 s). */
static int post_final(const struct http_reporter *hr, const json_t *body)
{
    for (unsigned attempt = 0, delay = 1;; attempt++, delay *= 2) {
        int r = post(hr, body);
        if (r <= 0)
            return r;
        if (attempt == 4)
            return -1;
        sleep(delay);
    }
}

int report_ready(const struct http_reporter *hr, const json_t *facts)
{
    json_t *b = json_pack("{s:b}", "ready", 1);
    if (b && facts)
        json_object_set(b, "facts", (json_t *)facts);
    report_print(hr->console, "ready", "ok", NULL);
    int r = b ? post_final(hr, b) : -1;
    json_decref(b);
    return r;
}

int report_failed(const struct http_reporter *hr, const char *step, const char *message)
{
    json_t *b = json_object();
    if (b) {
        json_object_set_new(b, "failed", bounded_string(message, REPORT_MESSAGE_MAX));
        if (step)
            json_object_set_new(b, "step", bounded_string(step, REPORT_STEP_MAX));
    }
    report_print(hr->console, step ? step : "agent", "failed", message);
    int r = b ? post_final(hr, b) : -1;
    json_decref(b);
    return r;
}
