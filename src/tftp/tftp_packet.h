/* TFTP packet codec: RFC 1350 packets, RFC 2347 options (OACK), RFC 2348
 * blksize, RFC 2349 timeout and tsize, RFC 7440 windowsize.
 *
 * Parsing reads through a bounded cursor and never copies: the strings of
 * a parsed request point into the caller's buffer, which must outlive the
 * parsed struct. Every string we hand out is NUL-terminated inside the
 * packet (the parser checks it), so it can be used as a C string. */
#ifndef MIDWIFE_TFTP_TFTP_PACKET_H
#define MIDWIFE_TFTP_TFTP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tftp_opcode {
    TFTP_RRQ = 1,
    TFTP_WRQ = 2,
    TFTP_DATA = 3,
    TFTP_ACK = 4,
    TFTP_ERROR = 5,
    TFTP_OACK = 6, /* RFC 2347 */
};

enum tftp_errcode {
    TFTP_EUNDEF = 0,    /* "Not defined, see error message" */
    TFTP_ENOTFOUND = 1, /* "File not found" */
    TFTP_EACCESS = 2,   /* "Access violation" */
    TFTP_ENOSPACE = 3,
    TFTP_EBADOP = 4,    /* "Illegal TFTP operation" */
    TFTP_EBADID = 5,    /* "Unknown transfer ID" */
    TFTP_EEXISTS = 6,
    TFTP_ENOUSER = 7,
    TFTP_EOPTNEG = 8,   /* RFC 2347: option negotiation refused */
};

enum tftp_mode { TFTP_MODE_OCTET, TFTP_MODE_NETASCII, TFTP_MODE_MAIL };

/* Why a packet was not accepted. The names double as metric label values. */
enum tftp_bad {
    TFTP_OK = 0,
    TFTP_BAD_TRUNCATED,    /* shorter than its opcode needs */
    TFTP_BAD_NO_NUL,       /* a string runs off the end of the packet */
    TFTP_BAD_OPCODE,       /* not 1..6 */
    TFTP_BAD_MODE,         /* not netascii/octet/mail */
    TFTP_BAD_EMPTY_NAME,   /* filename or option name is "" */
    TFTP_BAD_DUP_OPTION,   /* the same option twice */
    TFTP_BAD_OPTION_VALUE, /* a number outside its RFC range */
    TFTP_BAD__COUNT
};

/* RFC limits. */
#define TFTP_BLKSIZE_DEFAULT 512
#define TFTP_BLKSIZE_MIN 8      /* RFC 2348 */
#define TFTP_BLKSIZE_MAX 65464  /* RFC 2348: fits a max-size IPv4 UDP datagram */
#define TFTP_TIMEOUT_MIN 1      /* RFC 2349, seconds */
#define TFTP_TIMEOUT_MAX 255
#define TFTP_WINDOW_MIN 1       /* RFC 7440 */
#define TFTP_WINDOW_MAX 65535
#define TFTP_DATA_HDR 4         /* opcode + block number */
#define TFTP_ERRMSG_MAX 128     /* what we put in our own ERROR packets */

/* Options a request carried. has_* tells whether the option was present;
 * unknown options are skipped (RFC 2347: "Options which the server does not
 * support should be ignored"). */
struct tftp_options {
    bool has_blksize, has_timeout, has_tsize, has_windowsize;
    uint32_t blksize;    /* clamped to TFTP_BLKSIZE_MAX, see tftp_packet.c */
    uint32_t timeout_s;
    uint64_t tsize;
    uint32_t windowsize; /* clamped to TFTP_WINDOW_MAX */
};

struct tftp_request {
    enum tftp_opcode op; /* TFTP_RRQ or TFTP_WRQ */
    const char *filename; /* NUL-terminated inside the packet */
    size_t filename_len;
    enum tftp_mode mode;
    struct tftp_options opt;
};

struct tftp_packet {
    enum tftp_opcode op;
    union {
        struct tftp_request req;              /* RRQ, WRQ */
        uint16_t block;                       /* ACK */
        struct { uint16_t block; const uint8_t *data; size_t len; } data; /* DATA */
        struct { uint16_t code; const char *msg; size_t msg_len; } error; /* ERROR */
    } u;
};

/* Parses any packet whose opcode is RRQ, WRQ, DATA, ACK or ERROR (OACK is
 * server-to-client only and reported as TFTP_BAD_OPCODE). Returns 0, or
 * -EBADMSG with *why set. An ERROR whose message lacks its NUL is accepted
 * with the message cut at the end of the packet: the code is what matters
 * and a client that is going away deserves no quarrel. */
int tftp_parse(const uint8_t *buf, size_t len, struct tftp_packet *out, enum tftp_bad *why);

/* Stable lowercase name for metrics and logs ("truncated", "no_nul", ...). */
const char *tftp_bad_name(enum tftp_bad why);

/* Builders return the packet length, or 0 if cap is too small. */
size_t tftp_build_error(uint8_t *buf, size_t cap, enum tftp_errcode code, const char *msg);
size_t tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block);
/* Writes only the 4-byte header; the payload is sent from its own buffer. */
void tftp_put_data_header(uint8_t hdr[TFTP_DATA_HDR], uint16_t block);
size_t tftp_build_data(uint8_t *buf, size_t cap, uint16_t block, const void *data, size_t len);
/* OACK listing exactly the options marked has_* in o, with o's values. */
size_t tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_options *o);

#endif
