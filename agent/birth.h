/* The birth: POST the facts to {url}/api/v1/birth with the boot token
 * and get the configuration document back. Midwife may not be reachable
 * yet (the network is still coming up, the server restarts): connection
 * errors, timeouts and 5xx answers are retried, fast at first, then once
 * a minute for as long as it takes. A 4xx answer is final: a refused
 * token does not get better. */
#ifndef MIDWIFE_AGENT_BIRTH_H
#define MIDWIFE_AGENT_BIRTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BIRTH_BACKOFF_FIRST_S 1
#define BIRTH_BACKOFF_MAX_S 30
#define BIRTH_SLOW_RETRY_S 60

/* Seconds to wait before the next try after attempt failures (attempt
 * counts from 1) when elapsed_s seconds have passed since the first try:
 * 1, 2, 4, ... doubling up to 30 while elapsed_s < total_s, and never
 * past total_s; then 60. */
unsigned birth_retry_delay(unsigned attempt, unsigned elapsed_s, unsigned total_s);

struct birth_env {
    unsigned total_s;       /* the fast phase (midwife.birth_timeout=) */
    unsigned io_timeout_ms; /* per try (0: 10 s) */
    /* How the loop waits and tells time; tests pass their own. NULL:
     * sleep(3) and the monotonic clock. */
    void (*sleep_s)(void *ctx, unsigned s);
    unsigned (*now_s)(void *ctx);
    void *ctx;
    /* Give up after this many tries (0: never; tests). */
    unsigned max_attempts;
};

enum birth_result {
    BIRTH_OK = 0,     /* *doc is the answer, a JSON object */
    BIRTH_REFUSED,    /* a 4xx: err holds the server's error text */
    BIRTH_BAD_ANSWER, /* 200 but not a JSON object */
    BIRTH_GAVE_UP,    /* max_attempts reached */
};

/* base_url: midwife.url= (no trailing '/'). */
enum birth_result birth_run(const char *base_url, const char *token, const json_t *facts,
                            const struct birth_env *env, json_t **doc, char *err, size_t errlen);

#endif
