/* images/agent_module: the agent packed as an initrd module — what the
 * kernel will unpack (every parent directory first, the binary executable,
 * the init script, the unit and its wants link), reproducible bytes, and
 * clear refusals for a missing or wrong agent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "images/agent_module.h"
#include "images/blobs.h"

static char dir[64], agent[80];
static struct store *st;

static void put_bytes(const char *name, const void *content, size_t len)
{
    char p[160];
    snprintf(p, sizeof p, "%s/%s", agent, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    fclose(f);
}

static void put(const char *name, const char *content)
{
    put_bytes(name, content, strlen(content));
}

/* The smallest "static" ELF: a 64-bit header and no program headers at
 * all (so no PT_INTERP), followed by some payload. */
static void put_static_agent(void)
{
    unsigned char buf[sizeof(Elf64_Ehdr) + 16] = {0};
    Elf64_Ehdr eh = {.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
                     .e_ehsize = sizeof eh, .e_phentsize = sizeof(Elf64_Phdr)};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    memcpy(buf, &eh, sizeof eh);
    memcpy(buf + sizeof eh, "pretend program", 16);
    put_bytes("midwife-agent", buf, sizeof buf);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/midwife-test-agentmod-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(agent, sizeof agent, "%s/agent", dir);
    mkdir(agent, 0755);
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

static void packs_what_the_kernel_unpacks_reproducibly(void **state)
{
    (void)state;
    put_static_agent();
    put("midwife-agent.init", "#!/bin/sh\necho init\n");
    put("midwife-agent.service", "[Unit]\nDescription=x\n");
    char sha[SHA256_HEX_LEN + 1], sha2[SHA256_HEX_LEN + 1], err[256] = "";
    uint64_t size, size2;
    assert_int_equal(agent_module_build(agent, dir, st, sha, &size, err, sizeof err), 0);
    sleep(1); /* a timestamp anywhere would now differ */
    assert_int_equal(agent_module_build(agent, dir, st, sha2, &size2, err, sizeof err), 0);
    assert_string_equal(sha, sha2);
    assert_int_equal(size, size2);

    int fd;
    uint64_t bsize;
    assert_int_equal(blob_open(dir, sha, &fd, &bsize), 0);
    assert_int_equal(bsize, size);
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_cpio(a);
    assert_int_equal(archive_read_open_fd(a, fd, 4096), ARCHIVE_OK);
    /* Each entry's parent must come before it. */
    char seen[32][96];
    int n = 0;
    bool bin = false, init = false, unit = false, link = false;
    struct archive_entry *e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        assert_true(n < 32);
        const char *slash = strrchr(name, '/');
        if (slash) {
            bool parent = false;
            for (int i = 0; i < n; i++)
                if (strlen(seen[i]) == (size_t)(slash - name) && strncmp(seen[i], name, (size_t)(slash - name)) == 0)
                    parent = true;
            if (!parent)
                fail_msg("%s comes before its directory", name);
        }
        snprintf(seen[n++], sizeof seen[0], "%s", name);
        assert_int_equal(archive_entry_uid(e), 0);
        char buf[128] = "";
        if (strcmp(name, "usr/sbin/midwife-agent") == 0) {
            assert_int_equal(archive_entry_perm(e), 0755);
            assert_int_equal(archive_read_data(a, buf, sizeof buf), sizeof(Elf64_Ehdr) + 16);
            assert_memory_equal(buf + sizeof(Elf64_Ehdr), "pretend program", 16);
            bin = true;
        } else if (strcmp(name, "etc/init.d/midwife-agent") == 0) {
            assert_int_equal(archive_entry_perm(e), 0755);
            init = true;
        } else if (strcmp(name, "usr/lib/systemd/system/midwife-agent.service") == 0) {
            assert_int_equal(archive_entry_perm(e), 0644);
            unit = true;
        } else if (strcmp(name, "etc/systemd/system/multi-user.target.wants/midwife-agent.service") == 0) {
            assert_int_equal(archive_entry_filetype(e), AE_IFLNK);
            assert_string_equal(archive_entry_symlink(e), "/usr/lib/systemd/system/midwife-agent.service");
            link = true;
        }
    }
    archive_read_free(a);
    close(fd);
    assert_true(bin && init && unit && link);
}

static void missing_or_wrong_agent_refused_with_the_file(void **state)
{
    (void)state;
    char sha[SHA256_HEX_LEN + 1], err[256] = "", want[160];
    uint64_t size;
    char empty[96];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    mkdir(empty, 0755);
    assert_int_equal(agent_module_build(empty, dir, st, sha, &size, err, sizeof err), -ENOENT);
    snprintf(want, sizeof want, "%s/midwife-agent: No such file or directory", empty);
    assert_string_equal(err, want);

    put("midwife-agent", "#!/bin/sh\n");
    put("midwife-agent.init", "x");
    put("midwife-agent.service", "x");
    assert_int_equal(agent_module_build(agent, dir, st, sha, &size, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not a 64-bit ELF executable"));

    /* This test program itself is dynamically linked. */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    char *bin;
    size_t blen;
    FILE *f = fopen(self, "rb");
    assert_non_null(f);
    bin = malloc(64u << 20);
    assert_non_null(bin);
    blen = fread(bin, 1, 64u << 20, f);
    fclose(f);
    put_bytes("midwife-agent", bin, blen);
    free(bin);
    assert_int_equal(agent_module_build(agent, dir, st, sha, &size, err, sizeof err), -ENOEXEC);
    assert_non_null(strstr(err, "dynamically linked"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(packs_what_the_kernel_unpacks_reproducibly),
        cmocka_unit_test(missing_or_wrong_agent_refused_with_the_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
