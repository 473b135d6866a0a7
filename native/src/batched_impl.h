/*
 * batched_impl.h - the input gradient of a stride-1 convolution with the vectors across the
 * batch, for one element type and one vector width. batched.c includes it once per type and
 * width with NNK_T (float or double), NNK_SUFFIX (f32_v64, f64_v32, ...), BATCHED_BYTES,
 * BATCHED_CHANNELS (the most input channels a block), BATCHED_VECTORS (vectors of images a
 * block) and BATCHED_TARGET defined.
 *
 * With dyt = dy as [oy][ox][f][image] (images padded with zeros to bg.npad) and panel = w as
 * [ki][kj][f][ci], a block of cb input channels x BATCHED_VECTORS vectors of images at dx pixel
 * (y, x) keeps its sums in registers over every output channel and every tap that reaches it:
 *   sum[a][j] += panel[ki][kj][fi][c0 + a] * dyt[y + pad_h - ki][x + pad_w - kj][fi][vector j]
 * (f next to the images, so that the sums over f read both in order: with dyt as
 * [f][oy][ox][image], each step of f jumped a plane of images, and dx took 1.07x as long).
 * and stores them into dxt = dx as [c][y][x][image], which then goes back into dx.
 */

typedef NNK_T NNK_FN(batched_vec) __attribute__((vector_size(BATCHED_BYTES)));

#define BATCHED_LANES ((int64_t)(BATCHED_BYTES / sizeof(NNK_T)))

/* Tiles transposed in registers (transpose_impl.h). The scalar transposes before took 0.77 ms
 * of conv_mnist2's 3.8 ms dx. */
#define TRANSPOSE_VEC NNK_FN(batched_vec)
#define TRANSPOSE_N BATCHED_N
#include "transpose_impl.h"
#undef TRANSPOSE_VEC
#undef TRANSPOSE_N

/* Output channel fi of dy's images [i0, i0 + N) (n x f x out_hw) into dyt [out_hw][f][npad],
 * images past n zero: tiles of N images x N positions transposed in registers, a last part
 * tile of positions element by element. The callers walk fi within i0, so that each image's
 * planes are read in order (fi-outer read 64 planes 16 KB apart a tile: dy's transpose took
 * 0.4 ms of conv_mnist2's 2.9 ms dx). */
static BATCHED_TARGET void NNK_FN(batched_dy)(const nnki_conv_geom *g, int64_t npad,
                                              const NNK_T *restrict dy, int64_t i0, int64_t fi,
                                              NNK_T *restrict dyt)
{
    const int64_t n = BATCHED_N, step = g->f * npad, whole = g->out_hw / n * n;
    const NNK_T *from = dy + (i0 * g->f + fi) * g->out_hw;
    const int64_t count = nnki_max(0, nnki_min(n, g->n - i0));
    for (int64_t q0 = 0; q0 < whole; q0 += n)
        NNK_FN(transpose_tile)(from + q0, g->f * g->out_hw, count,
                             dyt + (q0 * g->f + fi) * npad + i0, step, n);
    for (int64_t q = whole; q < g->out_hw; q++)
        for (int64_t r = 0; r < n; r++)
            dyt[(q * g->f + fi) * npad + i0 + r] = r < count ? from[r * g->f * g->out_hw + q] : 0;
}

/* dx's channel ci (n x c x h*w) from dxt [c][h*w][npad]: the inverse of batched_dy. */
static BATCHED_TARGET void NNK_FN(batched_dx)(const nnki_conv_geom *g, int64_t npad,
                                              const NNK_T *restrict dxt, int64_t ci,
                                              NNK_T *restrict dx)
{
    const int64_t n = BATCHED_N, hw = g->h * g->w, whole = hw / n * n;
    const NNK_T *plane = dxt + ci * hw * npad;
    for (int64_t i0 = 0; i0 < g->n; i0 += n) {
        NNK_T *to = dx + (i0 * g->c + ci) * hw;
        const int64_t keep = nnki_min(n, g->n - i0);
        for (int64_t p0 = 0; p0 < whole; p0 += n)
            NNK_FN(transpose_tile)(plane + p0 * npad + i0, npad, n, to + p0, g->c * hw, keep);
        for (int64_t p = whole; p < hw; p++)
            for (int64_t r = 0; r < keep; r++)
                to[r * g->c * hw + p] = plane[p * npad + i0 + r];
    }
}

/* The sums of cb channels (panel: channel c0's weights of tap (0, 0), output channel 0) x
 * BATCHED_VECTORS vectors at dx pixel (y, x) over taps [ki0, ki1] x [kj0, kj1] and every
 * output channel (dyt: vector 0 of output position (0, 0), output channel 0), stored at to
 * (channel a's vectors at to + a*step). */
static inline __attribute__((always_inline)) void
NNK_FN(batched_block)(int cb, const nnki_conv_geom *g, int64_t npad, int64_t y, int64_t x,
                      int64_t ki0, int64_t ki1, int64_t kj0, int64_t kj1,
                      const NNK_T *restrict panel, const NNK_T *restrict dyt,
                      NNK_T *restrict to, int64_t step)
{
    enum { NV = BATCHED_VECTORS };
    NNK_FN(batched_vec) sums[BATCHED_CHANNELS][NV];
    for (int a = 0; a < cb; a++)
        for (int j = 0; j < NV; j++)
            sums[a][j] = (NNK_FN(batched_vec)){0};
    for (int64_t ki = ki0; ki <= ki1; ki++)
        for (int64_t kj = kj0; kj <= kj1; kj++) {
            const int64_t q = (y + g->pad_h - ki) * g->out_w + x + g->pad_w - kj;
            const NNK_T *d = dyt + q * g->f * npad;
            const NNK_T *wp = panel + (ki * g->kw + kj) * g->f * g->c;
            for (int64_t fi = 0; fi < g->f; fi++, d += npad, wp += g->c) {
                NNK_FN(batched_vec) v[NV];
                for (int j = 0; j < NV; j++) {
                    memcpy(&v[j], d + j * BATCHED_LANES, sizeof v[j]);
                    NNKI_IN_REGISTER(v[j]);
                }
                for (int a = 0; a < cb; a++) {
                    const NNK_T weight = wp[a];
                    for (int j = 0; j < NV; j++)
                        sums[a][j] += v[j] * weight;
                }
            }
        }
    for (int a = 0; a < cb; a++)
        for (int j = 0; j < NV; j++)
            memcpy(to + a * step + j * BATCHED_LANES, &sums[a][j], sizeof sums[a][j]);
}

/* batched_block with cb a constant, so that its loops unroll into registers. */
#define BATCHED_CASE(cb)                                                                     \
    case cb:                                                                                 \
        NNK_FN(batched_block)(cb, g, npad, y, x, ki0, ki1, kj0, kj1, weights, from, to,      \
                              step);                                                         \
        break

/* Row y of dx's block bi of channels (c0..c0+cb), every pixel and vector of images, into dxt. */
static BATCHED_TARGET void NNK_FN(batched_row)(const nnki_conv_geom *g, int64_t npad, int cb,
                                               int64_t c0, int64_t y,
                                               const NNK_T *restrict panel,
                                               const NNK_T *restrict dyt, NNK_T *restrict dxt)
{
    /* Taps that reach row y: output row y + pad_h - ki within [0, out_h). */
    const int64_t ki0 = nnki_max(0, y + g->pad_h - (g->out_h - 1));
    const int64_t ki1 = nnki_min(g->kh - 1, y + g->pad_h);
    const int64_t step = g->h * g->w * npad;
    for (int64_t x = 0; x < g->w; x++) {
        const int64_t kj0 = nnki_max(0, x + g->pad_w - (g->out_w - 1));
        const int64_t kj1 = nnki_min(g->kw - 1, x + g->pad_w);
        for (int64_t v0 = 0; v0 < npad; v0 += BATCHED_VECTORS * BATCHED_LANES) {
            NNK_T *to = dxt + ((c0 * g->h + y) * g->w + x) * npad + v0;
            const NNK_T *from = dyt + v0, *weights = panel + c0;
            switch (cb) {
#if BATCHED_CHANNELS >= 5
            BATCHED_CASE(5);
            BATCHED_CASE(4);
#endif
            BATCHED_CASE(3);
            BATCHED_CASE(2);
            default:
                NNK_FN(batched_block)(1, g, npad, y, x, ki0, ki1, kj0, kj1, weights, from, to,
                                      step);
                break;
            }
        }
    }
}
#undef BATCHED_CASE

static nnk_status NNK_FN(batched_backward_data)(const nnki_conv_geom *g, const NNK_T *w,
                                                const NNK_T *dy, NNK_T *dx, NNK_T *workspace,
                                                int threads)
{
    const batched_geom bg = batched_geometry(g, sizeof(NNK_T));
    const int64_t npad = bg.npad, kk = g->kh * g->kw;
    NNK_T *panel = workspace, *dyt = panel + bg.panel, *dxt = dyt + bg.dyt;
    const int64_t rows = bg.blocks * g->h;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        /* w as [ki][kj][f][ci]. */
#pragma omp for schedule(static)
        for (int64_t fi = 0; fi < g->f; fi++)
            for (int64_t ci = 0; ci < g->c; ci++)
                for (int64_t k = 0; k < kk; k++)
                    panel[(k * g->f + fi) * g->c + ci] = w[(fi * g->c + ci) * kk + k];
#pragma omp for schedule(static)
        for (int64_t t = 0; t < npad / BATCHED_N * g->f; t++)
            NNK_FN(batched_dy)(g, npad, dy, t / g->f * BATCHED_N, t % g->f, dyt);
        /* dxt, by blocks of channels (as even as they can be) x rows. */
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const int64_t bi = r / g->h, y = r % g->h;
            const int64_t base = g->c / bg.blocks, extra = g->c % bg.blocks;
            const int cb = (int)(base + (bi < extra ? 1 : 0));
            const int64_t c0 = bi * base + nnki_min(bi, extra);
            NNK_FN(batched_row)(g, npad, cb, c0, y, panel, dyt, dxt);
        }
#pragma omp for schedule(static)
        for (int64_t ci = 0; ci < g->c; ci++)
            NNK_FN(batched_dx)(g, npad, dxt, ci, dx);
    }
    return NNK_OK;
}

#undef BATCHED_LANES
