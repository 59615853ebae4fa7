/* Tables, "key: value" blocks and JSON on stdout. */
#include "cli/cli_out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_args.h"

struct cli_table {
    size_t ncols;
    char *headers[CLI_TABLE_MAX_COLS];
    char **cells; /* rows * ncols */
    size_t rows, cap;
};

size_t cli_text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

char *cli_sanitize(const char *s, char *out, size_t outlen)
{
    if (outlen == 0)
        return out;
    size_t o = 0, len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t need = 1;
        if (c >= 0xc0)
            for (need = 1; i + need < len && ((unsigned char)s[i + need] & 0xc0) == 0x80; need++)
                ;
        if (o + need >= outlen) {
            /* Truncated: end on a character boundary with "...". */
            if (outlen >= 4) {
                while (o > outlen - 4)
                    for (o--; o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80; o--)
                        ;
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            out[o++] = '?';
        } else if (c == 0xc2 && need == 2 && (unsigned char)s[i + 1] < 0xa0) {
            out[o++] = '?'; /* C1 controls (U+0080..U+009F): terminals act on them too */
            i++;
        } else {
            memcpy(out + o, s + i, need);
            o += need;
            i += need - 1;
        }
    }
    out[o] = '\0';
    return out;
}

char *cli_cell(const json_t *v, char *out, size_t outlen)
{
    char tmp[CLI_CELL_MAX];
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        /* An empty column would shift what people (and awk) read after it. */
        if (json_string_length(v) == 0) {
            snprintf(out, outlen, "-");
            return out;
        }
        return cli_sanitize(json_string_value(v), out, outlen);
    case JSON_INTEGER: snprintf(out, outlen, "%lld", (long long)json_integer_value(v)); return out;
    case JSON_REAL: snprintf(out, outlen, "%g", json_real_value(v)); return out;
    case JSON_TRUE: snprintf(out, outlen, "yes"); return out;
    case JSON_FALSE: snprintf(out, outlen, "no"); return out;
    case JSON_ARRAY:
    case JSON_OBJECT: {
        char acc[CLI_CELL_MAX * 2];
        size_t o = 0;
        acc[0] = '\0';
        size_t i;
        const char *k;
        json_t *x;
        bool first = true;
#define CELL_APPEND(...)                                                                                          \
    do {                                                                                                          \
        int w_ = snprintf(acc + o, sizeof acc - o, __VA_ARGS__);                                                  \
        o = w_ < 0 || (size_t)w_ >= sizeof acc - o ? sizeof acc - 1 : o + (size_t)w_;                             \
    } while (0)
        if (json_is_array(v)) {
            json_array_foreach(v, i, x) {
                CELL_APPEND("%s%s", first ? "" : ",", cli_cell(x, tmp, sizeof tmp));
                first = false;
            }
        } else {
            json_object_foreach((json_t *)v, k, x) {
                CELL_APPEND("%s%s=%s", first ? "" : ",", k, cli_cell(x, tmp, sizeof tmp));
                first = false;
            }
        }
#undef CELL_APPEND
        if (first)
            snprintf(acc, sizeof acc, "-");
        return cli_sanitize(acc, out, outlen);
    }
    case JSON_NULL:
    default: snprintf(out, outlen, "-"); return out;
    }
}

char *cli_time_ms(long long ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "-");
    return out;
}

struct cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
    if (ncols == 0 || ncols > CLI_TABLE_MAX_COLS)
        return NULL;
    struct cli_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    for (size_t i = 0; i < ncols; i++)
        if (!(t->headers[i] = strdup(headers[i]))) {
            cli_table_free(t);
            return NULL;
        }
    return t;
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
        if (!c)
            return -ENOMEM;
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + t->rows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        char buf[CLI_CELL_MAX];
        cli_sanitize(cells[i] ? cells[i] : "-", buf, sizeof buf);
        if (!(row[i] = strdup(buf))) {
            while (i-- > 0)
                free(row[i]);
            return -ENOMEM;
        }
    }
    t->rows++;
    return 0;
}

size_t cli_table_rows(const struct cli_table *t)
{
    return t->rows;
}

static void print_row(FILE *f, char *const *cells, size_t ncols, const size_t *width, cli_colour_fn colour,
                      bool header)
{
    for (size_t i = 0; i < ncols; i++) {
        const char *sgr = !colour ? NULL : header ? "\033[1m" : colour(i, cells[i]);
        if (sgr)
            fputs(sgr, f);
        fputs(cells[i], f);
        if (sgr)
            fputs("\033[0m", f);
        if (i + 1 < ncols)
            for (size_t w = cli_text_width(cells[i]); w < width[i] + 2; w++)
                fputc(' ', f);
    }
    fputc('\n', f);
}

void cli_table_print(const struct cli_table *t, FILE *f, cli_colour_fn colour)
{
    size_t width[CLI_TABLE_MAX_COLS];
    for (size_t i = 0; i < t->ncols; i++)
        width[i] = cli_text_width(t->headers[i]);
    for (size_t r = 0; r < t->rows; r++)
        for (size_t i = 0; i < t->ncols; i++) {
            size_t w = cli_text_width(t->cells[r * t->ncols + i]);
            if (w > width[i])
                width[i] = w;
        }
    print_row(f, t->headers, t->ncols, width, colour, true);
    for (size_t r = 0; r < t->rows; r++)
        print_row(f, t->cells + r * t->ncols, t->ncols, width, colour, false);
}

void cli_table_free(struct cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncols; i++)
        free(t->headers[i]);
    for (size_t i = 0; i < t->rows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

bool cli_stdout_colour(void)
{
    return cli_colour_decide(isatty(STDOUT_FILENO) == 1, getenv("NO_COLOR"));
}

const char *cli_state_colour(size_t col, const char *cell)
{
    (void)col;
    if (strcmp(cell, "ready") == 0 || strcmp(cell, "ok") == 0)
        return "\033[32m";
    if (strcmp(cell, "failed") == 0 || strcmp(cell, "fail") == 0)
        return "\033[31m";
    if (strcmp(cell, "retired") == 0)
        return "\033[2m";
    return NULL;
}

int cli_print_json(const json_t *j)
{
    if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) < 0)
        return CLI_FAIL;
    fputc('\n', stdout);
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

int cli_print_json_line(const json_t *j)
{
    if (json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) < 0)
        return CLI_FAIL;
    fputc('\n', stdout);
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static bool is_scalar(const json_t *v)
{
    return !json_is_object(v) && !json_is_array(v);
}

/* Arrays of scalars fit on one line. */
static bool flat_array(const json_t *v)
{
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) if (!is_scalar(x)) return false;
    return true;
}

void cli_print_tree(FILE *f, const json_t *j, int indent)
{
    char cell[CLI_CELL_MAX], key[CLI_CELL_MAX];
    const char *k;
    json_t *v;
    if (!json_is_object(j)) {
        fprintf(f, "%*s%s\n", indent, "", cli_cell(j, cell, sizeof cell));
        return;
    }
    if (json_object_size(j) == 0) {
        fprintf(f, "%*s(none)\n", indent, "");
        return;
    }
    json_object_foreach((json_t *)j, k, v) {
        cli_sanitize(k, key, sizeof key);
        if (is_scalar(v) || (json_is_array(v) && flat_array(v) && json_array_size(v) > 0)) {
            fprintf(f, "%*s%s: %s\n", indent, "", key, cli_cell(v, cell, sizeof cell));
        } else if (json_is_object(v)) {
            if (json_object_size(v) == 0) {
                fprintf(f, "%*s%s: (none)\n", indent, "", key);
            } else {
                fprintf(f, "%*s%s:\n", indent, "", key);
                cli_print_tree(f, v, indent + 2);
            }
        } else if (json_array_size(v) == 0) {
            fprintf(f, "%*s%s: (none)\n", indent, "", key);
        } else {
            fprintf(f, "%*s%s:\n", indent, "", key);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                if (is_scalar(x) || json_is_array(x)) {
                    fprintf(f, "%*s- %s\n", indent + 2, "", cli_cell(x, cell, sizeof cell));
                } else {
                    fprintf(f, "%*s-\n", indent + 2, "");
                    cli_print_tree(f, x, indent + 4);
                }
            }
        }
    }
}
