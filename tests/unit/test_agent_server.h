/* A canned HTTP server for the agent's client tests: a forked child on
 * 127.0.0.1 that answers each connection with the next canned response
 * and records the requests it got in a file. */
#ifndef TEST_AGENT_SERVER_H
#define TEST_AGENT_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A response of SERVER_SILENT is never answered (the connection stays
 * open until the test ends); SERVER_HANGUP closes without a word. */
#define SERVER_SILENT "\x01silent"
#define SERVER_HANGUP "\x01hangup"

struct fake_server {
    pid_t pid;
    int port;
    char url[64];
    char log[64]; /* requests, one after another */
};

static inline void server_child(int lfd, const char *log, const char *const *responses, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            _exit(1);
        /* The head, then as much body as Content-Length says. */
        static char req[1 << 20];
        size_t len = 0;
        long want = -1;
        for (;;) {
            ssize_t r = read(c, req + len, sizeof req - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
            req[len] = '\0';
            char *end = strstr(req, "\r\n\r\n");
            if (end && want < 0) {
                char *cl = strcasestr(req, "\r\nContent-Length:");
                want = (long)(end + 4 - req) + (cl && cl < end ? atol(cl + 17) : 0);
            }
            if (want >= 0 && (long)len >= want)
                break;
        }
        FILE *f = fopen(log, "a");
        if (f) {
            fwrite(req, 1, len, f);
            fputs("\n=====\n", f);
            fclose(f);
        }
        if (strcmp(responses[i], SERVER_SILENT) == 0) {
            sleep(30);
            _exit(0);
        }
        if (strcmp(responses[i], SERVER_HANGUP) != 0) {
            const char *p = responses[i];
            size_t left = strlen(p);
            while (left > 0) {
                ssize_t w = write(c, p, left);
                if (w <= 0)
                    break;
                p += w;
                left -= (size_t)w;
            }
        }
        close(c);
    }
    _exit(0);
}

/* Two steps, for responses that must name the server's own URL. */
static int server_listen_fd = -1;

static inline void server_listen(struct fake_server *s)
{
    memset(s, 0, sizeof *s);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 8) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) < 0) {
        fprintf(stderr, "cannot listen on 127.0.0.1\n");
        abort();
    }
    s->port = ntohs(a.sin_port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    snprintf(s->log, sizeof s->log, "/tmp/mwt-agent-srv.%d.%d", (int)getpid(), s->port);
    unlink(s->log);
    server_listen_fd = lfd;
}

static inline void server_serve(struct fake_server *s, const char *const *responses, size_t n)
{
    fflush(NULL);
    s->pid = fork();
    if (s->pid == 0)
        server_child(server_listen_fd, s->log, responses, n);
    close(server_listen_fd);
    server_listen_fd = -1;
}

static inline void server_start(struct fake_server *s, const char *const *responses, size_t n)
{
    server_listen(s);
    server_serve(s, responses, n);
}

/* Everything the server was sent (malloc'd, "" when nothing). */
static inline char *server_requests(const struct fake_server *s)
{
    FILE *f = fopen(s->log, "r");
    char *buf = calloc(1, 1 << 21);
    if (f) {
        size_t n = fread(buf, 1, (1 << 21) - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static inline void server_stop(struct fake_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    unlink(s->log);
    s->pid = 0;
}

#endif
