/* What to do with one datagram that arrived on the well-known port: drop
 * it, answer with an ERROR, or start a transfer. Pure apart from opening
 * the file beneath rootfd, so tests and the fuzzer call it directly. */
#ifndef MIDWIFE_TFTP_TFTP_REQUEST_H
#define MIDWIFE_TFTP_TFTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tftp/tftp_packet.h"
#include "tftp/tftp_transfer.h"

enum tftp_verdict { TFTP_VERDICT_DROP, TFTP_VERDICT_ERROR, TFTP_VERDICT_TRANSFER };

struct tftp_reply {
    enum tftp_verdict verdict;
    /* Metric label: why it was dropped (DROP) or which error was sent
     * (ERROR): "truncated", "wrq", "not_found", "access_violation", ... */
    const char *reason;
    /* A finer reason for the log ("dotdot", "backslash", strerror...). */
    const char *detail;
    /* The client is doing something worth an operator's attention. */
    bool log;
    uint8_t error[4 + TFTP_ERRMSG_MAX + 1];
    size_t error_len;
    /* The requested name (raw bytes inside the packet, escape before
     * logging), or NULL when the packet did not parse. */
    const char *filename;
    size_t filename_len;
    struct tftp_transfer *transfer; /* TRANSFER: the caller owns it */
};

/* busy: the transfer cap is reached; a valid RRQ gets ERROR 0 "server busy". */
void tftp_handle_request(int rootfd, const uint8_t *pkt, size_t len, const struct tftp_limits *lim,
                         bool busy, uint64_t now_ms, struct tftp_reply *r);

#endif
