/* Shared by the API's route files (api_*.c) and nothing else. */
#ifndef MIDWIFE_API_API_INTERNAL_H
#define MIDWIFE_API_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"
#include "store/store_inventory.h"

struct api_job;

struct api {
    struct event_base *base;
    const struct conf *conf;
    struct store *st;
    struct lifecycle *lc;
    int64_t started_ms;        /* wall clock, for people */
    uint64_t started_mono_ms;  /* for the uptime, immune to clock steps */
    /* SHA-256 hex of the admin token as last read from the store. Read
     * again on every admin call (one indexed SELECT): `midwife token
     * rotate` writes the store from another process and sends no signal,
     * so a copy kept until reload would let the old token work on. */
    char admin_hash[65];
    struct api_job *jobs; /* build imports and layers running in child processes */
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

/* ---- pure parts, unit-tested ---- */

/* Finds key in a raw query string (a=1&b=x%20y) and percent-decodes its
 * value ('+' is a space) into out. 0, -ENOENT (absent), -EINVAL (a bad
 * escape or an escaped NUL), -ENAMETOOLONG (does not fit outlen). */
int api_query_decode(const char *query, size_t query_len, const char *key, char *out, size_t outlen);
/* ?limit= as a number in 1..API_LIST_MAX (NULL = API_LIST_DEFAULT). */
int api_limit_parse(const char *s, size_t *limit);
/* Splits rest ("", "/NAME", "/NAME/ACTION", a trailing '/' allowed) into
 * at most max segments of at most seglen-1 bytes each. Returns how many,
 * or -EINVAL (empty segment, too many, too long). */
int api_path_split(const char *rest, char (*seg)[128], size_t max);
/* "FIELD: what" (the inventory's error form) → FIELD into out; "" when
 * the message does not start with a field name. */
const char *api_err_field(const char *err, char *out, size_t outlen);

/* ---- shared by the route files ---- */

/* Like api_query but answers 400 naming the parameter when its value is
 * malformed or too long; *value is NULL when absent. */
bool api_query_param(const struct http_api_request *req, struct http_api_response *resp, const char *key,
                     char *out, size_t outlen, const char **value);
/* 400 with the field taken from an inventory "FIELD: what" message,
 * prefixed by prefix ("hosts[2]." for apply, "" otherwise). */
void api_invalid(struct http_api_response *resp, const char *prefix, const char *err);
/* 500 for a store failure, logged with what was being done. */
void api_store_error(struct api *a, struct http_api_response *resp, const char *what, int rc);
/* Answers {"items": items, "next": next or null}. */
void api_list(struct http_api_response *resp, json_t *items, const char *next);
/* One page of a list, gathered by a store walk whose callback hands each
 * object to api_page_add. The walk is stopped one object past limit, so
 * the answer knows whether there is a next page. */
struct api_list_page {
    json_t *items;
    size_t limit, n;
    bool more;      /* an object lay beyond limit */
    char last[128]; /* the key of the last object taken: the next page's ?after= */
};
/* Takes j (a reference is stolen), keyed key: 0 to go on, 1 when the
 * page is full (the walk stops), -ENOMEM. */
int api_page_add(struct api_list_page *pg, const char *key, json_t *j);
/* Answers the page once the walk returned r: the list, or (r < 0) a 500
 * naming what was being done. Frees the items either way. */
void api_page_answer(struct api *a, struct http_api_response *resp, struct api_list_page *pg, int r,
                     const char *what);
/* Every key of body is one of keys (NULL-ended); else a 400 naming the
 * first other one, "KEY: unknown key (HINT)" (without HINT when NULL). */
bool api_keys_known(const json_t *body, const char *const *keys, const char *hint, struct http_api_response *resp);
/* Empty 204. */
void api_no_content(struct http_api_response *resp);
/* Wall clock in milliseconds (what people read, what the store keeps). */
int64_t api_now_ms(void);
/* Checks that a host's or rule's build ("" or an existing NAME, version
 * 0 = latest) and profile ("" or an existing one) exist; false after a
 * 400 naming prefix+"build" or prefix+"profile". */
bool api_refs_exist(struct api *a, struct http_api_response *resp, const char *prefix, const char *build,
                    int build_version, const char *profile);
/* The body's "name" (when present) must equal the name in the path; when
 * absent it is set from the path. false after a 400. */
bool api_body_name(json_t *body, const char *path_name, struct http_api_response *resp);

/* How a body is stored: POST (409 when the name exists), PUT and apply
 * (create or replace the writable fields), PATCH (the fields given; 404
 * when missing). */
enum api_save { API_SAVE_CREATE, API_SAVE_REPLACE, API_SAVE_PATCH };
/* Decodes host JSON j onto the host named name (NULL: the body's name),
 * checks its build and profile exist, stores it. 0 with *h filled (the
 * caller host_clear()s it either way) and *created, or -1 after answering
 * (400/404/409 with prefix before the field: "hosts[3]."). */
int api_host_save(struct api *a, struct http_api_response *resp, const char *prefix, const json_t *j,
                  const char *name, enum api_save how, struct host *h, bool *created);
/* 409 naming the field store_host_put() reported in where, and which host
 * holds it. */
void api_host_conflict(struct api *a, struct http_api_response *resp, const char *prefix, const struct host *h,
                       const char *where);
/* midwife as a host reaches it: [http] public_url, else the address the
 * request came in on. No trailing '/'. */
int api_base_url(struct api *a, const struct http_api_request *req, char *out, size_t outlen);
/* Stores a profile or rule from JSON the same way (prefix and how as
 * above; PATCH is not offered for them): 0 with *created, or -1 after
 * answering. */
int api_profile_save(struct api *a, struct http_api_response *resp, const char *prefix, const json_t *j,
                     enum api_save how, bool *created);
int api_rule_save(struct api *a, struct http_api_response *resp, const char *prefix, const json_t *j,
                  enum api_save how, bool *created);

/* Profiles and rules: objects the store keeps whole under a unique name,
 * listed, created, read, replaced and deleted by the same routes
 * (api_named.c). What differs between them: */
struct api_named {
    const char *noun;   /* "profile": in messages and log lines */
    const char *plural; /* "profiles": the collection's path */
    /* One page into pg (api_page_add for each object), starting after
     * the object named after ("" from the start); the store's code. */
    int (*walk)(struct api *a, const char *after, struct api_list_page *pg);
    /* The stored object as JSON into *out; 0 or the store's code (-ENOENT). */
    int (*get)(struct api *a, const char *name, json_t **out);
    /* api_profile_save, api_rule_save. */
    int (*save)(struct api *a, struct http_api_response *resp, const char *prefix, const json_t *j,
                enum api_save how, bool *created);
    int (*remove)(struct store *st, const char *name); /* 0, -ENOENT, -EBUSY */
    /* What refuses a delete with -EBUSY, for the 409 ("a host or a rule");
     * NULL when nothing refers to these objects. */
    const char *used_by;
    /* POST /PLURAL/ACTION runs action_run (rules: "test"); NULL for none. */
    const char *action;
    void (*action_run)(struct api *a, const struct http_api_request *req, struct http_api_response *resp);
};
/* rest is the path after /PLURAL ("" or "/NAME"). */
void api_named_route(struct api *a, const struct api_named *k, const struct http_api_request *req,
                     const char *rest, struct http_api_response *resp);

/* Build imports and layers in child processes (api_jobs.c): ends them
 * and frees their state. */
void api_jobs_stop(struct api *a);

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
