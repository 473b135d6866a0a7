/*
 * test.h - a minimal harness for the C tests of libnnk.
 *
 * TEST(Name) { ... } defines and registers a case; tests/native/CMakeLists.txt finds the
 * TEST( lines and registers each case with CTest as `<exe> Name`, so every case runs in a
 * fresh process (the BLAS tests rely on that). CHECK records a failure and carries on.
 */
#ifndef NNK_TEST_H
#define NNK_TEST_H

#include "nnk.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_case {
    const char *name;
    void (*run)(void);
} test_case;

static test_case test_cases[64];
static int test_case_count;
static atomic_int test_failures;

static inline void test_register(const char *name, void (*run)(void))
{
    if (test_case_count < (int)(sizeof test_cases / sizeof test_cases[0]))
        test_cases[test_case_count++] = (test_case){name, run};
}

#define TEST(name)                                                                           \
    static void name(void);                                                                  \
    __attribute__((constructor)) static void register_##name(void) { test_register(#name, name); } \
    static void name(void)

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
            test_failures++;                                                                 \
        }                                                                                    \
    } while (0)

/* The call returns NNK_OK. */
#define CHECK_OK(call)                                                                       \
    do {                                                                                     \
        nnk_status check_status_ = (call);                                                   \
        CHECK(check_status_ == NNK_OK, "status %d: %s", (int)check_status_, nnk_last_error()); \
    } while (0)

/* The call fails with `expected` and nnk_last_error() contains `text`. */
#define CHECK_ERROR(call, expected, text)                                                    \
    do {                                                                                     \
        nnk_status check_status_ = (call);                                                   \
        CHECK(check_status_ == (expected), "status %d, expected %d; message \"%s\"",          \
              (int)check_status_, (int)(expected), nnk_last_error());                        \
        CHECK(strstr(nnk_last_error(), (text)) != NULL, "message \"%s\" lacks \"%s\"",       \
              nnk_last_error(), (text));                                                     \
    } while (0)

/* Uniform in [-1, 1) from a splitmix64 stream: fixed seeds, identical on every machine. */
static inline double test_uniform(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-52 - 1.0;
}

static inline double *test_random(int64_t count, uint64_t seed)
{
    double *values = malloc((size_t)count * sizeof *values);
    for (int64_t i = 0; i < count; i++)
        values[i] = test_uniform(&seed);
    return values;
}

static inline float *test_to_float(const double *values, int64_t count)
{
    float *out = malloc((size_t)count * sizeof *out);
    for (int64_t i = 0; i < count; i++)
        out[i] = (float)values[i];
    return out;
}

static inline void test_from_float(const float *values, int64_t count, double *out)
{
    for (int64_t i = 0; i < count; i++)
        out[i] = values[i];
}

/* max |a - b| / max |b|: normwise, so entries that cancel to nearly zero do not dominate. */
static inline double test_rel_error(const double *a, const double *b, int64_t count)
{
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < count; i++) {
        diff = fmax(diff, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

/* Geometries every kernel test runs on: square and not, strides 1-3 differing between height
 * and width, pads differing, 1x1 and 7x7 kernels, and kernel taps that only see padding. */
static const nnk_conv2d_desc test_geometries[] = {
    /* n  c   h   w  f kh kw sh sw ph pw */
    {1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0},
    {2, 3, 7, 5, 4, 3, 2, 2, 1, 1, 0},
    {3, 2, 8, 9, 3, 3, 3, 3, 2, 0, 2},
    {2, 3, 6, 6, 5, 1, 1, 1, 1, 0, 0},
    {4, 2, 5, 7, 2, 5, 5, 2, 3, 2, 1},
    {1, 3, 4, 4, 2, 7, 7, 1, 1, 2, 2},
    {2, 1, 3, 3, 2, 2, 2, 1, 1, 3, 3},
    {3, 2, 9, 4, 3, 4, 3, 3, 1, 1, 2},
    {5, 3, 11, 10, 4, 3, 3, 2, 2, 1, 1},
    /* Stride-2 rows of one to two float vectors (15-16 elements), of two to three (20-21), of
     * exactly one with an element to spare before or after it, and of exactly one with neither
     * (a one-row image). */
    {2, 2, 4, 31, 3, 3, 3, 2, 2, 1, 1},
    {1, 2, 3, 41, 2, 3, 3, 2, 2, 1, 1},
    {1, 2, 3, 17, 2, 3, 3, 1, 2, 1, 0},
    {1, 1, 1, 15, 2, 1, 1, 1, 2, 0, 0},
    /* c*kh*kw >= 128 and small images: conv2d groups images per gemm, the last group short. */
    {5, 8, 6, 7, 3, 4, 4, 1, 2, 1, 0},
    {7, 16, 5, 5, 3, 3, 3, 2, 1, 1, 0},
    /* c*kh*kw 100-1024 (the direct kernels) with 2, 3 and 4 vectors of float channels (f = 24,
     * 40, 50), each block of pixels (8 or 12, 8, 6) and of k's short at the end. */
    {2, 3, 9, 11, 24, 7, 7, 1, 1, 3, 3},
    {1, 3, 8, 8, 40, 6, 6, 1, 1, 2, 2},
    {2, 4, 7, 6, 50, 5, 5, 1, 1, 2, 1},
};
/* Elements of an array (not a pointer). */
#define TEST_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define TEST_GEOMETRY_COUNT TEST_COUNT(test_geometries)

static inline void test_print_desc(const nnk_conv2d_desc *d)
{
    fprintf(stderr,
            "  geometry n=%lld c=%lld h=%lld w=%lld f=%lld kh=%lld kw=%lld stride=%lldx%lld "
            "pad=%lldx%lld\n",
            (long long)d->n, (long long)d->c, (long long)d->h, (long long)d->w, (long long)d->f,
            (long long)d->kh, (long long)d->kw, (long long)d->stride_h, (long long)d->stride_w,
            (long long)d->pad_h, (long long)d->pad_w);
}

/* Runs the tests named (ctest runs one a process; the valgrind phase several, to spare its
 * start-up per process), each from the thread count the process started with. Exit status 1 if
 * any failed, 2 for a name that is not a test. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TEST_NAME...\ntests:\n", argv[0]);
        for (int i = 0; i < test_case_count; i++)
            fprintf(stderr, "  %s\n", test_cases[i].name);
        return 2;
    }
    const int32_t threads = nnk_get_num_threads();
    int status = 0;
    for (int a = 1; a < argc; a++) {
        int found = -1;
        for (int i = 0; i < test_case_count && found < 0; i++)
            if (strcmp(test_cases[i].name, argv[a]) == 0)
                found = i;
        if (found < 0) {
            fprintf(stderr, "%s: no test named %s\n", argv[0], argv[a]);
            return 2;
        }
        if (nnk_set_num_threads(threads) != NNK_OK) {
            fprintf(stderr, "%s: cannot restore %d threads\n", argv[0], (int)threads);
            return 2;
        }
        const int before = atomic_load(&test_failures);
        test_cases[found].run();
        const int failures = atomic_load(&test_failures) - before;
        printf("%s: %s (%d failed checks)\n", argv[a], failures ? "FAILED" : "passed", failures);
        if (failures)
            status = 1;
    }
    return status;
}

#endif /* NNK_TEST_H */
