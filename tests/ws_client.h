/* A small blocking WebSocket and HTTP client for the server's tests (and
 * fault injection: it writes whatever frames it is told to, well-formed or
 * not). RFC 6455 client side: masked frames; server frames unfragmented
 * (sori's are). Header-only; tests include it once. */
#ifndef SORI_TESTS_WS_CLIENT_H
#define SORI_TESTS_WS_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

/* A free loopback port: the kernel's pick, released at once for a server to bind. */
static int ws_free_port(void)
{
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    bind(probe, (struct sockaddr *)&a, sizeof a);
    getsockname(probe, (struct sockaddr *)&a, &al);
    close(probe);
    return ntohs(a.sin_port);
}

static int ws_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int ws_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes within timeout_ms (each wait); -1 on EOF or error,
 * -2 when nothing came within the time. */
static int ws_read_all(int fd, void *p, size_t n, int timeout_ms)
{
    char *c = p;
    while (n > 0) {
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -2;
        if (r < 0)
            return -1;
        ssize_t g = recv(fd, c, n, 0);
        if (g < 0 && errno == EINTR)
            continue;
        if (g <= 0)
            return -1;
        c += g;
        n -= (size_t)g;
    }
    return 0;
}

/* The response head (up to the blank line) into buf; its status code, or -1. */
static int ws_read_head(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        if (ws_read_all(fd, buf + n, 1, timeout_ms) != 0)
            return -1;
        n++;
        buf[n] = '\0';
        if (n >= 4 && !memcmp(buf + n - 4, "\r\n\r\n", 4))
            break;
    }
    int code = -1;
    if (sscanf(buf, "HTTP/1.1 %d", &code) != 1)
        return -1;
    return code;
}

/* GET path; the status code and the body (at most cap - 1 bytes) or -1.
 * auth: a token for "Authorization: Bearer", or NULL. */
static int http_get(int port, const char *path, const char *auth, char *body, size_t cap)
{
    int fd = ws_tcp(port);
    if (fd < 0)
        return -1;
    char req[1024];
    int k = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", path);
    if (auth)
        k += snprintf(req + k, sizeof req - (size_t)k, "Authorization: Bearer %s\r\n", auth);
    k += snprintf(req + k, sizeof req - (size_t)k, "\r\n");
    char head[4096];
    int code = ws_write_all(fd, req, (size_t)k) == 0 ? ws_read_head(fd, head, sizeof head, 5000) : -1;
    size_t n = 0;
    if (code > 0 && body && cap) {
        const char *cl = strcasestr(head, "content-length:");
        size_t want = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
        if (want >= cap)
            want = cap - 1;
        if (want && ws_read_all(fd, body, want, 5000) == 0)
            n = want;
        body[n] = '\0';
    }
    close(fd);
    return code;
}

/* Opens ws://127.0.0.1:port/path; auth as in http_get. The socket, or -1
 * (*status: the HTTP status when the upgrade was refused). */
static int ws_open(int port, const char *path, const char *auth, int *status)
{
    if (status)
        *status = -1;
    int fd = ws_tcp(port);
    if (fd < 0)
        return -1;
    char req[1024];
    int k = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
                     path);
    if (auth)
        k += snprintf(req + k, sizeof req - (size_t)k, "Authorization: Bearer %s\r\n", auth);
    k += snprintf(req + k, sizeof req - (size_t)k, "\r\n");
    char head[4096];
    int code = ws_write_all(fd, req, (size_t)k) == 0 ? ws_read_head(fd, head, sizeof head, 5000) : -1;
    if (status)
        *status = code;
    /* the accept key of RFC 6455's example key */
    if (code != 101 || !strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One frame (fin set unless `more`), masked as a client must. */
static int ws_send_frame(int fd, int opcode, const void *data, size_t n, int more)
{
    unsigned char h[14];
    size_t k = 0;
    h[k++] = (unsigned char)((more ? 0 : 0x80) | (opcode & 0x0f));
    if (n < 126) {
        h[k++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        h[k++] = 0x80 | 126;
        h[k++] = (unsigned char)(n >> 8);
        h[k++] = (unsigned char)n;
    } else {
        h[k++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[k++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(h + k, mask, 4);
    k += 4;
    unsigned char *buf = malloc(k + n + 1);
    if (!buf)
        return -1;
    memcpy(buf, h, k);
    for (size_t i = 0; i < n; i++)
        buf[k + i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
    int rc = ws_write_all(fd, buf, k + n);
    free(buf);
    return rc;
}

static int ws_send_text(int fd, const char *text)
{
    return ws_send_frame(fd, WS_TEXT, text, strlen(text), 0);
}

/* The next data or close frame into buf (NUL-terminated, at most cap - 1
 * bytes kept); pings are answered. Its opcode, -1 on EOF or error, -2 when
 * no frame began within timeout_ms. */
static int ws_recv(int fd, char *buf, size_t cap, int timeout_ms)
{
    for (;;) {
        unsigned char h[2];
        int rc = ws_read_all(fd, h, 2, timeout_ms);
        if (rc != 0)
            return rc;
        int op = h[0] & 0x0f;
        uint64_t n = h[1] & 0x7f;
        if (n == 126) {
            unsigned char e[2];
            if (ws_read_all(fd, e, 2, timeout_ms) != 0)
                return -1;
            n = (uint64_t)e[0] << 8 | e[1];
        } else if (n == 127) {
            unsigned char e[8];
            if (ws_read_all(fd, e, 8, timeout_ms) != 0)
                return -1;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | e[i];
        }
        if (n > (64u << 20))
            return -1;
        char *p = malloc((size_t)n + 1);
        if (!p || (n && ws_read_all(fd, p, (size_t)n, timeout_ms) != 0)) {
            free(p);
            return -1;
        }
        if (op == WS_PING) {
            ws_send_frame(fd, WS_PONG, p, (size_t)n, 0);
            free(p);
            continue;
        }
        size_t keep = n < cap - 1 ? (size_t)n : cap - 1;
        memcpy(buf, p, keep);
        buf[keep] = '\0';
        free(p);
        return op;
    }
}

#endif /* SORI_TESTS_WS_CLIENT_H */
