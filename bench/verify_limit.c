/*
 * verify_limit.c - the machine's signature-verification limit: raw
 * crypto_sign_verify_detached on every core (one thread per online CPU),
 * over a message the size of a typical report envelope (~400 bytes), for
 * a fixed time. The aggregator verifies every report, so this is the
 * ceiling every ingest figure is compared with.
 *
 *   zb-bench-verify [--seconds S] [--bytes N] [--threads T]
 *
 * Prints one JSON object: {"verify_limit_per_s", "threads", "bytes", ...}.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    size_t msg_len;
    double seconds;
    uint64_t done; /* verifications completed */
    int failures;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    worker *w = arg;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    unsigned char sig[crypto_sign_BYTES];
    unsigned char *msg = malloc(w->msg_len);
    if (!msg)
        return NULL;
    randombytes_buf(msg, w->msg_len);
    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, msg, w->msg_len, sk);
    double end = now_s() + w->seconds;
    uint64_t n = 0;
    do {
        /* check the clock every 256 verifications (~10 ms) */
        for (int i = 0; i < 256; i++) {
            if (crypto_sign_verify_detached(sig, msg, w->msg_len, pk) != 0)
                w->failures++;
        }
        n += 256;
    } while (now_s() < end);
    w->done = n;
    free(msg);
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    size_t bytes = 417 + 17; /* a typical Report + the domain tag */
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--bytes") == 0)
            bytes = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atol(argv[i + 1]);
    }
    if (sodium_init() < 0 || threads < 1 || threads > 256 || bytes < 1 || seconds <= 0) {
        fprintf(stderr, "usage: zb-bench-verify [--seconds S] [--bytes N] [--threads T]\n");
        return 2;
    }
    pthread_t tid[256];
    worker w[256];
    double t0 = now_s();
    for (long i = 0; i < threads; i++) {
        w[i] = (worker){.msg_len = bytes, .seconds = seconds};
        if (pthread_create(&tid[i], NULL, run, &w[i]) != 0) {
            fprintf(stderr, "cannot start thread\n");
            return 1;
        }
    }
    uint64_t total = 0;
    int failures = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += w[i].done;
        failures += w[i].failures;
    }
    double elapsed = now_s() - t0;
    printf("{\"verify_limit_per_s\": %.0f, \"verify_per_core_per_s\": %.0f, \"threads\": %ld, "
           "\"bytes\": %zu, \"seconds\": %.3f, \"failures\": %d}\n",
           (double)total / elapsed, (double)total / elapsed / (double)threads, threads, bytes,
           elapsed, failures);
    return failures ? 1 : 0;
}
