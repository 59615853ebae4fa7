/* images/blobs: content addressing, dedup, verification, safe opening. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "images/blobs.h"

static char dir[64];
static struct store *st;

static const char abc_sha[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/midwife-test-blobs-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char err[256];
    return store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int memfd_with(const char *content)
{
    int fd = memfd_create("blob", 0);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static size_t count_dir(const char *sub)
{
    char p[128];
    snprintf(p, sizeof p, "%s/blobs/%s", dir, sub);
    DIR *d = opendir(p);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void import_names_the_blob_by_its_sha256(void **state)
{
    (void)state;
    char sha[SHA256_HEX_LEN + 1];
    uint64_t size;
    int fd = memfd_with("abc");
    assert_int_equal(blob_import_fd(dir, st, fd, sha, &size), 0);
    close(fd);
    assert_string_equal(sha, abc_sha);
    assert_int_equal(size, 3);
    uint64_t known;
    assert_true(store_blob_known(st, abc_sha, &known));
    assert_int_equal(known, 3);

    int bfd;
    assert_int_equal(blob_open(dir, abc_sha, &bfd, &size), 0);
    char buf[8] = "";
    assert_int_equal(read(bfd, buf, sizeof buf), 3);
    assert_memory_equal(buf, "abc", 3);
    close(bfd);
    assert_int_equal(count_dir("tmp"), 0);
}

static void same_content_is_stored_once(void **state)
{
    (void)state;
    char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1], c[SHA256_HEX_LEN + 1];
    uint64_t size;
    int fd = memfd_with("abc");
    assert_int_equal(blob_import_fd(dir, st, fd, a, &size), 0);
    close(fd);
    fd = memfd_with("abc");
    assert_int_equal(blob_import_fd(dir, st, fd, b, &size), 0);
    close(fd);
    fd = memfd_with("abd");
    assert_int_equal(blob_import_fd(dir, st, fd, c, &size), 0);
    close(fd);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    char fan[3] = {a[0], a[1], 0};
    assert_int_equal(count_dir(fan), a[0] == c[0] && a[1] == c[1] ? 2 : 1);
    assert_int_equal(count_dir("tmp"), 0);
}

static void verify_detects_a_changed_blob(void **state)
{
    (void)state;
    char sha[SHA256_HEX_LEN + 1];
    uint64_t size;
    int fd = memfd_with("abc");
    assert_int_equal(blob_import_fd(dir, st, fd, sha, &size), 0);
    close(fd);
    assert_int_equal(blob_verify(dir, sha), 0);
    char p[256];
    assert_int_equal(blob_path(dir, sha, p, sizeof p), 0);
    FILE *f = fopen(p, "r+");
    assert_non_null(f);
    fputc('X', f);
    fclose(f);
    assert_int_equal(blob_verify(dir, sha), -EBADMSG);
    char missing[SHA256_HEX_LEN + 1];
    memset(missing, '0', SHA256_HEX_LEN);
    missing[SHA256_HEX_LEN] = 0;
    assert_int_equal(blob_verify(dir, missing), -ENOENT);
}

static void names_that_are_not_a_sha256_are_refused(void **state)
{
    (void)state;
    char p[256];
    int fd;
    uint64_t size;
    const char *bad[] = {"", "../../../../etc/passwd", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(blob_path(dir, bad[i], p, sizeof p), -EINVAL);
        assert_int_equal(blob_open(dir, bad[i], &fd, &size), -EINVAL);
    }
}

static void blob_open_does_not_follow_symlinks(void **state)
{
    (void)state;
    char p[256];
    assert_int_equal(blob_path(dir, abc_sha, p, sizeof p), 0);
    char fan[128];
    snprintf(fan, sizeof fan, "%s/blobs/ba", dir);
    mkdir(fan, 0750);
    /* Someone planted a link where a blob would be. */
    snprintf(fan, sizeof fan, "%s/blobs", dir);
    mkdir(fan, 0750);
    snprintf(fan, sizeof fan, "%s/blobs/ba", dir);
    mkdir(fan, 0750);
    assert_int_equal(symlink("/etc/hostname", p), 0);
    int fd;
    uint64_t size;
    assert_true(blob_open(dir, abc_sha, &fd, &size) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(import_names_the_blob_by_its_sha256, setup, teardown),
        cmocka_unit_test_setup_teardown(same_content_is_stored_once, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_detects_a_changed_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(names_that_are_not_a_sha256_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(blob_open_does_not_follow_symlinks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
