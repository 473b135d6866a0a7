/*
 * im2col_impl.h - im2col and col2im for one element type. im2col.c includes it once per type
 * with NNK_T (float or double) and NNK_SUFFIX (f32 or f64) defined.
 *
 * Layout: one image's cols is (c*kh*kw, out_h*out_w) row-major, row (ci*kh + ki)*kw + kj
 * holding input channel ci shifted by kernel tap (ki, kj), so that y = w * cols is the
 * convolution. conv also works on parts: the output rows [oy0, oy1) of an image (a large
 * image's cols need not leave the cache), with rows of cols ld apart (several small images'
 * cols side by side, one gemm for all of them).
 *
 * Loop order (Caffe's): ci, ki, kj, oy, ox, so cols is walked strictly in order, one output
 * row of out_w elements at a time; the image rows it reads stay in cache across the kj taps.
 * col2im runs ki, kj, ci, oy, ox (see col2im_rows).
 * A row of padding is one unsigned comparison (a negative index wraps to a huge unsigned
 * value); the padding columns of a tap come from valid_columns, so the inner loops have no
 * test: for stride_w 1 they compile to memcpy/memset (im2col) and a vectorised add (col2im);
 * im2col's stride-2 rows are copies from the input row split into even and odd columns
 * (im2col_rows_stride2), or for very wide rows vectors of even elements (copy_run2); other
 * strides are a branch-free strided loop.
 */

/* Runs of a row: copy_run (copy_run.h) copies im2col's stride-1 runs; col2im adds in vector
 * chunks plus a tail, or, for a run of one to two vectors, as two overlapping vector sums, both
 * taken before either is stored (so the overlap gets the same sum twice). */
#define NNK_LANES ((int64_t)(sizeof(NNK_VEC) / sizeof(NNK_T)))

#include "copy_run.h"

/* to[j] = from[2j] for j < n: a stride-2 run, often short (conv_seed: 15-16 elements), where
 * the compiler's loop spent most of its time in a scalar tail. A run longer than a vector goes
 * a vector at a time, each the even elements of two loaded vectors, and the last vector ends on
 * the run's last element, overlapping the one before: its load starts one element early and
 * keeps the odd ones, so every load lies within the run. A run of exactly one vector needs one
 * element past the run, after it (after) or before it (before); without either, and for
 * shorter runs, the copy is element by element. */
static inline void NNK_FN(copy_run2)(NNK_T *restrict to, const NNK_T *restrict from, int64_t n,
                                     bool before, bool after)
{
    NNK_VEC low, high;
    if (n > NNK_LANES) {
        for (int64_t j = 0; j + NNK_LANES < n; j += NNK_LANES) {
            memcpy(&low, from + 2 * j, sizeof low);
            memcpy(&high, from + 2 * j + NNK_LANES, sizeof high);
            const NNK_VEC even = __builtin_shufflevector(low, high, NNK_EVEN_ORDER);
            memcpy(to + j, &even, sizeof even);
        }
        const NNK_T *last = from + 2 * (n - NNK_LANES) - 1;
        memcpy(&low, last, sizeof low);
        memcpy(&high, last + NNK_LANES, sizeof high);
        const NNK_VEC tail = __builtin_shufflevector(low, high, NNK_ODD_ORDER);
        memcpy(to + n - NNK_LANES, &tail, sizeof tail);
        return;
    }
    if (n == NNK_LANES && (before || after)) {
        const NNK_T *start = before ? from - 1 : from;
        memcpy(&low, start, sizeof low);
        memcpy(&high, start + NNK_LANES, sizeof high);
        const NNK_VEC v = before ? __builtin_shufflevector(low, high, NNK_ODD_ORDER)
                                 : __builtin_shufflevector(low, high, NNK_EVEN_ORDER);
        memcpy(to, &v, sizeof v);
        return;
    }
    for (int64_t j = 0; j < n; j++)
        to[j] = from[2 * j];
}

static inline void NNK_FN(add_run)(NNK_T *restrict to, const NNK_T *restrict from, int64_t n)
{
    if (n >= NNK_LANES && n <= 2 * NNK_LANES) {
        NNK_VEC head, tail, b;
        memcpy(&head, to, sizeof head);
        memcpy(&b, from, sizeof b);
        head += b;
        memcpy(&tail, to + n - NNK_LANES, sizeof tail);
        memcpy(&b, from + n - NNK_LANES, sizeof b);
        tail += b;
        memcpy(to, &head, sizeof head);
        memcpy(to + n - NNK_LANES, &tail, sizeof tail);
        return;
    }
    int64_t k = 0;
    for (NNK_VEC a, b; k + NNK_LANES <= n; k += NNK_LANES) {
        memcpy(&a, to + k, sizeof a);
        memcpy(&b, from + k, sizeof b);
        a += b;
        memcpy(to + k, &a, sizeof a);
    }
    for (; k < n; k++)
        to[k] += from[k];
}

/* Stride 2 across: each input row is split once into its even and odd columns (buffers whose
 * zero margins stand for the padding), and every tap kj's row of cols is then a contiguous
 * copy from one of them, kj - pad_w = 2*shift + phase: out_w elements from phase's buffer at
 * shift. Before, each tap gathered its even elements from the row itself (copy_run2), kw times
 * per row with a padding test each. The split runs a row ahead of the copies, into the other
 * of two buffer pairs: a copy's load right after the split's stores, at another offset, would
 * wait for them (store forwarding fails), which took as long as the split saved. Returns
 * false, having written nothing, when a row's buffers would not fit on the stack. */
enum { NNK_FN(split_max) = 512 };
static NNKI_CLONES bool NNK_FN(im2col_rows_stride2)(const nnki_conv_geom *g,
                                                     const NNK_T *restrict x, int64_t oy0,
                                                     int64_t oy1, NNK_T *restrict cols_0,
                                                     int64_t ld)
{
    /* Buffer index margin + k holds column 2k (even) or 2k + 1 (odd); shifts reach from
     * floor(-pad_w / 2) to floor((kw - 1 - pad_w) / 2), plus out_w - 1. */
    const int64_t margin = (g->pad_w + 1) / 2, evens = (g->w + 1) / 2, odds = g->w / 2;
    const int64_t reach = margin + g->out_w + nnki_max(0, (g->kw - 1 - g->pad_w) / 2);
    const int64_t size = nnki_max(margin + evens, reach);
    if (size > NNK_FN(split_max))
        return false;
    NNK_T split[2][2][NNK_FN(split_max)]; /* [row parity][even, odd] */
    for (int b = 0; b < 2; b++)
        for (int phase = 0; phase < 2; phase++)
            memset(split[b][phase], 0, (size_t)size * sizeof split[b][phase][0]);
    bool inside[2] = {false, false};
    for (int64_t ci = 0; ci < g->c; ci++) {
        const NNK_T *plane = x + ci * g->h * g->w;
        for (int64_t ki = 0; ki < g->kh; ki++) {
            NNK_T *taps = cols_0 + (ci * g->kh + ki) * g->kw * ld;
            for (int64_t oy = oy0; oy <= oy1; oy++) {
                if (oy < oy1) {
                    const int64_t iy = oy * g->stride_h - g->pad_h + ki;
                    inside[oy & 1] = (uint64_t)iy < (uint64_t)g->h;
                    if (inside[oy & 1]) {
                        const NNK_T *row = plane + iy * g->w;
                        NNK_T *even = split[oy & 1][0] + margin, *odd = split[oy & 1][1] + margin;
                        for (int64_t k = 0; k < odds; k++) {
                            even[k] = row[2 * k];
                            odd[k] = row[2 * k + 1];
                        }
                        if (evens > odds)
                            even[odds] = row[g->w - 1];
                    }
                }
                if (oy == oy0)
                    continue;
                const int64_t prev = oy - 1;
                NNK_T *at = taps + (prev - oy0) * g->out_w;
                for (int64_t kj = 0; kj < g->kw; kj++) {
                    const int64_t d = kj - g->pad_w, phase = d & 1, shift = (d - phase) / 2;
                    if (inside[prev & 1])
                        NNK_FN(copy_run)(at + kj * ld, split[prev & 1][phase] + margin + shift,
                                         g->out_w);
                    else
                        memset(at + kj * ld, 0, (size_t)g->out_w * sizeof *at);
                }
            }
        }
    }
    return true;
}

/* The bodies are static so that their target clones stay within this file: clang names a
 * multiversioned external function differently from its callers in other files. */
static NNKI_CLONES void NNK_FN(im2col_rows)(const nnki_conv_geom *g, const NNK_T *restrict x,
                                            int64_t oy0, int64_t oy1, NNK_T *restrict cols_0,
                                            int64_t ld)
{
    const int64_t sw = g->stride_w;
    if (sw == 2 && NNK_FN(im2col_rows_stride2)(g, x, oy0, oy1, cols_0, ld))
        return;
    for (int64_t ci = 0; ci < g->c; ci++) {
        const NNK_T *plane = x + ci * g->h * g->w;
        for (int64_t ki = 0; ki < g->kh; ki++) {
            for (int64_t kj = 0; kj < g->kw; kj++) {
                int64_t lo, hi, first = kj - g->pad_w;
                valid_columns(g, kj, &lo, &hi);
                NNK_T *cols = cols_0 + ((ci * g->kh + ki) * g->kw + kj) * ld;
                for (int64_t oy = oy0; oy < oy1; oy++, cols += g->out_w) {
                    int64_t iy = oy * g->stride_h - g->pad_h + ki;
                    if ((uint64_t)iy >= (uint64_t)g->h) {
                        memset(cols, 0, (size_t)g->out_w * sizeof *cols);
                        continue;
                    }
                    const NNK_T *row = plane + iy * g->w;
                    for (int64_t ox = 0; ox < lo; ox++)
                        cols[ox] = 0;
                    if (sw == 1)
                        NNK_FN(copy_run)(cols + lo, row + lo + first, hi - lo);
                    else if (sw == 2) {
                        /* The element before the run, or the one after it, is readable when it
                         * lies in the image x. */
                        const NNK_T *from = row + lo * 2 + first;
                        NNK_FN(copy_run2)(cols + lo, from, hi - lo, from > x,
                                          from + 2 * (hi - lo) - 1 < x + g->image);
                    }
                    else
                        for (int64_t ox = lo; ox < hi; ox++)
                            cols[ox] = row[ox * sw + first];
                    for (int64_t ox = hi; ox < g->out_w; ox++)
                        cols[ox] = 0;
                }
            }
        }
    }
}

/* The adjoint of im2col: every element of cols is added to the pixel it was copied from, so
 * a pixel covered by several windows receives the sum of their gradients. x accumulates (the
 * caller zeroes it once for all of an image's parts). Taps outermost and channels inside them:
 * with channels outermost, a tap's rows re-read, a few rows later, the elements the tap before
 * had just stored one column off, loads that wait for the stores they span. Each pixel still
 * takes its taps in the same order, so the sums are the same bit for bit. */
static NNKI_CLONES void NNK_FN(col2im_rows)(const nnki_conv_geom *g,
                                            const NNK_T *restrict cols_0, int64_t ld, int64_t oy0,
                                            int64_t oy1, NNK_T *restrict x)
{
    const int64_t sw = g->stride_w;
    for (int64_t ki = 0; ki < g->kh; ki++) {
        for (int64_t kj = 0; kj < g->kw; kj++) {
            int64_t lo, hi, first = kj - g->pad_w;
            valid_columns(g, kj, &lo, &hi);
            for (int64_t ci = 0; ci < g->c; ci++) {
                NNK_T *plane = x + ci * g->h * g->w;
                const NNK_T *cols = cols_0 + ((ci * g->kh + ki) * g->kw + kj) * ld;
                for (int64_t oy = oy0; oy < oy1; oy++, cols += g->out_w) {
                    int64_t iy = oy * g->stride_h - g->pad_h + ki;
                    if ((uint64_t)iy >= (uint64_t)g->h)
                        continue;
                    NNK_T *row = plane + iy * g->w;
                    if (sw == 1)
                        NNK_FN(add_run)(row + lo + first, cols + lo, hi - lo);
                    else if (sw == 2)
                        for (int64_t ox = lo; ox < hi; ox++)
                            row[ox * 2 + first] += cols[ox];
                    else
                        for (int64_t ox = lo; ox < hi; ox++)
                            row[ox * sw + first] += cols[ox];
                }
            }
        }
    }
}

#undef NNK_LANES

void NNK_FN(nnki_im2col)(const nnki_conv_geom *g, const NNK_T *x, int64_t oy0, int64_t oy1,
                         NNK_T *cols, int64_t ld)
{
    NNK_FN(im2col_rows)(g, x, oy0, oy1, cols, ld);
}

void NNK_FN(nnki_col2im)(const nnki_conv_geom *g, const NNK_T *cols, int64_t ld, int64_t oy0,
                         int64_t oy1, NNK_T *x)
{
    NNK_FN(col2im_rows)(g, cols, ld, oy0, oy1, x);
}

nnk_status NNK_FN(nnk_im2col)(const nnk_conv2d_desc *desc, const NNK_T *x, int64_t x_len,
                              NNK_T *cols, int64_t cols_len)
{
    nnki_conv_geom g;
    NNKI_TRY(nnki_conv_geometry("im2col", desc, &g));
    NNKI_TRY(nnki_check_tensor("im2col", "x", x, x_len, true, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    NNKI_TRY(nnki_check_tensor("im2col", "cols", cols, cols_len, true,
                               NNKI_DIMS(g.n, g.ckk, g.out_hw)));
    int threads = nnki_loop_threads(g.n, g.n);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t i = 0; i < g.n; i++)
        NNK_FN(nnki_im2col)(&g, x + i * g.image, 0, g.out_h, cols + i * g.col_image, g.out_hw);
    return NNK_OK;
}

nnk_status NNK_FN(nnk_col2im)(const nnk_conv2d_desc *desc, const NNK_T *cols, int64_t cols_len,
                              NNK_T *x, int64_t x_len)
{
    nnki_conv_geom g;
    NNKI_TRY(nnki_conv_geometry("col2im", desc, &g));
    NNKI_TRY(nnki_check_tensor("col2im", "cols", cols, cols_len, true,
                               NNKI_DIMS(g.n, g.ckk, g.out_hw)));
    NNKI_TRY(nnki_check_tensor("col2im", "x", x, x_len, true, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    int threads = nnki_loop_threads(g.n, g.n);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t i = 0; i < g.n; i++) {
        memset(x + i * g.image, 0, (size_t)g.image * sizeof *x);
        NNK_FN(nnki_col2im)(&g, cols + i * g.col_image, g.out_hw, 0, g.out_h, x + i * g.image);
    }
    return NNK_OK;
}
