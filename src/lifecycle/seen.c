/* The lifecycle's bounded memory of machines (seen.h). */
#include "lifecycle/seen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/store_events.h"
#include "util/addr.h"

#define WAYS 4

/* One slot of any table: the key is a MAC, or an IPv4 address (network
 * order) in its first four bytes. */
struct slot {
    uint8_t key[6];
    uint8_t mac[6];  /* bound boots: the MAC bound at the address */
    unsigned folded; /* script repeats: requests left out since the last event */
    int64_t at_ms;   /* 0: empty */
};

struct table {
    size_t sets;
    struct slot *slots; /* sets x WAYS, allocated on first use */
};

struct seen {
    struct table repeats; /* by MAC: token-less script requests */
    struct table answers; /* by MAC: proxy answers */
    struct table bound;   /* by address: boots bound in proxy mode */
};

struct seen *seen_new(void)
{
    struct seen *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->repeats.sets = 16384; /* 65536 machines remembered, 1.5 MiB */
    s->answers.sets = 4096;  /* 16384 machines booting at once */
    s->bound.sets = 4096;
    return s;
}

void seen_free(struct seen *s)
{
    if (!s)
        return;
    free(s->repeats.slots);
    free(s->answers.slots);
    free(s->bound.slots);
    free(s);
}

static struct slot *set_of(const struct table *t, const uint8_t key[6])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 6; i++)
        h = (h ^ key[i]) * 16777619u;
    return t->slots + (size_t)(h % t->sets) * WAYS;
}

/* The slot holding key, or NULL. */
static struct slot *find(const struct table *t, const uint8_t key[6])
{
    if (!t->slots)
        return NULL;
    struct slot *set = set_of(t, key);
    for (int w = 0; w < WAYS; w++)
        if (set[w].at_ms && memcmp(set[w].key, key, 6) == 0)
            return &set[w];
    return NULL;
}

/* The slot holding key, else the way of its set used longest ago, emptied
 * and given the key; NULL only when the table cannot be allocated. */
static struct slot *take(struct table *t, const uint8_t key[6])
{
    struct slot *r = find(t, key);
    if (r)
        return r;
    if (!t->slots && !(t->slots = calloc(t->sets * WAYS, sizeof *t->slots)))
        return NULL;
    struct slot *set = set_of(t, key);
    r = &set[0];
    for (int w = 1; w < WAYS; w++)
        if (set[w].at_ms < r->at_ms)
            r = &set[w];
    memset(r, 0, sizeof *r);
    memcpy(r->key, key, 6);
    return r;
}

static void addr_key(uint32_t addr, uint8_t key[6])
{
    memset(key, 0, 6);
    memcpy(key, &addr, 4);
}

bool seen_script_event_due(struct seen *s, const uint8_t mac[6], int64_t now_ms, unsigned *folded)
{
    *folded = 0;
    struct slot *r = find(&s->repeats, mac);
    if (r && now_ms - r->at_ms < SEEN_SCRIPT_REPEAT_MS) {
        r->folded++;
        return false;
    }
    if (r)
        *folded = r->folded;
    else if (!(r = take(&s->repeats, mac)))
        return true; /* no memory: every request is an event */
    r->at_ms = now_ms;
    r->folded = 0;
    return true;
}

void seen_proxy_answer(struct seen *s, const uint8_t mac[6], int64_t at_ms)
{
    struct slot *r = take(&s->answers, mac);
    if (r && at_ms > r->at_ms)
        r->at_ms = at_ms;
}

int64_t seen_proxy_answer_ago(const struct seen *s, const uint8_t mac[6], int64_t now_ms)
{
    const struct slot *r = find(&s->answers, mac);
    if (!r)
        return -1;
    return now_ms >= r->at_ms ? now_ms - r->at_ms : 0;
}

void seen_proxy_bound(struct seen *s, uint32_t addr, const uint8_t mac[6], int64_t at_ms)
{
    uint8_t key[6];
    addr_key(addr, key);
    struct slot *r = take(&s->bound, key);
    if (r && at_ms >= r->at_ms) {
        memcpy(r->mac, mac, 6);
        r->at_ms = at_ms;
    }
}

int seen_proxy_mac_at(const struct seen *s, uint32_t addr, int64_t now_ms, int64_t max_age_ms, uint8_t mac[6])
{
    uint8_t key[6];
    addr_key(addr, key);
    const struct slot *r = find(&s->bound, key);
    if (!r || now_ms - r->at_ms > max_age_ms)
        return -ENOENT;
    memcpy(mac, r->mac, 6);
    return 0;
}

struct recall {
    struct seen *s;
    int64_t answers_since;
    unsigned answers, bound;
};

static int recall_event(const struct event *ev, void *arg)
{
    struct recall *rc = arg;
    uint8_t mac[6];
    if (!ev->data || parse_mac(ev->mac, mac) < 0)
        return 0;
    json_t *d = json_loads(ev->data, 0, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        return 0;
    }
    bool answer = strcmp(ev->kind, "dhcp.offer") == 0 || strcmp(ev->kind, "dhcp.ack") == 0;
    if (answer && json_is_true(json_object_get(d, "proxy")) && ev->ts_ms >= rc->answers_since) {
        seen_proxy_answer(rc->s, mac, ev->ts_ms);
        rc->answers++;
    }
    uint32_t peer;
    const char *p = json_string_value(json_object_get(d, "peer"));
    if (strcmp(ev->kind, "http.script") == 0 && json_is_true(json_object_get(d, "token")) && p &&
        parse_ipv4(p, &peer) == 0) {
        seen_proxy_bound(rc->s, peer, mac, ev->ts_ms);
        rc->bound++;
    }
    json_decref(d);
    return 0;
}

int seen_recall_proxy(struct seen *s, struct store *st, int64_t now_ms, int64_t answer_window_ms,
                      int64_t bound_window_ms, unsigned *answers, unsigned *bound)
{
    struct recall rc = {.s = s, .answers_since = now_ms - answer_window_ms};
    /* Oldest first: a later event of a machine replaces an earlier one. */
    int64_t since = now_ms - (answer_window_ms > bound_window_ms ? answer_window_ms : bound_window_ms);
    static const char *const kinds[] = {"dhcp.offer", "dhcp.ack", "http.script"};
    int r = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && r >= 0; k++) {
        struct event_filter f = {.kind = kinds[k], .since_ms = k < 2 ? rc.answers_since : since};
        r = store_event_query(st, &f, recall_event, &rc);
    }
    *answers = rc.answers;
    *bound = rc.bound;
    return r < 0 ? -EIO : 0;
}
