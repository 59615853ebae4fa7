#include "boot/script.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/san.h"
#include "boot/script_builtin.h"
#include "util/file.h"
#include "util/errmsg.h"
#include "boot/template.h"

/* The variables every template sees (docs/boot-templates.md). The same
 * set for every kind, so an override may use any of them. */
enum {
    V_BASE_URL, V_MAC, V_HOST, V_BUILD, V_VERSION, V_KIND, V_VLAN, V_CMDLINE, V_EXTRA_CMDLINE, V_TOKEN,
    V_KERNEL_NAME, V_KERNEL_SHA256, V_MODULES, V_SAN_URI, V_MBOOT_NAME, V_MBOOT_SHA256, V_EFI_NAME,
    V_EFI_SHA256, V_KS_URL, V_ISCSI_INITIATOR, V_COUNT
};

enum { F_NAME, F_SHA256, F_ARGS, F_LAYERED, F_FIRST, F_COUNT };

static const struct tmpl_var module_fields[F_COUNT] = {
    [F_NAME] = {"name", TMPL_FILENAME, NULL, NULL, 0, NULL, 0},
    [F_SHA256] = {"sha256", TMPL_SHA256, NULL, NULL, 0, NULL, 0},
    [F_ARGS] = {"args", TMPL_CMDLINE, NULL, NULL, 0, NULL, 0},
    [F_LAYERED] = {"layered", TMPL_NUMBER, NULL, NULL, 0, NULL, 0},
    [F_FIRST] = {"first", TMPL_NUMBER, NULL, NULL, 0, NULL, 0},
};

struct binding {
    struct tmpl_var vars[V_COUNT];
    char mac[18];
    char version[12];
    char vlan[12];
    char ks_url[CONF_URL_MAX + 320]; /* base URL, MAC, a token of up to 255 bytes */
    struct boot_san san;             /* sanboot builds: the host's URI and initiator */
    const char **rows;
};

/* Loaders shipped with a build (ESXi's mboot.c32 for BIOS, its EFI
 * loader for UEFI) are told apart by their file type. */
static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* A ks= word on a kernel command line. */
static bool has_ks_option(const char *cmdline)
{
    for (const char *p = cmdline; (p = strstr(p, "ks=")) != NULL; p += 3)
        if (p == cmdline || p[-1] == ' ')
            return true;
    return false;
}

static void binding_free(struct binding *b)
{
    free(b->rows);
    b->rows = NULL;
}

static int bind_vars(struct binding *b, const struct conf *conf, const struct host *host, const struct build *build,
                const struct script_request *req, char *err, size_t errlen)
{
    static const char hex[] = "0123456789abcdef";
    memset(b, 0, sizeof *b);
    for (int i = 0; i < V_COUNT; i++)
        b->vars[i].cls = TMPL_WORD;
    static const char *const names[V_COUNT] = {
        [V_BASE_URL] = "base_url", [V_MAC] = "mac", [V_HOST] = "host", [V_BUILD] = "build",
        [V_VERSION] = "version", [V_KIND] = "kind", [V_VLAN] = "vlan", [V_CMDLINE] = "cmdline",
        [V_EXTRA_CMDLINE] = "extra_cmdline", [V_TOKEN] = "token", [V_KERNEL_NAME] = "kernel_name",
        [V_KERNEL_SHA256] = "kernel_sha256", [V_MODULES] = "modules", [V_SAN_URI] = "san_uri",
        [V_MBOOT_NAME] = "mboot_name", [V_MBOOT_SHA256] = "mboot_sha256", [V_EFI_NAME] = "efi_name",
        [V_EFI_SHA256] = "efi_sha256", [V_KS_URL] = "ks_url", [V_ISCSI_INITIATOR] = "iscsi_initiator",
    };
    for (int i = 0; i < V_COUNT; i++)
        b->vars[i].name = names[i];
    b->vars[V_BASE_URL].cls = TMPL_URL;
    b->vars[V_VERSION].cls = TMPL_NUMBER;
    b->vars[V_VLAN].cls = TMPL_NUMBER;
    b->vars[V_CMDLINE].cls = TMPL_CMDLINE;
    b->vars[V_EXTRA_CMDLINE].cls = TMPL_CMDLINE;
    b->vars[V_KERNEL_NAME].cls = TMPL_FILENAME;
    b->vars[V_KERNEL_SHA256].cls = TMPL_SHA256;
    b->vars[V_MODULES].cls = TMPL_LIST;
    b->vars[V_SAN_URI].cls = TMPL_SAN_URI;
    b->vars[V_MBOOT_NAME].cls = TMPL_FILENAME;
    b->vars[V_MBOOT_SHA256].cls = TMPL_SHA256;
    b->vars[V_EFI_NAME].cls = TMPL_FILENAME;
    b->vars[V_EFI_SHA256].cls = TMPL_SHA256;
    b->vars[V_KS_URL].cls = TMPL_URL;
    b->vars[V_MODULES].fields = module_fields;
    b->vars[V_MODULES].n_fields = F_COUNT;

    if (!req->base_url || !*req->base_url)
        return errf(err, errlen, -EINVAL, "no base URL to render boot scripts with");
    b->vars[V_BASE_URL].value = req->base_url;
    if (req->mac) {
        for (int i = 0; i < 6; i++) {
            b->mac[3 * i] = hex[req->mac[i] >> 4];
            b->mac[3 * i + 1] = hex[req->mac[i] & 15];
            b->mac[3 * i + 2] = i < 5 ? '-' : '\0';
        }
        b->vars[V_MAC].value = b->mac;
    }
    b->vars[V_TOKEN].value = req->token;
    if (host) {
        b->vars[V_HOST].value = host->name;
        if (host->vlan < 0 || host->vlan > 4094)
            return errf(err, errlen, -EINVAL, "host %s: VLAN %d is outside 1..4094", host->name, host->vlan);
        if (host->vlan > 0) {
            snprintf(b->vlan, sizeof b->vlan, "%d", host->vlan);
            b->vars[V_VLAN].value = b->vlan;
        }
    }
    if (!build)
        return 0;

    b->vars[V_BUILD].value = build->name;
    snprintf(b->version, sizeof b->version, "%d", build->version);
    b->vars[V_VERSION].value = b->version;
    b->vars[V_KIND].value = build_kind_name(build->kind);
    b->vars[V_CMDLINE].value = build->cmdline;
    if (build->kind == BUILD_LINUX)
        b->vars[V_EXTRA_CMDLINE].value = conf->boot_extra_cmdline;
    if (build->kind == BUILD_SANBOOT) {
        /* The host's own target and initiator (host vars iscsi_target,
         * iscsi_initiator), the same values DHCP hands it. */
        int r = boot_san_for(host, build, &b->san, err, errlen);
        if (r < 0)
            return r;
        b->vars[V_SAN_URI].value = b->san.uri;
        b->vars[V_ISCSI_INITIATOR].value = b->san.initiator;
    }
    /* An ESXi boot with a token installs from midwife's kickstart, unless
     * the build's kernelopt names its own ks=, which wins. */
    if (build->kind == BUILD_ESXI && req->token && req->token[0] && req->mac && !has_ks_option(build->cmdline)) {
        if (snprintf(b->ks_url, sizeof b->ks_url, "%s/boot/esxi/%s/%s/ks.cfg", req->base_url, b->mac, req->token) >=
            (int)sizeof b->ks_url)
            return errf(err, errlen, -EINVAL, "the kickstart URL would be longer than %zu bytes",
                         sizeof b->ks_url - 1);
        b->vars[V_KS_URL].value = b->ks_url;
    }

    /* Modules in boot order: the build's own, then the layered ones, each
     * group as stored. */
    size_t n_mod = 0;
    const struct build_file *kernel = NULL;
    for (size_t i = 0; i < build->n_files; i++) {
        const struct build_file *f = &build->files[i];
        if (f->role == BUILD_FILE_LOADER) {
            int which = has_suffix(f->name, ".c32") ? V_MBOOT_NAME : has_suffix(f->name, ".efi") ? V_EFI_NAME : -1;
            if (which >= 0 && !b->vars[which].value) {
                b->vars[which].value = f->name;
                b->vars[which + 1].value = f->sha256;
            }
        } else if (f->role == BUILD_FILE_KERNEL) {
            if (!kernel)
                kernel = f;
        } else {
            n_mod++;
        }
    }
    if (kernel) {
        b->vars[V_KERNEL_NAME].value = kernel->name;
        b->vars[V_KERNEL_SHA256].value = kernel->sha256;
    } else if (build->kind == BUILD_LINUX || build->kind == BUILD_ESXI || build->kind == BUILD_CHAIN) {
        return errf(err, errlen, -EINVAL, "build %s v%d (%s) has no kernel file", build->name, build->version,
                     build_kind_name(build->kind));
    }
    /* The agent follows the build's modules (so a build cannot shadow
     * it by accident); the saved state comes last, so it unpacks over
     * everything else. */
    bool with_agent = req->agent_sha256 && build->kind == BUILD_LINUX && !build->no_agent;
    bool with_state = req->state_sha256 && build->kind == BUILD_LINUX;
    n_mod += with_agent + with_state;
    if (n_mod) {
        b->rows = calloc(n_mod * F_COUNT, sizeof *b->rows);
        if (!b->rows)
            return errf(err, errlen, -ENOMEM, "out of memory");
    }
    size_t row = 0;
    for (int layered = 0; layered < 2; layered++)
        for (size_t i = 0; i < build->n_files; i++) {
            const struct build_file *f = &build->files[i];
            if (f->role != BUILD_FILE_MODULE || (int)f->layered != layered)
                continue;
            /* iPXE names an image after its URL's last segment, and the
             * kernel finds EFI initrds by that name: two alike would clash. */
            for (size_t k = 0; k < row; k++)
                if (strcmp(b->rows[k * F_COUNT + F_NAME], f->name) == 0)
                    return errf(err, errlen, -EINVAL, "build %s v%d: two modules named '%s'", build->name,
                                 build->version, f->name);
            const char **r = &b->rows[row * F_COUNT];
            r[F_NAME] = f->name;
            r[F_SHA256] = f->sha256;
            r[F_ARGS] = f->args;
            r[F_LAYERED] = f->layered ? "1" : NULL;
            r[F_FIRST] = row == 0 ? "1" : NULL;
            row++;
        }
    const char *extra[2] = {with_agent ? AGENT_MODULE_FILE : NULL, with_state ? STATE_MODULE_NAME : NULL};
    const char *extra_sha[2] = {req->agent_sha256, req->state_sha256};
    for (int e = 0; e < 2; e++) {
        if (!extra[e])
            continue;
        for (size_t k = 0; k < row; k++)
            if (strcmp(b->rows[k * F_COUNT + F_NAME], extra[e]) == 0)
                return errf(err, errlen, -EINVAL, "build %s v%d: a module is named '%s', which midwife adds itself",
                             build->name, build->version, extra[e]);
        const char **r = &b->rows[row * F_COUNT];
        r[F_NAME] = extra[e];
        r[F_SHA256] = extra_sha[e];
        r[F_FIRST] = row == 0 ? "1" : NULL;
        row++;
    }
    b->vars[V_MODULES].rows = b->rows;
    b->vars[V_MODULES].n_rows = row;
    return 0;
}

/* The template called name: DIR/name when [boot] templates has it, else
 * the built-in. *shown is what errors call it. */
static int load_template(const struct conf *conf, const char *name, char **owned, const char **text,
                         size_t *len, char *shown, size_t shownlen, char *err, size_t errlen)
{
    *owned = NULL;
    snprintf(shown, shownlen, "%s", name);
    if (conf->boot_templates[0]) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", conf->boot_templates, name) >= (int)sizeof path)
            return errf(err, errlen, -ENAMETOOLONG, "%s/%s: path too long", conf->boot_templates, name);
        char *buf;
        size_t n;
        int r = file_read_capped(path, TMPL_MAX_TEXT, &buf, &n);
        if (r == 0) {
            *owned = buf;
            *text = buf;
            *len = n;
            snprintf(shown, shownlen, "%s", path);
            return 0;
        }
        if (r == -E2BIG)
            return errf(err, errlen, -E2BIG, "%s: larger than %d bytes", path, TMPL_MAX_TEXT);
        if (r == -ENOMEM)
            return errf(err, errlen, -ENOMEM, "out of memory");
        if (r != -ENOENT)
            return errf(err, errlen, -EIO, "%s: %s", path, strerror(-r));
    }
    *text = boot_builtin_template(name, len);
    if (!*text)
        return errf(err, errlen, -ENOENT, "no template '%s'", name);
    return 0;
}

/* Templates are parsed once and kept: every script request renders one,
 * and parsing was a third of the rendering. A built-in is constant text
 * parsed against constant tables, so it never goes stale. An operator's
 * override ([boot] templates) is kept per version of its file: one stat
 * per request tells a changed, replaced or removed file (device, inode,
 * size, change and modification times), so an edit applies at the next
 * request as it always did. Both live as long as the process. */
#define TEMPLATE_SLOTS 16

struct override_parsed {
    char path[PATH_MAX];
    struct stat st;
    struct tmpl *t;
};

static struct tmpl *builtin_parsed[TEMPLATE_SLOTS];
static struct override_parsed override_parsed[TEMPLATE_SLOTS];

/* The slot of a built-in template's name, or -1. */
static int template_slot(const char *name)
{
    for (int i = 0; i < TEMPLATE_SLOTS && boot_builtin_template_name((size_t)i); i++)
        if (strcmp(boot_builtin_template_name((size_t)i), name) == 0)
            return i;
    return -1;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The parsed template for name into *out: 0; 1 when none is kept for it
 * (load and expand it the long way, which also says what is wrong with
 * the file); < 0 with err set when it cannot be read or does not parse. */
static int parsed_template(const struct conf *conf, const char *name, const struct binding *b,
                           const struct tmpl **out, char *err, size_t errlen)
{
    int i = template_slot(name);
    if (i < 0)
        return 1;
    if (conf->boot_templates[0]) {
        struct override_parsed *o = &override_parsed[i];
        char path[PATH_MAX];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", conf->boot_templates, name) >= (int)sizeof path)
            return 1;
        if (stat(path, &st) < 0) {
            if (errno != ENOENT)
                return 1;
        } else if (o->t && strcmp(o->path, path) == 0 && same_file(&o->st, &st)) {
            *out = o->t;
            return 0;
        } else {
            char *owned, shown[PATH_MAX];
            const char *text;
            size_t len;
            int r = load_template(conf, name, &owned, &text, &len, shown, sizeof shown, err, errlen);
            if (r < 0)
                return r;
            if (owned) { /* else it went away since the stat: the built-in */
                struct tmpl *t;
                r = tmpl_parse(shown, text, len, true, b->vars, V_COUNT, &t, err, errlen);
                free(owned);
                if (r < 0)
                    return r;
                tmpl_free(o->t);
                o->t = t;
                o->st = st;
                snprintf(o->path, sizeof o->path, "%s", path);
                *out = t;
                return 0;
            }
        }
    }
    if (!builtin_parsed[i]) {
        size_t len;
        const char *text = boot_builtin_template(name, &len);
        int r = tmpl_parse(name, text, len, false, b->vars, V_COUNT, &builtin_parsed[i], err, errlen);
        if (r < 0)
            return r;
    }
    *out = builtin_parsed[i];
    return 0;
}

static int render_named(const struct conf *conf, const char *name, const struct binding *b, char **out,
                        size_t *outlen, char *err, size_t errlen)
{
    const struct tmpl *t;
    int r = parsed_template(conf, name, b, &t, err, errlen);
    if (r == 0)
        return tmpl_render(t, b->vars, V_COUNT, out, outlen, err, errlen);
    *out = NULL;
    if (r < 0)
        return r;
    char *owned, shown[PATH_MAX];
    const char *text;
    size_t len;
    if ((r = load_template(conf, name, &owned, &text, &len, shown, sizeof shown, err, errlen)) < 0)
        return r;
    r = tmpl_expand(shown, text, len, b->vars, V_COUNT, out, outlen, err, errlen);
    free(owned);
    return r;
}

static const char *template_for(const struct build *build)
{
    if (!build)
        return "exit.ipxe";
    switch (build->kind) {
    case BUILD_LINUX: return "linux.ipxe";
    case BUILD_ESXI: return "esxi.ipxe";
    case BUILD_CHAIN: return "chain.ipxe";
    case BUILD_SANBOOT: return "sanboot.ipxe";
    case BUILD_LOCAL: return "local.ipxe";
    }
    return "exit.ipxe";
}

int boot_script_render(const struct conf *conf, const struct host *host, const struct build *build,
                       const struct script_request *req, char **out, size_t *outlen, char *err, size_t errlen)
{
    struct binding b;
    *out = NULL;
    int r = bind_vars(&b, conf, host, build, req, err, errlen);
    if (r == 0 && build && build->kind == BUILD_ESXI && !req->mac)
        r = errf(err, errlen, -EINVAL, "an esxi build needs the client's MAC for its boot.cfg URL");
    if (r == 0 && build && build->kind == BUILD_SANBOOT && !build->san_uri[0])
        r = errf(err, errlen, -EINVAL, "build %s v%d (sanboot) has no SAN URI", build->name, build->version);
    if (r == 0)
        r = render_named(conf, template_for(build), &b, out, outlen, err, errlen);
    binding_free(&b);
    return r;
}

int boot_esxi_cfg_render(const struct conf *conf, const struct host *host, const struct build *build,
                         const struct script_request *req, char **out, size_t *outlen, char *err, size_t errlen)
{
    struct binding b;
    *out = NULL;
    if (!build)
        return errf(err, errlen, -ENOENT, "no build for this host: no boot.cfg");
    if (build->kind != BUILD_ESXI)
        return errf(err, errlen, -ENOENT, "build %s v%d is a %s build, not esxi: no boot.cfg", build->name,
                     build->version, build_kind_name(build->kind));
    int r = bind_vars(&b, conf, host, build, req, err, errlen);
    if (r == 0)
        r = render_named(conf, "esxi-boot.cfg", &b, out, outlen, err, errlen);
    binding_free(&b);
    return r;
}

/* Finds what req's host boots. *host_found tells whether h is filled
 * (caller clears it with host_clear); *have_build whether b is (caller
 * clears it). The MAC may be any of the host's, not only its first. */
static int lookup(const struct conf *conf, struct store *st, const struct script_request *req, struct host *h,
                  bool *host_found, struct build *b, bool *have_build, char *err, size_t errlen)
{
    *host_found = *have_build = false;
    if (req->mac) {
        int r = store_host_by_mac(st, req->mac, h);
        if (r == 0)
            *host_found = true;
        else if (r != -ENOENT)
            return errf(err, errlen, r, "store: host lookup failed: %s", strerror(-r));
    }
    const char *name = *host_found && h->build[0] ? h->build : conf->boot_default_build;
    int version = *host_found && h->build[0] ? h->build_version : 0;
    if (!name[0])
        return 0; /* the exit script */
    memset(b, 0, sizeof *b);
    int r = store_build_get(st, name, version, b);
    if (r == -ENOENT) {
        if (*host_found && h->build[0])
            return errf(err, errlen, -ENOENT, "host %s: build %s%s%.0d does not exist", h->name, name,
                         version ? " v" : "", version);
        return errf(err, errlen, -ENOENT, "[boot] default_build %s does not exist", name);
    }
    if (r < 0)
        return errf(err, errlen, r, "store: build %s: %s", name, strerror(-r));
    *have_build = true;
    return 0;
}

typedef int render_fn(const struct conf *conf, const struct host *host, const struct build *build,
                      const struct script_request *req, char **out, size_t *outlen, char *err, size_t errlen);

/* The host and build a request stands for, rendered by render. */
static int render_for(const struct conf *conf, struct store *st, const struct script_request *req, render_fn *render,
                      char **out, size_t *outlen, char *err, size_t errlen)
{
    struct host h;
    struct build b;
    bool host_found, have_build;
    *out = NULL;
    int r = lookup(conf, st, req, &h, &host_found, &b, &have_build, err, errlen);
    if (r == 0)
        r = render(conf, host_found ? &h : NULL, have_build ? &b : NULL, req, out, outlen, err, errlen);
    if (have_build)
        build_clear(&b);
    if (host_found)
        host_clear(&h);
    return r;
}

int boot_script_for(const struct conf *conf, struct store *st, const struct script_request *req, char **out,
                    size_t *outlen, char *err, size_t errlen)
{
    return render_for(conf, st, req, boot_script_render, out, outlen, err, errlen);
}

int boot_esxi_cfg_for(const struct conf *conf, struct store *st, const struct script_request *req, char **out,
                      size_t *outlen, char *err, size_t errlen)
{
    return render_for(conf, st, req, boot_esxi_cfg_render, out, outlen, err, errlen);
}

int boot_templates_check(const struct conf *conf, char *err, size_t errlen)
{
    if (!conf->boot_templates[0])
        return 0;
    /* A build with every kind of file, so every variable is bound. */
    static const char sha[] = "0000000000000000000000000000000000000000000000000000000000000000";
    struct build_file files[2] = {{.role = BUILD_FILE_KERNEL}, {.role = BUILD_FILE_MODULE}};
    snprintf(files[0].name, sizeof files[0].name, "kernel");
    snprintf(files[1].name, sizeof files[1].name, "initrd");
    memcpy(files[0].sha256, sha, sizeof sha);
    memcpy(files[1].sha256, sha, sizeof sha);
    struct build build = {.version = 1, .kind = BUILD_LINUX, .files = files, .n_files = 2};
    snprintf(build.name, sizeof build.name, "check");
    snprintf(build.san_uri, sizeof build.san_uri, "iscsi:192.0.2.1::::iqn.2000-01.example:check");
    struct host host = {.vlan = 1};
    snprintf(host.name, sizeof host.name, "check");
    static const uint8_t mac[6] = {0};
    struct script_request req = {.mac = mac, .base_url = "http://192.0.2.1", .token = "check"};
    for (size_t i = 0; boot_builtin_template_name(i); i++) {
        const char *name = boot_builtin_template_name(i);
        char *owned, shown[PATH_MAX];
        const char *text;
        size_t len;
        int r = load_template(conf, name, &owned, &text, &len, shown, sizeof shown, err, errlen);
        if (r < 0)
            return r;
        if (!owned)
            continue;
        free(owned);
        struct binding b;
        char *out = NULL;
        r = bind_vars(&b, conf, &host, &build, &req, err, errlen);
        if (r == 0)
            r = render_named(conf, name, &b, &out, NULL, err, errlen);
        binding_free(&b);
        free(out);
        if (r < 0)
            return r;
    }
    return 0;
}
