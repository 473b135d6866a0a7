/*
 * direct_impl.h - the direct convolution (forward pass, weight gradient and, for shallow
 * convolutions, input gradient) for one element type and one vector width. direct.c includes it
 * once per type and width with NNK_T (float or double), NNK_SUFFIX (f32_v64, f64_v32, ...),
 * DIRECT_BYTES, DIRECT_N (its lanes), DIRECT_BLOCK, DIRECT_PIXELS, DIRECT_PIXELS_AMD,
 * DIRECT_DX_ROWS and DIRECT_TARGET defined.
 *
 * Output channels run in blocks of up to DIRECT_BLOCK vectors (fv); w is repacked so that the
 * block's channels for one k = (ci, ki, kj) are contiguous: panel[k][fv*lanes]. For a block of px
 * output pixels (px = DIRECT_PIXELS(fv), consecutive in the image's out_h*out_w order) the
 * fv*px sums stay in registers over every k:
 *   sum[a][j] += panel[k][a] * xp[poff[pixel j] + koff[k]]
 * with xp the zero-padded image, koff[k] = (ci*padded_h + ki)*padded_w + kj and poff[q] the
 * padded position of output pixel q's window. The sums then go through a small buffer into y's
 * rows, transposed, with the bias.
 *
 * The weight gradient is the same kernel with the roles of k and the pixels swapped: for a
 * block of k's, over every output pixel q of an image,
 *   sum[a][j] += dyT[q][a] * xp[poff[q] + koff[k_j]]
 * with dyT the image's dy transposed to [q][channel of the block]; the sums add into the
 * thread's dw (in panel order), and the threads' dw are added at the end.
 */

typedef NNK_T NNK_FN(direct_vec) __attribute__((vector_size(DIRECT_BYTES)));

/* The fv x px sums of one block of channels and pixels (xs: each pixel's window in xp); fv and px
 * constants where it is inlined (DIRECT_BY_BLOCK), so that the sums stay in registers. */
static inline __attribute__((always_inline)) void
NNK_FN(direct_block)(int fv, int px, int64_t depth, const NNK_T *restrict panel,
                     const int32_t *restrict koff, const NNK_T *const *xs,
                     NNK_FN(direct_vec) sums[DIRECT_BLOCK][24])
{
    for (int a = 0; a < fv; a++)
        for (int j = 0; j < px; j++)
            sums[a][j] = (NNK_FN(direct_vec)){0};
    const int64_t lanes = DIRECT_BYTES / sizeof(NNK_T);
    for (int64_t k = 0; k < depth; k++) {
        NNK_FN(direct_vec) wv[DIRECT_BLOCK];
        for (int a = 0; a < fv; a++)
            memcpy(&wv[a], panel + (k * fv + a) * lanes, sizeof wv[a]);
        const int32_t o = koff[k];
        for (int j = 0; j < px; j++) {
            const NNK_T v = xs[j][o];
            for (int a = 0; a < fv; a++)
                sums[a][j] += wv[a] * v;
        }
    }
}

/* Calls block(fv, px) with fv vectors of channels and their block of pixels (or of k's) both
 * constants, px = DIRECT_PIXELS(fv), but DIRECT_PIXELS_AMD for 2 vectors on AMD CPUs (direct.c):
 * the sums then pass from registers straight to where they go (with px only known at run time
 * they went through the stack; conv_3l forward 0.86-0.92x, dw 0.98x, Zen 4, 1 and 2 threads). */
#if DIRECT_BLOCK >= 4
#define DIRECT_BY_BLOCK_WIDE(fv, block)                                                      \
    case 4:                                                                                  \
        block(4, DIRECT_PIXELS(4));                                                          \
        break;                                                                               \
    case 3:                                                                                  \
        block(3, DIRECT_PIXELS(3));                                                          \
        break;
#else
#define DIRECT_BY_BLOCK_WIDE(fv, block)
#endif
#define DIRECT_BY_BLOCK(fv, block)                                                           \
    switch (fv) {                                                                            \
        DIRECT_BY_BLOCK_WIDE(fv, block)                                                      \
    case 2:                                                                                  \
        if (DIRECT_PIXELS_AMD != DIRECT_PIXELS(2) && nnki_cpu_amd())                          \
            block(2, DIRECT_PIXELS_AMD);                                                     \
        else                                                                                 \
            block(2, DIRECT_PIXELS(2));                                                      \
        break;                                                                               \
    default:                                                                                 \
        block(1, DIRECT_PIXELS(1));                                                          \
        break;                                                                               \
    }

/* Image i of x into the interior of xp, whose padding is zero. */
static void NNK_FN(direct_pad)(const nnki_conv_geom *g, const direct_geom *dg, const NNK_T *x,
                               int64_t i, NNK_T *restrict xp)
{
    for (int64_t ci = 0; ci < g->c; ci++)
        for (int64_t r = 0; r < g->h; r++)
            memcpy(xp + (ci * dg->padded_h + r + g->pad_h) * dg->padded_w + g->pad_w,
                   x + ((i * g->c + ci) * g->h + r) * g->w, (size_t)g->w * sizeof *x);
}

/* koff[k] for k = (ci, ki, kj) and poff[q] for every output pixel q, as int32 after the
 * panel (direct_geometry bounds both). */
static void NNK_FN(direct_offsets)(const nnki_conv_geom *g, const direct_geom *dg,
                                   int32_t *restrict koff, int32_t *restrict poff)
{
    for (int64_t ci = 0, k = 0; ci < g->c; ci++)
        for (int64_t ki = 0; ki < g->kh; ki++)
            for (int64_t kj = 0; kj < g->kw; kj++, k++)
                koff[k] = (int32_t)((ci * dg->padded_h + ki) * dg->padded_w + kj);
    for (int64_t q = 0; q < g->out_hw; q++)
        poff[q] = (int32_t)(q / g->out_w * g->stride_h * dg->padded_w + q % g->out_w * g->stride_w);
}

/* y of the channels [f0, f0 + fv*lanes) of image i, px pixels at a time: the sums, then y's
 * rows. Inlined with fv and px constant where they can be, so that the sums go to the buffer
 * from registers. */
static inline __attribute__((always_inline)) void
NNK_FN(direct_pixel_blocks)(const nnki_conv_geom *g, const direct_geom *dg, const NNK_T *panel,
                            const int32_t *koff, const int32_t *poff, const NNK_T *b, NNK_T *y,
                            const NNK_T *xp, int64_t i, int64_t f0, int fv, int px)
{
    const int64_t lanes = dg->lanes;
    const int64_t nf = nnki_min(fv * lanes, g->f - f0);
    const NNK_T *block_panel = panel + f0 * g->ckk;
    for (int64_t q0 = 0; q0 < g->out_hw; q0 += px) {
        /* A last, partial block repeats its last pixel; only real ones are stored. */
        const NNK_T *xs[24];
        for (int j = 0; j < px; j++)
            xs[j] = xp + poff[nnki_min(q0 + j, g->out_hw - 1)];
        NNK_FN(direct_vec) sums[DIRECT_BLOCK][24];
        NNK_FN(direct_block)(fv, px, g->ckk, block_panel, koff, xs, sums);
        /* Pixel-major in registers, channel-major in y: through a buffer. */
        NNK_T buffer[24][DIRECT_BLOCK * DIRECT_BYTES / sizeof(NNK_T)];
        for (int j = 0; j < px; j++)
            for (int a = 0; a < fv; a++)
                memcpy(&buffer[j][a * lanes], &sums[a][j], sizeof sums[a][j]);
        const int64_t nq = nnki_min(px, g->out_hw - q0);
        for (int64_t fi = 0; fi < nf; fi++) {
            const NNK_T bias = b != NULL ? b[f0 + fi] : 0;
            NNK_T *row = y + (i * g->f + f0 + fi) * g->out_hw + q0;
            for (int64_t j = 0; j < nq; j++)
                row[j] = buffer[j][fi] + bias;
        }
    }
}

/* y of image i (each thread its own padded image xp), block of channels by block. */
static DIRECT_TARGET void NNK_FN(direct_image)(const nnki_conv_geom *g, const direct_geom *dg,
                                               const NNK_T *x, const NNK_T *panel,
                                               const int32_t *koff, const int32_t *poff,
                                               const NNK_T *b, NNK_T *y, NNK_T *xp, int64_t i)
{
    NNK_FN(direct_pad)(g, dg, x, i, xp);
    for (int64_t f0 = 0; f0 < g->f; f0 += DIRECT_BLOCK * dg->lanes) {
#define DIRECT_PIXEL_BLOCKS(fv, px)                                                          \
    NNK_FN(direct_pixel_blocks)(g, dg, panel, koff, poff, b, y, xp, i, f0, fv, px)
        const int fv = direct_block_vectors(dg, f0);
        DIRECT_BY_BLOCK(fv, DIRECT_PIXEL_BLOCKS);
#undef DIRECT_PIXEL_BLOCKS
    }
}

static nnk_status NNK_FN(direct_forward)(const nnki_conv_geom *g, const NNK_T *x,
                                         const NNK_T *w, const NNK_T *b, NNK_T *y,
                                         NNK_T *workspace, int threads)
{
    const direct_geom dg = direct_geometry(g, sizeof(NNK_T));
    /* The panel and offsets, then the threads' padded images (nnki_workspace_wanted's layout). */
    NNK_T *panel = nnki_workspace_base(workspace, sizeof *workspace);
    int32_t *koff = (int32_t *)(void *)(panel + dg.panel), *poff = koff + g->ckk;
    NNK_T *images = panel + nnki_workspace_round(dg.panel + dg.offsets, sizeof *workspace);
    const int64_t stride = nnki_workspace_round(dg.padded_image, sizeof *workspace);
    /* panel[block][k][channel of the block], zero past f. */
    const int64_t block_f = DIRECT_BLOCK * dg.lanes;
    for (int64_t f0 = 0; f0 < dg.padded_f; f0 += block_f) {
        const int64_t width = direct_block_vectors(&dg, f0) * dg.lanes;
        for (int64_t k = 0; k < g->ckk; k++)
            for (int64_t j = 0; j < width; j++)
                panel[f0 * g->ckk + k * width + j] = f0 + j < g->f ? w[(f0 + j) * g->ckk + k] : 0;
    }
    NNK_FN(direct_offsets)(g, &dg, koff, poff);
    /* The padding stays zero: each image's copy only writes the interior. */
    memset(images, 0, (size_t)(threads * stride) * sizeof *images);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t i = 0; i < g->n; i++)
        NNK_FN(direct_image)(g, &dg, x, panel, koff, poff, b, y,
                             images + omp_get_thread_num() * stride, i);
    return NNK_OK;
}

/* One block of channels' dw, kb k's at a time over every pixel of the image (dyt: its dy
 * transposed), added into block_partial; fv and kb constant where inlined (DIRECT_BY_BLOCK). */
static inline __attribute__((always_inline)) void
NNK_FN(direct_tap_blocks)(const nnki_conv_geom *g, const NNK_T *xp, const NNK_T *dyt,
                          const int32_t *koff, const int32_t *poff, NNK_T *block_partial, int fv,
                          int kb)
{
    const int64_t lanes = DIRECT_BYTES / sizeof(NNK_T), width = fv * lanes;
    for (int64_t k0 = 0; k0 < g->ckk; k0 += kb) {
        /* A last, partial block repeats its last k; only real ones are added. */
        const NNK_T *xs[24];
        for (int j = 0; j < kb; j++)
            xs[j] = xp + koff[nnki_min(k0 + j, g->ckk - 1)];
        /* Zeroed only because GCC cannot tell that direct_block fills the fv x kb read here
         * (a false maybe-uninitialized with 2-vector blocks): 1.5-6 KB a block of k's, against
         * out_hw*fv*kb multiply-adds. */
        NNK_FN(direct_vec) sums[DIRECT_BLOCK][24] = {{{0}}};
        NNK_FN(direct_block)(fv, kb, g->out_hw, dyt, poff, xs, sums);
        const int64_t nk = nnki_min(kb, g->ckk - k0);
        for (int64_t j = 0; j < nk; j++)
            for (int a = 0; a < fv; a++) {
                NNK_T *to = block_partial + (k0 + j) * width + a * lanes;
                NNK_FN(direct_vec) v;
                memcpy(&v, to, sizeof v);
                v += sums[a][j];
                memcpy(to, &v, sizeof v);
            }
    }
}

#define TRANSPOSE_VEC NNK_FN(direct_vec)
#define TRANSPOSE_N DIRECT_N
#include "transpose_impl.h"
#undef TRANSPOSE_VEC
#undef TRANSPOSE_N

/* dyt[q][j] = plane j of dy at q for the block's nf channels (0 for the rest of width), and
 * sums[j] += each, in pixel order. The copy goes by tiles of N pixels x N planes transposed in
 * registers (transpose_impl.h): element by element, a pixel's width of planes at a time, the
 * planes a page or more apart all fell in one set of L1 (conv_3l's 32 planes 4 KB apart against
 * 8 ways), each read waited on L2, and the copy took half of conv_3l's dw (Zen 4). The sums then
 * read dyt's rows, four channels a vector of doubles. */
static inline __attribute__((always_inline)) void
NNK_FN(direct_transpose_dy)(const nnki_conv_geom *g, const NNK_T *dy, int64_t nf, int64_t width,
                            NNK_T *restrict dyt, double *restrict sums)
{
    enum { N = DIRECT_N, QUADS = 4 };
    int64_t q0 = 0;
    for (; q0 + N <= g->out_hw; q0 += N)
        for (int64_t j0 = 0; j0 < width; j0 += N)
            NNK_FN(transpose_tile)(dy + j0 * g->out_hw + q0, g->out_hw,
                                   nnki_max(0, nnki_min(N, nf - j0)), dyt + q0 * width + j0,
                                   width, N);
    for (; q0 < g->out_hw; q0++)
        for (int64_t j = 0; j < width; j++)
            dyt[q0 * width + j] = j < nf ? dy[j * g->out_hw + q0] : 0;
    typedef double sums_vec __attribute__((vector_size(4 * sizeof(double))));
    typedef NNK_T quad __attribute__((vector_size(4 * sizeof(NNK_T))));
    for (int64_t j0 = 0; j0 < width; j0 += 4 * QUADS) {
        const int quads = (int)nnki_min(QUADS, (width - j0) / 4);
        sums_vec acc[QUADS] = {{0}};
        for (int64_t q = 0; q < g->out_hw; q++)
            for (int a = 0; a < quads; a++) {
                quad v;
                memcpy(&v, dyt + q * width + j0 + 4 * a, sizeof v);
                acc[a] += __builtin_convertvector(v, sums_vec);
            }
        for (int a = 0; a < quads; a++)
            for (int l = 0; l < 4; l++)
                sums[j0 + 4 * a + l] += acc[a][l];
    }
}

/* The weight gradient of image i added into the thread's dw in panel order (partial), with xp
 * its padded image and dyt room for one block's transposed dy. With bias, the sums of the
 * image's planes of dy go to bias as doubles, the (i*f + channel)th, taken while dy is
 * transposed (the separate pass over dy took 3 % of conv_3l's backward). */
static DIRECT_TARGET void NNK_FN(direct_filter_image)(const nnki_conv_geom *g,
                                                      const direct_geom *dg, const NNK_T *x,
                                                      const NNK_T *dy, const int32_t *koff,
                                                      const int32_t *poff, NNK_T *xp,
                                                      NNK_T *restrict dyt, NNK_T *partial,
                                                      NNK_T *bias, int64_t i)
{
    NNK_FN(direct_pad)(g, dg, x, i, xp);
    const int64_t lanes = dg->lanes, block_f = DIRECT_BLOCK * lanes;
    for (int64_t f0 = 0; f0 < g->f; f0 += block_f) {
        const int fv = direct_block_vectors(dg, f0);
        const int64_t width = fv * lanes, nf = nnki_min(block_f, g->f - f0);
        double sums[DIRECT_BLOCK * DIRECT_BYTES / sizeof(NNK_T)] = {0};
        NNK_FN(direct_transpose_dy)(g, dy + (i * g->f + f0) * g->out_hw, nf, width, dyt, sums);
        for (int64_t j = 0; bias != NULL && j < nf; j++)
            nnki_bias_put(bias, g->f, i, f0 + j, sums[j]);
#define DIRECT_TAP_BLOCKS(fv, kb)                                                            \
    NNK_FN(direct_tap_blocks)(g, xp, dyt, koff, poff, partial + f0 * g->ckk, fv, kb)
        DIRECT_BY_BLOCK(fv, DIRECT_TAP_BLOCKS);
#undef DIRECT_TAP_BLOCKS
    }
}

static nnk_status NNK_FN(direct_backward_filter)(const nnki_conv_geom *g, const NNK_T *x,
                                                 const NNK_T *dy, NNK_T *dw, NNK_T *db,
                                                 NNK_T *workspace, int threads)
{
    const direct_geom dg = direct_geometry(g, sizeof(NNK_T));
    /* The offsets and the images' bias sums (nnki_bias_put), then the threads' shares
     * (nnki_workspace_wanted's layout). */
    NNK_T *const base = nnki_workspace_base(workspace, sizeof *workspace);
    int32_t *koff = (int32_t *)(void *)base, *poff = koff + g->ckk;
    NNK_T *bias = db != NULL ? base + dg.offsets : NULL;
    NNK_T *shares =
        base + nnki_workspace_round(dg.offsets + nnki_bias_sums_len(g->n, g->f, sizeof(NNK_T)),
                                    sizeof *workspace);
    const int64_t share = nnki_workspace_round(direct_filter_share(g, &dg), sizeof *workspace);
    NNK_FN(direct_offsets)(g, &dg, koff, poff);
    /* Thread t's share: its dw in panel order, its padded image, its transposed dy. */
    for (int t = 0; t < threads; t++)
        memset(shares + t * share, 0, (size_t)(dg.panel + dg.padded_image) * sizeof *shares);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t i = 0; i < g->n; i++) {
        NNK_T *partial = shares + omp_get_thread_num() * share, *xp = partial + dg.panel;
        NNK_FN(direct_filter_image)(g, &dg, x, dy, koff, poff, xp, xp + dg.padded_image, partial,
                                    bias, i);
    }
    for (int64_t fi = 0; bias != NULL && fi < g->f; fi++)
        db[fi] = (NNK_T)nnki_bias_total(bias, g->n, g->f, fi);
    /* dw[f][k] = the threads' partials added in thread order, out of panel order. */
    const int64_t block_f = DIRECT_BLOCK * dg.lanes;
    for (int64_t f0 = 0; f0 < g->f; f0 += block_f) {
        const int64_t width = direct_block_vectors(&dg, f0) * dg.lanes;
        for (int64_t j = 0; j < nnki_min(block_f, g->f - f0); j++)
            for (int64_t k = 0; k < g->ckk; k++) {
                NNK_T sum = 0;
                for (int t = 0; t < threads; t++)
                    sum += shares[t * share + f0 * g->ckk + k * width + j];
                dw[(f0 + j) * g->ckk + k] = sum;
            }
    }
    return NNK_OK;
}

/* ---- The input gradient, vectorised along dx's rows (see direct.c) -------------------------- */

/* The sums of a block of cb channels x DIRECT_DX_ROWS rows x DX_VECS vectors of dx, from at (the
 * block's first element in the padded dy of the first f) and panel (the block's flipped
 * filters, [f][kh][kw][cb]). Row r of a window-sized strip of dy reaches output row i through
 * filter row r - i. */
static inline __attribute__((always_inline)) void
NNK_FN(dx_block)(int cb, int64_t kh, int64_t kw, int64_t f, int64_t cols, int64_t plane,
                 const NNK_T *restrict at, const NNK_T *restrict panel,
                 NNK_FN(direct_vec) sums[DX_CHANNELS][DIRECT_DX_ROWS][DX_VECS])
{
    const int64_t lanes = DIRECT_BYTES / sizeof(NNK_T);
    for (int c = 0; c < cb; c++)
        for (int i = 0; i < DIRECT_DX_ROWS; i++)
            for (int v = 0; v < DX_VECS; v++)
                sums[c][i][v] = (NNK_FN(direct_vec)){0};
    for (int64_t fi = 0; fi < f; fi++, at += plane, panel += kh * kw * cb)
        for (int64_t r = 0; r < DIRECT_DX_ROWS + kh - 1; r++) {
            const int64_t first = nnki_max(0, r - (kh - 1)), last = nnki_min(DIRECT_DX_ROWS - 1, r);
            for (int64_t s = 0; s < kw; s++) {
                NNK_FN(direct_vec) d[DX_VECS];
                for (int v = 0; v < DX_VECS; v++)
                    memcpy(&d[v], at + r * cols + s + v * lanes, sizeof d[v]);
                for (int i = 0; i < DIRECT_DX_ROWS; i++) {
                    if (i < first || i > last)
                        continue;
                    const NNK_T *weights = panel + ((r - i) * kw + s) * cb;
                    for (int c = 0; c < cb; c++)
                        for (int v = 0; v < DX_VECS; v++)
                            sums[c][i][v] += d[v] * weights[c];
                }
            }
        }
}

/* dx_block with cb and, for the common square windows, kh = kw as constants, so that its loops
 * unroll (a window size known only at run time cost 1.15x on conv_3l's 7x7). */
static inline __attribute__((always_inline)) void
NNK_FN(dx_channels)(int cb, int64_t kh, int64_t kw, int64_t f, int64_t cols, int64_t plane,
                    const NNK_T *restrict at, const NNK_T *restrict panel,
                    NNK_FN(direct_vec) sums[DX_CHANNELS][DIRECT_DX_ROWS][DX_VECS])
{
    switch (cb) {
    case 3: NNK_FN(dx_block)(3, kh, kw, f, cols, plane, at, panel, sums); break;
    case 2: NNK_FN(dx_block)(2, kh, kw, f, cols, plane, at, panel, sums); break;
    default: NNK_FN(dx_block)(1, kh, kw, f, cols, plane, at, panel, sums); break;
    }
}

static inline __attribute__((always_inline)) void
NNK_FN(dx_sums)(int cb, int64_t kh, int64_t kw, int64_t f, int64_t cols, int64_t plane,
                const NNK_T *restrict at, const NNK_T *restrict panel,
                NNK_FN(direct_vec) sums[DX_CHANNELS][DIRECT_DX_ROWS][DX_VECS])
{
    if (kh == 5 && kw == 5)
        NNK_FN(dx_channels)(cb, 5, 5, f, cols, plane, at, panel, sums);
    else if (kh == 7 && kw == 7)
        NNK_FN(dx_channels)(cb, 7, 7, f, cols, plane, at, panel, sums);
    else
        NNK_FN(dx_channels)(cb, kh, kw, f, cols, plane, at, panel, sums);
}

/* dx of image i, every element written, with dyp the thread's padded dy (zero outside the
 * interior this copies in). */
static DIRECT_TARGET void NNK_FN(dx_image)(const nnki_conv_geom *g, const dx_geom *xg,
                                           const NNK_T *panel, const NNK_T *dy, NNK_T *dx,
                                           NNK_T *restrict dyp, int64_t i)
{
    for (int64_t fi = 0; fi < g->f; fi++)
        for (int64_t r = 0; r < g->out_h; r++)
            memcpy(dyp + fi * xg->plane + (r + xg->top) * xg->cols + xg->left,
                   dy + ((i * g->f + fi) * g->out_h + r) * g->out_w,
                   (size_t)g->out_w * sizeof *dy);
    for (int64_t c0 = 0; c0 < g->c; c0 += DX_CHANNELS) {
        const int cb = (int)nnki_min(DX_CHANNELS, g->c - c0);
        const NNK_T *block_panel = panel + c0 * g->f * g->kh * g->kw;
        for (int64_t y0 = 0; y0 < g->h; y0 += DIRECT_DX_ROWS)
            for (int64_t x0 = 0; x0 < g->w; x0 += xg->width) {
                NNK_FN(direct_vec) sums[DX_CHANNELS][DIRECT_DX_ROWS][DX_VECS];
                NNK_FN(dx_sums)(cb, g->kh, g->kw, g->f, xg->cols, xg->plane,
                                dyp + y0 * xg->cols + x0, block_panel, sums);
                /* Rows and columns past dx's edge are computed but not stored. */
                const int64_t nr = nnki_min(DIRECT_DX_ROWS, g->h - y0);
                const size_t bytes = (size_t)nnki_min(xg->width, g->w - x0) * sizeof *dx;
                for (int c = 0; c < cb; c++)
                    for (int64_t r = 0; r < nr; r++)
                        memcpy(dx + ((i * g->c + c0 + c) * g->h + y0 + r) * g->w + x0, sums[c][r],
                               bytes);
            }
    }
}

static nnk_status NNK_FN(direct_backward_data)(const nnki_conv_geom *g, const NNK_T *w,
                                               const NNK_T *dy, NNK_T *dx, NNK_T *workspace,
                                               int threads)
{
    const dx_geom xg = dx_geometry(g, sizeof(NNK_T));
    /* The flipped filters, then the threads' padded dy (nnki_workspace_wanted's layout). */
    NNK_T *panel = nnki_workspace_base(workspace, sizeof *workspace);
    NNK_T *images = panel + nnki_workspace_round(xg.panel, sizeof *workspace);
    const int64_t stride = nnki_workspace_round(xg.image, sizeof *workspace);
    /* panel[block of channels][f][kh][kw][channel of the block] = w[f][c][kh-1-.][kw-1-.] */
    for (int64_t c0 = 0; c0 < g->c; c0 += DX_CHANNELS) {
        const int64_t cb = nnki_min(DX_CHANNELS, g->c - c0);
        NNK_T *to = panel + c0 * g->f * g->kh * g->kw;
        for (int64_t fi = 0; fi < g->f; fi++)
            for (int64_t a = 0; a < g->kh; a++)
                for (int64_t b = 0; b < g->kw; b++)
                    for (int64_t c = 0; c < cb; c++)
                        *to++ = w[((fi * g->c + c0 + c) * g->kh + g->kh - 1 - a) * g->kw +
                                  g->kw - 1 - b];
    }
    /* The padding stays zero: each image's copy only writes the interior. */
    memset(images, 0, (size_t)(threads * stride) * sizeof *images);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t i = 0; i < g->n; i++)
        NNK_FN(dx_image)(g, &xg, panel, dy, dx, images + omp_get_thread_num() * stride, i);
    return NNK_OK;
}

#undef DIRECT_BY_BLOCK
#undef DIRECT_BY_BLOCK_WIDE
