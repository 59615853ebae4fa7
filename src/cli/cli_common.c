/* What every build/host subcommand needs: config, store, small parsers. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/strnum.h"

const char *cli_default_config(void)
{
    const char *env = getenv("MIDWIFE_CONFIG");
    return env && env[0] ? env : "/etc/midwife/midwife.conf";
}

int cli_open(const char *config, struct cli *c)
{
    char err[1024];
    memset(c, 0, sizeof *c);
    log_setup(LOG_FORMAT_TEXT, LOG_WARN, stderr);
    if (conf_load(config, &c->conf, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        return CLI_FAIL;
    }
    if (store_open(c->conf->state_dir, c->conf->sync, &c->st, err, sizeof err) < 0) {
        fprintf(stderr, "midwife: %s\n", err);
        conf_free(c->conf);
        c->conf = NULL;
        return CLI_FAIL;
    }
    return CLI_OK;
}

void cli_close(struct cli *c)
{
    store_close(c->st);
    conf_free(c->conf);
    c->st = NULL;
    c->conf = NULL;
}

int cli_parse_build_ref(const char *s, char name[BUILD_NAME_MAX], int *version)
{
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    if (n == 0 || n >= BUILD_NAME_MAX)
        return -EINVAL;
    memcpy(name, s, n);
    name[n] = '\0';
    if (!build_name_valid(name))
        return -EINVAL;
    *version = 0;
    if (at) {
        uint64_t v;
        const char *why;
        if (parse_u64(at + 1, 1, INT32_MAX, &v, &why) < 0)
            return -EINVAL;
        *version = (int)v;
    }
    return 0;
}

int cli_parse_output(const char *s, bool *json)
{
    if (strcmp(s, "json") == 0)
        *json = true;
    else if (strcmp(s, "text") == 0)
        *json = false;
    else
        return -EINVAL;
    return 0;
}

const char *cli_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
    return out;
}
