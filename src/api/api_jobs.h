/* Slow work (build import, build layer) in a child process; its answer
 * goes to the waiting request and is kept for GET /api/v1/jobs/ID. See
 * api_jobs.c for why a child. */
#ifndef MIDWIFE_API_API_JOBS_H
#define MIDWIFE_API_API_JOBS_H

#include <stdbool.h>

#include <jansson.h>

#include "api/api_internal.h"
#include "http/http_api.h"

struct api_job;

/* Starts a child for kind ("import", "layer") on build name with spec (a
 * JSON object handed to the child whole; the reference is taken). With
 * pending (the request's; the caller then sets resp->defer) the job
 * answers that request when the child ends; NULL: the answer is only kept
 * for polling. */
int api_job_start(struct api *a, const char *kind, const char *name, json_t *spec, struct http_pending *pending);

/* In the child (api_builds.c): runs kind with spec on the child's own
 * store connection. Returns the answer's HTTP status and sets *body (a new
 * reference to a JSON object). */
int api_builds_job_run(const char *kind, const json_t *spec, const char *state_dir, struct store *st,
                       json_t **body);
/* {"id", "kind", "name", "state": "running"|"done"|"failed", "started",
 *  "ended", and when ended "status" and "result" (the answer)}. */
json_t *api_job_json(const struct api_job *j);

/* A process spawned by api_job_start() is midwife itself, with JOB_ENV
 * set, the job's spec on fd 3 and its answer due on fd 4: main() asks
 * api_job_child_requested() first and then runs api_job_child_main()
 * (its exit status) instead of a command. */
bool api_job_child_requested(void);
int api_job_child_main(void);

/* GET /api/v1/jobs and /api/v1/jobs/ID. */
void api_route_jobs(struct api *a, const struct http_api_request *req, const char *rest,
                    struct http_api_response *resp);

#endif
