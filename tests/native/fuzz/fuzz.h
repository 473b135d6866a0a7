/*
 * fuzz.h - what the libFuzzer targets of libnnk share: turning the fuzzer's bytes into sizes,
 * values and buffers, and the checks every call must pass.
 *
 * A target decodes a descriptor, then one buffer per argument, and calls the public C API.
 * Sizes are mostly small, so that whole kernels run, and sometimes a value at a limit: zero,
 * negative, INT32_MAX and INT64_MAX and their neighbours, and factors whose products overflow
 * 32 or 64 bits. Values come from a palette of NaNs, infinities, signed zeros, denormals and
 * the largest finite values, mixed with small numbers.
 *
 * Every buffer is allocated with exactly the length passed for it, so AddressSanitizer reports
 * any access past it. Lengths are capped at FUZZ_MAX_ELEMENTS: a buffer whose shape asks for
 * more is allocated and passed at the cap, and the API must refuse it (NNK_ERROR_BUFFER_SIZE)
 * rather than touch what it was not given.
 *
 * Besides not crashing, every call must return a defined status; a failure must leave a message
 * (the harness sets a known one before each call, which must be replaced); and a call that
 * succeeds must have been given exactly the lengths its shapes imply (the harness works them out
 * with checked arithmetic), so an overflowing geometry can never succeed.
 */
#ifndef NNK_FUZZ_H
#define NNK_FUZZ_H

#include "nnk.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest buffer a target allocates, in elements (64 KB of doubles, a 90x90 plane): enough for
 * every kernel's vector paths, small enough that an input runs in well under a millisecond. */
#define FUZZ_MAX_ELEMENTS (1 << 13)
/* The length a shape implies when its product overflows int64. */
#define FUZZ_OVERFLOW INT64_MIN

typedef struct fuzz_buffer {
    void *p;
    int64_t len;
} fuzz_buffer;

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, pos;
    void *allocations[24];
    int allocation_count;
} fuzz_input;

/* Past the end of the input every byte reads as zero. */
static inline uint8_t fuzz_byte(fuzz_input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint64_t fuzz_bits(fuzz_input *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)fuzz_byte(in) << (8 * i);
    return v;
}

/* Sizes at the limits: around zero, the int32 and int64 edges, and factors whose products
 * overflow (46341^2 and 1291^3 pass INT32_MAX; 65536^2 is 2^32; 3037000500^2, 2097152^3 and
 * 55109^4 pass INT64_MAX). */
static const int64_t fuzz_special_sizes[] = {
    0,          -1,         -2,
    INT64_MIN,  INT64_MAX,  INT64_MAX - 1,
    INT32_MAX,  (int64_t)INT32_MAX + 1, (int64_t)UINT32_MAX,
    (int64_t)UINT32_MAX + 2, INT32_MIN, 46341,
    1291,       65536,      65537,
    3037000500, 2097152,    55109,
    (int64_t)1 << 62,       INT64_MAX / 2 + 1, 1 << 20,
    255,        256,        FUZZ_MAX_ELEMENTS,
};
#define FUZZ_SPECIAL_SIZES ((int)(sizeof fuzz_special_sizes / sizeof fuzz_special_sizes[0]))

/* A size or stride: 1-4 half the time, 0-7 or 8-39 mostly, else a special or raw bits. */
static inline int64_t fuzz_size(fuzz_input *in)
{
    uint8_t b = fuzz_byte(in);
    if (b < 128)
        return 1 + b % 4;
    if (b < 176)
        return b % 8;
    if (b < 208)
        return 8 + (b - 176);
    if (b < 208 + FUZZ_SPECIAL_SIZES)
        return fuzz_special_sizes[b - 208];
    return (int64_t)fuzz_bits(in, 8);
}

/* A pad: a size less one, so that 0 comes as often as 1. */
static inline int64_t fuzz_pad(fuzz_input *in)
{
    int64_t size = fuzz_size(in);
    return size == INT64_MIN ? size : size - 1;
}

/* dims[0] * ... * dims[count - 1], FUZZ_OVERFLOW when it overflows, -1 when a factor is
 * negative (no buffer can have that shape). */
static inline int64_t fuzz_product(const int64_t *dims, int count)
{
    int64_t p = 1;
    for (int i = 0; i < count; i++) {
        if (dims[i] < 0)
            return -1;
        if (__builtin_mul_overflow(p, dims[i], &p))
            return FUZZ_OVERFLOW;
    }
    return p;
}
#define FUZZ_PRODUCT(...)                                                                    \
    fuzz_product((const int64_t[]){__VA_ARGS__},                                             \
                 (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))

/* The output side of a convolution or pooling window along one axis, worked out in 128 bits:
 * what the *_output_size calls must report. */
static inline __int128 fuzz_expected_side(int64_t size, int64_t pad, int64_t window, int64_t stride)
{
    return ((__int128)size + 2 * (__int128)pad - window) / stride + 1;
}

/* ---- Values ------------------------------------------------------------------------------- */

/* Filling buffers is the harness's busiest loop and has nothing to teach the fuzzer, so it is
 * left out of the coverage instrumentation (whose comparison hooks otherwise take most of the
 * time of an input); not inlined, since an inlined copy is instrumented as its caller is. */
#define FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))

static inline uint64_t fuzz_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 33;
}

/* fill_f32 and fill_f64: eight palette values (specials, small numbers, or raw bits) decoded
 * from the input, then the buffer from a generator seeded by the input: a palette value one
 * time in four, else a small multiple of 1/4 (so ties are common). */
#define FUZZ_DEFINE_FILL(T, suffix, BITS, TRUE_MIN, MIN_NORMAL, MAX)                         \
    FUZZ_NO_COVERAGE static void fuzz_spread_##suffix(T *p, int64_t len, const T *palette,   \
                                                      uint64_t state)                        \
    {                                                                                        \
        for (int64_t k = 0; k < len; k++) {                                                  \
            uint64_t r = fuzz_next(&state);                                                  \
            p[k] = (r & 3) == 0 ? palette[(r >> 2) & 7] : (T)((int)((r >> 5) % 17) - 8) / 4; \
        }                                                                                    \
    }                                                                                        \
    static inline void fuzz_fill_##suffix(fuzz_input *in, T *p, int64_t len)                 \
    {                                                                                        \
        T palette[8];                                                                        \
        for (int i = 0; i < 8; i++) {                                                        \
            uint8_t b = fuzz_byte(in);                                                       \
            switch (b % 12) {                                                                \
            case 0: palette[i] = (T)NAN; break;                                              \
            case 1: palette[i] = -(T)NAN; break;                                             \
            case 2: palette[i] = (T)INFINITY; break;                                         \
            case 3: palette[i] = -(T)INFINITY; break;                                        \
            case 4: palette[i] = (b & 16) ? -(T)0 : (T)0; break;                             \
            case 5: palette[i] = (b & 16) ? -TRUE_MIN : TRUE_MIN; break;                     \
            case 6: palette[i] = (b & 16) ? -MIN_NORMAL : MIN_NORMAL; break;                 \
            case 7: palette[i] = (b & 16) ? -MAX : MAX; break;                               \
            case 8: {                                                                        \
                BITS raw = (BITS)fuzz_bits(in, sizeof raw);                                  \
                memcpy(&palette[i], &raw, sizeof raw);                                       \
                break;                                                                       \
            }                                                                                \
            default: palette[i] = (T)((int)(b >> 4) - 8); break;                             \
            }                                                                                \
        }                                                                                    \
        fuzz_spread_##suffix(p, len, palette, fuzz_bits(in, 8));                             \
    }
FUZZ_DEFINE_FILL(float, f32, uint32_t, FLT_TRUE_MIN, FLT_MIN, FLT_MAX)
FUZZ_DEFINE_FILL(double, f64, uint64_t, DBL_TRUE_MIN, DBL_MIN, DBL_MAX)

/* Labels for classes classes: mostly in range, sometimes -1, classes, or an int32 extreme. */
FUZZ_NO_COVERAGE static void fuzz_fill_labels(fuzz_input *in, int32_t *p, int64_t len,
                                              int64_t classes)
{
    uint64_t state = fuzz_bits(in, 8);
    uint8_t odd = fuzz_byte(in); /* how often a label is out of range: never when < 192 */
    const uint64_t range = classes < 1 ? 1 : classes < INT32_MAX ? (uint64_t)classes : INT32_MAX;
    for (int64_t k = 0; k < len; k++) {
        uint64_t r = fuzz_next(&state);
        if (odd >= 192 && r % 64 < (uint64_t)(odd - 191)) {
            const int64_t bad[] = {-1, classes, INT32_MIN, INT32_MAX};
            p[k] = (int32_t)bad[(r >> 8) & 3];
        } else {
            p[k] = (int32_t)(r % range);
        }
    }
}

/* ---- Buffers ------------------------------------------------------------------------------ */

enum fuzz_type { FUZZ_F32, FUZZ_F64, FUZZ_I32 };

static inline size_t fuzz_type_size(enum fuzz_type type)
{
    return type == FUZZ_F64 ? 8 : 4;
}

/* A buffer for an argument whose shape implies want elements (negative or FUZZ_OVERFLOW when
 * no buffer fits it): usually exactly want, sometimes one more or one fewer, empty, a decoded
 * size, or NULL; filled with decoded values (labels below classes for FUZZ_I32). */
static inline fuzz_buffer fuzz_tensor(fuzz_input *in, int64_t want, enum fuzz_type type,
                                      int64_t classes)
{
    uint8_t b = fuzz_byte(in);
    int64_t len = want;
    switch (b & 15) {
    case 11: len = want < INT64_MAX ? want + 1 : want; break;
    case 12: len = want > INT64_MIN ? want - 1 : want; break;
    case 13: len = 0; break;
    case 14:
    case 15: len = fuzz_size(in); break;
    default: break;
    }
    if (want < 0 && (b & 15) <= 10)
        len = fuzz_size(in);
    if (len > FUZZ_MAX_ELEMENTS)
        len = FUZZ_MAX_ELEMENTS;
    if (b >> 4 == 15) /* NULL, with length 0 (absent) or with the length decoded */
        return (fuzz_buffer){NULL, (b & 1) ? 0 : len};

    size_t bytes = (size_t)(len > 0 ? len : 0) * fuzz_type_size(type);
    void *p = malloc(bytes); /* malloc(0) is a valid pointer to nothing */
    if (p == NULL)
        abort();
    in->allocations[in->allocation_count++] = p;
    if (type == FUZZ_F32)
        fuzz_fill_f32(in, p, len > 0 ? len : 0);
    else if (type == FUZZ_F64)
        fuzz_fill_f64(in, p, len > 0 ? len : 0);
    else
        fuzz_fill_labels(in, p, len > 0 ? len : 0, classes);
    return (fuzz_buffer){p, len};
}

static inline void fuzz_free_all(fuzz_input *in)
{
    for (int i = 0; i < in->allocation_count; i++)
        free(in->allocations[i]);
    in->allocation_count = 0;
}

/* ---- Checks ------------------------------------------------------------------------------- */

/* The message nnk_set_num_threads(0) leaves: set before every call, it must be replaced by the
 * call's own when the call fails. */
static char fuzz_mark_message[256];
/* NNK_FUZZ_VERBOSE set: every call's status and message go to stderr, to see what an input
 * (a seed, a crash) does. */
static bool fuzz_verbose;

static inline void fuzz_mark(void)
{
    nnk_set_num_threads(0);
}

#define FUZZ_FAIL(...)                                                                       \
    do {                                                                                     \
        fprintf(stderr, "fuzz check failed at %s:%d: ", __FILE__, __LINE__);                 \
        fprintf(stderr, __VA_ARGS__);                                                        \
        fputc('\n', stderr);                                                                 \
        abort();                                                                             \
    } while (0)

/* A call's status is one of nnk_status, and a failure says why. */
static inline nnk_status fuzz_status(nnk_status s, const char *call)
{
    if (fuzz_verbose)
        fprintf(stderr, "%s: %s%s%s\n", call, nnk_status_string(s), s == NNK_OK ? "" : ": ",
                s == NNK_OK ? "" : nnk_last_error());
    if ((unsigned)s > NNK_ERROR_BLAS_UNAVAILABLE)
        FUZZ_FAIL("%s returned %d, not an nnk_status", call, (int)s);
    if (s == NNK_ERROR_BLAS_UNAVAILABLE)
        FUZZ_FAIL("%s: BLAS unavailable after it loaded: %s", call, nnk_last_error());
    if (s != NNK_OK && strcmp(nnk_last_error(), fuzz_mark_message) == 0)
        FUZZ_FAIL("%s failed with status %d but left no message", call, (int)s);
    return s;
}

/* Runs one API call between fuzz_mark and fuzz_status. */
#define FUZZ_CALL(name, call) (fuzz_mark(), fuzz_status((call), (name)))

/* After a call succeeded: a buffer it needed had exactly the length its shape implies. */
#define FUZZ_EXPECT_LEN(call, name, buffer, want)                                            \
    do {                                                                                     \
        if ((buffer).len != (want))                                                          \
            FUZZ_FAIL("%s succeeded with %s_len = %lld, but its shape implies %lld", call,   \
                      name, (long long)(buffer).len, (long long)(want));                     \
    } while (0)

/* One thread (no OpenMP team, a single-threaded BLAS: runs are reproducible and fast), the
 * BLAS loaded up front so that a missing one is one clear failure, and the mark recorded. */
static inline void fuzz_initialize(void)
{
    if (nnk_set_num_threads(1) != NNK_OK || nnk_blas_select(NULL) != NNK_OK) {
        fprintf(stderr, "fuzz: cannot set up libnnk: %s\n", nnk_last_error());
        exit(1);
    }
    fuzz_verbose = getenv("NNK_FUZZ_VERBOSE") != NULL;
    fuzz_mark();
    snprintf(fuzz_mark_message, sizeof fuzz_mark_message, "%s", nnk_last_error());
}

#endif /* NNK_FUZZ_H */
