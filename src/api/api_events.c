/* GET /api/v1/events: the flight recorder, as pages of JSON or as a live
 * Server-Sent Events stream. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_events.h"
#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "util/addr.h"

json_t *api_event_json(const struct event *ev)
{
    json_t *data = NULL;
    if (ev->data && ev->data[0])
        data = json_loads(ev->data, 0, NULL);
    return json_pack("{s:I, s:o, s:s?, s:I, s:s?, s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)ev->id, "time",
                     json_time_ms(ev->ts_ms), "host", ev->host[0] ? ev->host : NULL, "host_id",
                     (json_int_t)ev->host_id, "mac", ev->mac[0] ? ev->mac : NULL, "boot_id", (json_int_t)ev->boot_id,
                     "kind", ev->kind, "status", event_status_name(ev->status), "message", ev->message, "data",
                     data ? data : json_object());
}

/* The filter of a request; false when it answered (400/404). */
struct ev_query {
    struct event_filter f;
    char mac[EVENT_MAC_LEN + 1];
    char kind[EVENT_KIND_MAX];
    bool follow;
};

static bool parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0)
        return false;
    *out = v;
    return true;
}

static bool read_query(struct api *a, const struct http_api_request *req, struct http_api_response *resp,
                       struct ev_query *q)
{
    memset(q, 0, sizeof *q);
    char buf[128];
    const char *v;
    if ((v = api_query(req, "host", buf, sizeof buf))) {
        struct host h;
        if (store_host_by_name(a->st, v, &h) < 0) {
            api_error(resp, 404, "host", "host: no host named '%s'", v);
            return false;
        }
        q->f.host_id = h.id;
        host_clear(&h);
    }
    if ((v = api_query(req, "mac", buf, sizeof buf))) {
        uint8_t mac[6];
        if (parse_mac(v, mac) < 0) {
            api_error(resp, 400, "mac", "mac: not a MAC address");
            return false;
        }
        format_mac(mac, q->mac);
        q->f.mac = q->mac;
    }
    if ((v = api_query(req, "kind", buf, sizeof buf))) {
        for (const char *p = v; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || *p == '.' || *p == '_')) {
                api_error(resp, 400, "kind", "kind: a kind is lowercase words joined by dots, like dhcp.ack");
                return false;
            }
        snprintf(q->kind, sizeof q->kind, "%s", v);
        q->f.kind = q->kind;
    }
    if ((v = api_query(req, "after", buf, sizeof buf)) && !parse_id(v, &q->f.after_id)) {
        api_error(resp, 400, "after", "after: expected an event id");
        return false;
    }
    if (req->last_event_id && !parse_id(req->last_event_id, &q->f.after_id)) {
        api_error(resp, 400, "Last-Event-ID", "Last-Event-ID: expected an event id");
        return false;
    }
    q->f.limit = API_LIST_DEFAULT;
    if ((v = api_query(req, "limit", buf, sizeof buf))) {
        int64_t n;
        if (!parse_id(v, &n) || n < 1 || n > API_LIST_MAX) {
            api_error(resp, 400, "limit", "limit: expected 1..%d", API_LIST_MAX);
            return false;
        }
        q->f.limit = (size_t)n;
    }
    v = api_query(req, "follow", buf, sizeof buf);
    q->follow = req->accepts_event_stream || (v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0));
    return true;
}

static bool event_matches(const struct event_filter *f, const struct event *ev)
{
    if (f->host_id && ev->host_id != f->host_id)
        return false;
    if (f->mac && strcmp(f->mac, ev->mac) != 0)
        return false;
    if (f->kind) {
        size_t n = strlen(f->kind);
        if (strncmp(ev->kind, f->kind, n) != 0 || (ev->kind[n] != '\0' && ev->kind[n] != '.'))
            return false;
    }
    return true;
}

/* ---- pages ---- */

static int add_item(const struct event *ev, void *arg)
{
    json_array_append_new(arg, api_event_json(ev));
    return 0;
}

/* ---- streams ---- */

struct follower {
    struct api *api;
    struct http_stream *stream;
    struct lifecycle_sub *sub;
    struct ev_query q;
};

/* One SSE frame: the JSON has no newlines (compact), so one data line. */
static int send_event(struct follower *fl, const struct event *ev)
{
    json_t *j = api_event_json(ev);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return -ENOMEM;
    size_t n = strlen(s) + 128;
    char *frame = malloc(n);
    int r = -ENOMEM;
    if (frame) {
        int len = snprintf(frame, n, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)ev->id, ev->kind, s);
        r = http_stream_write(fl->stream, frame, (size_t)len);
    }
    free(frame);
    free(s);
    return r;
}

static void on_live(void *arg, const struct event *ev)
{
    struct follower *fl = arg;
    if (!event_matches(&fl->q.f, ev))
        return;
    /* A failed write ends the stream; its close callback (from the loop,
     * later) unsubscribes and frees fl. */
    send_event(fl, ev);
}

static void on_stream_closed(void *arg)
{
    struct follower *fl = arg;
    lifecycle_unsubscribe(fl->api->lc, fl->sub);
    free(fl);
}

static int backlog_one(const struct event *ev, void *arg)
{
    return send_event(arg, ev) < 0 ? 1 : 0;
}

static void on_stream_open(struct http_stream *s, void *arg)
{
    struct follower *fl = arg;
    if (!s) { /* the stream could not be opened (stream cap, HEAD) */
        free(fl);
        return;
    }
    fl->stream = s;
    http_stream_on_close(s, on_stream_closed, fl);
    /* Subscribing before the backlog is read, with the backlog read up to
     * now, could send an event twice; the loop is single-threaded, so the
     * backlog read and the subscription happen with nothing in between. */
    lifecycle_flush(fl->api->lc);
    int stop = 0;
    if (fl->q.f.after_id > 0) {
        struct event_filter f = fl->q.f;
        f.limit = 0;
        stop = store_event_query(fl->api->st, &f, backlog_one, fl);
    }
    if (stop) /* the stream ended; on_stream_closed follows and frees fl */
        return;
    fl->sub = lifecycle_subscribe(fl->api->lc, on_live, fl);
    if (!fl->sub)
        http_stream_close(s);
}

void api_route_events(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp)
{
    if (rest[0]) {
        api_error(resp, 404, NULL, "not found");
        return;
    }
    if (req->method != API_GET && req->method != API_HEAD) {
        api_method_not_allowed(resp, "GET, HEAD");
        return;
    }
    if (!api_admin(a, req, resp))
        return;
    struct ev_query q;
    if (!read_query(a, req, resp, &q))
        return;
    if (q.follow) {
        struct follower *fl = calloc(1, sizeof *fl);
        if (!fl) {
            api_error(resp, 500, NULL, "out of memory");
            return;
        }
        fl->api = a;
        fl->q = q;
        fl->q.f.mac = q.f.mac ? fl->q.mac : NULL;
        fl->q.f.kind = q.f.kind ? fl->q.kind : NULL;
        resp->stream_open = on_stream_open;
        resp->stream_arg = fl;
        return;
    }
    lifecycle_flush(a->lc);
    json_t *items = json_array();
    struct event_filter f = q.f;
    size_t limit = f.limit;
    if (f.after_id == 0) {
        /* No starting point: the newest page, shown oldest first. */
        f.newest_first = true;
        store_event_query(a->st, &f, add_item, items);
        size_t n = json_array_size(items);
        for (size_t i = 0; i < n / 2; i++) {
            json_t *x = json_incref(json_array_get(items, i));
            json_array_set(items, i, json_array_get(items, n - 1 - i));
            json_array_set_new(items, n - 1 - i, x);
        }
    } else {
        store_event_query(a->st, &f, add_item, items);
    }
    size_t n = json_array_size(items);
    json_t *next = json_null();
    if (n == limit && f.after_id != 0)
        next = json_integer(json_integer_value(json_object_get(json_array_get(items, n - 1), "id")));
    api_json(resp, 200, json_pack("{s:o, s:o}", "items", items, "next", next));
}
