/* A stand-in for agent/apply_*.c in the agent's run tests: it records
 * that it was called and reports one step, so the order of a run (birth,
 * restore, apply, ready) can be checked without touching the network. */
#include "apply.h"

#include <stdio.h>
#include <string.h>

int apply_stub_calls;
const char *apply_stub_fail; /* non-NULL: fail with this */

int apply_document(const json_t *doc, const struct apply_env *env, const struct reporter *rep, char *err,
                   size_t errlen, const char **failed_step)
{
    apply_stub_calls++;
    if (apply_stub_fail) {
        report_step(rep, "stub", STEP_FAILED, "%s", apply_stub_fail);
        snprintf(err, errlen, "stub: %s", apply_stub_fail);
        if (failed_step)
            *failed_step = "stub";
        return -1;
    }
    report_step(rep, "stub", STEP_OK, "root %s", env->root && env->root[0] ? "set" : "/");
    return 0;
}
