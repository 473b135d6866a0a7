/*
 * batched.c - the input gradient of small stride-1 convolutions computed directly with the
 * vectors across the batch (batched_impl.h, for float and double at two vector widths): lane l
 * of every vector is image l. conv.c decides when to use it (after Winograd and the direct and
 * shallow kernels).
 *
 * There (conv_mnist2: 20 x 13 x 13 in, 50 x 9 x 9 out, 5x5) im2col + gemm spent as long in
 * col2im's 9-element adds as in half its gemm, and the direct kernel along dx's rows would run
 * 32-wide blocks over 13-wide rows. Across the batch no lane is wasted (n = 64 is whole
 * vectors) and each dx pixel sums only the taps that reach it, so the multiply-adds are the
 * useful ones; dy goes into [oy][ox][f][image] first, and dx comes out of [c][y][x][image].
 * Measured (interleaved A/B against im2col + OpenBLAS + col2im, AVX-512): conv_mnist2 dx 0.72x
 * at 1 thread, 0.74x at 2; its backward pass 0.85x at 1 thread.
 */
#include "internal.h"
#include "shuffles.h"

#include <omp.h>
#include <string.h>

/* Channels x vectors of images a block: cb*BATCHED_VECTORS sums + the vectors of dy + one
 * broadcast within the 32 registers of AVX-512 (at most 5 channels x 4) or the 16 of AVX2
 * (3 x 3). Images are padded to whole blocks of vectors. */
#define BATCHED_CHANNELS_V64 5
#define BATCHED_VECTORS_V64 4
#define BATCHED_CHANNELS_V32 3
#define BATCHED_VECTORS_V32 3
/* Small images only (col2im's runs are short there), and tensors far from overflow. */
#define BATCHED_MAX_PLANE 1024
#define BATCHED_MAX_ELEMENTS (INT64_C(1) << 28)
/* Taps that reach an interior pixel: its sums' depth. */
#define BATCHED_MIN_DEPTH 100
/* Input channels a block at least shares each vector of dy among: conv_mnist1's one took 2.6-3.7x
 * the time of im2col + gemm + col2im (4 loads a 4 multiply-adds). */
#define BATCHED_MIN_CHANNELS 4

typedef struct batched_geom {
    int64_t lanes;   /* elements per vector */
    int64_t npad;    /* n rounded up to whole blocks of vectors */
    int64_t panel;   /* kh*kw*f*c: w as [ki][kj][f][ci] */
    int64_t dyt;     /* out_hw*f*npad: dy as [oy][ox][f][image] */
    int64_t dxt;     /* c*h*w*npad: dx as [c][y][x][image] */
    int64_t total;   /* all three, shared by the threads */
    int64_t blocks;  /* blocks of channels */
} batched_geom;

static batched_geom batched_geometry(const nnki_conv_geom *g, size_t elem)
{
    batched_geom bg;
    const int bytes = nnki_vector_bytes();
    bg.lanes = (int64_t)((bytes != 0 ? (size_t)bytes : 64) / elem);
    const int64_t vectors = bytes == 32 ? BATCHED_VECTORS_V32 : BATCHED_VECTORS_V64;
    const int64_t channels = bytes == 32 ? BATCHED_CHANNELS_V32 : BATCHED_CHANNELS_V64;
    const int64_t step = vectors * bg.lanes;
    bg.npad = (g->n + step - 1) / step * step;
    bg.panel = g->w_len;
    bg.dyt = g->f * g->out_hw * bg.npad;
    bg.dxt = g->image * bg.npad;
    bg.total = bg.panel + bg.dyt + bg.dxt;
    bg.blocks = (g->c + channels - 1) / channels;
    return bg;
}

bool nnki_batched_dx_applies(const nnki_conv_geom *g, size_t elem)
{
    if (nnki_vector_bytes() == 0 || g->stride_h != 1 || g->stride_w != 1 ||
        g->kh * g->kw == 1 || g->f * g->kh * g->kw < BATCHED_MIN_DEPTH ||
        g->c < BATCHED_MIN_CHANNELS ||
        g->h * g->w > BATCHED_MAX_PLANE || g->out_hw > BATCHED_MAX_PLANE)
        return false;
    /* Each product's factors first (huge batches and channel counts are valid geometries). */
    if (g->n > BATCHED_MAX_ELEMENTS || g->f > BATCHED_MAX_ELEMENTS || g->c > BATCHED_MAX_ELEMENTS)
        return false;
    const batched_geom bg = batched_geometry(g, elem);
    /* At least three quarters of the lanes hold images. */
    return bg.dyt <= BATCHED_MAX_ELEMENTS && bg.dxt <= BATCHED_MAX_ELEMENTS &&
           4 * g->n >= 3 * bg.npad;
}

int64_t nnki_batched_dx_workspace(const nnki_conv_geom *g, size_t elem)
{
    return batched_geometry(g, elem).total;
}

int nnki_batched_dx_threads(const nnki_conv_geom *g, size_t elem, int64_t workspace_len)
{
    const batched_geom bg = batched_geometry(g, elem);
    if (workspace_len < bg.total)
        return 0;
    /* The work is shared out by blocks of channels x rows of dx. */
    return nnki_loop_threads(bg.blocks * g->h, bg.blocks * g->h);
}

#define BATCHED_BYTES 64
#define BATCHED_CHANNELS BATCHED_CHANNELS_V64
#define BATCHED_VECTORS BATCHED_VECTORS_V64
#define BATCHED_TARGET NNKI_TARGET_V64
#define NNK_T float
#define NNK_SUFFIX f32_v64
#define BATCHED_N 16
#include "batched_impl.h"
#undef BATCHED_N
#undef NNK_T
#undef NNK_SUFFIX
#define NNK_T double
#define NNK_SUFFIX f64_v64
#define BATCHED_N 8
#include "batched_impl.h"
#undef BATCHED_N
#undef NNK_T
#undef NNK_SUFFIX
#undef BATCHED_BYTES
#undef BATCHED_CHANNELS
#undef BATCHED_VECTORS
#undef BATCHED_TARGET

#define BATCHED_BYTES 32
#define BATCHED_CHANNELS BATCHED_CHANNELS_V32
#define BATCHED_VECTORS BATCHED_VECTORS_V32
#define BATCHED_TARGET NNKI_TARGET_V32
#define NNK_T float
#define NNK_SUFFIX f32_v32
#define BATCHED_N 8
#include "batched_impl.h"
#undef BATCHED_N
#undef NNK_T
#undef NNK_SUFFIX
#define NNK_T double
#define NNK_SUFFIX f64_v32
#define BATCHED_N 4
#include "batched_impl.h"
#undef BATCHED_N
#undef NNK_T
#undef NNK_SUFFIX

nnk_status nnki_batched_backward_data_f32(const nnki_conv_geom *g, const float *w,
                                          const float *dy, float *dx, float *workspace,
                                          int threads)
{
    return NNKI_PICK_WIDTH(batched_backward_data, f32, (g, w, dy, dx, workspace, threads));
}

nnk_status nnki_batched_backward_data_f64(const nnki_conv_geom *g, const double *w,
                                          const double *dy, double *dx, double *workspace,
                                          int threads)
{
    return NNKI_PICK_WIDTH(batched_backward_data, f64, (g, w, dy, dx, workspace, threads));
}
