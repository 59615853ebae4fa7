/* midwife events [--host H] [--mac M] [--kind K] [--limit N] [--follow] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_cmd.h"
#include "cli/cli_sse.h"
#include "util/strnum.h"

static const char events_usage[] =
    "usage: midwife events [--host NAME] [--mac MAC] [--kind KIND] [--after ID]\n"
    "                      [--limit N] [-f|--follow]\n"
    "  the flight recorder: DHCP, TFTP, HTTP, tokens, births, reports, state\n"
    "  changes and hooks, oldest first; --kind dhcp is every dhcp.* event\n" CLI_PAGING_USAGE
    "  --follow: then every new event as it happens (Ctrl-C stops; with --limit N\n"
    "  it stops after N); a lost connection is resumed where it stopped\n"
    "  -o json: a JSON array, or with --follow one JSON object per line\n";

#define WHAT "midwife events"
#define RECONNECT_MIN_MS 500
#define RECONNECT_MAX_MS 30000

enum { OPT_HOST = 256, OPT_MAC, OPT_KIND, OPT_AFTER, OPT_FOLLOW };

struct events_opts {
    const char *host, *mac, *kind;
    bool follow;
    struct cli_paging paging;
};

static int events_opt(int c, const char *arg, void *ctx)
{
    struct events_opts *o = ctx;
    switch (c) {
    case OPT_HOST: o->host = arg; return CLI_OK;
    case OPT_MAC: o->mac = arg; return CLI_OK;
    case OPT_KIND: o->kind = arg; return CLI_OK;
    case OPT_AFTER: o->paging.after = arg; return CLI_OK;
    case 'f':
    case OPT_FOLLOW: o->follow = true; return CLI_OK;
    default: {
        int r = cli_paging_opt(&o->paging, c, arg, WHAT);
        return r == 1 ? CLI_USAGE : r;
    }
    }
}

/* The event's time: the API's RFC 3339 string, or milliseconds. */
static const char *event_time(const json_t *ev, char *out, size_t outlen)
{
    static const char *const keys[] = {"time", "ts", "at"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(ev, keys[i]);
        if (json_is_integer(v)) {
            char t[32];
            snprintf(out, outlen, "%s", cli_time_ms((long long)json_integer_value(v), t));
            return out;
        }
        if (json_is_string(v))
            return cli_cell(v, out, outlen);
    }
    json_t *ms = json_object_get(ev, "ts_ms");
    char t[32];
    snprintf(out, outlen, "%s", json_is_integer(ms) ? cli_time_ms((long long)json_integer_value(ms), t) : "-");
    return out;
}

/* One line per event for people (fixed widths: a stream cannot be
 * aligned after the fact). */
static void print_event_line(const json_t *ev)
{
    char id[32], t[64], kind[64], st[16], host[CLI_CELL_MAX], mac[32], msg[CLI_CELL_MAX];
    printf("%-7s %-24s %-16s %-4s %-16s %-17s %s\n", cli_cell(json_object_get(ev, "id"), id, sizeof id),
           event_time(ev, t, sizeof t), cli_cell(json_object_get(ev, "kind"), kind, sizeof kind),
           cli_cell(json_object_get(ev, "status"), st, sizeof st),
           cli_cell(json_object_get(ev, "host"), host, sizeof host),
           cli_cell(json_object_get(ev, "mac"), mac, sizeof mac),
           cli_cell(json_object_get(ev, "message"), msg, sizeof msg));
    fflush(stdout);
}

static void add_filters(struct cli_query *q, const struct events_opts *o)
{
    cli_query_add(q, "host", o->host);
    cli_query_add(q, "mac", o->mac);
    cli_query_add(q, "kind", o->kind);
}

static int list_events(struct cli_api *a, const struct cli_globals *g, const struct events_opts *o)
{
    struct cli_query q;
    cli_query_init(&q, "/events");
    add_filters(&q, o);
    json_t *items;
    int rc = cli_list_all(a, q.buf, &o->paging, &items);
    if (rc != CLI_OK)
        return rc;
    if (!g->json) {
        /* A finished list can be aligned: a table. */
        size_t i;
        json_t *ev;
        json_array_foreach(items, i, ev) {
            char t[64];
            json_object_set_new(ev, "when", json_string(event_time(ev, t, sizeof t)));
        }
    }
    static const char *const headers[] = {"ID", "TIME", "KIND", "STATUS", "HOST", "MAC", "MESSAGE"};
    static const char *const keys[] = {"id", "when", "kind", "status", "host", "mac", "message"};
    return cli_print_items(g, items, 7, headers, keys, cli_state_colour);
}

/* ---- --follow ------------------------------------------------------------- */

struct follow {
    struct sse_parser *sse;
    bool json;
    size_t limit, seen;
    size_t this_connection; /* events since the last (re)connection */
};

static int on_event(void *arg, const struct sse_event *e)
{
    struct follow *f = arg;
    json_error_t err;
    json_t *ev = json_loadb(e->data, e->data_len, 0, &err);
    if (!json_is_object(ev)) {
        /* Not ours to judge; say so and go on with the next. */
        fprintf(stderr, "midwife: an event that is not a JSON object (%s): skipped\n", ev ? "not an object" : err.text);
        json_decref(ev);
        return 0;
    }
    if (f->json)
        cli_print_json_line(ev);
    else
        print_event_line(ev);
    json_decref(ev);
    f->this_connection++;
    return f->limit && ++f->seen >= f->limit;
}

static int on_bytes(void *arg, const char *buf, size_t len)
{
    struct follow *f = arg;
    return sse_feed(f->sse, buf, len, on_event, f);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

static int follow_events(struct cli_api *a, const struct cli_globals *g, const struct events_opts *o)
{
    struct sse_parser *sse = malloc(sizeof *sse);
    if (!sse)
        return CLI_FAIL;
    sse_init(sse);
    if (o->paging.after)
        snprintf(sse->last_id, sizeof sse->last_id, "%s", o->paging.after);
    struct follow f = {.sse = sse, .json = g->json, .limit = o->paging.limit};
    long backoff = RECONNECT_MIN_MS;
    int rc;
    for (;;) {
        struct cli_query q;
        cli_query_init(&q, "/events");
        add_filters(&q, o);
        cli_query_add(&q, "follow", "1");
        cli_query_add(&q, "after", sse->last_id[0] ? sse->last_id : NULL);
        long status;
        f.this_connection = 0;
        rc = cli_api_stream(a, q.buf, sse->last_id, on_bytes, &f, &status, true);
        if (rc == CLI_OK)
            break; /* --limit reached */
        sse_reset_connection(sse);
        /* Refused (printed): asking again changes nothing, unless the
         * server or a proxy in front of it is only busy or restarting. */
        if (status >= 400 && status != 502 && status != 503 && status != 504)
            break;
        if (f.this_connection)
            backoff = RECONNECT_MIN_MS;
        long wait = sse->retry_ms >= 0 && sse->retry_ms > backoff ? sse->retry_ms : backoff;
        if (wait > RECONNECT_MAX_MS)
            wait = RECONNECT_MAX_MS;
        fprintf(stderr, "midwife: the event stream ended%s; again in %.1f s%s%s\n",
                status ? "" : " (connection lost)", (double)wait / 1000, sse->last_id[0] ? " after event " : "",
                sse->last_id);
        sleep_ms(wait);
        backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
    }
    free(sse);
    return rc;
}

int cli_events_main(int argc, char **argv, struct cli_globals *g)
{
    static const struct option opts[] = {{"host", required_argument, NULL, OPT_HOST},
                                         {"mac", required_argument, NULL, OPT_MAC},
                                         {"kind", required_argument, NULL, OPT_KIND},
                                         {"after", required_argument, NULL, OPT_AFTER},
                                         {"follow", no_argument, NULL, OPT_FOLLOW},
                                         CLI_PAGING_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    argv[0] = (char *)WHAT;
    if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        fputs(events_usage, stdout);
        fputs(cli_globals_usage, stdout);
        return CLI_OK;
    }
    struct events_opts o = {0};
    int rc = cli_getopt(argc, argv, "f", opts, g, events_opt, &o, events_usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind != argc)
        return cli_usage_error(WHAT, events_usage, "events takes no operands");
    struct cli_api *a;
    if (cli_api_open(g, 0, &a) != CLI_OK)
        return CLI_FAIL;
    rc = o.follow ? follow_events(a, g, &o) : list_events(a, g, &o);
    cli_api_close(a);
    return rc;
}
