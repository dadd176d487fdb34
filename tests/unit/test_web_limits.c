/*
 * test_web_limits.c - the dashboard's HTTP server against hostile clients
 * (web.h, "Limits"), on a real zb_web over loopback sockets: %00 in the
 * request target is a 400 before the token is compared, the per-address
 * cap, and zb_web_stop with hundreds of half-sent requests open. The head
 * deadline (10 s) and the attack itself are in tests/system/slowloris.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "crypto.h"
#include "err.h"
#include "web.h"

#define TOKEN "s3cret"

static struct {
    char dir[512];
    zb_agg *agg;
} F;

static int group_setup(void **state)
{
    (void)state;
    if (zb_crypto_init() != ZB_OK)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(F.dir, sizeof F.dir, "%s/zb-test-web-limits-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(F.dir))
        return -1;
    char pk_hex[2 * ZB_PK_LEN + 1];
    if (zb_agg_create(F.dir, pk_hex) != ZB_OK)
        return -1;
    return zb_agg_open(&F.agg, F.dir, true) == ZB_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    zb_agg_close(&F.agg);
    static const char *const files[] = {"data.mdb", "lock.mdb", ZB_IDENTITY_FILE};
    char p[700];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", F.dir, files[i]);
        unlink(p);
    }
    rmdir(F.dir);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A TCP connection from source address from (127.x.y.z) to the server. */
static int dial(unsigned port, const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, from, &a.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Send one request, read the answer to its end (the server closes), and
 * return its status code; *body gets the body (static buffer). */
static int http(unsigned port, const char *method, const char *target, const char **body)
{
    static char buf[65536];
    int fd = dial(port, "127.0.0.1");
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, target);
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = recv(fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
    int status = 0;
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &status), 1);
    const char *b = strstr(buf, "\r\n\r\n");
    if (body)
        *body = b ? b + 4 : "";
    return status;
}

/* %00 anywhere in the target: 400 with a JSON error, before the token is
 * compared (?token=s3cret%00x is not the token), after the method. */
static void test_nul_in_target(void **state)
{
    (void)state;
    zb_web *w;
    assert_int_equal(zb_web_start(&w, F.agg, "127.0.0.1:0", TOKEN), ZB_OK);
    unsigned port = zb_web_port(w);
    const char *body;
    assert_int_equal(http(port, "GET", "/api/monthly?period=2026-10&token=" TOKEN, NULL), 200);
    assert_int_equal(http(port, "GET", "/api/monthly?period=2026-10%00x&token=" TOKEN, &body), 400);
    assert_string_equal(body, "{\n  \"error\": \"request target: %00 (NUL) is not allowed\"\n}\n");
    assert_int_equal(http(port, "GET", "/api/status?token=" TOKEN "%00x", NULL), 400);
    assert_int_equal(http(port, "GET", "/api/status?token=" TOKEN "%2500", NULL), 401);
    assert_int_equal(http(port, "GET", "/api/accidents/222401/A%00B?token=" TOKEN, NULL), 400);
    assert_int_equal(http(port, "GET", "/api/monthly?per%00iod=2026-10&token=" TOKEN, NULL), 400);
    assert_int_equal(http(port, "HEAD", "/?lang=en%00", NULL), 400);
    assert_int_equal(http(port, "POST", "/api/monthly?period=2026-10%00x", NULL), 405);
    assert_int_equal(http(port, "GET", "/api/status", NULL), 401);
    zb_web_stop(&w);
    assert_null(w);
}

/* Connections still open (not closed by the server) among fds. */
static size_t still_open(const int *fds, size_t n)
{
    size_t open = 0;
    for (size_t i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 0) {
            open++;
            continue;
        }
        char c;
        ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            open++;
    }
    return open;
}

/* 100 half-sent requests from one address: 64 held, the rest closed at
 * once; another address is still answered; then zb_web_stop with 264
 * connections open returns within 2 s (and frees everything: ASan). */
static void test_per_address_cap_and_stop(void **state)
{
    (void)state;
    zb_web *w;
    assert_int_equal(zb_web_start(&w, F.agg, "127.0.0.1:0", NULL), ZB_OK);
    unsigned port = zb_web_port(w);
    enum { ONE = 100, OTHERS = 200 };
    static int fds[ONE + OTHERS];
    static const char head[] = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (size_t i = 0; i < ONE + OTHERS; i++) {
        char from[32];
        snprintf(from, sizeof from, "127.0.0.%zu", i < ONE ? (size_t)5 : 6 + (i - ONE) / 50);
        fds[i] = dial(port, from);
        assert_int_equal(send(fds[i], head, sizeof head - 1, 0), (ssize_t)(sizeof head - 1));
    }
    size_t open = 0;
    for (int tries = 0; tries < 50; tries++) { /* the server closes the extra ones at once */
        usleep(100 * 1000);
        if ((open = still_open(fds, ONE)) == 64)
            break;
    }
    assert_int_equal(open, 64);
    assert_int_equal(still_open(fds + ONE, OTHERS), OTHERS);
    assert_int_equal(http(port, "GET", "/api/status", NULL), 200);
    double t0 = now_s();
    zb_web_stop(&w);
    double took = now_s() - t0;
    assert_null(w);
    assert_true(took < 2.0);
    assert_int_equal(still_open(fds, ONE + OTHERS), 0);
    for (size_t i = 0; i < ONE + OTHERS; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_in_target),
        cmocka_unit_test(test_per_address_cap_and_stop),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
