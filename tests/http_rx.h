/* A loopback HTTP receiver for tests of sori serve's HTTP sink: a thread that
 * accepts connections (keep-alive, one at a time), reads POSTs and keeps their
 * bodies; it answers 503 to the first `refuse_first` of them, then 200. */
#ifndef SORI_TEST_HTTP_RX_H
#define SORI_TEST_HTTP_RX_H

#define _GNU_SOURCE
#include <pthread.h>
#include <strings.h>

#include "ws_client.h"

typedef struct {
    int fd, port, refuse_first;
    const char *want_header; /* a "name: value" every POST must carry (case-insensitive), or NULL */
    pthread_t th;
    pthread_mutex_t mu;
    char *bodies; /* each POST's body, a line each */
    size_t n, cap;
    int n_posts, n_refused, n_bad;
    volatile int quit;
} http_rx;

/* One request from a kept-alive connection; 0 at its end. */
static int http_rx_one(http_rx *rx, int c)
{
    char head[8192];
    size_t h = 0;
    char *end = NULL;
    while (!end) {
        struct pollfd p = {c, POLLIN, 0};
        if (rx->quit || h + 1 >= sizeof head)
            return 0;
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t k = read(c, head + h, sizeof head - 1 - h);
        if (k <= 0)
            return 0;
        h += (size_t)k;
        head[h] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    size_t hl = (size_t)(end + 4 - head), len = 0;
    const char *cl = strcasestr(head, "\r\ncontent-length:");
    if (cl)
        len = strtoul(cl + 17, NULL, 10);
    char *body = malloc(len + 1);
    size_t got = h - hl < len ? h - hl : len;
    memcpy(body, head + hl, got);
    if (got < len && ws_read_all(c, body + got, len - got, 5000)) {
        free(body);
        return 0;
    }
    body[len] = '\0';
    pthread_mutex_lock(&rx->mu);
    int refuse = rx->n_refused < rx->refuse_first;
    if (refuse) {
        rx->n_refused++;
    } else {
        if (rx->n + len + 2 > rx->cap) {
            rx->cap = (rx->n + len + 2) * 2;
            rx->bodies = realloc(rx->bodies, rx->cap);
        }
        memcpy(rx->bodies + rx->n, body, len);
        rx->n += len;
        rx->bodies[rx->n++] = '\n';
        rx->bodies[rx->n] = '\0';
        rx->n_posts++;
        head[hl] = '\0';
        rx->n_bad += strncmp(head, "POST ", 5) != 0 || (rx->want_header && !strcasestr(head, rx->want_header));
    }
    pthread_mutex_unlock(&rx->mu);
    free(body);
    const char *reply = refuse ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
                               : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    return ws_write_all(c, reply, strlen(reply)) == 0;
}

static void *http_rx_main(void *arg)
{
    http_rx *rx = arg;
    while (!rx->quit) {
        struct pollfd p = {rx->fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        int c = accept(rx->fd, NULL, NULL);
        if (c < 0)
            continue;
        while (http_rx_one(rx, c)) {
        }
        close(c);
    }
    return NULL;
}

/* Listens on a free loopback port; 0 on success. */
static int http_rx_start(http_rx *rx, int refuse_first, const char *want_header)
{
    memset(rx, 0, sizeof *rx);
    rx->refuse_first = refuse_first;
    rx->want_header = want_header;
    pthread_mutex_init(&rx->mu, NULL);
    rx->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (rx->fd < 0 || bind(rx->fd, (struct sockaddr *)&a, sizeof a) || listen(rx->fd, 8) ||
        getsockname(rx->fd, (struct sockaddr *)&a, &al))
        return -1;
    rx->port = ntohs(a.sin_port);
    return pthread_create(&rx->th, NULL, http_rx_main, rx) ? -1 : 0;
}

static void http_rx_stop(http_rx *rx)
{
    rx->quit = 1;
    pthread_join(rx->th, NULL);
    close(rx->fd);
    free(rx->bodies);
    pthread_mutex_destroy(&rx->mu);
}
#endif
