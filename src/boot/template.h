/* A small, safe template language for boot scripts (iPXE, ESXi boot.cfg).
 *
 *   {{name}}                     the value of name, validated for its class
 *   {{#if name}}...{{/if}}       kept when name is set and non-empty (a list: has rows)
 *   {{#unless name}}...{{/unless}}  the opposite
 *   {{#each list}}...{{/each}}   once per row; inside, the row's fields are names
 *   {{! comment }}               dropped
 *
 * A block tag or comment alone on its line takes the whole line with it,
 * so templates can be laid out one command per line. Nothing is evaluated:
 * no code, no filters, no partials. Blocks nest at most TMPL_MAX_DEPTH deep.
 *
 * The caller, not the template, decides each variable's class, so an
 * operator's override template cannot weaken the checks. A value that
 * does not pass its class is an error, never silently altered: the output
 * is all or nothing. Every error names the template and line:
 * "linux.ipxe:7: unknown variable 'kernal'". */
#ifndef MIDWIFE_BOOT_TEMPLATE_H
#define MIDWIFE_BOOT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#define TMPL_MAX_DEPTH 8
#define TMPL_MAX_TEXT (64 * 1024)   /* template source */
#define TMPL_MAX_OUTPUT (256 * 1024) /* rendered result */
#define TMPL_MAX_NODES 4096
#define TMPL_NAME_MAX 64

enum tmpl_class {
    /* http://, https:// or tftp:// then [A-Za-z0-9-._~:/?=&%+@,[]] only. */
    TMPL_URL,
    /* A file name inside a URL or on a command line: [A-Za-z0-9._+~-],
     * 1..128 bytes, not "." or "..". */
    TMPL_FILENAME,
    /* Exactly 64 lowercase hex digits. */
    TMPL_SHA256,
    /* Kernel/loader arguments: printable ASCII and spaces, none of
     * $ ` # ; { } \ " ' | & < > (iPXE expands ${...}, treats a word
     * starting with # as a comment and || / && as operators). */
    TMPL_CMDLINE,
    /* 1..10 decimal digits. */
    TMPL_NUMBER,
    /* Names, MACs, tokens: [A-Za-z0-9._:-], 1..255 bytes. */
    TMPL_WORD,
    /* RFC 4173 "iscsi:server:proto:port:lun:target" or a TMPL_URL http(s) URL. */
    TMPL_SAN_URI,
    /* Not a scalar: rows of fields (see struct tmpl_var). */
    TMPL_LIST,
};

/* One variable the template may use. Scalars: value (NULL or "" = unset:
 * false in #if, renders as nothing). Lists: fields[] names and classes the
 * columns (their value is unused); rows holds n_rows * n_fields values,
 * row-major. Inside {{#each}}, field names shadow outer names. */
struct tmpl_var {
    const char *name;
    enum tmpl_class cls;
    const char *value;
    const struct tmpl_var *fields;
    size_t n_fields;
    const char *const *rows;
    size_t n_rows;
};

/* Checks value against cls. On refusal writes why into why ("character
 * '$' is not allowed") and returns false. */
bool tmpl_value_ok(enum tmpl_class cls, const char *value, char *why, size_t whylen);

/* Parses text (len bytes; NUL bytes refused) named name, checks every
 * variable it uses against vars (even in blocks not taken), renders it into
 * a malloc'd NUL-terminated *out (caller frees). Returns 0; -EINVAL with
 * "NAME:LINE: what" in err for a template error or a refused value;
 * -E2BIG when the template or the output exceeds its cap; -ENOMEM. */
int tmpl_expand(const char *name, const char *text, size_t len, const struct tmpl_var *vars, size_t n_vars,
                char **out, size_t *outlen, char *err, size_t errlen);

/* The same in two steps, so a template used for every request is parsed
 * once: tmpl_parse does the parsing and every check of names (errors as
 * above) into *out, keeping text by reference unless copy_text; it needs
 * only the variables' names, classes and field tables, not their values,
 * and keeps pointers to those (static tables, in practice), which must
 * outlive it. tmpl_render renders it with values bound in the same
 * layout: the same name strings, classes and field tables in the same
 * order (-EINVAL otherwise). Value checks and caps are as above. A parsed
 * template is read-only: any number of renders may use it. */
struct tmpl;
int tmpl_parse(const char *name, const char *text, size_t len, bool copy_text, const struct tmpl_var *vars,
               size_t n_vars, struct tmpl **out, char *err, size_t errlen);
int tmpl_render(const struct tmpl *t, const struct tmpl_var *vars, size_t n_vars, char **out, size_t *outlen,
                char *err, size_t errlen);
void tmpl_free(struct tmpl *t);

#endif
