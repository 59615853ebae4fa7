/* libFuzzer target: the whole pure DHCP path (parse, subnet choice, boot
 * decision, allocation, reply building) with a fixed config and no store.
 * Lease state persists across inputs so sequences of packets reach the
 * REQUEST/RENEW/DECLINE/RELEASE paths on addresses handed out earlier.
 * Every input also goes to a proxy-mode server, on the server port and on
 * the PXE port, which must never hand out or store an address. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dhcp/dhcp_server.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf_text[] =
    "[server]\nstate_dir = /tmp/mw-fuzz-dhcp\n"
    "[dhcp]\ninterfaces = eth0\ndecline_quarantine = 60\n"
    "[subnet lan]\nnetwork = 10.213.0.0/24\nrange = 10.213.0.100-10.213.0.110\nrouter = 10.213.0.1\n"
    "dns = 10.213.0.1\ndomain = lab.example\nntp = 10.213.0.1\n"
    "[subnet far]\nnetwork = 10.214.0.0/24\nrange = 10.214.0.10-10.214.0.12\n"
    "[reservation n1]\nmac = 52:54:00:00:00:01\naddress = 10.213.0.50\nhostname = n1\n"
    "[pxe]\nipxe_script = http://10.213.0.1/boot/{mac}.ipxe\n"
    "[tftp]\nenabled = no\n";

static const char proxy_conf_text[] =
    "[server]\nstate_dir = /tmp/mw-fuzz-dhcp\n"
    "[dhcp]\ninterfaces = eth0\nmode = proxy\n"
    "[subnet lan]\nnetwork = 10.213.0.0/24\n"
    "[subnet far]\nnetwork = 10.214.0.0/24\n"
    "[reservation n1]\nmac = 52:54:00:00:00:01\naddress = 10.213.0.50\n"
    "[pxe]\nipxe_script = http://10.213.0.1/boot/{mac}.ipxe\n"
    "[tftp]\nenabled = no\n";

static struct conf *conf, *proxy_conf;
static struct dhcp_server *srv, *proxy_srv;
static int64_t now = 1700000000;

static struct conf *load(const char *text, size_t len)
{
    char path[] = "/tmp/mw-fuzz-dhcp-XXXXXX", err[256];
    struct conf *c;
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len)
        abort();
    close(fd);
    if (conf_load(path, &c, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    unlink(path);
    return c;
}

static void setup(void)
{
    conf = load(conf_text, sizeof conf_text - 1);
    proxy_conf = load(proxy_conf_text, sizeof proxy_conf_text - 1);
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    if (dhcp_server_new(conf, &srv) < 0 || dhcp_server_new(proxy_conf, &proxy_srv) < 0)
        abort();
}

/* A proxy reply: boot information only, and nothing to commit. */
static void check_proxy(int handled, const struct dhcp_reply *r)
{
    const struct store_lease *w;
    if (dhcp_server_pending(proxy_srv, &w) != 0 || dhcp_server_lease_count(proxy_srv) != 0)
        abort();
    if (handled != 1)
        return;
    if (r->len < DHCP_MIN_LEN || r->len > sizeof r->data || r->needs_commit || r->msg_type == DHCPNAK)
        abort();
    if (r->data[16] | r->data[17] | r->data[18] | r->data[19]) /* yiaddr */
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dhcp_reply reply;
    if (!srv)
        setup();
    struct dhcp_rx_meta meta = {.ifindex = 2, .ifname = "eth0", .local_addr = 0x0ad50001,
                                .src_addr = 0, .src_port = 68};
    /* Time moves so offers and leases expire between inputs. */
    now += 7;
    if (dhcp_server_handle(srv, data, size, &meta, now, &reply) == 1) {
        if (reply.len < DHCP_MIN_LEN || reply.len > sizeof reply.data)
            abort();
    }
    dhcp_server_clear_pending(srv);

    check_proxy(dhcp_server_handle(proxy_srv, data, size, &meta, now, &reply), &reply);
    struct dhcp_rx_meta pxe = meta;
    pxe.pxe_port = true;
    pxe.src_addr = 0x0ad50039; /* 10.213.0.57 */
    pxe.src_port = 4011;
    check_proxy(dhcp_server_handle(proxy_srv, data, size, &pxe, now, &reply), &reply);
    return 0;
}
