/* agent/persist: save → (the kernel's unpack) → restore, in a temp dir.
 * Only the listed paths come back, with their mode, owner and mtime;
 * symlinks stay symlinks and never lead a copy outside; the upload is a
 * PUT of the gzip'd cpio with the token. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "persist.h"
#include "test_agent_server.h"

static char T[64];
#define SHORT 256 /* temp paths are short: the compiler can see every join fits */
static char keep[SHORT], single[SHORT], outside[SHORT], missing[SHORT];

static void write_at(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

static void path_join(char *out, const char *a, const char *b)
{
    if (snprintf(out, SHORT, "%s/%s", a, b) >= SHORT)
        fail_msg("path too long: %s/%s", a, b);
}

static int setup(void **state)
{
    snprintf(T, sizeof T, "/tmp/mwt-persist.XXXXXX");
    assert_non_null(mkdtemp(T));
    char live[SHORT], p[SHORT];
    path_join(live, T, "live");
    mkdir(live, 0755);
    path_join(keep, live, "keep");
    path_join(single, live, "single");
    path_join(outside, live, "outside");
    path_join(missing, live, "missing");
    mkdir(keep, 0750);
    path_join(p, keep, "key");
    write_at(p, "secret\n", 0600);
    struct timeval tv[2] = {{1000000, 0}, {1000000, 0}};
    utimes(p, tv);
    path_join(p, keep, "sub");
    mkdir(p, 0700);
    path_join(p, keep, "sub/b");
    write_at(p, "bee\n", 0644);
    path_join(p, keep, "escape");
    assert_int_equal(symlink("/etc/passwd", p), 0);
    path_join(p, keep, "rel");
    assert_int_equal(symlink("key", p), 0);
    path_join(p, keep, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    write_at(single, "one\n", 0640);
    write_at(outside, "not listed\n", 0644);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    return system(cmd) == 0 ? 0 : -1;
}

/* What the kernel does with the last initrd module: unpack it at dest. */
static void unpack(const unsigned char *data, size_t len, const char *dest, char *names, size_t names_len)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_cpio(a);
    assert_int_equal(archive_read_open_memory(a, data, len), ARCHIVE_OK);
    struct archive *w = archive_write_disk_new();
    archive_write_disk_set_options(w, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
    struct archive_entry *e;
    size_t used = 0;
    names[0] = '\0';
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        used += (size_t)snprintf(names + used, names_len - used, "%s%s%s\n", name,
                                 archive_entry_symlink(e) ? " -> " : "",
                                 archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
        char full[PATH_MAX];
        snprintf(full, sizeof full, "%s/%s", dest, name);
        archive_entry_set_pathname(e, full);
        assert_int_equal(archive_read_extract2(a, e, w), ARCHIVE_OK);
    }
    archive_write_free(w);
    archive_read_free(a);
}

static void archive_holds_the_listed_paths_under_midwife_state(void **state)
{
    const char *paths[] = {keep, single, missing};
    unsigned char *data;
    size_t len;
    unsigned entries;
    char err[256];
    assert_int_equal(persist_archive(paths, 3, &data, &len, &entries, err, sizeof err), 0);
    assert_true(len > 20);
    assert_int_equal(data[0], 0x1f); /* gzip */
    assert_int_equal(data[1], 0x8b);
    assert_int_equal(entries, 7); /* keep, escape, key, rel, sub, sub/b, single; the FIFO is skipped */
    char dest[SHORT], names[8192];
    path_join(dest, T, "initramfs");
    mkdir(dest, 0755);
    unpack(data, len, dest, names, sizeof names);
    free(data);
    /* The directories above come first so the kernel can unpack. */
    char line[PATH_MAX + 64];
    snprintf(line, sizeof line, "midwife-state\nmidwife-state/tmp\nmidwife-state%s\nmidwife-state%s/live\n"
                                "midwife-state%s\n",
             T, T, keep);
    assert_true(strncmp(names, line, strlen(line)) == 0);
    snprintf(line, sizeof line, "midwife-state%s/escape -> /etc/passwd\n", keep);
    assert_non_null(strstr(names, line));
    snprintf(line, sizeof line, "midwife-state%s/rel -> key\n", keep);
    assert_non_null(strstr(names, line));
    snprintf(line, sizeof line, "midwife-state%s/sub/b\n", keep);
    assert_non_null(strstr(names, line));
    snprintf(line, sizeof line, "midwife-state%s\n", single);
    assert_non_null(strstr(names, line));
    assert_null(strstr(names, "fifo"));
    assert_null(strstr(names, "outside"));
    assert_null(strstr(names, "missing"));
}

static void restore_copies_back_only_what_is_listed(void **state)
{
    char sd[SHORT], dest[SHORT], p[PATH_MAX], q[PATH_MAX];
    path_join(sd, T, "initramfs/midwife-state");
    /* The saved tree also holds a file no persist path names. */
    snprintf(p, sizeof p, "%s%s", sd, outside);
    write_at(p, "smuggled\n", 0644);
    path_join(dest, T, "restored");
    const char *paths[] = {keep, single, missing};
    unsigned count = 0;
    char err[256];
    assert_int_equal(persist_restore(sd, dest, paths, 3, &count, err, sizeof err), 0);
    assert_int_equal(count, 7); /* keep, key, sub, sub/b, escape, rel, single */

    struct stat st;
    snprintf(p, sizeof p, "%s%s/key", dest, keep);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_mtime, 1000000);
    assert_int_equal(st.st_uid, getuid());
    FILE *f = fopen(p, "r");
    char buf[32] = "";
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "secret\n");
    snprintf(p, sizeof p, "%s%s", dest, keep);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0750);
    snprintf(p, sizeof p, "%s%s/escape", dest, keep);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    ssize_t n = readlink(p, q, sizeof q - 1);
    assert_true(n > 0);
    q[n] = '\0';
    assert_string_equal(q, "/etc/passwd");
    snprintf(p, sizeof p, "%s%s/sub/b", dest, keep);
    assert_int_equal(lstat(p, &st), 0);
    snprintf(p, sizeof p, "%s%s", dest, single);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    snprintf(p, sizeof p, "%s%s", dest, outside);
    assert_int_equal(lstat(p, &st), -1); /* not listed: not restored */
    assert_int_equal(errno, ENOENT);
}

static void a_symlink_in_the_way_is_replaced_not_followed(void **state)
{
    char sd[SHORT], dest[SHORT], p[PATH_MAX], evil[SHORT];
    path_join(sd, T, "initramfs/midwife-state");
    path_join(dest, T, "restored2");
    path_join(evil, T, "evil");
    mkdir(evil, 0755);
    /* The live system has keep/sub as a symlink to elsewhere. */
    snprintf(p, sizeof p, "%s%s", dest, keep);
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof p, "%s%s/sub", dest, keep);
    assert_int_equal(symlink(evil, p), 0);
    const char *paths[] = {keep};
    unsigned count;
    char err[256];
    assert_int_equal(persist_restore(sd, dest, paths, 1, &count, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    snprintf(p, sizeof p, "%s/b", evil);
    assert_int_equal(lstat(p, &st), -1); /* nothing written through the link */
}

static void a_saved_symlink_is_never_walked_through(void **state)
{
    /* A saved tree whose listed directory is a symlink to the real /etc:
     * restoring makes the link, and copies nothing from /etc. */
    char sd[SHORT], dest[SHORT], p[PATH_MAX];
    path_join(sd, T, "hostile");
    snprintf(p, sizeof p, "mkdir -p '%s%s'", sd, T);
    assert_int_equal(system(p), 0);
    snprintf(p, sizeof p, "%s%s/etc", sd, T);
    assert_int_equal(symlink("/etc", p), 0);
    char listed[SHORT];
    snprintf(listed, sizeof listed, "%s/etc", T);
    path_join(dest, T, "restored3");
    const char *paths[] = {listed};
    unsigned count;
    char err[256];
    assert_int_equal(persist_restore(sd, dest, paths, 1, &count, err, sizeof err), 0);
    assert_int_equal(count, 1);
    snprintf(p, sizeof p, "%s%s/etc", dest, T);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
}

static void unclean_paths_are_refused(void **state)
{
    const char *bad[] = {"etc/ssh", "/etc/../root", "/", "/etc//ssh", "/etc/ssh/"};
    for (size_t i = 0; i < 5; i++) {
        unsigned char *data;
        size_t len;
        unsigned entries, count;
        char err[256];
        assert_int_equal(persist_archive(&bad[i], 1, &data, &len, &entries, err, sizeof err), -EINVAL);
        assert_int_equal(persist_restore(T, T, &bad[i], 1, &count, err, sizeof err), -1);
    }
}

static void the_state_dir_is_found(void **state)
{
    char buf[PATH_MAX], want[SHORT];
    path_join(want, T, "initramfs/midwife-state");
    char root[SHORT];
    path_join(root, T, "initramfs");
    assert_non_null(persist_state_dir(root, buf, sizeof buf));
    assert_string_equal(buf, want);
    assert_null(persist_state_dir(keep, buf, sizeof buf));
}

static void save_puts_the_archive_with_the_token(void **state)
{
    static const char *const rs[] = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
                                     "HTTP/1.1 413 Too Large\r\nContent-Length: 17\r\n\r\n{\"error\": \"big!\"}"};
    struct fake_server s;
    server_start(&s, rs, 2);
    char url[96], msg[256];
    snprintf(url, sizeof url, "%s/api/v1/state", s.url);
    const char *paths[] = {single};
    assert_int_equal(persist_save(url, "tok", paths, 1, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, "1 entries"));
    assert_int_equal(persist_save(url, "tok", paths, 1, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "413: big!"));
    assert_int_equal(persist_save(url, "tok", paths, 0, msg, sizeof msg), 1);
    char *seen = server_requests(&s);
    assert_non_null(strstr(seen, "PUT /api/v1/state HTTP/1.1\r\n"));
    assert_non_null(strstr(seen, "\r\nAuthorization: Bearer tok\r\n"));
    assert_non_null(strstr(seen, "\r\nContent-Type: application/octet-stream\r\n"));
    assert_non_null(strstr(seen, "\r\n\r\n\x1f\x8b"));
    free(seen);
    server_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(archive_holds_the_listed_paths_under_midwife_state),
        cmocka_unit_test(restore_copies_back_only_what_is_listed),
        cmocka_unit_test(a_symlink_in_the_way_is_replaced_not_followed),
        cmocka_unit_test(a_saved_symlink_is_never_walked_through),
        cmocka_unit_test(unclean_paths_are_refused),
        cmocka_unit_test(the_state_dir_is_found),
        cmocka_unit_test(save_puts_the_archive_with_the_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
