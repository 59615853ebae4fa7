#include "tftp/tftp_transfer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#define CTRL_MAX 256 /* an OACK with all four options, or one of our ERRORs */
#define NETASCII_RAW 4096

struct tftp_transfer {
    int fd;
    uint64_t size; /* file size at open: we never read past it */
    enum tftp_mode mode;
    enum tftp_state state;
    enum tftp_end end;
    struct tftp_options oack; /* what we accepted */
    unsigned blksize, windowsize;
    unsigned timeout_ms, retries_max, retries;
    uint64_t deadline;

    /* The output stream (file bytes, or their netascii form) is produced
     * forward only into buf, which holds stream bytes [buf_off, buf_off +
     * buf_len). Acknowledged bytes are dropped when room is needed. */
    uint8_t *buf;
    size_t cap, buf_len;
    uint64_t buf_off;
    uint64_t file_pos;
    bool eof;    /* the whole stream is in or has passed through buf */
    int pending; /* netascii: second byte of a pair not yet written, or -1 */
    uint8_t *raw; /* netascii: raw bytes awaiting conversion */
    size_t raw_pos, raw_len;

    /* Blocks, 64-bit, the first DATA being block 1. */
    uint64_t acked;      /* highest acknowledged (0: none) */
    uint64_t sent_hi;    /* highest handed out by pull() */
    uint64_t last_block; /* 0 until the end of the stream is known */
    uint64_t win_first, send_next, send_end; /* the burst being pulled */
    uint8_t *hdrs;       /* one DATA header per window slot */

    uint8_t ctrl[CTRL_MAX]; /* OACK or ERROR */
    size_t ctrl_len;
    bool ctrl_pending;

    uint64_t bytes_sent;
    uint16_t client_code;
    char client_msg[LOG_ESCAPED_SIZE(64)];
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t current_timeout(const struct tftp_transfer *t)
{
    uint64_t cap = t->timeout_ms > TFTP_BACKOFF_MAX_MS ? t->timeout_ms : TFTP_BACKOFF_MAX_MS;
    /* retries <= 20 (conf) so the shift cannot overflow 64 bits. */
    return min_u64((uint64_t)t->timeout_ms << (t->retries < 32 ? t->retries : 32), cap);
}

/* Ends the transfer; msg != NULL queues ERROR 0 with it for the client. */
static void finish(struct tftp_transfer *t, enum tftp_state state, enum tftp_end end, const char *msg)
{
    t->state = state;
    t->end = end;
    t->send_next = t->send_end = 0;
    t->ctrl_pending = false;
    if (msg) {
        t->ctrl_len = tftp_build_error(t->ctrl, sizeof t->ctrl, TFTP_EUNDEF, msg);
        t->ctrl_pending = t->ctrl_len > 0;
    }
}

/* Netascii (RFC 764, as RFC 1350 asks): "CR LF" ends a line and a bare CR
 * is sent as "CR NUL". The file's LF becomes CR LF, its CR becomes CR NUL;
 * a file that already has CR LF gets CR NUL CR LF, the strict reading. */
static int produce_netascii(struct tftp_transfer *t)
{
    while (t->buf_len < t->cap) {
        if (t->pending >= 0) {
            t->buf[t->buf_len++] = (uint8_t)t->pending;
            t->pending = -1;
            continue;
        }
        if (t->raw_pos == t->raw_len) {
            if (t->file_pos >= t->size) {
                t->eof = true;
                return 0;
            }
            size_t want = (size_t)min_u64(NETASCII_RAW, t->size - t->file_pos);
            ssize_t n = pread(t->fd, t->raw, want, (off_t)t->file_pos);
            if (n < 0)
                return -errno;
            if (n == 0)
                return -EIO; /* the file shrank under us */
            t->file_pos += (uint64_t)n;
            t->raw_pos = 0;
            t->raw_len = (size_t)n;
        }
        uint8_t c = t->raw[t->raw_pos++];
        if (c == '\n') {
            t->buf[t->buf_len++] = '\r';
            t->pending = '\n';
        } else if (c == '\r') {
            t->buf[t->buf_len++] = '\r';
            t->pending = 0;
        } else {
            t->buf[t->buf_len++] = c;
        }
    }
    if (t->pending < 0 && t->raw_pos == t->raw_len && t->file_pos >= t->size)
        t->eof = true;
    return 0;
}

static int produce_octet(struct tftp_transfer *t)
{
    while (t->buf_len < t->cap && t->file_pos < t->size) {
        size_t want = (size_t)min_u64(t->cap - t->buf_len, t->size - t->file_pos);
        ssize_t n = pread(t->fd, t->buf + t->buf_len, want, (off_t)t->file_pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO; /* the file shrank: better an error than a short image */
        t->file_pos += (uint64_t)n;
        t->buf_len += (size_t)n;
    }
    if (t->file_pos >= t->size)
        t->eof = true;
    return 0;
}

/* Makes buf hold every byte of blocks [first, first + windowsize). */
static int prepare_window(struct tftp_transfer *t, uint64_t first)
{
    uint64_t start = (first - 1) * t->blksize;
    uint64_t want = start + (uint64_t)t->windowsize * t->blksize;
    if (!t->eof && want > t->buf_off + t->buf_len) {
        /* Everything before start is acknowledged and never resent. */
        size_t drop = (size_t)min_u64(start - t->buf_off, t->buf_len);
        memmove(t->buf, t->buf + drop, t->buf_len - drop);
        t->buf_off += drop;
        t->buf_len -= drop;
        int r = t->mode == TFTP_MODE_NETASCII ? produce_netascii(t) : produce_octet(t);
        if (r < 0)
            return r;
    }
    if (t->eof)
        /* The last block is the first one shorter than blksize; when the
         * stream is a multiple of blksize that is an empty block (RFC 1350:
         * "A data packet of less than 512 bytes signals termination"). */
        t->last_block = (t->buf_off + t->buf_len) / t->blksize + 1;
    return 0;
}

/* Queues blocks [first, first + windowsize) (or up to the last block). */
static void send_window(struct tftp_transfer *t, uint64_t first, uint64_t now_ms)
{
    if (prepare_window(t, first) < 0) {
        finish(t, TFTP_FAILED, TFTP_END_READ_ERROR, "read error");
        return;
    }
    t->win_first = t->send_next = first;
    t->send_end = first + t->windowsize;
    if (t->last_block && t->send_end > t->last_block + 1)
        t->send_end = t->last_block + 1;
    t->deadline = now_ms + current_timeout(t);
}

static void negotiate(struct tftp_transfer *t, const struct tftp_request *req, const struct tftp_limits *lim)
{
    const struct tftp_options *o = &req->opt;
    unsigned max_bs = lim->max_blksize < TFTP_BLKSIZE_MIN ? TFTP_BLKSIZE_MIN : lim->max_blksize;
    t->blksize = TFTP_BLKSIZE_DEFAULT;
    t->windowsize = 1;
    t->timeout_ms = lim->timeout_ms ? lim->timeout_ms : 1000;
    /* RFC 2348: "The blocksize specified [in the OACK] must be less than
     * or equal to the value specified by the client." */
    if (o->has_blksize) {
        t->blksize = o->blksize < max_bs ? o->blksize : max_bs;
        t->oack.has_blksize = true;
        t->oack.blksize = t->blksize;
    }
    /* RFC 2349: the timeout option is accepted by echoing it. */
    if (o->has_timeout) {
        t->timeout_ms = o->timeout_s * 1000u;
        t->oack.has_timeout = true;
        t->oack.timeout_s = o->timeout_s;
    }
    /* RFC 2349: "the server ... returns the size of the file in the OACK".
     * Not for netascii: its size on the wire is not the file size, and
     * computing it would mean converting the whole file before the first
     * packet, on the event loop. Leaving tsize out of the OACK is the
     * RFC's way of declining (RFC 2347: the server may omit options). */
    if (o->has_tsize && t->mode == TFTP_MODE_OCTET) {
        t->oack.has_tsize = true;
        t->oack.tsize = t->size;
    }
    /* RFC 7440: the server answers with a windowsize "less than or equal
     * to the value specified by the client". */
    if (o->has_windowsize) {
        uint64_t w = o->windowsize;
        w = min_u64(w, lim->max_windowsize ? lim->max_windowsize : 1);
        w = min_u64(w, TFTP_WINDOW_BYTES_MAX / t->blksize);
        t->windowsize = w ? (unsigned)w : 1;
        t->oack.has_windowsize = true;
        t->oack.windowsize = t->windowsize;
    }
}

int tftp_transfer_new(const struct tftp_request *req, int fd, uint64_t size,
                      const struct tftp_limits *lim, uint64_t now_ms, struct tftp_transfer **out)
{
    int r = -ENOMEM;
    struct tftp_transfer *t = NULL;
    if (req->mode != TFTP_MODE_OCTET && req->mode != TFTP_MODE_NETASCII) {
        r = -EINVAL;
        goto fail;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        goto fail;
    t->fd = fd;
    t->size = size;
    t->mode = req->mode;
    t->pending = -1;
    t->retries_max = lim->retries;
    negotiate(t, req, lim);

    size_t window_bytes = (size_t)t->windowsize * t->blksize;
    t->cap = window_bytes > TFTP_READ_AHEAD ? window_bytes : TFTP_READ_AHEAD;
    /* A small file needs no more than itself (twice, as netascii). */
    uint64_t stream_max = t->mode == TFTP_MODE_OCTET ? size : 2 * size;
    if (stream_max < t->cap)
        t->cap = stream_max ? (size_t)stream_max : 1;
    t->buf = malloc(t->cap);
    t->hdrs = malloc((size_t)t->windowsize * TFTP_DATA_HDR);
    if (!t->buf || !t->hdrs)
        goto fail;
    if (t->mode == TFTP_MODE_NETASCII && !(t->raw = malloc(NETASCII_RAW)))
        goto fail;

    if (t->oack.has_blksize || t->oack.has_timeout || t->oack.has_tsize || t->oack.has_windowsize) {
        /* RFC 2347: the server answers a request with options it accepts
         * with an OACK, and the client acknowledges it with ACK 0. */
        t->ctrl_len = tftp_build_oack(t->ctrl, sizeof t->ctrl, &t->oack);
        t->ctrl_pending = true;
        t->state = TFTP_WAIT_OACK_ACK;
        t->deadline = now_ms + current_timeout(t);
    } else {
        t->state = TFTP_SENDING;
        send_window(t, 1, now_ms);
    }
    *out = t;
    return 0;
fail:
    if (t) {
        t->fd = -1;
        tftp_transfer_free(t);
    }
    if (fd >= 0)
        close(fd);
    return r;
}

void tftp_transfer_free(struct tftp_transfer *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t->buf);
    free(t->hdrs);
    free(t->raw);
    free(t);
}

static enum tftp_rx on_ack(struct tftp_transfer *t, uint16_t n, uint64_t now_ms)
{
    if (t->state == TFTP_WAIT_OACK_ACK) {
        /* RFC 2347: after a Read Request the client confirms the OACK
         * with an ACK whose block number is 0. */
        if (n != 0)
            return TFTP_RX_STALE;
        t->state = TFTP_SENDING;
        t->ctrl_pending = false;
        t->retries = 0;
        send_window(t, 1, now_ms);
        return TFTP_RX_OK;
    }
    /* Map the 16-bit number onto the blocks in flight, (acked, sent_hi]:
     * at most 65535 of them, so the mapping is unique across rollover. */
    uint16_t delta = (uint16_t)(n - (uint16_t)t->acked);
    /* A repeat of the last ACK is the sorcerer's apprentice trigger
     * (RFC 1123 4.2.3.1): answering it would double every later packet.
     * Only the timer retransmits. */
    if (delta == 0)
        return TFTP_RX_DUPLICATE;
    uint64_t k = t->acked + delta;
    if (k > t->sent_hi)
        return TFTP_RX_STALE;
    t->acked = k;
    t->retries = 0;
    if (t->last_block && k == t->last_block) {
        finish(t, TFTP_DONE, TFTP_END_COMPLETE, NULL);
        return TFTP_RX_OK;
    }
    /* RFC 7440 (paraphrased): a receiver that misses a block acknowledges
     * the last block it got in order, and the sender starts a new window
     * right after the acknowledged block. At the window's end that is
     * simply the next window; inside it, it resends what was lost. */
    send_window(t, k + 1, now_ms);
    return TFTP_RX_OK;
}

enum tftp_rx tftp_transfer_receive(struct tftp_transfer *t, const uint8_t *pkt, size_t len, uint64_t now_ms)
{
    struct tftp_packet p;
    enum tftp_bad why;
    if (t->state == TFTP_DONE || t->state == TFTP_FAILED)
        return TFTP_RX_UNEXPECTED;
    if (tftp_parse(pkt, len, &p, &why) < 0)
        return TFTP_RX_MALFORMED;
    if (p.op == TFTP_ERROR) {
        /* RFC 1350: an error "causes termination of the transfer" and is
         * not acknowledged. UEFI firmware does this on purpose: it asks
         * for tsize, reads the OACK, then ends with ERROR 8. */
        t->client_code = p.u.error.code;
        log_escape(t->client_msg, sizeof t->client_msg, p.u.error.msg, p.u.error.msg_len);
        finish(t, TFTP_FAILED, TFTP_END_CLIENT_ERROR, NULL);
        return TFTP_RX_OK;
    }
    if (p.op != TFTP_ACK)
        return TFTP_RX_UNEXPECTED;
    return on_ack(t, p.u.block, now_ms);
}

void tftp_transfer_timeout(struct tftp_transfer *t, uint64_t now_ms)
{
    if (t->state == TFTP_DONE || t->state == TFTP_FAILED || now_ms < t->deadline)
        return;
    if (++t->retries > t->retries_max) {
        finish(t, TFTP_FAILED, TFTP_END_TIMEOUT, "timed out");
        return;
    }
    if (t->state == TFTP_WAIT_OACK_ACK) {
        t->ctrl_pending = true; /* the OACK is still in ctrl */
        t->deadline = now_ms + current_timeout(t);
        return;
    }
    send_window(t, t->acked + 1, now_ms);
}

void tftp_transfer_abort(struct tftp_transfer *t, const char *msg)
{
    if (t->state == TFTP_DONE || t->state == TFTP_FAILED)
        return;
    finish(t, TFTP_FAILED, TFTP_END_ABORTED, msg);
}

bool tftp_transfer_pull(struct tftp_transfer *t, struct tftp_out *o)
{
    if (t->ctrl_pending) {
        t->ctrl_pending = false;
        *o = (struct tftp_out){.hdr = t->ctrl, .hdr_len = t->ctrl_len};
        return true;
    }
    if (t->send_next >= t->send_end)
        return false;
    uint64_t k = t->send_next++;
    uint8_t *h = t->hdrs + (k - t->win_first) * TFTP_DATA_HDR;
    tftp_put_data_header(h, (uint16_t)k); /* rolls over 65535 -> 0 */
    uint64_t off = (k - 1) * t->blksize;
    uint64_t end = t->buf_off + t->buf_len;
    size_t n = (size_t)min_u64(t->blksize, end - off);
    *o = (struct tftp_out){.hdr = h, .hdr_len = TFTP_DATA_HDR, .data = t->buf + (off - t->buf_off), .data_len = n};
    if (k > t->sent_hi)
        t->sent_hi = k;
    t->bytes_sent += n;
    return true;
}

enum tftp_state tftp_transfer_state(const struct tftp_transfer *t) { return t->state; }
enum tftp_end tftp_transfer_end(const struct tftp_transfer *t) { return t->end; }
uint64_t tftp_transfer_deadline(const struct tftp_transfer *t) { return t->deadline; }
const struct tftp_options *tftp_transfer_options(const struct tftp_transfer *t) { return &t->oack; }
unsigned tftp_transfer_blksize(const struct tftp_transfer *t) { return t->blksize; }
unsigned tftp_transfer_windowsize(const struct tftp_transfer *t) { return t->windowsize; }
uint64_t tftp_transfer_bytes_sent(const struct tftp_transfer *t) { return t->bytes_sent; }

uint16_t tftp_transfer_client_error(const struct tftp_transfer *t, const char **msg)
{
    *msg = t->client_msg;
    return t->client_code;
}

const char *tftp_end_name(enum tftp_end e)
{
    switch (e) {
    case TFTP_END_NONE: return "running";
    case TFTP_END_COMPLETE: return "complete";
    case TFTP_END_CLIENT_ERROR: return "client_error";
    case TFTP_END_TIMEOUT: return "timeout";
    case TFTP_END_READ_ERROR: return "read_error";
    case TFTP_END_ABORTED: return "aborted";
    }
    return "unknown";
}
