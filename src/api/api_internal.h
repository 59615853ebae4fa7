/* Shared by the API's route files (api_*.c) and nothing else. */
#ifndef MIDWIFE_API_API_INTERNAL_H
#define MIDWIFE_API_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"

struct api {
    struct event_base *base;
    const struct conf *conf;
    struct store *st;
    struct lifecycle *lc;
    int64_t started_ms;
    char admin_hash[65]; /* SHA-256 hex of the admin token, re-read from the store on reload */
};

#define API_LIST_DEFAULT 100
#define API_LIST_MAX 1000

/* Answers status with j (a reference is stolen; NULL answers 500). */
void api_json(struct http_api_response *resp, int status, json_t *j);
/* Answers {"error": MSG} (and "field" when field is not NULL). */
void api_error(struct http_api_response *resp, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Parses the body as a JSON object into *out (new reference). On failure
 * answers 415 (not JSON content type) or 400 (with the line and column)
 * and returns false. */
bool api_body_object(const struct http_api_request *req, struct http_api_response *resp, json_t **out);
/* Admin calls: true when the bearer is the admin token; else answers 401
 * (and records token.refused) and returns false. */
bool api_admin(struct api *a, const struct http_api_request *req, struct http_api_response *resp);
/* The decoded value of ?key=, or NULL when absent or undecodable/too long. */
const char *api_query(const struct http_api_request *req, const char *key, char *out, size_t outlen);
/* ?limit= and ?after=: false (400 answered) when limit is not 1..API_LIST_MAX. */
bool api_page(const struct http_api_request *req, struct http_api_response *resp, size_t *limit, char *after,
              size_t afterlen);
/* Answers 405 naming the methods allowed. */
void api_method_not_allowed(struct http_api_response *resp, const char *allowed);

/* Route files: rest is the path after the prefix ("" or "/NAME..."). */
void api_route_status(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp);
void api_route_hosts(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp);
void api_route_profiles(struct api *a, const struct http_api_request *req, const char *rest,
                        struct http_api_response *resp);
void api_route_rules(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp);
void api_route_builds(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp);
void api_route_apply(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp);
void api_route_export(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp);
void api_route_events(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp);
void api_route_explain(struct api *a, const struct http_api_request *req, const char *rest,
                       struct http_api_response *resp);
void api_route_birth(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp);
void api_route_report(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp);
void api_route_state(struct api *a, const struct http_api_request *req, const char *rest,
                     struct http_api_response *resp);

#endif
