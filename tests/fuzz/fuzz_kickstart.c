/* Fuzzes the ESXi kickstart (boot/kickstart.c): any JSON text as the
 * configuration document must render or be refused with a message, never
 * crash. `sh -n` cannot run in-process, so a rendered kickstart is held
 * to what makes it safe instead:
 *   - within the caps, no control byte but '\n', no line over
 *     KS_LINE_MAX, exactly one line starting with '%' (KS_FIRSTBOOT_LINE):
 *     no value opened a kickstart section;
 *   - after KS_STEPS_LINE every line is empty, a comment without a quote,
 *     or starts with a known command, and outside its single-quoted words
 *     holds only [A-Za-z0-9 _=.,/:-], the '\'' escape, "$MW_HBA" and a
 *     final " || mw_fail": no value reached the shell unquoted;
 *   - the token is written once, in its assignment. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "boot/kickstart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "f00dfacecafebeef00112233445566778899aabbccddeeff0123456789abcdef"

static const char *const prefixes[] = {
    "MW_URL=", "MW_TOKEN=", "MW_BOOT_MAC=", "mw_birth", "mw_begin ", "mw_end ",
    "mw_post ", "esxcli ", "mw_add esxcli ", "mw_sh ", "mw_iscsi_hba",
};

static bool safe_unquoted(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(" _=.,/:-", c);
}

static bool step_line_ok(const char *s, size_t n)
{
    if (n == 0)
        return true;
    if (s[0] == '#')
        return memchr(s, '\'', n) == NULL;
    bool known = false;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0] && !known; i++)
        known = n >= strlen(prefixes[i]) && memcmp(s, prefixes[i], strlen(prefixes[i])) == 0;
    if (!known)
        return false;
    static const char tail[] = " || mw_fail", hba[] = "\"$MW_HBA\"";
    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        if (quoted) {
            quoted = s[i] != '\'';
        } else if (s[i] == '\'') {
            quoted = true;
        } else if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\'') {
            i++;
        } else if (n - i >= sizeof hba - 1 && memcmp(s + i, hba, sizeof hba - 1) == 0) {
            i += sizeof hba - 2;
        } else if (n - i == sizeof tail - 1 && memcmp(s + i, tail, sizeof tail - 1) == 0) {
            break;
        } else if (!safe_unquoted(s[i])) {
            return false;
        }
    }
    return !quoted;
}

static void check(const char *out, size_t len)
{
    if (len != strlen(out) || len > KS_OUT_MAX)
        abort();
    size_t percent = 0, tokens = 0;
    bool in_steps = false;
    for (const char *p = out; *p;) {
        const char *e = strchr(p, '\n');
        if (!e) /* every line ends */
            abort();
        size_t n = (size_t)(e - p);
        if (n > KS_LINE_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                abort();
        if (n && p[0] == '%') {
            percent++;
            if (n != strlen(KS_FIRSTBOOT_LINE) || memcmp(p, KS_FIRSTBOOT_LINE, n) != 0)
                abort();
        }
        if (in_steps && !step_line_ok(p, n))
            abort();
        if (n == strlen(KS_STEPS_LINE) && memcmp(p, KS_STEPS_LINE, n) == 0)
            in_steps = true;
        p = e + 1;
    }
    for (const char *p = out; (p = strstr(p, TOKEN)) != NULL; p++)
        tokens++;
    const char *assign = strstr(out, "\nMW_TOKEN='" TOKEN "'\n");
    if (percent != 1 || !in_steps || tokens != 1 || !assign)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!doc)
        return 0;
    /* A document naming the token would be counted as a second copy. */
    char *text = json_dumps(doc, JSON_ENCODE_ANY);
    bool names_token = text && strstr(text, TOKEN);
    free(text);
    char *out = NULL, err[256] = "";
    size_t len = 0;
    int r = boot_kickstart_render(doc, "52-54-00-12-34-56", TOKEN, "http://192.0.2.1:8080", &out, &len, err,
                                  sizeof err);
    if (r == 0) {
        if (!out)
            abort();
        if (!names_token)
            check(out, len);
        free(out);
    } else {
        if (out || !err[0] || (r != -EINVAL && r != -E2BIG && r != -ENOMEM))
            abort();
    }
    json_decref(doc);
    return 0;
}
