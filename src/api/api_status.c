/* GET /api/v1/status: what is running and how much of everything there is. */
#include <errno.h>
#include <string.h>

#include "api/api_internal.h"
#include "inventory/model_json.h"
#include "store/store_inventory.h"
#include "util/addr.h"
#include "util/clock.h"
#include "util/metrics.h"

/* Totals over every label; /metrics has them per reason and route. */
static const char *const counters[] = {
    "midwife_dhcp_requests_total",  "midwife_dhcp_replies_total",   "midwife_dhcp_dropped_total",
    "midwife_tftp_requests_total",  "midwife_tftp_transfers_completed_total", "midwife_tftp_transfers_failed_total",
    "midwife_tftp_bytes_sent_total", "midwife_http_requests_total", "midwife_http_errors_total",
    "midwife_http_sent_bytes_total", "midwife_http_connections",
};

static const char *const lease_state_names[] = {"", "bound", "released", "declined", "expired"};

static json_t *ip(uint32_t addr)
{
    char s[IPV4_STRLEN];
    return json_string(addr ? format_ipv4(addr, s) : "0.0.0.0");
}

static json_t *listeners(const struct conf *c)
{
    json_t *ifs = json_array();
    for (size_t i = 0; ifs && i < c->n_dhcp_interfaces; i++)
        json_array_append_new(ifs, json_string(c->dhcp_interfaces[i]));
    return json_pack("{s:{s:b, s:i, s:o}, s:{s:b, s:o, s:i}, s:{s:b, s:o, s:i, s:s}}", "dhcp", "enabled",
                     c->dhcp_enabled, "port", (int)c->dhcp_port, "interfaces", ifs ? ifs : json_array(), "tftp",
                     "enabled", c->tftp_enabled, "address", ip(c->tftp_address), "port", (int)c->tftp_port, "http",
                     "enabled", c->http_enabled, "address", ip(c->http_address), "port", (int)c->http_port,
                     "public_url", c->http_public_url);
}

/* {"SUBNET": {"bound": N, ...}}, every subnet of the config listed even
 * when it has no lease yet. */
static int lease_count(const struct store_lease *l, void *arg)
{
    json_t *per = arg;
    const char *subnet = l->subnet[0] ? l->subnet : "(none)";
    json_t *s = json_object_get(per, subnet);
    if (!s) {
        s = json_pack("{s:i, s:i, s:i, s:i}", "bound", 0, "released", 0, "declined", 0, "expired", 0);
        if (!s || json_object_set_new(per, subnet, s) < 0)
            return -ENOMEM;
    }
    if ((unsigned)l->state < sizeof lease_state_names / sizeof lease_state_names[0] && l->state) {
        const char *k = lease_state_names[l->state];
        json_object_set_new(s, k, json_integer(json_integer_value(json_object_get(s, k)) + 1));
    }
    return 0;
}

static void status(struct api *a, struct http_api_response *resp)
{
    uint64_t by_state[HOST_STATE_COUNT] = {0};
    int r = store_host_count_by_state(a->st, by_state);
    if (r < 0) {
        api_store_error(a, resp, "status: hosts", r);
        return;
    }
    json_t *hosts = json_object(), *leases = json_object(), *ctr = json_object();
    uint64_t total = 0;
    for (unsigned i = 0; hosts && i < HOST_STATE_COUNT; i++) {
        json_object_set_new(hosts, host_state_name((enum host_state)i), json_integer((json_int_t)by_state[i]));
        total += by_state[i];
    }
    for (size_t i = 0; leases && i < a->conf->n_subnets; i++)
        json_object_set_new(leases, a->conf->subnets[i].name,
                            json_pack("{s:i, s:i, s:i, s:i}", "bound", 0, "released", 0, "declined", 0, "expired", 0));
    r = leases ? store_lease_foreach(a->st, lease_count, leases) : -ENOMEM;
    if (r < 0) {
        json_decref(hosts);
        json_decref(leases);
        json_decref(ctr);
        api_store_error(a, resp, "status: leases", r);
        return;
    }
    for (size_t i = 0; ctr && i < sizeof counters / sizeof counters[0]; i++)
        json_object_set_new(ctr, counters[i], json_integer((json_int_t)metrics_sum(counters[i])));
    api_json(resp, 200,
             json_pack("{s:s, s:o, s:I, s:o, s:o, s:I, s:o, s:o}", "version", MIDWIFE_VERSION, "started",
                       json_time_ms(a->started_ms), "uptime_s", (json_int_t)((clock_mono_ms() - a->started_mono_ms) / 1000),
                       "listeners", listeners(a->conf), "hosts", hosts, "hosts_total", (json_int_t)total, "leases",
                       leases, "counters", ctr));
}

void api_route_status(struct api *a, const struct http_api_request *req, const char *rest,
                      struct http_api_response *resp)
{
    if (rest[0] && strcmp(rest, "/") != 0)
        api_error(resp, 404, NULL, "no such path under status");
    else if (req->method != API_GET)
        api_method_not_allowed(resp, "GET, HEAD");
    else
        status(a, resp);
}
