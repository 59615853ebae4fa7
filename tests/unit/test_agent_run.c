/* agent/run: a whole `midwife-agent run --once` against a canned midwife,
 * with a stand-in for apply (apply_stub.c): the order birth → restore →
 * apply → ready (with facts), agent.json for `save`, and the failures —
 * a refused document, a failed apply, a refused birth, no midwife.* on
 * the command line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "run.h"
#include "test_agent_server.h"

extern int apply_stub_calls;
extern int apply_stub_mgmt_vlan_calls;
extern unsigned apply_stub_mgmt_vlan_id;
extern uint8_t apply_stub_mgmt_vlan_mac[6];
extern bool apply_stub_had_boot_mac;
extern const char *apply_stub_fail;

static char T[64], cmdline[128], root[128], keep[128];

static int setup(void **state)
{
    snprintf(T, sizeof T, "/tmp/mwt-run.XXXXXX");
    assert_non_null(mkdtemp(T));
    snprintf(cmdline, sizeof cmdline, "%s/cmdline", T);
    snprintf(root, sizeof root, "%s/root", T);
    snprintf(keep, sizeof keep, "%s/keep", T);
    mkdir(root, 0755);
    mkdir(keep, 0755);
    char f[160];
    snprintf(f, sizeof f, "%s/file", keep);
    FILE *fp = fopen(f, "w");
    fputs("kept\n", fp);
    fclose(fp);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_cmdline(const char *text)
{
    FILE *f = fopen(cmdline, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *answer(int status, const char *body)
{
    char *r = malloc(strlen(body) + 128);
    sprintf(r, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", status,
            strlen(body), body);
    return r;
}

static char *document(const struct fake_server *s, const char *extra)
{
    char *d = malloc(4096);
    snprintf(d, 4096,
             "{\"version\": 1, \"hostname\": \"h1\", \"persist\": [\"%s\"], \"report_url\": \"%s/api/v1/report\", "
             "\"state_url\": \"%s/api/v1/state\"%s}",
             keep, s->url, s->url, extra);
    return d;
}

/* Offset of needle in hay after from, failing when absent. */
static size_t after(const char *hay, size_t from, const char *needle)
{
    const char *p = strstr(hay + from, needle);
    if (!p)
        fail_msg("'%s' not found after offset %zu in:\n%s", needle, from, hay);
    return (size_t)(p - hay) + strlen(needle);
}

static struct run_opts opts(void)
{
    return (struct run_opts){
        .cmdline_path = cmdline, .root = root, .sysroot = "/nonexistent", .once = true, .no_hostname = true};
}

static void a_good_run_goes_birth_restore_apply_ready(void **state)
{
    struct fake_server s;
    server_listen(&s);
    char *doc = document(&s, "");
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    const char *rs[] = {answer(200, doc), ok, ok, ok, ok};
    server_serve(&s, rs, 5);
    char text[256];
    snprintf(text, sizeof text, "ro midwife.url=%s midwife.token=tok1 midwife.mac=52-54-00-00-00-01\n", s.url);
    write_cmdline(text);
    int calls = apply_stub_calls, vlan_calls = apply_stub_mgmt_vlan_calls;
    struct run_opts o = opts();
    assert_int_equal(agent_run(&o), AGENT_EXIT_OK);
    assert_int_equal(apply_stub_calls, calls + 1);
    assert_true(apply_stub_had_boot_mac);
    assert_int_equal(apply_stub_mgmt_vlan_calls, vlan_calls); /* no midwife.vlan= */

    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/run/midwife/agent.json", root);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    json_t *j = json_load_file(path, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "token")), "tok1");
    json_decref(j);

    assert_int_equal(agent_save(&o), AGENT_EXIT_OK);
    char *seen = server_requests(&s);
    size_t at = after(seen, 0, "POST /api/v1/birth HTTP/1.1");
    at = after(seen, at, "\"boot_mac\":\"52:54:00:00:00:01\"");
    at = after(seen, at, "POST /api/v1/report");
    at = after(seen, at, "{\"step\":\"persist.restore\",\"status\":\"skipped\",\"message\":\"nothing saved\"}");
    at = after(seen, at, "{\"step\":\"stub\",\"status\":\"ok\",\"message\":\"root set\"}");
    at = after(seen, at, "{\"ready\":true,\"facts\":{\"macs\":[\"52:54:00:00:00:01\"]");
    at = after(seen, at, "PUT /api/v1/state HTTP/1.1");
    at = after(seen, at, "Authorization: Bearer tok1");
    after(seen, at, "\x1f\x8b");
    free(seen);
    server_stop(&s);
    free((char *)rs[0]);
    free(doc);
}

/* midwife.vlan=N brings the management VLAN up on the boot NIC before the
 * birth; without midwife.mac= there is no NIC to put it on, and the birth
 * is tried all the same. */
static void the_management_vlan_comes_up_before_the_birth(void **state)
{
    (void)state;
    for (int with_mac = 1; with_mac >= 0; with_mac--) {
        struct fake_server s;
        server_listen(&s);
        char *doc = document(&s, "");
        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        const char *rs[] = {answer(200, doc), ok, ok, ok, ok};
        server_serve(&s, rs, 5);
        char text[256];
        snprintf(text, sizeof text, "ro midwife.url=%s midwife.token=tok1%s midwife.vlan=42\n", s.url,
                 with_mac ? " midwife.mac=52-54-00-00-00-07" : "");
        write_cmdline(text);
        int vlan_calls = apply_stub_mgmt_vlan_calls;
        struct run_opts o = opts();
        assert_int_equal(agent_run(&o), AGENT_EXIT_OK);
        if (with_mac) {
            static const uint8_t want[6] = {0x52, 0x54, 0, 0, 0, 0x07};
            assert_int_equal(apply_stub_mgmt_vlan_calls, vlan_calls + 1);
            assert_int_equal(apply_stub_mgmt_vlan_id, 42);
            assert_memory_equal(apply_stub_mgmt_vlan_mac, want, 6);
        } else {
            assert_int_equal(apply_stub_mgmt_vlan_calls, vlan_calls);
            assert_false(apply_stub_had_boot_mac);
        }
        char *seen = server_requests(&s);
        after(seen, 0, "POST /api/v1/birth HTTP/1.1");
        free(seen);
        server_stop(&s);
        free((char *)rs[0]);
        free(doc);
    }
}

static void a_refused_document_is_reported_and_nothing_applied(void **state)
{
    struct fake_server s;
    server_listen(&s);
    char *doc = document(&s, ", \"interfaces\": [{\"name\": \"../x\"}]");
    const char *rs[] = {answer(200, doc), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"};
    server_serve(&s, rs, 2);
    char text[256];
    snprintf(text, sizeof text, "midwife.url=%s midwife.token=tok2\n", s.url);
    write_cmdline(text);
    int calls = apply_stub_calls;
    struct run_opts o = opts();
    assert_int_equal(agent_run(&o), AGENT_EXIT_FAILED);
    assert_int_equal(apply_stub_calls, calls);
    char *seen = server_requests(&s);
    size_t at = after(seen, 0, "POST /api/v1/report");
    after(seen, at, "{\"failed\":\"configuration document refused: interfaces[0].name: '../x' is not an interface name");
    after(seen, at, "\"step\":\"document\"}");
    free(seen);
    server_stop(&s);
    free((char *)rs[0]);
    free(doc);
}

static void a_failed_apply_is_the_failed_report(void **state)
{
    struct fake_server s;
    server_listen(&s);
    char *doc = document(&s, "");
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    const char *rs[] = {answer(200, doc), ok, ok, ok};
    server_serve(&s, rs, 4);
    char text[256];
    snprintf(text, sizeof text, "midwife.url=%s midwife.token=tok3\n", s.url);
    write_cmdline(text);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/run/midwife/agent.json", root);
    unlink(path);
    apply_stub_fail = "boom";
    struct run_opts o = opts();
    int rc = agent_run(&o);
    apply_stub_fail = NULL;
    assert_int_equal(rc, AGENT_EXIT_FAILED);
    char *seen = server_requests(&s);
    after(seen, 0, "{\"failed\":\"stub: boom\",\"step\":\"stub\"}");
    assert_null(strstr(seen, "\"ready\""));
    free(seen);
    assert_int_equal(access(path, F_OK), -1); /* not ready: nothing for save */
    server_stop(&s);
    free((char *)rs[0]);
    free(doc);
}

static void a_refused_birth_is_final(void **state)
{
    struct fake_server s;
    server_listen(&s);
    const char *rs[] = {answer(401, "{\"error\": \"birth refused: replayed boot token\"}"),
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"};
    server_serve(&s, rs, 2);
    char text[256];
    snprintf(text, sizeof text, "midwife.url=%s midwife.token=tok4\n", s.url);
    write_cmdline(text);
    struct run_opts o = opts();
    assert_int_equal(agent_run(&o), AGENT_EXIT_FAILED);
    char *seen = server_requests(&s);
    assert_null(strstr(seen, "/api/v1/report")); /* no document: nothing to report to */
    free(seen);
    server_stop(&s);
    free((char *)rs[0]);
}

static void not_booted_by_midwife(void **state)
{
    write_cmdline("BOOT_IMAGE=vmlinuz ro quiet\n");
    struct run_opts o = opts();
    assert_int_equal(agent_run(&o), AGENT_EXIT_NOTHING);
    write_cmdline("midwife.url=https://x midwife.token=t\n");
    assert_int_equal(agent_run(&o), AGENT_EXIT_NOTHING);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_good_run_goes_birth_restore_apply_ready),
        cmocka_unit_test(the_management_vlan_comes_up_before_the_birth),
        cmocka_unit_test(a_refused_document_is_reported_and_nothing_applied),
        cmocka_unit_test(a_failed_apply_is_the_failed_report),
        cmocka_unit_test(a_refused_birth_is_final),
        cmocka_unit_test(not_booted_by_midwife),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
