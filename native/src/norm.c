/*
 * norm.c - validation of a normalisation descriptor and the arithmetic shared by batch norm
 * and group norm; the kernels themselves are instantiated from norm_impl.h for float and
 * double.
 *
 * Both normalise x seen as (n, c, spatial) over sets of values: batch norm over each channel
 * (n*spatial values, strided), group norm over each (sample, group) ((c/groups)*spatial values,
 * contiguous). Statistics take one pass, shifted by the set's first value (sum of d and of
 * d*d, d = x - shift; float partials over short runs, then double, see NORM_RUN_STEPS), which
 * keeps them accurate however far the mean is from zero; a set whose first value lies far
 * from its mean is summed again about the mean (NORM_FAR_SHIFT). A second pass writes y with
 * per-channel coefficients. Backward is the closed form: one pass for the two sums per set, a
 * second for dx, recomputing xhat on the fly, with no temporary the size of x. Where a thread
 * has sets of spatial > 1 one after another (batch norm's channels, group norm's pairs in
 * sample order), a set's second pass rides along the next set's first (rider in norm_impl.h).
 *
 * Threads: every sum is taken by one thread in one fixed order, so results do not depend on
 * the thread count. Batch norm shares out channels; group norm shares out (sample, group)
 * pairs for y and dx, and channels for dgamma and dbeta, which sum over samples.
 */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* The passes are built three times, for AVX-512 and for AVX2, each with FMA (x86-64-v4 and
 * -v3), and for baseline x86-64; the loader picks one. This file is compiled with
 * -ffp-contract=fast, so their multiply-adds fuse, and -mprefer-vector-width=512, so the AVX-512
 * clone's loops run 512-bit vectors (CMakeLists.txt). On 64-byte aligned buffers the two took
 * the standard shapes' passes in 0.87-0.96x the time of AVX2 clones without FMA (group norm
 * backward at 2 threads 0.91-0.94x); on buffers 8 bytes off, split loads had hidden the gain. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NORM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NORM_CLONES NNKI_CLONES
#endif

/* The loops over a run are inlined into every clone, so that each is vectorised for its
 * clone's target; left to itself GCC sometimes calls one baseline copy instead. */
#define NORM_LOOP static inline __attribute__((always_inline))

enum {
    /* With spatial = 1 (x is (n, c)) a channel's values are c apart, so the loops that sum
     * over samples (batch norm; group norm's dgamma and dbeta) walk the rows of a block of
     * NORM_BLOCK channels instead: the inner loops run over contiguous channels (vectorised)
     * and the block's accumulators stay on the stack. */
    NORM_BLOCK = 64,
    /* Channels group norm backward on one thread may sum in memory order (their dgamma and
     * dbeta on the stack, 16 KB of doubles). */
    NORM_IN_ORDER = 1024,
    /* Elements a thread must have before another one is started. With spinning OpenMP
     * threads (the default wait policy) a second thread pays from 4096 elements on here
     * (batch norm of (32, 128): 0.80-0.84x, of (100, 500): 0.63-0.67x); woken from sleep
     * (OMP_WAIT_POLICY=passive) it costs ~0.1 ms, worth it only for sets of a million. */
    NORM_GRAIN = 1 << 14,
    /* Partial sums are taken in the element type over runs of NORM_RUN_STEPS steps of two
     * vectors (64 floats or 32 doubles), each lane adding 2*NORM_RUN_STEPS terms; the run's
     * lanes are then widened and added to double lanes, and the double lanes added in a fixed
     * order at the end. Element k always goes to the same lane, so the order depends neither
     * on the thread nor on the alignment of the data, which a compiler-vectorised reduction
     * does not promise. Widening once per run instead of once per element makes a float pass
     * several times cheaper; a float lane's error is a few float roundings of its own eight
     * terms, about what the float inputs carry already. */
    NORM_RUN_STEPS = 4,
    /* With spatial = 1, a block's sums are taken per vector of channels in the element type
     * over runs of this many rows, then widened: the same few roundings per lane. */
    NORM_ROWS_RUN = 8,
};

/* Forward's sums are of d = x - shift with shift = the set's first value. When that value
 * lies more than NORM_FAR_SHIFT standard deviations from the mean, the sum of d*d mostly
 * cancels against the square of the sum of d and float partials keep too few digits of the
 * difference: the sums are then taken again with the mean as shift. Between the two, the
 * variance keeps at least float precision less 4 bits, here 2^-20 relative, over any set. */
#define NORM_FAR_SHIFT 4.0

/* A validated nnk_norm_desc; every product fits in int64. */
typedef struct norm_geom {
    int64_t n, c, spatial;
    int64_t groups;         /* 1 for batch norm */
    int64_t group_channels; /* c/groups */
    int64_t len;            /* n*c*spatial */
} norm_geom;

/* Validates the sizes of desc (n, c, spatial >= 1; with grouped, groups >= 1 dividing c; n*c*
 * spatial within int64) and fills g; fn prefixes the error message. */
static nnk_status norm_geometry(const char *fn, const nnk_norm_desc *d, bool grouped,
                                norm_geom *g)
{
    if (d == NULL)
        return nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: desc is NULL", fn);
    const struct {
        const char *name;
        int64_t value;
    } fields[] = {{"n", d->n}, {"c", d->c}, {"spatial", d->spatial}, {"groups", d->groups}};
    for (size_t i = 0; i < (grouped ? 4u : 3u); i++)
        if (fields[i].value < 1)
            return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT, "%s: %s = %" PRId64 " (must be >= 1)",
                                  fn, fields[i].name, fields[i].value);
    if (grouped && d->c % d->groups != 0)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "%s: c = %" PRId64 " is not divisible by groups = %" PRId64, fn, d->c,
                              d->groups);
    int64_t len;
    if (!nnki_mul(d->n, d->c, &len) || !nnki_mul(len, d->spatial, &len))
        return nnki_set_error(NNK_ERROR_OVERFLOW,
                              "%s: n*c*spatial = %" PRId64 "*%" PRId64 "*%" PRId64
                              " overflows int64",
                              fn, d->n, d->c, d->spatial);
    int64_t groups = grouped ? d->groups : 1;
    *g = (norm_geom){.n = d->n, .c = d->c, .spatial = d->spatial, .groups = groups,
                     .group_channels = d->c / groups, .len = len};
    return NNK_OK;
}

static nnk_status check_eps(const char *fn, double eps)
{
    if (!(eps > 0) || !isfinite(eps))
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT, "%s: eps = %g (must be > 0 and finite)",
                              fn, eps);
    return NNK_OK;
}

static nnk_status check_momentum(const char *fn, double momentum)
{
    if (!(momentum >= 0 && momentum <= 1))
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT, "%s: momentum = %g (must be in [0, 1])",
                              fn, momentum);
    return NNK_OK;
}

static nnk_status check_mode(const char *fn, nnk_norm_mode mode)
{
    if (mode != NNK_NORM_TRAIN && mode != NNK_NORM_TEST)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "%s: mode = %d (must be NNK_NORM_TRAIN or NNK_NORM_TEST)", fn,
                              (int)mode);
    return NNK_OK;
}

/* Threads for a loop of units sharing len elements. */
static int norm_threads(int64_t units, int64_t len)
{
    return nnki_loop_threads(units, len / NORM_GRAIN > 1 ? len / NORM_GRAIN : 1);
}

/* The first of thread t's units when units are shared out among threads in contiguous
 * ranges (the ranges of schedule(static)), so that a thread can overlap a unit's last pass
 * with the next unit's first. */
static int64_t norm_share(int64_t units, int t, int threads) { return units * t / threads; }

/* Channel blocks of the spatial = 1 batch norm loops. */
static int64_t norm_blocks(int64_t c) { return (c - 1) / NORM_BLOCK + 1; } /* c >= 1 */

/* Up to this many channels, batch norm of x (n, c) on several threads takes every channel's
 * coefficients first (threads by blocks of channels, into arrays on the caller's stack), then
 * writes its output by rows (threads by ranges of rows). Writing by blocks of channels, the
 * threads shared the cache line that straddles their boundary in every row (a row of 500
 * floats is 31.25 lines): two threads took as long as one on (100, 500), or longer. */
#define NORM_ROWS_MAX_C 1024

/* Whether x (n, c) on threads goes by rows: more than one thread and few enough channels. */
static bool norm_by_rows(const norm_geom *g, int threads)
{
    return threads > 1 && g->c <= NORM_ROWS_MAX_C;
}

/* GNU vectors of 32 bytes: one register in the AVX2 clone; the baseline clone emulates them
 * through memory, which only CPUs without AVX2 pay. They are only passed by pointer, which
 * leaves the calling convention alone. The element type's vector is norm_v_f32 or norm_v_f64,
 * and widen_add_f32 or _f64 adds one to NORM_WIDE_f32 or _f64 vectors of double lanes. */
typedef double norm_v4d __attribute__((vector_size(32)));
typedef float norm_v_f32 __attribute__((vector_size(32)));
typedef double norm_v_f64 __attribute__((vector_size(32)));
enum { NORM_WIDE_f32 = 2, NORM_WIDE_f64 = 1 };

NORM_LOOP void widen_add_f32(const norm_v_f32 *v, norm_v4d *acc)
{
    acc[0] += (norm_v4d){(*v)[0], (*v)[1], (*v)[2], (*v)[3]};
    acc[1] += (norm_v4d){(*v)[4], (*v)[5], (*v)[6], (*v)[7]};
}

NORM_LOOP void widen_add_f64(const norm_v_f64 *v, norm_v4d *acc) { acc[0] += *v; }

/* The lanes of v[0], ..., v[count - 1] (count a power of two), added pairwise in a fixed
 * order. */
NORM_LOOP double norm_lanes_sum(const norm_v4d *v, int count)
{
    norm_v4d s[4];
    memcpy(s, v, (size_t)count * sizeof *v);
    for (int width = count / 2; width >= 1; width /= 2)
        for (int k = 0; k < width; k++)
            s[k] += s[k + width];
    return (s[0][0] + s[0][1]) + (s[0][2] + s[0][3]);
}

/* Mean and biased variance of count values from the sums of d and d*d, d = value - shift. A
 * variance that rounds below zero is clamped to it; a NaN one (the set held a NaN or an
 * infinity) stays NaN, as the managed kernels' Math.Max keeps it. */
static inline void moments_to_stats(double shift, double sum, double squares, double count,
                                    double *mean, double *var)
{
    double centred = sum / count; /* mean - shift */
    double v = squares / count - centred * centred;
    *mean = shift + centred;
    *var = v < 0 ? 0 : v;
}

/* Whether sums of d = value - shift over count values put shift too far from their mean (see
 * NORM_FAR_SHIFT); if so, *mean is the shift to take them again with. */
static inline bool far_shift(double shift, double sum, double squares, double count,
                             double *mean)
{
    double centred = sum / count, var = squares / count - centred * centred;
    *mean = shift + centred;
    return centred * centred > NORM_FAR_SHIFT * NORM_FAR_SHIFT * var;
}

/* Over one normalisation set of count values, with s1 = sum of gamma*dy and s2 = sum of
 * gamma*dy*(x - mean), the closed-form gradient
 *   dx = invstd/count * (count*dxhat - sum(dxhat) - xhat*sum(dxhat*xhat)),  dxhat = gamma*dy,
 * is dx = invstd * (gamma*dy + b*(x - mean) + c); this gives b and c. invstd stays outside so
 * that a set of one value, where gamma*dy and c are the same rounded product, gives exactly 0
 * rather than the difference of two roundings of gamma*dy/sqrt(eps). */
static inline void dx_coefficients(double invstd, double s1, double s2, double count, double *b,
                                   double *c)
{
    *b = -invstd * invstd * s2 / count;
    *c = -s1 / count;
}

#define NNK_T float
#define NNK_SUFFIX f32
#include "norm_impl.h"
#undef NNK_T
#undef NNK_SUFFIX

#define NNK_T double
#define NNK_SUFFIX f64
#include "norm_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
