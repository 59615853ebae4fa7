/* What the parts of apply (apply_*.c) share: the outcome of one step,
 * paths under the apply root, files written atomically, and child
 * processes run without a shell and with a deadline. Not an interface for
 * the rest of the agent: that is apply.h. */
#ifndef MIDWIFE_AGENT_APPLY_INTERNAL_H
#define MIDWIFE_AGENT_APPLY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "apply.h"

/* The outcome of one step. msg (one line) says what changed, why the step
 * was skipped or what went wrong; it is unused for RESULT_UNCHANGED. */
enum step_result { RESULT_FAILED = -1, RESULT_UNCHANGED = 0, RESULT_CHANGED = 1, RESULT_SKIPPED = 2 };

#define STEP_MSG_MAX 512

/* Appends "; " (when msg is not empty) and the formatted text to msg. */
void msg_append(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- paths and files (apply_files.c) ---- */

/* out = ROOT + rel, where rel is absolute, without "." or ".." components,
 * without "//" and without control characters. 0, or -1 when rel has
 * another shape or the result does not fit. */
int root_path(const struct apply_env *env, const char *rel, char *out, size_t outlen);

/* mkdir -p, mode 0755. 0 or -1 (errno set). */
int mkdir_parents(const char *path, bool include_last);

/* RESULT_UNCHANGED when path already holds exactly content, RESULT_CHANGED
 * after writing it (temp file in the same directory, fsync, rename),
 * RESULT_FAILED with msg. Parent directories are created. */
int write_if_differs(const char *path, const char *content, size_t len, char *msg, size_t msglen);

/* Reads a whole file of at most cap-1 bytes into buf (NUL-terminated).
 * 0, 1 when it does not exist, -1 on error or when it is larger. */
int read_small_file(const char *path, char *buf, size_t cap, size_t *len);

/* Shapes checked once more before a value goes into a file: a host name
 * (labels of [A-Za-z0-9_-] between dots, <= 253 bytes), a dotted IPv4
 * address, an NTP server (IPv4 or host name). */
bool is_host_name(const char *s);
bool is_ipv4(const char *s);

int apply_hostname(const json_t *doc, const struct apply_env *env, char *msg, size_t msglen);
int apply_dns(const json_t *doc, const struct apply_env *env, char *msg, size_t msglen);
int apply_ntp(const json_t *doc, const struct apply_env *env, char *msg, size_t msglen);

/* resolv.conf for dns ({"servers": [...], "search": [...]}) into out; 0,
 * or -1 with msg when a value has another shape or out is too small. */
int render_resolv_conf(const json_t *dns, char *out, size_t outlen, char *msg, size_t msglen);

/* ---- child processes (apply_proc.c) ---- */

/* Finds an executable name in $PATH: 0 and its path in out, or -1. */
int find_on_path(const char *name, char *out, size_t outlen);

struct proc_result {
    int exit_code;  /* valid when exited */
    int term_signal;/* valid when !exited */
    bool exited;
    bool timed_out; /* killed at the deadline */
    char *out;      /* stdout+stderr, the last outcap-1 bytes, NUL-terminated */
    size_t outcap;
    size_t outlen;
    bool truncated; /* output was longer than outcap-1 */
};

/* Runs argv[0] (a path) with argv, stdin /dev/null, stdout and stderr into
 * r->out, in a process group of its own that is killed (SIGKILL) when it
 * runs longer than timeout_s. 0 when it ran (see r), -1 with msg when it
 * could not be started. */
int proc_run(char *const argv[], unsigned timeout_s, struct proc_result *r, char *msg, size_t msglen);

/* Replaces control characters and bytes that are not UTF-8 by '?', so a
 * message is one line a JSON string can carry. */
void make_one_line(char *s);

/* The last non-empty line of text, control characters replaced by '?',
 * at most outlen-1 bytes. */
void last_line(const char *text, char *out, size_t outlen);

/* ---- storage (apply_storage.c) ---- */

/* Looks for mount_point in a /proc/self/mountinfo stream (the last entry
 * wins, as it hides the ones below). 1 and its source and type when
 * mounted, 0 when not, -1 on a read error. */
int mountinfo_lookup(FILE *mountinfo, const char *mount_point, char *source, size_t srclen, char *fstype,
                     size_t typelen);

/* The data string and flags for mount(2) from an NFS entry's options
 * (characters [A-Za-z0-9,=._:/+-]): the generic ones (ro, nosuid, ...)
 * become MS_* flags, any "addr=" of its own is dropped, and ",addr=ADDR"
 * ends it. 0, or -1 for other characters or no room. */
int nfs_mount_options(const char *options, const char *addr, char *out, size_t outlen, unsigned long *flags);

int apply_nfs(const json_t *nfs, const struct apply_env *env, char *msg, size_t msglen);
int apply_iscsi(const json_t *iscsi, const struct apply_env *env, char *msg, size_t msglen);

/* ---- commands (apply_commands.c) ---- */

#define COMMAND_OUTPUT_MAX 8192
int apply_command(const char *command, const struct apply_env *env, char *msg, size_t msglen);

#endif
