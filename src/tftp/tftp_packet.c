#include "tftp/tftp_packet.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/strnum.h"

/* A cursor that knows its end: every read checks the length first. */
struct cursor {
    const uint8_t *p, *end;
};

static bool cur_u16(struct cursor *c, uint16_t *v)
{
    if (c->end - c->p < 2)
        return false;
    *v = (uint16_t)(c->p[0] << 8 | c->p[1]);
    c->p += 2;
    return true;
}

/* A NUL-terminated string that must end inside the packet. */
static enum tftp_bad cur_str(struct cursor *c, const char **s, size_t *len)
{
    if (c->p >= c->end)
        return TFTP_BAD_TRUNCATED;
    const uint8_t *nul = memchr(c->p, 0, (size_t)(c->end - c->p));
    if (!nul)
        return TFTP_BAD_NO_NUL;
    *s = (const char *)c->p;
    *len = (size_t)(nul - c->p);
    c->p = nul + 1;
    return TFTP_OK;
}

static bool all_nul(const uint8_t *p, const uint8_t *end)
{
    for (; p < end; p++)
        if (*p)
            return false;
    return true;
}

static enum tftp_bad parse_mode(const char *s, enum tftp_mode *mode)
{
    /* RFC 1350: "The mode field contains the string "netascii", "octet", or
     * "mail" (or any combination of upper and lower case". */
    if (strcasecmp(s, "octet") == 0)
        *mode = TFTP_MODE_OCTET;
    else if (strcasecmp(s, "netascii") == 0)
        *mode = TFTP_MODE_NETASCII;
    else if (strcasecmp(s, "mail") == 0)
        *mode = TFTP_MODE_MAIL;
    else
        return TFTP_BAD_MODE;
    return TFTP_OK;
}

/* One option: known names are range-checked, unknown ones skipped. */
static enum tftp_bad parse_option(const char *name, const char *value, struct tftp_options *o)
{
    uint64_t v;
    const char *errstr;
    if (strcasecmp(name, "blksize") == 0) {
        if (o->has_blksize)
            return TFTP_BAD_DUP_OPTION;
        /* RFC 2348: "Valid values range between "8" and "65464" octets".
         * A larger request is answered with our (smaller) size rather than
         * refused: the RFC lets the server offer less than was asked. */
        if (parse_u64(value, TFTP_BLKSIZE_MIN, UINT64_MAX, &v, &errstr) < 0)
            return TFTP_BAD_OPTION_VALUE;
        o->blksize = v > TFTP_BLKSIZE_MAX ? TFTP_BLKSIZE_MAX : (uint32_t)v;
        o->has_blksize = true;
    } else if (strcasecmp(name, "timeout") == 0) {
        if (o->has_timeout)
            return TFTP_BAD_DUP_OPTION;
        /* RFC 2349: "Valid values range between "1" and "255" seconds". */
        if (parse_u64(value, TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX, &v, &errstr) < 0)
            return TFTP_BAD_OPTION_VALUE;
        o->timeout_s = (uint32_t)v;
        o->has_timeout = true;
    } else if (strcasecmp(name, "tsize") == 0) {
        if (o->has_tsize)
            return TFTP_BAD_DUP_OPTION;
        /* RFC 2349: "In Read Request packets, a size of "0" is specified".
         * Any number is tolerated; the server answers with the real size. */
        if (parse_u64(value, 0, UINT64_MAX, &v, &errstr) < 0)
            return TFTP_BAD_OPTION_VALUE;
        o->tsize = v;
        o->has_tsize = true;
    } else if (strcasecmp(name, "windowsize") == 0) {
        if (o->has_windowsize)
            return TFTP_BAD_DUP_OPTION;
        /* RFC 7440: "Valid values range between "1" and "65535" blocks".
         * Larger is clamped like blksize: we may offer less. */
        if (parse_u64(value, TFTP_WINDOW_MIN, UINT64_MAX, &v, &errstr) < 0)
            return TFTP_BAD_OPTION_VALUE;
        o->windowsize = v > TFTP_WINDOW_MAX ? TFTP_WINDOW_MAX : (uint32_t)v;
        o->has_windowsize = true;
    }
    /* RFC 2347: "Options which the server does not support should be
     * ignored." */
    return TFTP_OK;
}

static enum tftp_bad parse_request(struct cursor *c, struct tftp_request *r)
{
    enum tftp_bad why;
    const char *mode, *name, *value;
    size_t mode_len, name_len, value_len;

    if ((why = cur_str(c, &r->filename, &r->filename_len)) != TFTP_OK)
        return why;
    if ((why = cur_str(c, &mode, &mode_len)) != TFTP_OK)
        return why;
    if (r->filename_len == 0)
        return TFTP_BAD_EMPTY_NAME;
    if ((why = parse_mode(mode, &r->mode)) != TFTP_OK)
        return why;
    while (c->p < c->end) {
        /* Tolerance: some PXE ROMs pad the request with NUL bytes after the
         * last option. Padding carries nothing, so it ends the list. */
        if (all_nul(c->p, c->end))
            break;
        if ((why = cur_str(c, &name, &name_len)) != TFTP_OK)
            return why;
        /* A name with no value at all is a truncated pair. */
        if ((why = cur_str(c, &value, &value_len)) != TFTP_OK)
            return why == TFTP_BAD_NO_NUL ? why : TFTP_BAD_TRUNCATED;
        if (name_len == 0)
            return TFTP_BAD_EMPTY_NAME;
        if ((why = parse_option(name, value, &r->opt)) != TFTP_OK)
            return why;
    }
    return TFTP_OK;
}

int tftp_parse(const uint8_t *buf, size_t len, struct tftp_packet *out, enum tftp_bad *why)
{
    struct cursor c = {buf, buf + len};
    uint16_t op;
    enum tftp_bad w = TFTP_OK;

    memset(out, 0, sizeof *out);
    if (!cur_u16(&c, &op)) {
        w = TFTP_BAD_TRUNCATED;
        goto fail;
    }
    out->op = op;
    switch (op) {
    case TFTP_RRQ:
    case TFTP_WRQ:
        out->u.req.op = op;
        w = parse_request(&c, &out->u.req);
        break;
    case TFTP_ACK:
        /* Trailing bytes after the block number are ignored: nothing in
         * RFC 1350 gives them meaning and some stacks pad to 4+ bytes. */
        if (!cur_u16(&c, &out->u.block))
            w = TFTP_BAD_TRUNCATED;
        break;
    case TFTP_DATA:
        if (!cur_u16(&c, &out->u.data.block)) {
            w = TFTP_BAD_TRUNCATED;
            break;
        }
        out->u.data.data = c.p;
        out->u.data.len = (size_t)(c.end - c.p);
        break;
    case TFTP_ERROR:
        if (!cur_u16(&c, &out->u.error.code)) {
            w = TFTP_BAD_TRUNCATED;
            break;
        }
        /* Message may lack its NUL (see the header); hand out its bytes
         * with a length, and a pointer only when it is a proper string. */
        out->u.error.msg = (const char *)c.p;
        out->u.error.msg_len = (size_t)(c.end - c.p);
        {
            const uint8_t *nul = memchr(c.p, 0, (size_t)(c.end - c.p));
            if (nul)
                out->u.error.msg_len = (size_t)(nul - c.p);
        }
        break;
    default:
        w = TFTP_BAD_OPCODE;
        break;
    }
    if (w == TFTP_OK)
        return 0;
fail:
    *why = w;
    return -EBADMSG;
}

const char *tftp_bad_name(enum tftp_bad why)
{
    static const char *const names[TFTP_BAD__COUNT] = {
        [TFTP_OK] = "ok",
        [TFTP_BAD_TRUNCATED] = "truncated",
        [TFTP_BAD_NO_NUL] = "no_nul",
        [TFTP_BAD_OPCODE] = "bad_opcode",
        [TFTP_BAD_MODE] = "bad_mode",
        [TFTP_BAD_EMPTY_NAME] = "empty_name",
        [TFTP_BAD_DUP_OPTION] = "duplicate_option",
        [TFTP_BAD_OPTION_VALUE] = "bad_option_value",
    };
    return (unsigned)why < TFTP_BAD__COUNT ? names[why] : "unknown";
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

size_t tftp_build_error(uint8_t *buf, size_t cap, enum tftp_errcode code, const char *msg)
{
    size_t n = strnlen(msg, TFTP_ERRMSG_MAX);
    if (cap < 4 + n + 1)
        return 0;
    put_u16(buf, TFTP_ERROR);
    put_u16(buf + 2, (uint16_t)code);
    memcpy(buf + 4, msg, n);
    buf[4 + n] = 0;
    return 4 + n + 1;
}

size_t tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
    if (cap < 4)
        return 0;
    put_u16(buf, TFTP_ACK);
    put_u16(buf + 2, block);
    return 4;
}

void tftp_put_data_header(uint8_t hdr[TFTP_DATA_HDR], uint16_t block)
{
    put_u16(hdr, TFTP_DATA);
    put_u16(hdr + 2, block);
}

size_t tftp_build_data(uint8_t *buf, size_t cap, uint16_t block, const void *data, size_t len)
{
    if (cap < TFTP_DATA_HDR + len)
        return 0;
    tftp_put_data_header(buf, block);
    if (len)
        memcpy(buf + TFTP_DATA_HDR, data, len);
    return TFTP_DATA_HDR + len;
}

/* Appends "name\0value\0"; false if it does not fit. */
static bool put_option(uint8_t *buf, size_t cap, size_t *off, const char *name, uint64_t value)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)value);
    size_t nl = strlen(name);
    if (n < 0 || *off + nl + 1 + (size_t)n + 1 > cap)
        return false;
    memcpy(buf + *off, name, nl + 1);
    *off += nl + 1;
    memcpy(buf + *off, num, (size_t)n + 1);
    *off += (size_t)n + 1;
    return true;
}

size_t tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_options *o)
{
    size_t off = 2;
    if (cap < 2)
        return 0;
    put_u16(buf, TFTP_OACK);
    if (o->has_blksize && !put_option(buf, cap, &off, "blksize", o->blksize))
        return 0;
    if (o->has_timeout && !put_option(buf, cap, &off, "timeout", o->timeout_s))
        return 0;
    if (o->has_tsize && !put_option(buf, cap, &off, "tsize", o->tsize))
        return 0;
    if (o->has_windowsize && !put_option(buf, cap, &off, "windowsize", o->windowsize))
        return 0;
    return off;
}
