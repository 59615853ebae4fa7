/* Slow work (build import, build layer) in a child process; its answer
 * goes to the waiting request and is kept for GET /api/v1/jobs/ID. See
 * api_jobs.c for why a child. */
#ifndef MIDWIFE_API_API_JOBS_H
#define MIDWIFE_API_API_JOBS_H

#include <jansson.h>

#include "api/api_internal.h"

struct api_job;

/* Runs in the child with its own store connection: returns the HTTP
 * status of the answer and sets *body (a new reference, a JSON object). */
typedef int (*api_job_work)(const void *arg, const char *state_dir, struct store *st, json_t **body);

/* Forks the child. arg is read in the child only (its copy of memory), so
 * it may point at what the caller frees right after. With pending (the
 * request's, the caller sets resp->defer) the job answers it when the
 * child ends; NULL: the answer is only kept for polling. */
int api_job_start(struct api *a, const char *kind, const char *name, api_job_work work, const void *arg,
                  struct http_pending *pending, struct api_job **out);
/* {"id", "kind", "name", "state": "running"|"done"|"failed", "started",
 *  "ended", and when ended "status" and "result" (the answer)}. */
json_t *api_job_json(const struct api_job *j);

/* GET /api/v1/jobs and /api/v1/jobs/ID. */
void api_route_jobs(struct api *a, const struct http_api_request *req, const char *rest,
                    struct http_api_response *resp);

#endif
