/* Fuzzes the TFTP codec, the well-known-port request handler and a
 * transfer's reaction to whatever a client sends. The first byte picks the
 * path; the rest is the input.
 *   0: tftp_parse()
 *   1: tftp_handle_request() against a small root (files, a link out)
 *   2: a transfer (options from the next bytes) fed packets and timeouts:
 *      each step is [len][len bytes]; len 0xff is a timeout instead. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tftp/tftp_packet.h"
#include "tftp/tftp_request.h"
#include "tftp/tftp_transfer.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILE_SIZE 5000

static int rootfd = -1, memfd = -1;
static uint8_t content[FILE_SIZE];

static void setup_once(void)
{
    char dir[] = "/tmp/fuzz-tftp-XXXXXX", p[128];
    if (rootfd >= 0)
        return;
    log_setup(LOG_FORMAT_TEXT, LOG_ERROR, stderr);
    if (!mkdtemp(dir))
        abort();
    for (size_t i = 0; i < FILE_SIZE; i++)
        content[i] = (uint8_t)(i % 251 == 0 ? '\n' : i % 97 == 0 ? '\r' : 'a' + i % 26);
    snprintf(p, sizeof p, "%s/f", dir);
    FILE *f = fopen(p, "w");
    if (!f || fwrite(content, 1, 1000, f) != 1000)
        abort();
    fclose(f);
    snprintf(p, sizeof p, "%s/d", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/out", dir);
    if (symlink("/etc/hostname", p) < 0)
        abort();
    rootfd = open(dir, O_PATH | O_DIRECTORY);
    memfd = memfd_create("fuzz-tftp", 0);
    if (rootfd < 0 || memfd < 0 || write(memfd, content, FILE_SIZE) != FILE_SIZE)
        abort();
}

static const struct tftp_limits limits = {.max_blksize = 1468, .max_windowsize = 16, .timeout_ms = 100, .retries = 3};

static void drain(struct tftp_transfer *t)
{
    struct tftp_out o;
    unsigned bs = tftp_transfer_blksize(t);
    while (tftp_transfer_pull(t, &o)) {
        if (o.hdr_len < 2 || (o.data_len && o.hdr_len != TFTP_DATA_HDR) || o.data_len > bs)
            abort();
        if (o.data_len)
            (void)((volatile const uint8_t *)o.data)[o.data_len - 1]; /* must be readable */
    }
}

static void fuzz_transfer(const uint8_t *d, size_t n)
{
    if (n < 3)
        return;
    uint8_t req[128];
    char bs[8], ws[8];
    snprintf(bs, sizeof bs, "%u", 8u + d[0] * 7u);
    snprintf(ws, sizeof ws, "%u", 1u + d[1] % 8u);
    size_t len = 0;
    const char *parts[] = {"f", (d[2] & 1) ? "netascii" : "octet", "blksize", bs, "windowsize", ws,
                           (d[2] & 2) ? "tsize" : "x", "0"};
    req[len++] = 0;
    req[len++] = TFTP_RRQ;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t l = strlen(parts[i]) + 1;
        memcpy(req + len, parts[i], l);
        len += l;
    }
    struct tftp_packet p;
    enum tftp_bad why;
    if (tftp_parse(req, len, &p, &why) < 0)
        abort();
    struct tftp_transfer *t;
    uint64_t size = (d[2] & 4) ? FILE_SIZE : (uint64_t)(d[2] >> 3) * 61;
    if (tftp_transfer_new(&p.u.req, dup(memfd), size, &limits, 1000, &t) < 0)
        abort();
    drain(t);
    uint64_t now = 1000;
    for (size_t i = 3; i < n;) {
        uint8_t l = d[i++];
        now += 10;
        if (l == 0xff) {
            tftp_transfer_timeout(t, tftp_transfer_deadline(t));
        } else {
            if (l > n - i)
                l = (uint8_t)(n - i);
            tftp_transfer_receive(t, d + i, l, now);
            i += l;
        }
        drain(t);
    }
    tftp_transfer_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tftp_packet p;
    enum tftp_bad why;
    struct tftp_reply r;

    setup_once();
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        if (tftp_parse(data + 1, size - 1, &p, &why) == 0 && (p.op == TFTP_RRQ || p.op == TFTP_WRQ) &&
            strlen(p.u.req.filename) != p.u.req.filename_len)
            abort();
        break;
    case 1:
        tftp_handle_request(rootfd, data + 1, size - 1, &limits, size & 1, 1000, &r);
        if (r.verdict == TFTP_VERDICT_TRANSFER) {
            drain(r.transfer);
            tftp_transfer_free(r.transfer);
        }
        break;
    case 2:
        fuzz_transfer(data + 1, size - 1);
        break;
    }
    return 0;
}
