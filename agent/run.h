/* The agent's commands: run (birth, restore, apply, ready, then stay to
 * save state), save (upload the state now, for a running host), facts. */
#ifndef MIDWIFE_AGENT_RUN_H
#define MIDWIFE_AGENT_RUN_H

#include <jansson.h>
#include <stdbool.h>

struct run_opts {
    const char *cmdline_path; /* NULL: /proc/cmdline */
    const char *root;         /* where files go (apply, /run/midwife, saved state): "" for "/" */
    const char *sysroot;      /* where /sys and /proc are read for facts: "" */
    bool once;                /* exit after the ready report */
    bool no_hostname;         /* leave the kernel's host name alone */
};

/* Exit codes. */
#define AGENT_EXIT_OK 0
#define AGENT_EXIT_FAILED 1   /* refused, failed, or the document was refused */
#define AGENT_EXIT_NOTHING 2  /* not booted by midwife, or bad usage */

int agent_run(const struct run_opts *o);
int agent_save(const struct run_opts *o);
int agent_facts(const struct run_opts *o);

/* What `run` leaves for `save`: ROOT/run/midwife/agent.json (0600). */
int agent_state_write(const char *root, const char *url, const char *token, const json_t *doc);
json_t *agent_state_read(const char *root, char *err, size_t errlen);

#endif
