/* Fuzzes the birth's facts and the agent's reports (lifecycle/birth.c)
 * through lifecycle_birth() and lifecycle_report(), on a real store in a
 * temp dir made once per process ($TMPDIR, else /tmp), with one host
 * ("n1", two MACs) and a twin record carrying a third MAC, a UUID and a
 * serial that a birth may fold into it. Each input gets a fresh boot
 * token, so both the accepted and the refused paths run. Events and
 * tokens are pruned every PRUNE_EVERY inputs so the store stays small.
 *
 * Input: byte 0 picks the call (bit 0: report, else birth) and the bearer
 * (bits 1-2: 0 and 1 the boot's own token — for a report, after a birth
 * with fixed facts —, 2 none, 3 one never issued); the rest is the JSON
 * text (not JSON: nothing to do).
 *
 * Checked: the status is one the API answers (200, 400, 401, 422; a 500,
 * a store error, never happens on a healthy store), with an error for
 * each refusal and a field for each 400; a bad bearer is always 401; a
 * birth's 200 carries a JSON object document, leaves the host born and
 * its facts stored as sent, and a refused birth changes nothing of the
 * host; a report's 200 names the host's state as stored. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "conf/conf.h"
#include "lifecycle/birth.h"
#include "lifecycle/lifecycle.h"
#include "store/store_events.h"
#include "store/store_inventory.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "http://192.0.2.1:8080"
#define PEER 0xc0000264u /* 192.0.2.100 */
#define PRUNE_EVERY 64
#define EVENTS_KEPT 256

static const uint8_t MAC1[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x01};
static const uint8_t MAC2[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x02};
static const uint8_t MAC3[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x03};
static const char TWIN_UUID[] = "4c4c4544-0042-3510-8051-b7c04f4e3332";
static const char TWIN_SERIAL[] = "SN-TWIN-1";

static char dir[256];
static struct conf conf;
static struct store *st;
static struct lifecycle *lc;
static int64_t host_id;
static unsigned runs;

static void remove_dir(void)
{
    if (lc)
        lifecycle_stop(lc);
    if (st)
        store_close(st);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(dir);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/midwife-fuzz-birth-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    char err[256];
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    if (!mkdtemp(dir))
        abort();
    atexit(remove_dir);
    snprintf(conf.state_dir, sizeof conf.state_dir, "%s", dir);
    conf.token_ttl = 3600;
    conf.events_keep = 1000;
    if (store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0 || lifecycle_start(NULL, &conf, st, &lc) < 0)
        abort();
    struct host h;
    if (host_init(&h) < 0)
        abort();
    snprintf(h.name, sizeof h.name, "n1");
    memcpy(h.macs[0], MAC1, 6);
    memcpy(h.macs[1], MAC2, 6);
    h.n_macs = 2;
    if (store_host_put(st, &h, NULL) < 0)
        abort();
    host_id = h.id;
    host_clear(&h);
}

/* Back to the host as made: a birth before may have added MACs, a UUID,
 * a serial; and the twin back if a birth folded it. */
static void reset_hosts(void)
{
    struct host h;
    if (store_host_get(st, host_id, &h) < 0)
        abort();
    memset(h.macs, 0, sizeof h.macs);
    memcpy(h.macs[0], MAC1, 6);
    memcpy(h.macs[1], MAC2, 6);
    h.n_macs = 2;
    h.uuid[0] = h.serial[0] = '\0';
    if (store_host_put(st, &h, NULL) < 0)
        abort();
    host_clear(&h);
    if (store_host_by_name(st, "twin", &h) == 0) {
        host_clear(&h);
        return;
    }
    if (host_init(&h) < 0)
        abort();
    snprintf(h.name, sizeof h.name, "twin");
    memcpy(h.macs[0], MAC3, 6);
    h.n_macs = 1;
    snprintf(h.uuid, sizeof h.uuid, "%s", TWIN_UUID);
    snprintf(h.serial, sizeof h.serial, "%s", TWIN_SERIAL);
    if (store_host_put(st, &h, NULL) < 0)
        abort();
    host_clear(&h);
}

static bool same_host(const struct host *a, const struct host *b)
{
    return a->n_macs == b->n_macs && memcmp(a->macs, b->macs, sizeof a->macs) == 0 &&
           strcmp(a->uuid, b->uuid) == 0 && strcmp(a->serial, b->serial) == 0 && a->state == b->state &&
           a->boot_id == b->boot_id && strcmp(a->facts ? a->facts : "", b->facts ? b->facts : "") == 0;
}

static void check_birth(const json_t *facts, const char *bearer, bool good_token, const struct host *before)
{
    struct birth_outcome o;
    lifecycle_birth(lc, bearer, facts, PEER, BASE, &o);
    if (o.status != 200 && o.status != 400 && o.status != 401 && o.status != 422)
        abort();
    if (!good_token && o.status != 401)
        abort();
    if (strnlen(o.error, sizeof o.error) >= sizeof o.error || strnlen(o.field, sizeof o.field) >= sizeof o.field)
        abort();
    if (o.status != 200 && (!o.error[0] || o.doc))
        abort();
    if (o.status == 400 && !o.field[0])
        abort();
    struct host now;
    if (store_host_get(st, host_id, &now) < 0)
        abort();
    if (o.status == 200) {
        json_t *doc = o.doc ? json_loads(o.doc, 0, NULL) : NULL;
        char *sent = json_dumps(facts, JSON_COMPACT);
        if (!json_is_object(doc) || now.state != HOST_BORN || !sent || !now.facts || strcmp(now.facts, sent) != 0)
            abort();
        free(sent);
        json_decref(doc);
    } else if (!same_host(before, &now)) {
        abort(); /* nothing changes on a refusal */
    }
    host_clear(&now);
    free(o.doc);
}

static void check_report(const json_t *body, const char *bearer, bool good_token)
{
    struct report_outcome o;
    lifecycle_report(lc, bearer, body, PEER, &o);
    if (o.status != 200 && o.status != 400 && o.status != 401)
        abort();
    if ((o.status == 401) == good_token)
        abort();
    if (strnlen(o.error, sizeof o.error) >= sizeof o.error || strnlen(o.field, sizeof o.field) >= sizeof o.field ||
        strnlen(o.state, sizeof o.state) >= sizeof o.state || strnlen(o.reason, sizeof o.reason) >= sizeof o.reason)
        abort();
    if (o.status != 200 && !o.error[0])
        abort();
    if (o.status == 400 && !o.field[0])
        abort();
    if (o.status == 200) {
        struct host now;
        if (store_host_get(st, host_id, &now) < 0 || strcmp(o.state, host_state_name(now.state)) != 0)
            abort();
        host_clear(&now);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;
    if (!st)
        setup();
    /* Bounded: every input leaves events and a token behind (revoked by
     * the next boot, kept until it expires). Tokens "expired" before a
     * time past every expiry are all of them; this input's comes after. */
    if (++runs % PRUNE_EVERY == 0 &&
        (store_event_prune(st, EVENTS_KEPT, 0, NULL) < 0 ||
         store_token_prune(st, lifecycle_now_ms() + 2 * (int64_t)conf.token_ttl * 1000) < 0))
        abort();
    bool report = data[0] & 1;
    unsigned which = data[0] >> 1 & 3;

    reset_hosts();
    struct host h;
    if (store_host_get(st, host_id, &h) < 0)
        abort();
    char tok[BOOT_TOKEN_LEN + 1];
    if (lifecycle_boot_begin(lc, &h, tok, "fuzz") < 0)
        abort();
    host_clear(&h);
    const char *bearer = which < 2 ? tok : which == 2 ? (report ? "" : NULL) : "0123456789abcdef";

    if (report && which < 2) {
        /* Reports need a born boot. */
        json_t *f = json_pack("{s:[s]}", "macs", "52:54:00:00:00:01");
        struct birth_outcome o;
        lifecycle_birth(lc, tok, f, PEER, BASE, &o);
        json_decref(f);
        free(o.doc);
        if (o.status != 200)
            abort();
    }
    struct host before;
    if (store_host_get(st, host_id, &before) < 0)
        abort();
    if (report)
        check_report(j, bearer, which < 2);
    else
        check_birth(j, bearer, which < 2, &before);
    host_clear(&before);
    lifecycle_flush(lc);
    json_decref(j);
    return 0;
}
