/* GET /api/v1/explain/MAC: what the servers would hand this client now
 * and why, and from its recent events what went wrong. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_events.h"
#include "api/api_internal.h"
#include "boot/boot.h"
#include "boot/script.h"
#include "inventory/model_json.h"
#include "inventory/rules.h"
#include "lifecycle/discover.h"
#include "lifecycle/explain.h"
#include "util/addr.h"

#define EXPLAIN_EVENTS 500  /* recent events the diagnosis reads */
#define EXPLAIN_SHOWN 30    /* of which the answer lists the newest */
#define EXPLAIN_FINDINGS 8

struct ev_list {
    struct event *v;
    size_t n;
};

static int keep_event(const struct event *ev, void *arg)
{
    struct ev_list *l = arg;
    struct event *c = &l->v[l->n];
    *c = *ev;
    c->data = ev->data ? strdup(ev->data) : NULL;
    l->n++;
    return 0;
}

static void free_events(struct ev_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].data);
    free(l->v);
}

/* What DHCP would answer a PXE ROM and then iPXE on this MAC. */
static json_t *dhcp_view(struct api *a, const uint8_t mac[6], bool known, int32_t arch, uint32_t server)
{
    json_t *o = json_object();
    static const char pxe[] = "PXEClient:Arch:00000:UNDI:002001";
    static const char ipxe[] = "iPXE";
    struct boot_identity id = {.has_mac = true, .arch = arch, .known = known,
                               .vendor_class = (const uint8_t *)pxe, .vendor_class_len = sizeof pxe - 1};
    memcpy(id.mac, mac, 6);
    id.server_addr = server;
    struct boot_plan plan;
    boot_decide(a->conf, &id, &plan);
    json_object_set_new(o, "firmware", json_pack("{s:b, s:s, s:s}", "answer", plan.answer, "file", plan.filename,
                                                 "why", plan.reason));
    id.user_class = (const uint8_t *)ipxe;
    id.user_class_len = sizeof ipxe - 1;
    boot_decide(a->conf, &id, &plan);
    json_object_set_new(o, "ipxe", json_pack("{s:b, s:s, s:s}", "answer", plan.answer, "file", plan.filename,
                                             "why", plan.reason));
    return o;
}

static json_t *lease_json(const struct store_lease *l)
{
    char addr[IPV4_STRLEN];
    return json_pack("{s:s, s:s, s:o, s:o, s:i}", "address", format_ipv4(l->address, addr), "subnet", l->subnet,
                     "starts", json_time_ms(l->starts * 1000), "expires", json_time_ms(l->expires * 1000), "arch",
                     l->arch);
}

/* midwife's own IPv4 address inside the subnet named name (DHCP answers
 * from the interface a request came in on, and a relayed subnet has none
 * of midwife's: then 0). */
static uint32_t own_address_in(const struct conf *conf, const char *name)
{
    const struct conf_subnet *sn = NULL;
    for (size_t i = 0; i < conf->n_subnets && !sn; i++)
        if (strcmp(conf->subnets[i].name, name) == 0)
            sn = &conf->subnets[i];
    struct ifaddrs *ifs;
    if (!sn || getifaddrs(&ifs) < 0)
        return 0;
    uint32_t found = 0;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        uint32_t addr = ntohl(((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if ((addr & sn->netmask) == sn->network)
            found = addr;
    }
    freeifaddrs(ifs);
    return found;
}

/* The address a booting host reaches midwife at, as far as the API can
 * tell: the configured server or HTTP address; else midwife's own address
 * on the subnet the host holds its lease in (where DHCP answered it);
 * else the one this request came in on — which for a CLI on the server
 * itself is the loopback, no use to a host. */
static uint32_t served_from(const struct api *a, const struct http_api_request *req, const struct store_lease *l)
{
    if (a->conf->server_address)
        return a->conf->server_address;
    if (a->conf->http_address)
        return a->conf->http_address;
    uint32_t own = l ? own_address_in(a->conf, l->subnet) : 0;
    return own ? own : req->local_addr;
}

/* The script the host would get now, rendered without a token. */
static json_t *script_view(struct api *a, uint32_t server, const uint8_t mac[6], const struct host *h)
{
    char base[CONF_URL_MAX];
    if (boot_http_base(a->conf, server, base, sizeof base) < 0)
        return json_pack("{s:s}", "error", "no HTTP base URL: set [http] public_url");
    const char *bname = h && h->build[0] ? h->build : a->conf->boot_default_build;
    struct build b = {0};
    bool retired = h && h->state == HOST_RETIRED;
    if (bname[0] && !retired && store_build_get(a->st, bname, h ? h->build_version : 0, &b) < 0)
        return json_pack("{s:s+}", "error", "build not found: ", bname);
    struct script_request sr = {.mac = mac, .base_url = base, .agent_sha256 = lifecycle_agent_module(a->lc)};
    char *out = NULL, err[256];
    size_t len = 0;
    int r = boot_script_render(a->conf, h, bname[0] && !retired ? &b : NULL, &sr, &out, &len, err, sizeof err);
    json_t *j = r < 0 ? json_pack("{s:s}", "error", err)
                      : json_pack("{s:s, s:s, s:s#}", "build", bname[0] && !retired ? b.name : "",
                                  "kind", bname[0] && !retired ? build_kind_name(b.kind) : "exit", "text", out, len);
    free(out);
    build_clear(&b);
    return j;
}

static json_t *rule_view(struct api *a, const uint8_t mac[6])
{
    struct rule_subject s;
    struct subject_keep keep;
    lifecycle_subject_for(a->lc, mac, NULL, NULL, NULL, NULL, &s, &keep);
    struct rule *rules = NULL;
    size_t n = 0;
    if (lifecycle_rules_load(a->lc, &rules, &n) < 0)
        return json_pack("{s:s}", "error", "rules could not be read");
    struct rule_trace *trace = calloc(n ? n : 1, sizeof *trace);
    size_t n_trace = 0;
    int at = trace ? rules_first_match(rules, n, &s, trace, n, &n_trace) : -1;
    json_t *t = json_array();
    for (size_t i = 0; i < n_trace; i++)
        json_array_append_new(t, json_pack("{s:s, s:b, s:s}", "rule", trace[i].rule, "matched", trace[i].matched,
                                           "why", trace[i].why));
    json_t *j = json_pack("{s:s?, s:o}", "match", at >= 0 ? rules[at].name : NULL, "trace", t);
    free(trace);
    lifecycle_rules_free(rules, n);
    return j;
}

void api_route_explain(struct api *a, const struct http_api_request *req, const char *rest,
                       struct http_api_response *resp)
{
    if (req->method != API_GET && req->method != API_HEAD) {
        api_method_not_allowed(resp, "GET, HEAD");
        return;
    }
    if (!api_admin(a, req, resp))
        return;
    uint8_t mac[6];
    if (rest[0] != '/' || parse_mac(rest + 1, mac) < 0) {
        api_error(resp, 400, "mac", "mac: expected /api/v1/explain/aa:bb:cc:dd:ee:ff");
        return;
    }
    char mac_s[MAC_STRLEN];
    format_mac(mac, mac_s);
    lifecycle_flush(a->lc);

    json_t *out = json_object();
    json_object_set_new(out, "mac", json_string(mac_s));
    struct host h;
    bool known = store_host_by_mac(a->st, mac, &h) == 0;
    json_object_set_new(out, "host", known ? host_to_json(&h) : json_null());
    if (!known)
        json_object_set_new(out, "rule", rule_view(a, mac));
    struct store_lease l;
    bool leased = store_lease_by_mac(a->st, mac, &l) == 0;
    json_object_set_new(out, "lease", leased ? lease_json(&l) : json_null());
    bool reserved = false;
    for (size_t i = 0; i < a->conf->n_reservations; i++)
        reserved |= memcmp(a->conf->reservations[i].mac, mac, 6) == 0;
    uint32_t server = served_from(a, req, leased ? &l : NULL);
    json_object_set_new(out, "dhcp", dhcp_view(a, mac, reserved || known, leased ? l.arch : -1, server));
    json_object_set_new(out, "script", script_view(a, server, mac, known ? &h : NULL));

    /* Recent events, oldest first, for the diagnosis. */
    struct ev_list evs = {.v = calloc(EXPLAIN_EVENTS, sizeof *evs.v)};
    if (evs.v) {
        struct event_filter f = {.mac = mac_s, .limit = EXPLAIN_EVENTS, .newest_first = true};
        store_event_query(a->st, &f, keep_event, &evs);
        for (size_t i = 0; i < evs.n / 2; i++) {
            struct event t = evs.v[i];
            evs.v[i] = evs.v[evs.n - 1 - i];
            evs.v[evs.n - 1 - i] = t;
        }
    }
    struct finding found[EXPLAIN_FINDINGS];
    size_t n_found = 0;
    struct explain_input in = {.events = evs.v, .n_events = evs.n, .now_ms = lifecycle_now_ms(),
                               .birth_timeout_s = a->conf->birth_timeout};
    explain_diagnose(&in, found, EXPLAIN_FINDINGS, &n_found);
    json_t *fj = json_array();
    for (size_t i = 0; i < n_found; i++)
        json_array_append_new(fj, json_pack("{s:s, s:s, s:s, s:o}", "finding", found[i].name, "summary",
                                            found[i].summary, "advice", found[i].advice, "at",
                                            json_time_ms(found[i].at_ms)));
    json_object_set_new(out, "diagnosis", fj);
    json_t *ej = json_array();
    for (size_t i = evs.n > EXPLAIN_SHOWN ? evs.n - EXPLAIN_SHOWN : 0; i < evs.n; i++)
        json_array_append_new(ej, api_event_json(&evs.v[i]));
    json_object_set_new(out, "events", ej);
    free_events(&evs);
    if (known)
        host_clear(&h);
    api_json(resp, 200, out);
}
