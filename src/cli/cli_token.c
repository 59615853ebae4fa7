/* midwife token rotate: a new admin token, made on the store itself (so it
 * works when the old token is lost): 32 random bytes, their hex in
 * STATE_DIR/admin.token (0600, replaced atomically), its SHA-256 in the
 * store, which the API checks every admin call against. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_cmd.h"
#include "conf/conf.h"
#include "store/store_inventory.h"
#include "util/clock.h"
#include "util/log.h"

static const char token_usage[] =
    "usage: midwife token rotate [-c CONFIG]\n"
    "  a new admin token: written to STATE_DIR/admin.token (mode 0600) and printed\n"
    "  once; the old one stops working at once, for the running server too.\n"
    "  Works on the store directly (run it on the server, as the user that owns\n"
    "  state_dir), so it also works when the old token is lost.\n";

#define WHAT "midwife token"
#define TOKEN_BYTES 32

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256_hex(const char *s, char out[SHA256_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) || n != 32)
        return -EIO;
    hex(md, n, out);
    return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The new file, complete and synced, beside the old one: renamed over it
 * only once the store holds the new hash. It keeps the old file's owner
 * (else state_dir's) so the server's user can still read it when root
 * rotates. */
static int write_temp(const char *state_dir, const char *tmp, const char *final, const char *token, char *err,
                      size_t errlen)
{
    struct stat st;
    bool own = stat(final, &st) == 0 || stat(state_dir, &st) == 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    char line[2 * TOKEN_BYTES + 2];
    snprintf(line, sizeof line, "%s\n", token);
    int r = fchmod(fd, 0600) < 0 ? -errno : 0;
    if (r == 0 && own && geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
        r = -errno;
    if (r == 0)
        r = write_all(fd, line, strlen(line));
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    explicit_bzero(line, sizeof line);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(-r));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int rotate(const struct cli_globals *g)
{
    const char *config = cli_config_path(g, (cli_env_fn)getenv);
    char err[PATH_MAX + 512];
    struct conf *conf = NULL;
    struct store *st = NULL;
    int rc = CLI_FAIL;
    char token[2 * TOKEN_BYTES + 1] = "", hash[SHA256_HEX_LEN + 1];
    char final[PATH_MAX], tmp[PATH_MAX];
    bool tmp_made = false;

    log_setup(LOG_FORMAT_TEXT, LOG_WARN, stderr);
    if (conf_load(config, &conf, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        return CLI_FAIL;
    }
    if ((size_t)snprintf(final, sizeof final, "%s/admin.token", conf->state_dir) >= sizeof final ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.admin.token.%ld", conf->state_dir, (long)getpid()) >= sizeof tmp) {
        fprintf(stderr, "midwife: %s: state_dir too long\n", config);
        goto out;
    }
    unsigned char raw[TOKEN_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        fprintf(stderr, "midwife: no random bytes from OpenSSL\n");
        goto out;
    }
    hex(raw, sizeof raw, token);
    explicit_bzero(raw, sizeof raw);
    if (sha256_hex(token, hash) < 0) {
        fprintf(stderr, "midwife: SHA-256 failed\n");
        goto out;
    }
    if (store_open(conf->state_dir, conf->sync, &st, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        goto out;
    }
    if (write_temp(conf->state_dir, tmp, final, token, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        goto out;
    }
    tmp_made = true;
    int r = store_admin_token_set(st, hash, clock_wall_s() * 1000);
    if (r < 0) {
        fprintf(stderr, "midwife: cannot store the new admin token: %s; the old one still works\n", strerror(-r));
        goto out;
    }
    /* From here on the new token is the only one that works: print it
     * even if the file cannot take it. */
    if (rename(tmp, final) < 0) {
        fprintf(stderr, "midwife: the new token is in force, but %s could not be replaced: %s\n", final,
                strerror(errno));
    } else {
        tmp_made = false;
        int dfd = open(conf->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd); /* the rename itself survives a crash */
            close(dfd);
        }
        fprintf(stderr, "midwife: new admin token in %s; the old one no longer works\n", final);
    }
    if (g->json) {
        json_t *j = json_pack("{s:s, s:s}", "token", token, "file", final);
        cli_print_json(j);
        json_decref(j);
    } else {
        printf("%s\n", token);
    }
    rc = CLI_OK;
out:
    if (tmp_made)
        unlink(tmp);
    explicit_bzero(token, sizeof token);
    store_close(st);
    conf_free(conf);
    return rc;
}

int cli_token_main(int argc, char **argv, struct cli_globals *g)
{
    if (argc < 2)
        return cli_usage_error(WHAT, token_usage, "which command?");
    const char *cmd = argv[1];
    argc--;
    argv++;
    argv[0] = (char *)WHAT;
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(token_usage, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "rotate") != 0)
        return cli_usage_error(WHAT, token_usage, "unknown command '%s'", cmd);
    int rc = cli_getopt(argc, argv, "", NULL, g, NULL, NULL, token_usage);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (optind != argc)
        return cli_usage_error(WHAT, token_usage, "rotate takes no operands");
    return rotate(g);
}
