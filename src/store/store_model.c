/* The inventory's plain-data helpers: names of states and modes, field
 * checks, init/clear of the structs that own JSON text. No SQL here. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_events.h"
#include "store/store_inventory.h"

static const char *const state_names[HOST_STATE_COUNT] = {
    "unknown", "discovered", "booting", "born", "configuring", "ready", "failed", "retired",
};
static const char *const mode_names[] = {"stateless", "stateful", "sanboot", "local"};
#define N_MODES (sizeof mode_names / sizeof mode_names[0])

const char *host_state_name(enum host_state s)
{
    return (unsigned)s < HOST_STATE_COUNT ? state_names[s] : "unknown";
}

int host_state_parse(const char *s, enum host_state *out)
{
    for (unsigned i = 0; s && i < HOST_STATE_COUNT; i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum host_state)i;
            return 0;
        }
    return -EINVAL;
}

const char *host_mode_name(enum host_mode m)
{
    return (unsigned)m < N_MODES ? mode_names[m] : "stateless";
}

int host_mode_parse(const char *s, enum host_mode *out)
{
    for (unsigned i = 0; s && i < N_MODES; i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (enum host_mode)i;
            return 0;
        }
    return -EINVAL;
}

const char *event_status_name(enum event_status s)
{
    switch (s) {
    case EVENT_OK: return "ok";
    case EVENT_FAIL: return "fail";
    case EVENT_INFO: break;
    }
    return "info";
}

static int dup_empty_object(char **p)
{
    *p = strdup("{}");
    return *p ? 0 : -ENOMEM;
}

int host_init(struct host *h)
{
    memset(h, 0, sizeof *h);
    if (dup_empty_object(&h->labels) < 0 || dup_empty_object(&h->vars) < 0 || dup_empty_object(&h->facts) < 0) {
        host_clear(h);
        return -ENOMEM;
    }
    return 0;
}

void host_clear(struct host *h)
{
    free(h->labels);
    free(h->vars);
    free(h->facts);
    h->labels = h->vars = h->facts = NULL;
}

void profile_clear(struct profile *p)
{
    free(p->doc);
    p->doc = NULL;
}

int rule_init(struct rule *r)
{
    memset(r, 0, sizeof *r);
    r->mode = -1;
    if (dup_empty_object(&r->match) < 0 || dup_empty_object(&r->labels) < 0) {
        rule_clear(r);
        return -ENOMEM;
    }
    return 0;
}

void rule_clear(struct rule *r)
{
    free(r->match);
    free(r->labels);
    r->match = r->labels = NULL;
}

bool host_uuid_valid(const char *s)
{
    if (!s || strlen(s) != HOST_UUID_LEN)
        return false;
    for (size_t i = 0; i < HOST_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

bool host_serial_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= HOST_SERIAL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._:/+- ", s[i]))
            return false;
    return true;
}
