/* store/: schema migrations, lease rows, and commits that survive a kill. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"

static char dir[] = "/tmp/midwife-test-store-XXXXXX";

static int setup(void **state)
{
    (void)state;
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

static void sample_lease(struct store_lease *l, uint32_t addr)
{
    memset(l, 0, sizeof *l);
    l->address = addr;
    l->hwtype = 1;
    l->hwaddr_len = 6;
    memcpy(l->hwaddr, "\x52\x54\x00\x00\x00\x01", 6);
    l->client_id_len = 7;
    memcpy(l->client_id, "\x01\x52\x54\x00\x00\x00\x01", 7);
    strcpy(l->hostname, "host\x1b");
    strcpy(l->subnet, "lab");
    l->state = LEASE_BOUND;
    l->starts = 1000;
    l->expires = 4600;
    l->giaddr = 0x0a000101;
    l->relay_info_len = 4;
    memcpy(l->relay_info, "\x01\x02\x41\x42", 4);
    l->arch = 7;
    strcpy(l->vendor_class, "PXEClient:Arch:00007");
    strcpy(l->user_class, "iPXE");
    l->has_uuid = true;
    memcpy(l->uuid, "0123456789abcdef", 16);
}

static void fresh_store_is_at_latest_schema(void **state)
{
    (void)state;
    struct store *st = open_store();
    assert_int_equal(store_schema_version(st), 4);
    store_close(st);
}

static void lease_round_trips_every_field(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct store_lease in, out;
    sample_lease(&in, 0x0a000064);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_lease_put(st, &in), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_lease_get(st, 0x0a000064, &out), 0);
    assert_memory_equal(&in, &out, sizeof in);
    assert_int_equal(store_lease_get(st, 0x0a000065, &out), -ENOENT);
    /* replace: same address, new state */
    in.state = LEASE_RELEASED;
    assert_int_equal(store_lease_put(st, &in), 0);
    assert_int_equal(store_lease_get(st, 0x0a000064, &out), 0);
    assert_int_equal(out.state, LEASE_RELEASED);
    assert_int_equal(store_lease_delete(st, 0x0a000064), 0);
    assert_int_equal(store_lease_get(st, 0x0a000064, &out), -ENOENT);
    store_close(st);
}

static int count_cb(const struct store_lease *l, void *arg)
{
    (void)l;
    ++*(int *)arg;
    return 0;
}

static void rollback_discards_the_batch(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct store_lease l;
    sample_lease(&l, 0x0a0000c8);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_lease_put(st, &l), 0);
    store_rollback(st);
    int n = 0;
    assert_int_equal(store_lease_foreach(st, count_cb, &n), 0);
    assert_int_equal(n, 0);
    store_close(st);
}

/* A child commits 200 leases one batch at a time and is SIGKILLed right
 * after its last commit: every committed lease must be there on reopen. */
/* Transactions nest: inner ones are savepoints, rolled back alone. */
static void nested_transactions_are_savepoints(void **state)
{
    (void)state;
    struct store *st = open_store();
    struct store_lease l, got;
    assert_int_equal(store_begin(st), 0);
    sample_lease(&l, 0x0a000001);
    assert_int_equal(store_lease_put(st, &l), 0);
    assert_int_equal(store_begin(st), 0);
    sample_lease(&l, 0x0a000002);
    assert_int_equal(store_lease_put(st, &l), 0);
    store_rollback(st); /* the inner one only */
    assert_int_equal(store_begin(st), 0);
    sample_lease(&l, 0x0a000003);
    assert_int_equal(store_lease_put(st, &l), 0);
    assert_int_equal(store_commit(st), 0); /* inner: released into the outer */
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_lease_get(st, 0x0a000001, &got), 0);
    assert_int_equal(store_lease_get(st, 0x0a000002, &got), -ENOENT);
    assert_int_equal(store_lease_get(st, 0x0a000003, &got), 0);
    /* An outer rollback takes the inner commits with it. */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_begin(st), 0);
    sample_lease(&l, 0x0a000004);
    assert_int_equal(store_lease_put(st, &l), 0);
    assert_int_equal(store_commit(st), 0);
    store_rollback(st);
    assert_int_equal(store_lease_get(st, 0x0a000004, &got), -ENOENT);
    /* Unbalanced: a commit with nothing open is refused, a rollback harmless. */
    assert_int_equal(store_commit(st), -EINVAL);
    store_rollback(st);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_commit(st), 0);
    /* The tests share one store: leave it as found. */
    assert_int_equal(store_lease_delete(st, 0x0a000001), 0);
    assert_int_equal(store_lease_delete(st, 0x0a000003), 0);
    store_close(st);
}

/* A reader transaction takes no write lock until it writes; when another
 * connection committed since it began reading, its write is refused and
 * store_txn_read_only() says so, so the caller can run it again under
 * store_begin (the script path does). */
static void reader_transactions_tell_a_refused_write(void **state)
{
    (void)state;
    struct store *st = open_store(), *other = open_store();
    struct store_lease l, got;
    assert_false(store_txn_read_only(st)); /* no transaction */
    assert_int_equal(store_begin_read(st), 0);
    assert_true(store_txn_read_only(st));
    assert_int_equal(store_lease_get(st, 0x0a000031, &got), -ENOENT); /* the reading begins */
    /* Another writer is not held up by the reader. */
    sample_lease(&l, 0x0a000031);
    assert_int_equal(store_lease_put(other, &l), 0);
    /* The reader's snapshot is older than that commit: its write is refused. */
    sample_lease(&l, 0x0a000032);
    assert_true(store_lease_put(st, &l) < 0);
    assert_true(store_txn_read_only(st));
    store_rollback(st);
    /* Run again under the write lock: it takes. */
    assert_int_equal(store_begin(st), 0);
    assert_false(store_txn_read_only(st));
    assert_int_equal(store_lease_get(st, 0x0a000031, &got), 0);
    assert_int_equal(store_lease_put(st, &l), 0);
    assert_int_equal(store_commit(st), 0);
    /* With nobody in between, a reader becomes a writer at its first write. */
    assert_int_equal(store_begin_read(st), 0);
    assert_int_equal(store_lease_get(st, 0x0a000032, &got), 0);
    assert_int_equal(store_lease_delete(st, 0x0a000032), 0);
    assert_false(store_txn_read_only(st));
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_lease_delete(other, 0x0a000031), 0);
    store_close(other);
    store_close(st);
}

static void committed_leases_survive_a_kill(void **state)
{
    (void)state;
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        struct store *st = NULL;
        char err[256];
        if (store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0)
            _exit(1);
        for (uint32_t i = 0; i < 200; i++) {
            struct store_lease l;
            sample_lease(&l, 0x0b000000 + i);
            if (store_begin(st) < 0 || store_lease_put(st, &l) < 0 || store_commit(st) < 0)
                _exit(1);
        }
        /* Start one more batch and die inside it: it must not appear. */
        struct store_lease l;
        sample_lease(&l, 0x0c000000);
        store_begin(st);
        store_lease_put(st, &l);
        if (write(pipefd[1], "k", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(pipefd[1]);
    char c;
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    close(pipefd[0]);

    struct store *st = open_store();
    int n = 0;
    assert_int_equal(store_lease_foreach(st, count_cb, &n), 0);
    assert_int_equal(n, 200);
    struct store_lease out;
    assert_int_equal(store_lease_get(st, 0x0c000000, &out), -ENOENT);
    store_close(st);
}

/* A store written by schema version 1 keeps its leases through migration 2. */
static void version_1_store_migrates_keeping_leases(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/midwife.db", dir);
    unlink(path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    const char *v1 =
        "CREATE TABLE leases (address INTEGER PRIMARY KEY, hwtype INTEGER NOT NULL, hwaddr BLOB NOT NULL,"
        " client_id BLOB, hostname TEXT, subnet TEXT NOT NULL, state INTEGER NOT NULL, starts INTEGER NOT NULL,"
        " expires INTEGER NOT NULL, giaddr INTEGER NOT NULL DEFAULT 0, relay_info BLOB,"
        " arch INTEGER NOT NULL DEFAULT -1, vendor_class TEXT, user_class TEXT);"
        "CREATE INDEX leases_hwaddr ON leases(hwaddr);"
        "INSERT INTO leases (address, hwtype, hwaddr, subnet, state, starts, expires)"
        " VALUES (167772260, 1, x'525400000009', 'lab', 1, 10, 20);"
        "PRAGMA user_version = 1;";
    assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct store *st = open_store();
    assert_int_equal(store_schema_version(st), 4);
    struct store_lease l;
    assert_int_equal(store_lease_get(st, 167772260, &l), 0);
    assert_int_equal(l.hwaddr[5], 9);
    assert_int_equal(l.expires, 20);
    assert_false(l.has_uuid);
    store_close(st);
}

static void newer_schema_is_refused(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/midwife.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct store *st = NULL;
    char err[256];
    assert_true(store_open(dir, STORE_SYNC_NORMAL, &st, err, sizeof err) < 0);
    assert_null(st);
    assert_non_null(strstr(err, "store schema version 99 is newer than this midwife knows"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_store_is_at_latest_schema),
        cmocka_unit_test(lease_round_trips_every_field),
        cmocka_unit_test(rollback_discards_the_batch),
        cmocka_unit_test(nested_transactions_are_savepoints),
        cmocka_unit_test(reader_transactions_tell_a_refused_write),
        cmocka_unit_test(committed_leases_survive_a_kill),
        cmocka_unit_test(version_1_store_migrates_keeping_leases),
        cmocka_unit_test(newer_schema_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
