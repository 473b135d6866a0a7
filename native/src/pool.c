/*
 * pool.c - validation of a pool2d descriptor and the output size query; max and average
 * pooling themselves are instantiated from pool_impl.h for float and double.
 *
 * Every kernel works one (n, c) plane at a time and the planes are shared out among the
 * threads: a plane of a typical network (32x32 floats, 4 KB) stays in L1 while its windows
 * are read, so x is read from memory once however much the windows overlap, and the backward
 * passes accumulate overlapping windows with no race. A plane is always processed by one
 * thread in one fixed order, so results do not depend on the thread count.
 */
#include "internal.h"

#include <inttypes.h>
#include <string.h>

/* Every function a plane function calls is inlined into it, and so built for its target: a
 * call to a separate function would run baseline code from the AVX2 clone. */
#define POOL_INLINE static inline __attribute__((always_inline))

/* Which plane code a geometry gets: the windows most networks use have their own vector
 * loops along the rows (see pool_impl.h). */
typedef enum pool_kernel {
    POOL_GENERIC,
    POOL_2X2_S2, /* 2x2 window, stride 2: windows do not overlap */
    POOL_3X3_S2  /* 3x3 window, stride 2: each window shares a column and a row with the next */
} pool_kernel;

/* A validated nnk_pool2d_desc with its derived sizes; every product fits in int64. */
typedef struct pool_geom {
    int64_t n, c, h, w, pool_h, pool_w, stride_h, stride_w, pad_h, pad_w;
    int64_t out_h, out_w;
    int64_t planes;    /* n*c */
    int64_t plane;     /* h*w: one input plane */
    int64_t out_plane; /* out_h*out_w: one output plane */
    int64_t x_len;     /* n*c*h*w */
    int64_t y_len;     /* n*c*out_h*out_w */
    int64_t area;      /* pool_h*pool_w: the divisor of average pooling */
    /* Outputs in rows [inside_y0, inside_y1) have windows within the input's rows, and in
     * columns [inside_x0, inside_x1) within its columns; an empty band has start == end. */
    int64_t inside_y0, inside_y1, inside_x0, inside_x1;
    pool_kernel kernel;
} pool_geom;

/* Outputs o along one axis whose window [o*stride - pad, o*stride - pad + pool) lies inside
 * [0, size). */
static void inside_band(int64_t size, int64_t out, int64_t pool, int64_t stride, int64_t pad,
                        int64_t *start, int64_t *end)
{
    *start = nnki_min(pad == 0 ? 0 : (pad - 1) / stride + 1, out); /* pad/stride rounded up */
    int64_t last = size + pad - pool; /* o*stride may go up to this */
    *end = last < 0 ? *start : nnki_min(last / stride + 1, out);
    if (*end < *start)
        *end = *start;
}

/* Validates desc (sizes and strides >= 1, 0 <= pad < pool, window within the padded input,
 * every size product within int64) and fills g; fn prefixes the error message. */
static nnk_status pool_geometry(const char *fn, const nnk_pool2d_desc *d, pool_geom *g)
{
    if (d == NULL)
        return nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: desc is NULL", fn);
    const struct {
        const char *name;
        int64_t value, min;
    } fields[] = {
        {"n", d->n, 1},
        {"c", d->c, 1},
        {"h", d->h, 1},
        {"w", d->w, 1},
        {"pool_h", d->pool_h, 1},
        {"pool_w", d->pool_w, 1},
        {"stride_h", d->stride_h, 1},
        {"stride_w", d->stride_w, 1},
        {"pad_h", d->pad_h, 0},
        {"pad_w", d->pad_w, 0},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].value < fields[i].min)
            return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                                  "%s: %s = %" PRId64 " (must be >= %" PRId64 ")", fn,
                                  fields[i].name, fields[i].value, fields[i].min);
    /* A window that could lie wholly in the padding would have no element to take. */
    if (d->pad_h >= d->pool_h || d->pad_w >= d->pool_w)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "%s: pad_h = %" PRId64 ", pad_w = %" PRId64
                              " (each must be < its window side: pool_h = %" PRId64
                              ", pool_w = %" PRId64 ")",
                              fn, d->pad_h, d->pad_w, d->pool_h, d->pool_w);

    int64_t padded_h, padded_w;
    NNKI_TRY(nnki_check_window(fn, "window", d->h, d->w, d->pad_h, d->pad_w, d->pool_h, d->pool_w,
                               &padded_h, &padded_w));

    *g = (pool_geom){
        .n = d->n, .c = d->c, .h = d->h, .w = d->w, .pool_h = d->pool_h, .pool_w = d->pool_w,
        .stride_h = d->stride_h, .stride_w = d->stride_w, .pad_h = d->pad_h, .pad_w = d->pad_w,
        .out_h = (padded_h - d->pool_h) / d->stride_h + 1,
        .out_w = (padded_w - d->pool_w) / d->stride_w + 1,
    };
    NNKI_TRY(nnki_checked_product(fn, "n*c*h*w", NNKI_DIMS(g->n, g->c, g->h, g->w), &g->x_len));
    NNKI_TRY(nnki_checked_product(fn, "n*c*out_h*out_w", NNKI_DIMS(g->n, g->c, g->out_h, g->out_w),
                             &g->y_len));
    NNKI_TRY(nnki_checked_product(fn, "pool_h*pool_w", NNKI_DIMS(g->pool_h, g->pool_w), &g->area));
    /* Factors of the products above (every size is >= 1), so they cannot overflow. */
    g->planes = g->n * g->c;
    g->plane = g->h * g->w;
    g->out_plane = g->out_h * g->out_w;
    inside_band(g->h, g->out_h, g->pool_h, g->stride_h, g->pad_h, &g->inside_y0, &g->inside_y1);
    inside_band(g->w, g->out_w, g->pool_w, g->stride_w, g->pad_w, &g->inside_x0, &g->inside_x1);

    g->kernel = POOL_GENERIC;
    if (g->stride_h == 2 && g->stride_w == 2 && g->pool_h == g->pool_w) {
        if (g->pool_h == 2)
            g->kernel = POOL_2X2_S2;
        else if (g->pool_h == 3)
            g->kernel = POOL_3X3_S2;
    }
    return NNK_OK;
}

/* pool_geometry, plus the limit of argmax: an entry is an int32 index within one plane. */
static nnk_status maxpool_geometry(const char *fn, const nnk_pool2d_desc *desc, pool_geom *g)
{
    NNKI_TRY(pool_geometry(fn, desc, g));
    if (g->plane > INT32_MAX)
        return nnki_set_error(NNK_ERROR_OVERFLOW,
                              "%s: h*w = %" PRId64 "*%" PRId64 " = %" PRId64
                              " exceeds the int32 range of argmax indices (%" PRId32 ")",
                              fn, g->h, g->w, g->plane, INT32_MAX);
    return NNK_OK;
}

/* Along one axis, the window of output o covers [o*stride - pad, o*stride - pad + pool), of
 * which [*first, *last) lies in the input [0, size). */
POOL_INLINE void clip_window(int64_t o, int64_t stride, int64_t pad, int64_t pool, int64_t size,
                             int64_t *first, int64_t *last)
{
    int64_t start = o * stride - pad;
    *first = start > 0 ? start : 0;
    *last = nnki_min(start + pool, size);
}

/* Threads of a plane loop: each plane is one unit of work. */
static int plane_threads(const pool_geom *g) { return nnki_loop_threads(g->planes, g->planes); }

nnk_status nnk_pool2d_output_size(const nnk_pool2d_desc *desc, int64_t *out_h, int64_t *out_w)
{
    static const char fn[] = "pool2d_output_size";
    pool_geom g;
    /* Not maxpool_geometry: the int32 limit on a plane belongs to argmax, and average
     * pooling has no argmax. */
    NNKI_TRY(pool_geometry(fn, desc, &g));
    if (out_h == NULL || out_w == NULL)
        return nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: %s is NULL", fn,
                              out_h == NULL ? "out_h" : "out_w");
    *out_h = g.out_h;
    *out_w = g.out_w;
    return NNK_OK;
}

/* Besides NNK_T and NNK_SUFFIX, pool_impl.h takes NNK_INT, the integer as wide as NNK_T (for
 * vector masks), and for a 32-byte vector of NNK_T: NNK_LANES, its lane count; NNK_LANE_ORDER,
 * 0 to NNK_LANES - 1; NNK_EVEN_ORDER, the lanes of two such vectors that in-lane shuffles
 * (vshufps, vunpcklpd) take for the even elements, whose windows then come in
 * NNK_WINDOW_ORDER, a permutation that is its own inverse; NNK_ODD_ORDER, the same for the odd
 * elements (NNK_EVEN_ORDER plus one); NNK_LOW_PAIRS and NNK_HIGH_PAIRS, each lane of the low
 * and the high half of a vector twice in a row; NNK_ZIP_LOW and NNK_ZIP_HIGH, the low and the
 * high halves of two vectors interleaved lane by lane. */
#define NNK_T float
#define NNK_SUFFIX f32
#define NNK_INT int32_t
#define NNK_LANES 8
#define NNK_LANE_ORDER 0, 1, 2, 3, 4, 5, 6, 7
#define NNK_EVEN_ORDER 0, 2, 8, 10, 4, 6, 12, 14
#define NNK_ODD_ORDER 1, 3, 9, 11, 5, 7, 13, 15
#define NNK_WINDOW_ORDER 0, 1, 4, 5, 2, 3, 6, 7
#define NNK_LOW_PAIRS 0, 0, 1, 1, 2, 2, 3, 3
#define NNK_HIGH_PAIRS 4, 4, 5, 5, 6, 6, 7, 7
#define NNK_ZIP_LOW 0, 8, 1, 9, 2, 10, 3, 11
#define NNK_ZIP_HIGH 4, 12, 5, 13, 6, 14, 7, 15
#include "pool_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
#undef NNK_INT
#undef NNK_LANES
#undef NNK_LANE_ORDER
#undef NNK_EVEN_ORDER
#undef NNK_ODD_ORDER
#undef NNK_WINDOW_ORDER
#undef NNK_LOW_PAIRS
#undef NNK_HIGH_PAIRS
#undef NNK_ZIP_LOW
#undef NNK_ZIP_HIGH

#define NNK_T double
#define NNK_SUFFIX f64
#define NNK_INT int64_t
#define NNK_LANES 4
#define NNK_LANE_ORDER 0, 1, 2, 3
#define NNK_EVEN_ORDER 0, 4, 2, 6
#define NNK_ODD_ORDER 1, 5, 3, 7
#define NNK_WINDOW_ORDER 0, 2, 1, 3
#define NNK_LOW_PAIRS 0, 0, 1, 1
#define NNK_HIGH_PAIRS 2, 2, 3, 3
#define NNK_ZIP_LOW 0, 4, 1, 5
#define NNK_ZIP_HIGH 2, 6, 3, 7
#include "pool_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
#undef NNK_INT
#undef NNK_LANES
#undef NNK_LANE_ORDER
#undef NNK_EVEN_ORDER
#undef NNK_ODD_ORDER
#undef NNK_WINDOW_ORDER
#undef NNK_LOW_PAIRS
#undef NNK_HIGH_PAIRS
#undef NNK_ZIP_LOW
#undef NNK_ZIP_HIGH
