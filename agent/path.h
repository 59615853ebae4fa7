/* The one path rule of the agent: the configuration document's (persist,
 * mount points) and every place that joins a path under the root. */
#ifndef MIDWIFE_AGENT_PATH_H
#define MIDWIFE_AGENT_PATH_H

#include <stdbool.h>

/* Absolute, no empty, "." or ".." component (so no "//"), no trailing
 * '/', and not "/" itself. */
bool path_clean(const char *s);

#endif
