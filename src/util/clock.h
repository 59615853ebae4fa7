/* Time: the monotonic clock drives every timer; wall time is only for what
 * people read and for lease expiry stored on disk. */
#ifndef MIDWIFE_UTIL_CLOCK_H
#define MIDWIFE_UTIL_CLOCK_H

#include <stdint.h>

uint64_t clock_mono_ms(void);
int64_t clock_wall_s(void);

#endif
