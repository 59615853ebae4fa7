#include "path.h"

#include <string.h>

bool path_clean(const char *s)
{
    if (s[0] != '/' || s[1] == '\0')
        return false;
    for (const char *c = s + 1;;) {
        const char *e = strchr(c, '/');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        if (!e)
            return true;
        c = e + 1;
    }
}
