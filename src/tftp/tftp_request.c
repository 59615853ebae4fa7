#include "tftp/tftp_request.h"

#include <errno.h>
#include <string.h>

#include "tftp/tftp_path.h"

static void drop(struct tftp_reply *r, const char *reason)
{
    r->verdict = TFTP_VERDICT_DROP;
    r->reason = reason;
}

static void refuse(struct tftp_reply *r, enum tftp_errcode code, const char *msg, const char *reason)
{
    r->verdict = TFTP_VERDICT_ERROR;
    r->reason = reason;
    r->error_len = tftp_build_error(r->error, sizeof r->error, code, msg);
}

void tftp_handle_request(int rootfd, const uint8_t *pkt, size_t len, const struct tftp_limits *lim,
                         bool busy, uint64_t now_ms, struct tftp_reply *r)
{
    struct tftp_packet p;
    enum tftp_bad why;

    memset(r, 0, sizeof *r);
    if (tftp_parse(pkt, len, &p, &why) < 0) {
        switch (why) {
        case TFTP_BAD_MODE:
            refuse(r, TFTP_EBADOP, "unsupported mode", "bad_mode");
            break;
        case TFTP_BAD_DUP_OPTION:
        case TFTP_BAD_OPTION_VALUE:
            /* RFC 2347 reserves error 8 for refused option negotiation. */
            refuse(r, TFTP_EOPTNEG, "bad option", "bad_option");
            break;
        case TFTP_BAD_EMPTY_NAME:
            refuse(r, TFTP_EBADOP, "malformed request", "malformed");
            break;
        default:
            /* Truncated or unterminated requests and unknown opcodes get
             * no answer: there may be no TFTP client behind them at all. */
            drop(r, tftp_bad_name(why));
            break;
        }
        r->detail = tftp_bad_name(why);
        r->log = true;
        return;
    }
    if (p.op != TFTP_RRQ && p.op != TFTP_WRQ) {
        /* ACK, DATA, ERROR belong on a transfer's port, not here. */
        drop(r, "not_a_request");
        return;
    }
    r->filename = p.u.req.filename;
    r->filename_len = p.u.req.filename_len;
    if (p.op == TFTP_WRQ) {
        refuse(r, TFTP_EACCESS, "read-only server", "wrq");
        r->log = true;
        return;
    }
    if (p.u.req.mode == TFTP_MODE_MAIL) {
        /* RFC 1350 itself says mail mode "should not be used". */
        refuse(r, TFTP_EBADOP, "mail mode not supported", "bad_mode");
        return;
    }
    const char *rel;
    if (tftp_path_check(p.u.req.filename, p.u.req.filename_len, &rel, &r->detail) < 0) {
        refuse(r, TFTP_EACCESS, "access violation", "access_violation");
        r->log = true;
        return;
    }
    if (busy) {
        refuse(r, TFTP_EUNDEF, "server busy", "busy");
        return;
    }
    int fd;
    uint64_t size;
    enum tftp_errcode code;
    int e = tftp_path_open(rootfd, rel, &fd, &size, &code);
    if (e < 0) {
        /* EXDEV is how RESOLVE_BENEATH reports an escape; say so plainly. */
        r->detail = e == -EXDEV ? "path leads out of the root" : strerror(-e);
        if (code == TFTP_ENOTFOUND) {
            refuse(r, TFTP_ENOTFOUND, "file not found", "not_found");
        } else if (code == TFTP_EACCESS) {
            refuse(r, TFTP_EACCESS, "access violation", "access_violation");
            r->log = true;
        } else {
            refuse(r, TFTP_EUNDEF, "cannot open file", "open_failed");
            r->log = true;
        }
        return;
    }
    if (tftp_transfer_new(&p.u.req, fd, size, lim, now_ms, &r->transfer) < 0) {
        refuse(r, TFTP_EUNDEF, "out of memory", "internal");
        r->log = true;
        return;
    }
    r->verdict = TFTP_VERDICT_TRANSFER;
    r->reason = "ok";
}
