/* Shared by http_service.c (the listener, the file routes, the read and
 * write machinery) and http_api_conn.c (API request bodies, deferred
 * answers, event streams) and nothing else. */
#ifndef MIDWIFE_HTTP_HTTP_CONN_H
#define MIDWIFE_HTTP_HTTP_CONN_H

#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "http/http_api.h"
#include "http/http_cond.h"
#include "http/http_range.h"
#include "http/http_request.h"
#include "store/store.h"

#define HEAD_MAX 1024 /* our response heads are far smaller */
#define PEER_MAX (INET_ADDRSTRLEN + 8)

/* READ, WRITE and LINGER: see http_service.c. BODY, PENDING and STREAM
 * belong to API requests: see http_api_conn.c. */
enum conn_state { C_READ, C_WRITE, C_LINGER, C_BODY, C_PENDING, C_STREAM };

struct api_exchange; /* http_api_conn.c */

/* A boot file or program on its way out, for the flight recorder: an
 * http.file / http.program event when it is all sent (ok) or when the
 * connection ends first (fail). */
struct fetch_record {
    bool active;
    bool program;          /* /boot/program/... rather than a build file */
    bool has_mac;          /* the client's MAC, from the lease of its address */
    uint8_t mac[6];
    char name[160];        /* escaped, JSON-safe */
    char sha256[65];
    char role[12];         /* kernel module loader state file */
    char build[64];
    int version;
    bool range;
    uint64_t bytes;        /* the response body length */
    uint64_t started_ms;
};

struct conn {
    struct http_service *svc;
    int fd;
    enum conn_state state;
    struct event *ev_rd, *ev_wr, *timer;
    struct conn *prev, *next;
    char peer[PEER_MAX];
    uint32_t peer_addr; /* host byte order */
    uint32_t local_addr; /* ours on this connection, once asked (0: not yet); host byte order */
    uint16_t peer_port;

    char *in;             /* request bytes, capped at in_cap */
    size_t in_len, in_cap;
    uint64_t discard;     /* request body bytes still to read and drop */

    /* the response in flight */
    char head[HEAD_MAX];
    size_t head_len, head_off;
    char *body;           /* memory body, or NULL */
    const char *body_static;
    size_t body_len, body_off;
    bool body_owned;
    int file_fd;          /* file body, or -1 */
    bool corked;          /* TCP_CORK held while a file body goes out */
    uint64_t file_off, file_end;
    bool keep_alive;
    int status;

    struct api_exchange *api; /* an API request in progress, or NULL */
    struct fetch_record fetch;
};

struct http_service {
    struct event_base *base;
    const struct conf *conf;
    struct store *store;
    int listen_fd;
    struct event *listen_ev, *accept_pause;
    uint32_t address;
    uint16_t port;
    int root_fd;
    char root[PATH_MAX];
    size_t max_header_bytes;
    uint64_t max_body_bytes, state_max_bytes;
    unsigned idle_timeout, max_connections, n_conns;
    unsigned n_streams;
    struct conn *conns;
    http_api_fn api_fn;
    void *api_arg;
    /* Date header, formatted once per second */
    int64_t date_at;
    char date[HTTP_DATE_LEN + 1];
};

/* Everything a response head can carry besides the status line. */
struct resp {
    int status;
    const char *content_type;
    uint64_t length;          /* Content-Length; ignored for 204 and 304 */
    bool no_length;           /* a body that ends with the connection (event streams) */
    const char *etag;         /* quoted, or NULL */
    int64_t mtime;            /* Last-Modified when etag is set */
    const char *cache;        /* Cache-Control, or NULL */
    bool accept_ranges;
    bool ranged;              /* 206: Content-Range first-last/total */
    struct http_range range;
    uint64_t total;
    bool unsatisfiable;       /* 416: Content-Range * /total */
    const char *allow;        /* Allow (405) */
    const char *extra;        /* checked header lines, or NULL */
};

/* http_service.c */
void http_conn_free(struct conn *c);
void http_conn_arm_timer(struct conn *c, uint64_t ms);
bool http_build_head(struct conn *c, const struct resp *r, unsigned version_minor);
/* 0 when the response is out, 1 when the socket is full, -1 when the
 * connection is gone. */
int http_conn_write(struct conn *c);
/* Handles the complete requests buffered in READ; -1 when gone. */
int http_conn_process(struct conn *c);
void http_count_error(const char *reason);
void http_count_sent(uint64_t n);
bool http_may_log_bad(void);

/* http_api_conn.c */
bool http_api_is_path(const char *path);
/* The body cap for this request (PUT /api/v1/state has its own). */
uint64_t http_api_body_cap(const struct http_service *svc, const struct http_request *req, const char *path);
/* Starts an API exchange for a parsed head: the connection enters BODY. */
void http_api_begin(struct conn *c, const struct http_request *req, const char *path, const char *query,
                    size_t query_len);
/* After the head is consumed: takes body bytes already buffered, asks for
 * the rest (100 Continue) or answers. 1: a response is ready to write
 * (WRITE), 0: waiting, -1: the connection is gone. */
int http_api_after_head(struct conn *c);
void http_api_on_read(struct conn *c);
void http_api_on_write(struct conn *c);
void http_api_on_timer(struct conn *c);
/* The connection is going away: on_gone / on_close run, all freed. */
void http_api_conn_gone(struct conn *c);
void http_api_metrics_setup(void);

#endif
