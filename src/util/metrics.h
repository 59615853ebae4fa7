/* Counters and gauges, owned by the rooms that count, listed here so one
 * place can print them (Prometheus text for /metrics, a log dump on
 * SIGUSR1). Single-threaded: only the event loop touches them. */
#ifndef MIDWIFE_UTIL_METRICS_H
#define MIDWIFE_UTIL_METRICS_H

#include <stdint.h>
#include <stdio.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

struct metric {
    const char *name;        /* e.g. "midwife_dhcp_dropped_total" */
    const char *help;
    enum metric_type type;
    const char *label;       /* e.g. "reason", or NULL */
    const char *label_value; /* e.g. "truncated" */
    uint64_t value;
    struct metric *next;     /* registry link, set by metrics_register */
};

/* Adds m to the registry (idempotent). Metrics live as long as the process. */
void metrics_register(struct metric *m);
void metrics_register_array(struct metric *m, size_t n);
void metrics_write_prometheus(FILE *f);
/* Sum of values of every metric with this name (all labels). */
uint64_t metrics_sum(const char *name);

#endif
