/* The profile's commands: each one through /bin/sh -c, output captured
 * (the last COMMAND_OUTPUT_MAX bytes), killed with its process group when
 * it outlives the timeout. The last line of its output is what the report
 * shows. */
#include <stdio.h>
#include <string.h>

#include "apply_internal.h"

#define COMMAND_TIMEOUT_DEFAULT_S 300

int apply_command(const char *command, const struct apply_env *env, char *msg, size_t msglen)
{
    unsigned timeout = env->command_timeout_s ? env->command_timeout_s : COMMAND_TIMEOUT_DEFAULT_S;
    char out[COMMAND_OUTPUT_MAX + 1];
    struct proc_result r = {.out = out, .outcap = sizeof out};
    char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};
    if (proc_run(argv, timeout, &r, msg, msglen) < 0)
        return RESULT_FAILED;
    char line[256];
    last_line(out, line, sizeof line);
    const char *sep = line[0] ? ": " : "";
    if (r.timed_out) {
        snprintf(msg, msglen, "killed after %u s%s%s", timeout, sep, line);
        return RESULT_FAILED;
    }
    if (!r.exited) {
        snprintf(msg, msglen, "killed by signal %d%s%s", r.term_signal, sep, line);
        return RESULT_FAILED;
    }
    if (r.exit_code != 0) {
        snprintf(msg, msglen, "exit %d%s%s", r.exit_code, sep, line);
        return RESULT_FAILED;
    }
    snprintf(msg, msglen, "%s", line[0] ? line : "exit 0");
    return RESULT_CHANGED;
}
