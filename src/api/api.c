/* The REST API's front door: the admin token (created on first start,
 * checked on every admin call) and the router from /api/v1/COLLECTION to
 * the route files. */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api/api_internal.h"
#include "api/api_jobs.h"
#include "store/store_inventory.h"
#include "util/addr.h"
#include "util/clock.h"
#include "util/log.h"

#define API_PREFIX "/api/v1/"
#define ADMIN_TOKEN_FILE "admin.token"
#define ADMIN_TOKEN_BYTES 32

static void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof md) {
        /* Never equal to a stored hash (those are hex digits only). */
        memset(out, 'x', SHA256_HEX_LEN);
        out[SHA256_HEX_LEN] = '\0';
        return;
    }
    for (size_t i = 0; i < sizeof md; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[SHA256_HEX_LEN] = '\0';
}

/* STATE_DIR/admin.token, mode 0600, replaced atomically: a reader (the
 * local CLI) sees the old token or the new one, never half a file. */
static int write_token_file(const char *state_dir, const char *token)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, ADMIN_TOKEN_FILE ".tmp.%ld", (long)getpid());
    int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    unlinkat(dfd, tmp, 0); /* left by a crash of an earlier process with our pid */
    int rc = 0;
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    size_t len = strlen(token);
    ssize_t n;
    if (fchmod(fd, 0600) < 0 || (n = write(fd, token, len)) < 0 || fsync(fd) < 0)
        rc = -errno;
    else if ((size_t)n != len)
        rc = -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(dfd, tmp, dfd, ADMIN_TOKEN_FILE) < 0)
        rc = -errno;
    if (rc < 0)
        unlinkat(dfd, tmp, 0);
    else
        fsync(dfd); /* the rename itself survives a crash */
out:
    close(dfd);
    return rc;
}

/* First start: a token nobody has seen, its hash in the store, the token
 * for the local CLI in STATE_DIR/admin.token and once in the log. The file
 * is written before the hash is stored: if storing fails the next start
 * tries again, rather than leave a hash whose token was never written. */
static int admin_token_ensure(struct api *a)
{
    int r = store_admin_token_get(a->st, a->admin_hash);
    if (r == 0)
        return 0;
    if (r != -ENOENT) {
        log_error("api", "cannot read the admin token hash: %s", store_errmsg(a->st));
        return r;
    }
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[ADMIN_TOKEN_BYTES];
    char token[2 * ADMIN_TOKEN_BYTES + 1];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        log_error("api", "no random bytes for the admin token");
        return -EIO;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        token[2 * i] = hex[raw[i] >> 4];
        token[2 * i + 1] = hex[raw[i] & 15];
    }
    token[sizeof token - 1] = '\0';
    char hash[SHA256_HEX_LEN + 1];
    sha256_hex(token, strlen(token), hash);
    r = write_token_file(a->conf->state_dir, token);
    if (r < 0) {
        log_error("api", "cannot write %s/" ADMIN_TOKEN_FILE ": %s", a->conf->state_dir, strerror(-r));
        goto out;
    }
    r = store_admin_token_set(a->st, hash, api_now_ms());
    if (r < 0) {
        log_error("api", "cannot store the admin token hash: %s", store_errmsg(a->st));
        goto out;
    }
    memcpy(a->admin_hash, hash, sizeof hash);
    log_info("api", "admin token created: %s (saved in %s/" ADMIN_TOKEN_FILE ", mode 0600)", token,
             a->conf->state_dir);
out:
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(token, sizeof token);
    return r;
}

static bool admin_refused(struct api *a, const struct http_api_request *req, struct http_api_response *resp,
                          const char *why, bool invalid)
{
    static struct ratelimit rl = RATELIMIT_INIT(10000, 10);
    char peer[IPV4_STRLEN], path[LOG_ESCAPED_SIZE(128)];
    format_ipv4(req->peer_addr, peer);
    log_escape(path, sizeof path, req->path, strlen(req->path));
    if (log_ratelimited_ok(&rl, "api"))
        log_warn("api", "admin call %s from %s:%u refused: %s", path, peer, req->peer_port, why);
    if (a->lc) {
        json_t *d = json_pack("{s:s, s:i, s:s, s:s}", "peer", peer, "port", (int)req->peer_port, "path", path,
                              "reason", why);
        char *data = d ? json_dumps(d, JSON_COMPACT) : NULL;
        json_decref(d);
        lifecycle_recordf(a->lc, "token.refused", EVENT_FAIL, NULL, data, "admin call %s from %s refused: %s",
                          path, peer, why);
        free(data);
    }
    /* RFC 6750 §3: a 401 names the scheme; a token that was sent and is
     * wrong is "invalid_token". */
    snprintf(resp->extra_headers, sizeof resp->extra_headers, "WWW-Authenticate: Bearer realm=\"midwife\"%s\r\n",
             invalid ? ", error=\"invalid_token\"" : "");
    api_error(resp, 401, NULL, "%s", why);
    return false;
}

bool api_admin(struct api *a, const struct http_api_request *req, struct http_api_response *resp)
{
    if (!req->bearer || !req->bearer[0])
        return admin_refused(a, req, resp, "admin token required (Authorization: Bearer TOKEN)", false);
    int r = store_admin_token_get(a->st, a->admin_hash);
    if (r == -ENOENT)
        return admin_refused(a, req, resp, "no admin token is set (midwife token rotate makes one)", true);
    if (r < 0) {
        api_store_error(a, resp, "admin token", r);
        return false;
    }
    char got[SHA256_HEX_LEN + 1];
    sha256_hex(req->bearer, strlen(req->bearer), got);
    /* Comparing hashes already hides how much of the token matched; the
     * constant-time compare keeps the hash's prefix hidden as well. */
    if (CRYPTO_memcmp(got, a->admin_hash, SHA256_HEX_LEN) != 0)
        return admin_refused(a, req, resp, "wrong admin token", true);
    return true;
}

typedef void (*api_route_fn)(struct api *a, const struct http_api_request *req, const char *rest,
                             struct http_api_response *resp);

static const struct api_route {
    const char *collection;
    api_route_fn fn;
    bool admin; /* false: a host call, the route checks the boot token */
} routes[] = {
    {"status", api_route_status, true},     {"hosts", api_route_hosts, true},
    {"profiles", api_route_profiles, true}, {"rules", api_route_rules, true},
    {"builds", api_route_builds, true},     {"apply", api_route_apply, true},
    {"export", api_route_export, true},     {"events", api_route_events, true},
    {"explain", api_route_explain, true},   {"jobs", api_route_jobs, true},
    {"birth", api_route_birth, false},
    {"report", api_route_report, false},    {"state", api_route_state, false},
};

void api_handle(void *arg, const struct http_api_request *req, struct http_api_response *resp)
{
    struct api *a = arg;
    if (strncmp(req->path, API_PREFIX, strlen(API_PREFIX)) != 0) {
        api_error(resp, 404, NULL, "no such API path");
        return;
    }
    const char *coll = req->path + strlen(API_PREFIX);
    size_t coll_len = strcspn(coll, "/");
    const char *rest = coll + coll_len;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strlen(routes[i].collection) != coll_len || strncmp(routes[i].collection, coll, coll_len) != 0)
            continue;
        if (routes[i].admin && !api_admin(a, req, resp))
            return;
        /* HEAD is GET without the body; the HTTP room drops the body. */
        struct http_api_request get = *req;
        if (get.method == API_HEAD)
            get.method = API_GET;
        routes[i].fn(a, &get, rest, resp);
        return;
    }
    char esc[LOG_ESCAPED_SIZE(64)];
    api_error(resp, 404, NULL, "no such API collection: %s",
              log_escape(esc, sizeof esc, coll, coll_len > 64 ? 64 : coll_len));
}

int api_start(struct event_base *base, const struct conf *conf, struct store *st, struct lifecycle *lc,
              struct api **out)
{
    struct api *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->base = base;
    a->conf = conf;
    a->st = st;
    a->lc = lc;
    a->started_ms = api_now_ms();
    a->started_mono_ms = clock_mono_ms();
    int r = admin_token_ensure(a);
    if (r < 0) {
        free(a);
        return r;
    }
    *out = a;
    return 0;
}

void api_reload(struct api *a, const struct conf *conf)
{
    a->conf = conf;
    if (store_admin_token_get(a->st, a->admin_hash) < 0)
        log_warn("api", "cannot re-read the admin token hash: %s", store_errmsg(a->st));
}

void api_stop(struct api *a)
{
    if (!a)
        return;
    api_jobs_stop(a);
    free(a);
}
