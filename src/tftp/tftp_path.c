#include "tftp/tftp_path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int tftp_path_check(const char *name, size_t len, const char **rel, const char **why)
{
    /* A leading '/' is stripped, not refused: PXE configs (pxelinux, GRUB,
     * iPXE "tftp://server/file") routinely ask for "/pxelinux.0" meaning
     * "from the TFTP root", and the root is all a client can ever see.
     * RESOLVE_BENEATH would refuse the absolute path anyway. */
    while (len > 0 && name[0] == '/') {
        name++;
        len--;
    }
    if (len == 0) {
        *why = "empty";
        return -EACCES;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) {
            *why = "control_byte";
            return -EACCES;
        }
        /* Refused rather than translated: a backslash is either a Windows
         * client's separator or an attempt to confuse a later consumer. */
        if (c == '\\') {
            *why = "backslash";
            return -EACCES;
        }
    }
    /* No ".." component anywhere; RESOLVE_BENEATH would also stop it at
     * the root, but a request that tries is worth refusing by name. */
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && name[j] != '/')
            j++;
        if (j - i == 2 && name[i] == '.' && name[i + 1] == '.') {
            *why = "dotdot";
            return -EACCES;
        }
        i = j + 1;
    }
    *rel = name;
    return 0;
}

int tftp_path_open(int rootfd, const char *rel, int *fd, uint64_t *size, enum tftp_errcode *code)
{
    /* RESOLVE_BENEATH: symlinks inside the root are followed as long as
     * every step stays beneath it (a root that links "ipxe.efi" to a
     * versioned file is normal), while "..", absolute links and links that
     * lead out fail with EXDEV. O_NOFOLLOW is deliberately not used: it
     * would refuse those legitimate in-root links. Magic links
     * (/proc/self/fd/N) are refused outright. O_NONBLOCK keeps a FIFO in
     * the root from blocking the event loop in open(). */
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    int f = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
    if (f < 0) {
        int e = errno;
        switch (e) {
        case ENOENT:
        case ENOTDIR:
            *code = TFTP_ENOTFOUND;
            break;
        case EXDEV:  /* escape attempt */
        case ELOOP:  /* magic link or symlink loop */
        case EACCES:
        case EPERM:
            *code = TFTP_EACCESS;
            break;
        default:
            *code = TFTP_EUNDEF;
            break;
        }
        return -e;
    }
    struct stat st;
    if (fstat(f, &st) < 0) {
        int e = errno;
        close(f);
        *code = TFTP_EUNDEF;
        return -e;
    }
    /* Directories, devices, sockets and FIFOs are not served. */
    if (!S_ISREG(st.st_mode)) {
        close(f);
        *code = TFTP_EACCESS;
        return -EACCES;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return 0;
}
