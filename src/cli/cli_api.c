/* The REST API client on libcurl. */
#include "cli/cli_api.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct cli_api {
    CURL *curl;
    char base[CLI_URL_MAX + 16]; /* "http://h:p/api/v1" */
    char server[CLI_URL_MAX];
    char auth[CLI_TOKEN_MAX + 32];
    char token_from[PATH_MAX + 32];
    long timeout_s;
    char curl_err[CURL_ERROR_SIZE];
};

/* A response body being received, capped. */
struct body {
    char *data;
    size_t len, cap, max;
    bool too_big;
};

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    if (n > b->max - b->len) {
        b->too_big = true;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static bool curl_ready;

int cli_api_open(const struct cli_globals *g, long timeout_s, struct cli_api **out)
{
    struct cli_target t;
    char err[PATH_MAX + 512];
    *out = NULL;
    if (cli_resolve_target(g, (cli_env_fn)getenv, &t, err, sizeof err) != CLI_OK) {
        fprintf(stderr, "midwife: %s\n", err);
        return CLI_FAIL;
    }
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "midwife: libcurl does not start\n");
            return CLI_FAIL;
        }
        curl_ready = true;
        atexit(curl_global_cleanup);
    }
    struct cli_api *a = calloc(1, sizeof *a);
    if (!a || !(a->curl = curl_easy_init())) {
        free(a);
        fprintf(stderr, "midwife: out of memory\n");
        return CLI_FAIL;
    }
    snprintf(a->server, sizeof a->server, "%s", t.server);
    snprintf(a->base, sizeof a->base, "%s/api/v1", t.server);
    snprintf(a->auth, sizeof a->auth, "Authorization: Bearer %s", t.token);
    snprintf(a->token_from, sizeof a->token_from, "%s", t.token_from);
    a->timeout_s = g->timeout_s ? g->timeout_s : timeout_s ? timeout_s : CLI_API_TIMEOUT_S;
    explicit_bzero(t.token, sizeof t.token);
    *out = a;
    return CLI_OK;
}

void cli_api_close(struct cli_api *a)
{
    if (!a)
        return;
    curl_easy_cleanup(a->curl);
    explicit_bzero(a->auth, sizeof a->auth);
    free(a);
}

int cli_path_escape(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '.' || c == '_' || c == '~';
        if (o + (plain ? 1 : 3) >= outlen)
            return -ENAMETOOLONG;
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (o >= outlen)
        return -ENAMETOOLONG;
    out[o] = '\0';
    return 0;
}

void cli_query_init(struct cli_query *q, const char *path)
{
    q->too_long = (size_t)snprintf(q->buf, sizeof q->buf, "%s", path) >= sizeof q->buf;
    q->len = q->too_long ? 0 : strlen(q->buf);
}

void cli_query_add(struct cli_query *q, const char *key, const char *value)
{
    if (!value || q->too_long)
        return;
    char esc[CLI_PATH_MAX];
    if (cli_path_escape(value, esc, sizeof esc) < 0) {
        q->too_long = true;
        return;
    }
    int n = snprintf(q->buf + q->len, sizeof q->buf - q->len, "%c%s=%s", strchr(q->buf, '?') ? '&' : '?', key, esc);
    if (n < 0 || (size_t)n >= sizeof q->buf - q->len)
        q->too_long = true;
    else
        q->len += (size_t)n;
}

/* The options every request shares. */
static struct curl_slist *prepare(struct cli_api *a, const char *path, struct curl_slist *h)
{
    char url[sizeof a->base + CLI_PATH_MAX];
    snprintf(url, sizeof url, "%s%s", a->base, path);
    curl_easy_reset(a->curl);
    curl_easy_setopt(a->curl, CURLOPT_URL, url);
    curl_easy_setopt(a->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    /* The admin token goes to this server only: no proxy from the
     * environment, no redirects. */
    curl_easy_setopt(a->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(a->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT, (long)CLI_API_CONNECT_TIMEOUT_S);
    curl_easy_setopt(a->curl, CURLOPT_USERAGENT, "midwife/" MIDWIFE_VERSION);
    curl_easy_setopt(a->curl, CURLOPT_ERRORBUFFER, a->curl_err);
    a->curl_err[0] = '\0';
    h = curl_slist_append(h, a->auth);
    /* A body goes at once, not after an "Expect: 100-continue" pause. */
    h = curl_slist_append(h, "Expect:");
    return h;
}

static void print_transport_error(struct cli_api *a, CURLcode res, const struct body *b)
{
    if (b && b->too_big)
        fprintf(stderr, "midwife: %s: the answer is over %u MiB\n", a->server, (unsigned)(b->max >> 20));
    else if (res == CURLE_OPERATION_TIMEDOUT && b)
        fprintf(stderr, "midwife: %s: %s (--timeout SECONDS gives requests longer than %ld s)\n", a->server,
                a->curl_err[0] ? a->curl_err : "timed out", a->timeout_s);
    else
        fprintf(stderr, "midwife: cannot reach %s: %s%s%s%s\n", a->server, curl_easy_strerror(res),
                a->curl_err[0] ? " (" : "", a->curl_err, a->curl_err[0] ? ")" : "");
    if (res == CURLE_COULDNT_CONNECT)
        fputs("midwife: is `midwife serve` running there? (--server URL or $MIDWIFE_SERVER name another)\n",
              stderr);
}

void cli_api_print_error(struct cli_api *a, long status, const json_t *answer)
{
    const char *msg = json_string_value(json_object_get(answer, "error"));
    char esc[2048];
    if (msg)
        fprintf(stderr, "midwife: %ld %s\n", status, log_escape(esc, sizeof esc, msg, strlen(msg)));
    else
        fprintf(stderr, "midwife: %ld (the server gave no reason)\n", status);
    if (status == 401)
        fprintf(stderr, "midwife: the admin token came from %s; `midwife token rotate` on the server makes a new one\n",
                a->token_from);
}

int cli_api_try(struct cli_api *a, const char *method, const char *path, const json_t *body, long *status,
                json_t **out)
{
    *status = 0;
    if (out)
        *out = NULL;
    char *req = NULL;
    if (body && !(req = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
        fprintf(stderr, "midwife: out of memory\n");
        return CLI_FAIL;
    }
    struct curl_slist *h = prepare(a, path, NULL);
    h = curl_slist_append(h, "Accept: application/json");
    if (req)
        h = curl_slist_append(h, "Content-Type: application/json");
    struct body b = {.max = CLI_API_RESPONSE_MAX};
    curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(a->curl, CURLOPT_TIMEOUT, a->timeout_s);
    curl_easy_setopt(a->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)CLI_API_RESPONSE_MAX);
    curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &b);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(a->curl, CURLOPT_CUSTOMREQUEST, method);
    if (req) {
        curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, req);
        curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req));
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
        curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    CURLcode res = curl_easy_perform(a->curl);
    curl_slist_free_all(h);
    free(req);
    int rc = CLI_FAIL;
    if (res != CURLE_OK) {
        if (res == CURLE_FILESIZE_EXCEEDED)
            b.too_big = true;
        print_transport_error(a, res, &b);
        goto out;
    }
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, status);
    if (b.len > 0 && out) {
        json_error_t jerr;
        *out = json_loadb(b.data, b.len, JSON_DECODE_ANY, &jerr);
        if (!*out && *status >= 200 && *status < 300) {
            fprintf(stderr, "midwife: %ld from %s, but the answer is not JSON: %s\n", *status, a->server,
                    jerr.text);
            goto out;
        }
    }
    rc = CLI_OK;
out:
    free(b.data);
    return rc;
}

int cli_api_call(struct cli_api *a, const char *method, const char *path, const json_t *body, json_t **out)
{
    long status;
    json_t *answer = NULL;
    if (out)
        *out = NULL;
    if (cli_api_try(a, method, path, body, &status, &answer) != CLI_OK)
        return CLI_FAIL;
    if (status < 200 || status > 299) {
        cli_api_print_error(a, status, answer);
        json_decref(answer);
        return CLI_FAIL;
    }
    if (out)
        *out = answer;
    else
        json_decref(answer);
    return CLI_OK;
}

/* ---- streams ------------------------------------------------------------- */

struct stream_ctx {
    struct cli_api *a;
    int (*on_bytes)(void *arg, const char *buf, size_t len);
    void *arg;
    int checked; /* 0 not yet, 1 an event stream, -1 something else (kept as an error body) */
    bool stopped;
    struct body err;
};

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct stream_ctx *s = arg;
    size_t n = size * nmemb;
    if (!s->checked) {
        long status = 0;
        char *ct = NULL;
        curl_easy_getinfo(s->a->curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(s->a->curl, CURLINFO_CONTENT_TYPE, &ct);
        s->checked = status == 200 && ct && strncmp(ct, "text/event-stream", 17) == 0 ? 1 : -1;
    }
    if (s->checked < 0) {
        /* An error answer: keep its start for the message. */
        size_t room = s->err.max - s->err.len;
        struct body *b = &s->err;
        if (room > 0)
            body_write(ptr, 1, n < room ? n : room, b);
        return n;
    }
    if (s->on_bytes(s->arg, ptr, n)) {
        s->stopped = true;
        return 0;
    }
    return n;
}

int cli_api_stream(struct cli_api *a, const char *path, const char *last_id,
                   int (*on_bytes)(void *arg, const char *buf, size_t len), void *arg, long *status, bool quiet)
{
    *status = 0;
    struct curl_slist *h = prepare(a, path, NULL);
    h = curl_slist_append(h, "Accept: text/event-stream");
    char lei[160];
    if (last_id && last_id[0]) {
        snprintf(lei, sizeof lei, "Last-Event-ID: %s", last_id);
        h = curl_slist_append(h, lei);
    }
    struct stream_ctx s = {.a = a, .on_bytes = on_bytes, .arg = arg, .err = {.max = 64 * 1024}};
    curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(a->curl, CURLOPT_TIMEOUT, 0L); /* a stream lasts */
    /* A peer that vanished without a FIN is noticed. */
    curl_easy_setopt(a->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(a->curl, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(a->curl, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &s);
    CURLcode res = curl_easy_perform(a->curl);
    curl_slist_free_all(h);
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, status);
    int rc = CLI_FAIL;
    if (s.stopped) {
        rc = CLI_OK;
    } else if (s.checked < 0 || (res == CURLE_OK && *status != 200)) {
        json_t *answer = s.err.len ? json_loadb(s.err.data, s.err.len, 0, NULL) : NULL;
        if (*status >= 200 && *status < 300)
            fprintf(stderr, "midwife: %ld from %s, but not an event stream\n", *status, a->server);
        else
            cli_api_print_error(a, *status, answer);
        json_decref(answer);
    } else if (!quiet) {
        if (res == CURLE_OK)
            fprintf(stderr, "midwife: %s closed the event stream\n", a->server);
        else
            print_transport_error(a, res, NULL);
    }
    free(s.err.data);
    return rc;
}
