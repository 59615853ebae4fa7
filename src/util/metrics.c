#include "util/metrics.h"

#include <stdbool.h>
#include <string.h>

static struct metric *head, **tail = &head;

void metrics_register(struct metric *m)
{
    for (struct metric *p = head; p; p = p->next)
        if (p == m)
            return;
    m->next = NULL;
    *tail = m;
    tail = &m->next;
}

void metrics_register_array(struct metric *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        metrics_register(&m[i]);
}

void metrics_write_prometheus(FILE *f)
{
    for (struct metric *m = head; m; m = m->next) {
        /* HELP/TYPE once per name: the first metric of that name carries them. */
        bool first = true;
        for (struct metric *p = head; p != m; p = p->next)
            if (strcmp(p->name, m->name) == 0)
                first = false;
        if (first)
            fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                    m->type == METRIC_GAUGE ? "gauge" : "counter");
        if (m->label)
            fprintf(f, "%s{%s=\"%s\"} %llu\n", m->name, m->label, m->label_value,
                    (unsigned long long)m->value);
        else
            fprintf(f, "%s %llu\n", m->name, (unsigned long long)m->value);
    }
}

uint64_t metrics_sum(const char *name)
{
    uint64_t s = 0;
    for (struct metric *m = head; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            s += m->value;
    return s;
}
