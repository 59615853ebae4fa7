/* The birth and its retry loop (see birth.h). */
#include "birth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doc.h"
#include "http.h"
#include "util/clock.h"
#include "util/log.h"

unsigned birth_retry_delay(unsigned attempt, unsigned elapsed_s, unsigned total_s)
{
    if (elapsed_s >= total_s)
        return BIRTH_SLOW_RETRY_S;
    unsigned d = BIRTH_BACKOFF_FIRST_S;
    for (unsigned i = 1; i < attempt && d < BIRTH_BACKOFF_MAX_S; i++)
        d *= 2;
    if (d > BIRTH_BACKOFF_MAX_S)
        d = BIRTH_BACKOFF_MAX_S;
    /* The fast phase ends on time: the last wait is cut to its end. */
    if (d > total_s - elapsed_s)
        d = total_s - elapsed_s;
    return d ? d : 1;
}

static void real_sleep(void *ctx, unsigned s)
{
    while (s > 0)
        s = sleep(s);
}

static unsigned real_now(void *ctx)
{
    return (unsigned)(clock_mono_ms() / 1000);
}

/* One try: 0 answered (resp filled), 1 worth another try. */
static int try_once(const char *url, const char *token, const char *body, const struct birth_env *env,
                    struct http_response *resp, char *why, size_t whylen)
{
    struct http_request req = {
        .method = "POST",
        .url = url,
        .token = token,
        .content_type = "application/json",
        .body = body,
        .body_len = strlen(body),
        .max_body = DOC_MAX_BYTES,
        .io_timeout_ms = env->io_timeout_ms ? env->io_timeout_ms : 10000,
        .total_timeout_ms = 3 * (env->io_timeout_ms ? env->io_timeout_ms : 10000),
    };
    int r = http_request(&req, resp, why, whylen);
    if (r < 0)
        return 1;
    if (resp->status >= 500) {
        snprintf(why, whylen, "midwife answered %d", resp->status);
        http_response_free(resp);
        return 1;
    }
    return 0;
}

static void server_error_text(const struct http_response *resp, char *err, size_t errlen)
{
    json_t *j = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *e = json_string_value(json_object_get(j, "error"));
    char esc[512];
    if (e)
        snprintf(err, errlen, "midwife refused the birth (%d): %s", resp->status,
                 log_escape(esc, sizeof esc, e, strlen(e)));
    else
        snprintf(err, errlen, "midwife refused the birth (%d)", resp->status);
    json_decref(j);
}

enum birth_result birth_run(const char *base_url, const char *token, const json_t *facts,
                            const struct birth_env *env, json_t **doc, char *err, size_t errlen)
{
    *doc = NULL;
    void (*do_sleep)(void *, unsigned) = env->sleep_s ? env->sleep_s : real_sleep;
    unsigned (*now)(void *) = env->now_s ? env->now_s : real_now;
    char url[2048];
    snprintf(url, sizeof url, "%s/api/v1/birth", base_url);
    char *body = json_dumps(facts, JSON_COMPACT);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return BIRTH_GAVE_UP;
    }
    unsigned start = now(env->ctx);
    bool announced = false;
    struct http_response resp;
    enum birth_result result = BIRTH_GAVE_UP;
    for (unsigned attempt = 1;; attempt++) {
        char why[512];
        if (try_once(url, token, body, env, &resp, why, sizeof why) == 0)
            break;
        if (env->max_attempts && attempt >= env->max_attempts) {
            snprintf(err, errlen, "no answer from %s after %u tries: %s", url, attempt, why);
            free(body);
            return BIRTH_GAVE_UP;
        }
        unsigned elapsed = now(env->ctx) - start;
        unsigned delay = birth_retry_delay(attempt, elapsed, env->total_s);
        if (delay == BIRTH_SLOW_RETRY_S && elapsed >= env->total_s && !announced) {
            /* Said once, on the console: the host is not lost, it waits. */
            fprintf(stderr, "midwife-agent: no answer from %s after %u s, retrying every %u s (last: %s)\n", url,
                    elapsed, BIRTH_SLOW_RETRY_S, why);
            announced = true;
        } else if (!announced) {
            fprintf(stderr, "midwife-agent: birth: %s; again in %u s\n", why, delay);
        }
        do_sleep(env->ctx, delay);
    }
    free(body);
    if (resp.status < 200 || resp.status > 299) {
        server_error_text(&resp, err, errlen);
        result = BIRTH_REFUSED;
    } else {
        json_error_t je;
        json_t *j = json_loadb(resp.body, resp.body_len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(j)) {
            snprintf(err, errlen, "the birth answer is not a JSON object%s%s", j ? "" : ": ", j ? "" : je.text);
            json_decref(j);
            result = BIRTH_BAD_ANSWER;
        } else {
            *doc = j;
            result = BIRTH_OK;
        }
    }
    http_response_free(&resp);
    return result;
}
