/*
 * im2col.c - validation of a conv2d descriptor, and im2col / col2im, the transforms that turn
 * a convolution into one matrix product per image (instantiated from im2col_impl.h for float
 * and double).
 */
#include "internal.h"

#include <inttypes.h>
#include <omp.h>
#include <string.h>

nnk_status nnki_conv_geometry(const char *fn, const nnk_conv2d_desc *d, nnki_conv_geom *g)
{
    if (d == NULL)
        return nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: desc is NULL", fn);
    const struct {
        const char *name;
        int64_t value, min;
    } fields[] = {
        {"n", d->n, 1},   {"c", d->c, 1},   {"h", d->h, 1},
        {"w", d->w, 1},   {"f", d->f, 1},   {"kh", d->kh, 1},
        {"kw", d->kw, 1}, {"stride_h", d->stride_h, 1}, {"stride_w", d->stride_w, 1},
        {"pad_h", d->pad_h, 0}, {"pad_w", d->pad_w, 0},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].value < fields[i].min)
            return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                                  "%s: %s = %" PRId64 " (must be >= %" PRId64 ")", fn,
                                  fields[i].name, fields[i].value, fields[i].min);

    int64_t padded_h, padded_w;
    NNKI_TRY(nnki_check_window(fn, "kernel", d->h, d->w, d->pad_h, d->pad_w, d->kh, d->kw,
                               &padded_h, &padded_w));

    *g = (nnki_conv_geom){
        .n = d->n, .c = d->c, .h = d->h, .w = d->w, .f = d->f, .kh = d->kh, .kw = d->kw,
        .stride_h = d->stride_h, .stride_w = d->stride_w, .pad_h = d->pad_h, .pad_w = d->pad_w,
        .out_h = (padded_h - d->kh) / d->stride_h + 1,
        .out_w = (padded_w - d->kw) / d->stride_w + 1,
    };
    NNKI_TRY(nnki_checked_product(fn, "n*c*h*w", NNKI_DIMS(g->n, g->c, g->h, g->w), &g->x_len));
    NNKI_TRY(nnki_checked_product(fn, "f*c*kh*kw", NNKI_DIMS(g->f, g->c, g->kh, g->kw), &g->w_len));
    NNKI_TRY(nnki_checked_product(fn, "n*f*out_h*out_w", NNKI_DIMS(g->n, g->f, g->out_h, g->out_w),
                             &g->y_len));
    NNKI_TRY(nnki_checked_product(fn, "n*c*kh*kw*out_h*out_w",
                             NNKI_DIMS(g->n, g->c, g->kh, g->kw, g->out_h, g->out_w),
                             &g->cols_len));
    /* Factors of the products above (every size is >= 1), so they cannot overflow. */
    g->image = g->c * g->h * g->w;
    g->ckk = g->c * g->kh * g->kw;
    g->out_hw = g->out_h * g->out_w;
    g->col_image = g->ckk * g->out_hw;
    return NNK_OK;
}

/* a / s rounded up, for a >= 0 and s >= 1; unlike (a + s - 1) / s it cannot overflow, which a
 * stride near INT64_MAX would make it do. */
static inline int64_t ceil_div(int64_t a, int64_t s) { return a == 0 ? 0 : (a - 1) / s + 1; }

/* Output columns [*lo, *hi) whose input column ox*stride_w - pad_w + kj lies inside the
 * image; the columns outside read padding. Computed once per kernel column so that the inner
 * loops below have no bounds test at all. */
static inline void valid_columns(const nnki_conv_geom *g, int64_t kj, int64_t *lo, int64_t *hi)
{
    int64_t first = kj - g->pad_w; /* input column of ox = 0 */
    int64_t s = g->stride_w;
    int64_t l = first >= 0 ? 0 : ceil_div(-first, s);
    int64_t h = first >= g->w ? 0 : ceil_div(g->w - first, s); /* w - first <= w + pad_w */
    *lo = nnki_min(l, g->out_w);
    *hi = h > *lo ? nnki_min(h, g->out_w) : *lo;
}

/* 32 bytes of elements, loaded and stored unaligned (memcpy into a vector compiles to one move,
 * or two on a CPU without AVX). */
typedef float nnki_v8f __attribute__((vector_size(32)));
typedef double nnki_v4d __attribute__((vector_size(32)));

#define NNK_T float
#define NNK_SUFFIX f32
#define NNK_VEC nnki_v8f
#define NNK_EVEN_ORDER 0, 2, 4, 6, 8, 10, 12, 14
#define NNK_ODD_ORDER 1, 3, 5, 7, 9, 11, 13, 15
#include "im2col_impl.h"
#undef NNK_VEC
#undef NNK_EVEN_ORDER
#undef NNK_ODD_ORDER
#undef NNK_T
#undef NNK_SUFFIX

#define NNK_T double
#define NNK_SUFFIX f64
#define NNK_VEC nnki_v4d
#define NNK_EVEN_ORDER 0, 2, 4, 6
#define NNK_ODD_ORDER 1, 3, 5, 7
#include "im2col_impl.h"
#undef NNK_VEC
#undef NNK_EVEN_ORDER
#undef NNK_ODD_ORDER
#undef NNK_T
#undef NNK_SUFFIX
