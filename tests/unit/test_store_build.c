/* store/ builds and blobs: versioning, immutability, refusals (hosts and
 * rules that name a build block its delete). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/store_build.h"
#include "store/store_inventory.h"
#include "store/store_watch.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/midwife-test-store-build-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct store *open_store(void)
{
    struct store *st = NULL;
    char err[256];
    if (store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0)
        fail_msg("store_open: %s", err);
    return st;
}

static void fake_sha(char out[SHA256_HEX_LEN + 1], char c)
{
    memset(out, c, SHA256_HEX_LEN);
    out[SHA256_HEX_LEN] = '\0';
}

/* A linux build: kernel "vmlinuz" + modules, blobs registered. */
static void linux_build(struct store *st, struct build *b, const char *name, size_t n_modules)
{
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->kind = BUILD_LINUX;
    snprintf(b->cmdline, sizeof b->cmdline, "console=ttyS0");
    snprintf(b->source, sizeof b->source, "test");
    b->n_files = 1 + n_modules;
    b->files = calloc(b->n_files, sizeof *b->files);
    for (size_t i = 0; i < b->n_files; i++) {
        struct build_file *f = &b->files[i];
        f->role = i == 0 ? BUILD_FILE_KERNEL : BUILD_FILE_MODULE;
        snprintf(f->name, sizeof f->name, i == 0 ? "vmlinuz" : "initrd%zu.gz", i);
        fake_sha(f->sha256, (char)('a' + i));
        f->size = 100 + i;
        assert_int_equal(store_blob_put(st, f->sha256, f->size), 0);
    }
}

static void publish_assigns_versions_and_get_round_trips(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_schema_version(st), 4);
    struct build b, got;
    linux_build(st, &b, "deb", 2);
    snprintf(b.files[2].args, sizeof b.files[2].args, "x=1");
    assert_int_equal(store_build_publish(st, &b), 0);
    assert_int_equal(b.version, 1);
    assert_true(b.created > 0);
    assert_int_equal(store_build_publish(st, &b), 0);
    assert_int_equal(b.version, 2);

    assert_int_equal(store_build_get(st, "deb", 0, &got), 0);
    assert_int_equal(got.version, 2);
    build_clear(&got);
    assert_int_equal(store_build_get(st, "deb", 1, &got), 0);
    assert_int_equal(got.version, 1);
    assert_int_equal(got.kind, BUILD_LINUX);
    assert_string_equal(got.cmdline, "console=ttyS0");
    assert_int_equal(got.n_files, 3);
    assert_int_equal(got.files[0].role, BUILD_FILE_KERNEL);
    assert_string_equal(got.files[0].name, "vmlinuz");
    assert_string_equal(got.files[1].name, "initrd1.gz");
    assert_string_equal(got.files[2].name, "initrd2.gz");
    assert_string_equal(got.files[2].args, "x=1");
    assert_int_equal(got.files[2].size, 102);
    assert_string_equal(got.files[1].sha256, b.files[1].sha256);
    build_clear(&got);
    assert_int_equal(store_build_get(st, "deb", 3, &got), -ENOENT);
    assert_int_equal(store_build_get(st, "nope", 0, &got), -ENOENT);
    build_clear(&b);
    store_close(st);
}

/* Reads are served from a cache of file lists: it must never show what is
 * not in the store, whoever wrote there. */
static void build_reads_never_come_from_stale_copies(void **state)
{
    (void)state;
    struct store *st = open_store(), *other = open_store();
    struct build b, got;
    linux_build(st, &b, "cached", 1);
    assert_int_equal(store_build_publish(st, &b), 0);
    build_clear(&b);
    assert_int_equal(store_build_get(st, "cached", 0, &got), 0); /* fills the cache */
    /* A caller's copy is its own. */
    snprintf(got.files[1].name, sizeof got.files[1].name, "scribbled");
    build_clear(&got);
    assert_int_equal(store_build_get(st, "cached", 0, &got), 0);
    assert_string_equal(got.files[1].name, "initrd1.gz");
    build_clear(&got);

    /* Another connection (an import child) publishes a version with more
     * modules: "latest" is that one at once. */
    linux_build(other, &b, "cached", 3);
    assert_int_equal(store_build_publish(other, &b), 0);
    build_clear(&b);
    assert_int_equal(store_build_get(st, "cached", 0, &got), 0);
    assert_int_equal(got.version, 2);
    assert_int_equal(got.n_files, 4);
    build_clear(&got);

    /* Every version deleted, the name published again with other files:
     * the row id may be reused, the version number never is. */
    assert_int_equal(store_build_delete(other, "cached", 0), 0);
    assert_int_equal(store_build_get(st, "cached", 0, &got), -ENOENT);
    linux_build(other, &b, "cached", 2);
    fake_sha(b.files[1].sha256, '9');
    assert_int_equal(store_blob_put(other, b.files[1].sha256, b.files[1].size), 0);
    assert_int_equal(store_build_publish(other, &b), 0);
    build_clear(&b);
    assert_int_equal(store_build_get(st, "cached", 0, &got), 0);
    assert_int_equal(got.version, 3);
    assert_int_equal(got.n_files, 3);
    assert_int_equal(got.files[1].sha256[0], '9');
    build_clear(&got);
    store_close(other);
    store_close(st);
}

static int count_build(const struct build *b, void *arg)
{
    (void)b;
    (*(int *)arg)++;
    return 0;
}

static void publish_is_all_or_nothing(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct build b;
    linux_build(st, &b, "partial", 2);
    fake_sha(b.files[2].sha256, '9'); /* never stored */
    assert_int_equal(store_build_publish(st, &b), -ENOENT);
    int n = 0;
    assert_int_equal(store_build_foreach(st, count_build, &n), 0);
    assert_int_equal(n, 0);
    struct build got;
    assert_int_equal(store_build_get(st, "partial", 0, &got), -ENOENT);
    build_clear(&b);
    store_close(st);
}

static void invalid_builds_are_refused(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct build b;
    const char *bad_names[] = {"", "a/b", "..", ".hidden", "a b", "ä"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        linux_build(st, &b, "ok", 1);
        snprintf(b.name, sizeof b.name, "%s", bad_names[i]);
        assert_int_equal(store_build_publish(st, &b), -EINVAL);
        build_clear(&b);
    }
    const char *bad_files[] = {"a/b", "..", ".x", "has space", "tab\there", "q\"uote"};
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        linux_build(st, &b, "ok", 1);
        snprintf(b.files[1].name, sizeof b.files[1].name, "%s", bad_files[i]);
        assert_int_equal(store_build_publish(st, &b), -EINVAL);
        build_clear(&b);
    }
    linux_build(st, &b, "ok", 1);
    snprintf(b.cmdline, sizeof b.cmdline, "a\nkernel evil");
    assert_int_equal(store_build_publish(st, &b), -EINVAL);
    build_clear(&b);

    linux_build(st, &b, "ok", 2);
    snprintf(b.files[2].name, sizeof b.files[2].name, "initrd1.gz"); /* duplicate */
    assert_int_equal(store_build_publish(st, &b), -EINVAL);
    build_clear(&b);

    linux_build(st, &b, "ok", 1);
    b.files[1].size = 1; /* not the blob's size */
    assert_int_equal(store_build_publish(st, &b), -EINVAL);
    build_clear(&b);

    linux_build(st, &b, "ok", 1);
    b.kind = BUILD_SANBOOT; /* sanboot has a URI and no files */
    assert_int_equal(store_build_publish(st, &b), -EINVAL);
    build_clear(&b);

    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "san");
    b.kind = BUILD_SANBOOT;
    snprintf(b.san_uri, sizeof b.san_uri, "iscsi:192.0.2.1::::iqn.2024-01.org.example:disk");
    assert_int_equal(store_build_publish(st, &b), 0);
    memset(&b, 0, sizeof b);
    snprintf(b.name, sizeof b.name, "disk");
    b.kind = BUILD_LOCAL;
    assert_int_equal(store_build_publish(st, &b), 0);
    store_close(st);
}

static void published_builds_cannot_be_updated(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct build b;
    linux_build(st, &b, "frozen", 1);
    assert_int_equal(store_build_publish(st, &b), 0);
    build_clear(&b);
    store_close(st);

    /* Even raw SQL cannot change a published build. */
    char path[128];
    snprintf(path, sizeof path, "%s/midwife.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE builds SET cmdline = 'x' WHERE name = 'frozen'", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE build_files SET sha256 = sha256", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void delete_is_refused_while_a_host_uses_the_build(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct build b;
    linux_build(st, &b, "busy", 1);
    assert_int_equal(store_build_publish(st, &b), 0); /* @1 */
    assert_int_equal(store_build_publish(st, &b), 0); /* @2 */
    assert_int_equal(store_build_publish(st, &b), 0); /* @3 */
    build_clear(&b);

    struct host pinned = {.name = "pinned", .macs = {{2, 0, 0, 0, 0, 1}}, .n_macs = 1, .build = "busy",
                          .build_version = 2};
    assert_int_equal(store_host_put(st, &pinned, NULL), 0);
    assert_int_equal(store_build_delete(st, "busy", 2), -EBUSY);
    assert_int_equal(store_build_delete(st, "busy", 0), -EBUSY);
    assert_int_equal(store_build_delete(st, "busy", 1), 0); /* nobody uses @1 */
    assert_int_equal(store_build_delete(st, "busy", 1), -ENOENT);

    struct host follower = {.name = "follower", .macs = {{2, 0, 0, 0, 0, 2}}, .n_macs = 1, .build = "busy"};
    assert_int_equal(store_host_put(st, &follower, NULL), 0);
    assert_int_equal(store_build_delete(st, "busy", 3), -EBUSY); /* follows the latest */
    assert_int_equal(store_host_delete(st, follower.id), 0);
    assert_int_equal(store_build_delete(st, "busy", 3), 0);
    assert_int_equal(store_host_delete(st, pinned.id), 0);

    /* A rule naming the build blocks it the same way a host does. */
    struct rule rule = {.name = "lab", .rank = 10, .build = "busy", .mode = -1};
    assert_int_equal(store_rule_put(st, &rule, NULL), 0);
    assert_int_equal(store_build_delete(st, "busy", 0), -EBUSY);
    rule.build_version = 1; /* pinned to a version that is gone */
    assert_int_equal(store_rule_put(st, &rule, NULL), 0);
    assert_int_equal(store_build_delete(st, "busy", 0), -EBUSY); /* every version: any rule naming it */
    assert_int_equal(store_rule_delete(st, "lab"), 0);
    assert_int_equal(store_build_delete(st, "busy", 0), 0);
    assert_int_equal(store_build_get(st, "busy", 0, &b), -ENOENT);

    /* Version numbers are never reused, even once every version is gone. */
    linux_build(st, &b, "busy", 1);
    assert_int_equal(store_build_publish(st, &b), 0);
    assert_int_equal(b.version, 4);
    build_clear(&b);
    store_close(st);
}

static int collect_host(const struct host *h, void *arg)
{
    strcat(arg, h->name);
    strcat(arg, ",");
    return 0;
}

static void hosts_are_found_by_mac_and_name(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct host h = {.name = "esx-01", .macs = {{0x52, 0x54, 0, 0xab, 0xcd, 0xef}}, .n_macs = 1, .build = "esx",
                     .vlan = 12};
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    assert_true(h.id > 0);
    int64_t id = h.id;
    struct host got;
    assert_int_equal(store_host_by_mac(st, h.macs[0], &got), 0);
    assert_string_equal(got.name, "esx-01");
    assert_string_equal(got.build, "esx");
    assert_int_equal(got.vlan, 12);
    assert_int_equal(got.id, id);
    host_clear(&got);

    /* Update by id keeps the id and moves the MAC. */
    h.macs[0][5] = 0xee;
    h.build_version = 3;
    assert_int_equal(store_host_put(st, &h, NULL), 0);
    assert_int_equal(h.id, id);
    uint8_t old[6] = {0x52, 0x54, 0, 0xab, 0xcd, 0xef};
    assert_int_equal(store_host_by_mac(st, old, &got), -ENOENT);
    assert_int_equal(store_host_by_name(st, "esx-01", &got), 0);
    assert_int_equal(got.macs[0][5], 0xee);
    assert_int_equal(got.build_version, 3);
    host_clear(&got);

    /* A MAC belongs to one host. */
    struct host other = {.name = "esx-02", .macs = {{0x52, 0x54, 0, 0xab, 0xcd, 0xee}}, .n_macs = 1};
    const char *where = NULL;
    assert_int_equal(store_host_put(st, &other, &where), -EEXIST);
    assert_string_equal(where, "mac");
    other.macs[0][5] = 0x01;
    assert_int_equal(store_host_put(st, &other, NULL), 0);

    struct host bad = {.name = "bad", .macs = {{1}}, .n_macs = 1, .vlan = 4095};
    assert_int_equal(store_host_put(st, &bad, NULL), -EINVAL);
    bad.vlan = 0;
    snprintf(bad.name, sizeof bad.name, "a;b");
    assert_int_equal(store_host_put(st, &bad, NULL), -EINVAL);

    char names[128] = "";
    assert_int_equal(store_host_list(st, NULL, collect_host, names), 0);
    assert_string_equal(names, "esx-01,esx-02,");
    assert_int_equal(store_host_delete(st, other.id), 0);
    assert_int_equal(store_host_delete(st, other.id), -ENOENT);
    store_close(st);
}

/* DHCP keeps SAN root paths from each host's newest build version in
 * memory: publishing or removing a version must change the stamp it polls
 * (an import runs in another process) and the in-process generation. */
static void build_writes_change_the_inventory_stamp(void **state)
{
    (void)state;
    struct store *st = open_store();
    uint64_t s0, s1, s2, s3;
    assert_int_equal(store_hosts_stamp(st, &s0), 0);
    uint64_t g0 = store_hosts_generation(st);
    struct build b;
    linux_build(st, &b, "deb", 0);
    assert_int_equal(store_build_publish(st, &b), 0);
    assert_int_equal(store_hosts_stamp(st, &s1), 0);
    assert_true(s1 != s0);
    assert_true(store_hosts_generation(st) != g0);
    assert_int_equal(store_build_publish(st, &b), 0); /* version 2 */
    assert_int_equal(store_hosts_stamp(st, &s2), 0);
    assert_true(s2 != s1);
    uint64_t g2 = store_hosts_generation(st);
    assert_int_equal(store_build_delete(st, "deb", 2), 0);
    assert_int_equal(store_hosts_stamp(st, &s3), 0);
    assert_true(s3 != s2);
    assert_true(store_hosts_generation(st) != g2);
    /* Reading changes nothing. */
    uint64_t again;
    assert_int_equal(store_hosts_stamp(st, &again), 0);
    assert_true(again == s3);
    build_clear(&b);
    store_close(st);
}

static void kind_names_round_trip(void **state)
{
    (void)state;
    for (int k = BUILD_LINUX; k <= BUILD_LOCAL; k++) {
        enum build_kind out;
        assert_int_equal(build_kind_parse(build_kind_name((enum build_kind)k), &out), 0);
        assert_int_equal(out, k);
    }
    enum build_kind out;
    assert_int_equal(build_kind_parse("windows", &out), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(publish_assigns_versions_and_get_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(publish_is_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_builds_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(published_builds_cannot_be_updated, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_is_refused_while_a_host_uses_the_build, setup, teardown),
        cmocka_unit_test_setup_teardown(hosts_are_found_by_mac_and_name, setup, teardown),
        cmocka_unit_test_setup_teardown(build_writes_change_the_inventory_stamp, setup, teardown),
        cmocka_unit_test_setup_teardown(build_reads_never_come_from_stale_copies, setup, teardown),
        cmocka_unit_test(kind_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
