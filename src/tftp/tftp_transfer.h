/* One read transfer as a pure state machine: no sockets, no timers, no
 * clock of its own. The I/O shell feeds it the client's packets and
 * timeouts (with the current monotonic time) and pulls the packets it
 * wants sent. It reads the file itself with pread into a buffer that holds
 * at least one window, so a window costs at most one read.
 *
 * Block numbers are 64-bit inside and 16-bit on the wire: past 65535 the
 * wire number rolls over to 0 (what tftpd-hpa, atftpd, dnsmasq and the
 * common clients do), so files of any size transfer. */
#ifndef MIDWIFE_TFTP_TFTP_TRANSFER_H
#define MIDWIFE_TFTP_TFTP_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tftp/tftp_packet.h"

struct tftp_limits {
    unsigned max_blksize;    /* conf tftp_max_blksize */
    unsigned max_windowsize; /* conf tftp_max_windowsize */
    unsigned timeout_ms;     /* first retransmission unless the client set "timeout" */
    unsigned retries;        /* retransmissions before giving up */
};

/* Keeps one window's buffer bounded whatever the config says: a larger
 * window is answered with fewer blocks (RFC 7440 lets the server offer
 * less than asked). */
#define TFTP_WINDOW_BYTES_MAX (1024u * 1024u)
/* Read-ahead: the buffer is at least this big (or the file, if smaller),
 * so lock-step transfers do not pay one read per block. */
#define TFTP_READ_AHEAD (64u * 1024u)
/* Backoff never waits longer than this between retransmissions. */
#define TFTP_BACKOFF_MAX_MS 60000u

enum tftp_state {
    TFTP_WAIT_OACK_ACK, /* sent OACK, waiting for ACK 0 */
    TFTP_SENDING,
    TFTP_DONE,          /* last block acknowledged */
    TFTP_FAILED,        /* see tftp_transfer_end() */
};

enum tftp_end {
    TFTP_END_NONE,
    TFTP_END_COMPLETE,
    TFTP_END_CLIENT_ERROR, /* the client sent ERROR (e.g. after a tsize probe) */
    TFTP_END_TIMEOUT,      /* retries exhausted */
    TFTP_END_READ_ERROR,   /* the file could not be read or shrank */
    TFTP_END_ABORTED,      /* tftp_transfer_abort() */
};

/* What tftp_transfer_receive() made of a packet (dropped ones are counted
 * by the shell under these names). */
enum tftp_rx {
    TFTP_RX_OK,          /* acted upon */
    TFTP_RX_DUPLICATE,   /* ACK of the block already acknowledged: ignored */
    TFTP_RX_STALE,       /* ACK outside the window in flight: ignored */
    TFTP_RX_MALFORMED,   /* did not parse */
    TFTP_RX_UNEXPECTED,  /* parsed, but not ACK/ERROR, or after the end */
};

/* A packet to send: hdr (DATA header or a whole OACK/ERROR) then data.
 * Pointers stay valid until the next receive/timeout/abort/free. */
struct tftp_out {
    const uint8_t *hdr;
    size_t hdr_len;
    const uint8_t *data;
    size_t data_len;
};

struct tftp_transfer;

/* Starts a transfer for a parsed RRQ. Takes ownership of fd (closed on
 * free, and on failure). size is the file size at open. The first packets
 * (OACK, or the first window) are ready to pull on return. Returns 0 or
 * -ENOMEM / -EINVAL (netascii/octet only). */
int tftp_transfer_new(const struct tftp_request *req, int fd, uint64_t size,
                      const struct tftp_limits *lim, uint64_t now_ms, struct tftp_transfer **out);
void tftp_transfer_free(struct tftp_transfer *t);

enum tftp_rx tftp_transfer_receive(struct tftp_transfer *t, const uint8_t *pkt, size_t len,
                                   uint64_t now_ms);
/* Call when now_ms >= tftp_transfer_deadline(); earlier calls do nothing. */
void tftp_transfer_timeout(struct tftp_transfer *t, uint64_t now_ms);
/* Ends the transfer telling the client why (ERROR 0 with msg). */
void tftp_transfer_abort(struct tftp_transfer *t, const char *msg);

/* Next packet to send: returns true and fills *o, or false when none. */
bool tftp_transfer_pull(struct tftp_transfer *t, struct tftp_out *o);

enum tftp_state tftp_transfer_state(const struct tftp_transfer *t);
enum tftp_end tftp_transfer_end(const struct tftp_transfer *t);
const char *tftp_end_name(enum tftp_end e); /* "complete", "client_error", ... */
uint64_t tftp_transfer_deadline(const struct tftp_transfer *t);
/* What was negotiated (has_* set for options in the OACK). */
const struct tftp_options *tftp_transfer_options(const struct tftp_transfer *t);
unsigned tftp_transfer_blksize(const struct tftp_transfer *t);
unsigned tftp_transfer_windowsize(const struct tftp_transfer *t);
/* DATA payload bytes handed out by pull(), retransmissions included. */
uint64_t tftp_transfer_bytes_sent(const struct tftp_transfer *t);
/* The client's ERROR code and message (escaped copy), for the log. */
uint16_t tftp_transfer_client_error(const struct tftp_transfer *t, const char **msg);

#endif
