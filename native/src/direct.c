/*
 * direct.c - the direct convolution (instantiated from direct_impl.h for float and double): y
 * and dw computed from x, w and dy with no im2col, and dx of shallow convolutions with no
 * col2im, for the geometries where that beats im2col + gemm. conv.c decides when to use it.
 *
 * It vectorises over output channels (up to four 64-byte vectors of them) and keeps a block of
 * output pixels' sums in registers while it runs over c*kh*kw, broadcasting each input value
 * from a zero-padded copy of the image. That is a gemm's microkernel with the cols read from
 * the image in place. Measured on the standard shapes (1 thread, AVX-512), against im2col +
 * OpenBLAS: conv_3l (c*kh*kw = 147, f = 32) 0.61-0.67x and conv_mnist2 (500, f = 50)
 * 0.72-0.76x; conv_seed (27, f = 25) 1.15x and conv_mnist1 (9, f = 20) 2.1x, hence the rules
 * below.
 */
#include "internal.h"
#include "shuffles.h"

#include <omp.h>
#include <string.h>

/* The kernels are built twice, chosen at run time (nnki_vector_bytes): with 64-byte vectors and
 * 32 registers for AVX-512, and with 32-byte vectors and 16 registers for AVX2 with FMA, where
 * the blocks are smaller (at most 2 vectors of channels, DIRECT_PIXELS_V32). Measured on an AVX2
 * machine (Zen, 1 thread, interleaved A/B against im2col + OpenBLAS): conv_mnist2 forward 0.31x,
 * conv_3l forward 0.70x, backward (dw and dx) 0.76-0.79x. */

/* Below this many multiply-adds per output (c*kh*kw) the per-pixel epilogue outweighs the
 * saved im2col; the padded image and the weight panel must stay near L2. The weight gradient
 * also beat Winograd's on conv_wide on the Intel machine (c = f = 64, 34x34 padded: 0.90x), so
 * its images may be larger (on AMD's Zen 4 Winograd's goes first: conv_impl.h); the forward
 * pass was not measured beyond conv_3l's and conv_mnist2's. */
#define DIRECT_MIN_DEPTH 100
#define DIRECT_MAX_IMAGE (INT64_C(1) << 16)
#define DIRECT_MAX_FILTER_IMAGE (INT64_C(1) << 18)
#define DIRECT_MAX_DEPTH 1024

/* The block of pixels (or of k, for the weight gradient) that fv vectors of channels keep in
 * registers: fv * pixels sums + fv weight vectors + one broadcast <= 32 registers (AVX-512) or
 * 16 (AVX2). A constant where fv is, so that the kernel's loops unroll. */
#define DIRECT_PIXELS_V64(fv) ((fv) == 4 ? 6 : (fv) == 3 ? 8 : (fv) == 2 ? 12 : 24)
#define DIRECT_PIXELS_V32(fv) ((fv) == 2 ? 6 : 12)
/* On AMD CPUs, 2 vectors of channels take 8 pixels at 64 bytes, not 12: twelve pixels' pointers
 * do not fit the general registers beside the loop's own, and GCC keeps some on the stack (Zen
 * 4, interleaved A/B against 12, both constants: conv_3l forward 0.95-0.97x, dw 0.96-0.97x, at
 * 1 and 2 threads). The Intel machines' choice was made with 12. */
#define DIRECT_PIXELS_AMD_V64 8
#define DIRECT_PIXELS_AMD_V32 DIRECT_PIXELS_V32(2)

typedef struct direct_geom {
    int64_t lanes;       /* channels per vector */
    int64_t block;       /* vectors of channels per block: 4 (AVX-512) or 2 (AVX2) */
    int64_t padded_f;    /* f rounded up to whole vectors */
    int64_t padded_h, padded_w, padded_image; /* the zero-padded copy of one image */
    int64_t panel;       /* padded_f*ckk: w repacked by blocks of up to block vectors */
    int64_t offsets;     /* elements holding the ckk + out_hw int32 offsets */
} direct_geom;

static direct_geom direct_geometry(const nnki_conv_geom *g, size_t elem)
{
    direct_geom dg;
    const int bytes = nnki_vector_bytes();
    dg.lanes = (int64_t)((bytes != 0 ? (size_t)bytes : 64) / elem);
    dg.block = bytes == 32 ? 2 : 4;
    dg.padded_f = (g->f + dg.lanes - 1) / dg.lanes * dg.lanes;
    dg.padded_h = g->h + 2 * g->pad_h;
    dg.padded_w = g->w + 2 * g->pad_w;
    dg.padded_image = g->c * dg.padded_h * dg.padded_w;
    dg.panel = dg.padded_f * g->ckk;
    dg.offsets = ((g->ckk + g->out_hw) * (int64_t)sizeof(int32_t) + (int64_t)elem - 1) /
                 (int64_t)elem;
    return dg;
}

bool nnki_direct_applies(const nnki_conv_geom *g, size_t elem, bool filter)
{
    if (nnki_vector_bytes() == 0 || g->kh * g->kw == 1 || g->ckk < DIRECT_MIN_DEPTH ||
        g->ckk > DIRECT_MAX_DEPTH)
        return false;
    /* The padded image's size first, without overflow (huge images are valid geometries). */
    const int64_t limit = filter ? DIRECT_MAX_FILTER_IMAGE : DIRECT_MAX_IMAGE;
    int64_t plane, image;
    if (!nnki_mul(g->h + 2 * g->pad_h, g->w + 2 * g->pad_w, &plane) ||
        !nnki_mul(g->c, plane, &image) || image > limit)
        return false;
    /* At least three quarters of the vector lanes hold real channels. */
    const direct_geom dg = direct_geometry(g, elem);
    return 4 * g->f >= 3 * dg.padded_f;
}

/* Vectors of channels in the block of up to dg->block starting at channel f0. */
static inline int direct_block_vectors(const direct_geom *dg, int64_t f0)
{
    return (int)nnki_min(dg->block, (dg->padded_f - f0) / dg->lanes);
}

/* One thread's share for the weight gradient: its dw in panel order, its padded image and one
 * block's dy transposed (out_hw x at most one block of vectors). */
static int64_t direct_filter_share(const nnki_conv_geom *g, const direct_geom *dg)
{
    return dg->panel + dg->padded_image +
           g->out_hw * nnki_min(dg->padded_f, dg->block * dg->lanes);
}

/* Forward: the panel and offsets are shared; each thread has its own padded image. The weight
 * gradient shares the offsets and each image's bias sums (n*f doubles). The sizes are bounded by
 * the rules above and by conv_geometry's checks (out_hw, f*ckk, n*f), so none overflows but the
 * bias sums' doubles, saturated (the threads held are then 0). */
static void direct_sizes(const nnki_conv_geom *g, size_t elem, bool filter, int64_t *fixed,
                         int64_t *each)
{
    const direct_geom dg = direct_geometry(g, elem);
    *fixed = filter ? dg.offsets + nnki_bias_sums_len(g->n, g->f, elem) : dg.panel + dg.offsets;
    *each = filter ? direct_filter_share(g, &dg) : dg.padded_image;
}

int64_t nnki_direct_workspace(const nnki_conv_geom *g, size_t elem, bool filter)
{
    int64_t fixed, each;
    direct_sizes(g, elem, filter, &fixed, &each);
    return nnki_workspace_wanted(g->n, fixed, each, elem);
}

int nnki_direct_threads(const nnki_conv_geom *g, size_t elem, bool filter, int64_t workspace_len)
{
    int64_t fixed, each;
    direct_sizes(g, elem, filter, &fixed, &each);
    return nnki_threads_held(g->n, fixed, each, elem, workspace_len);
}

/* ---- The input gradient of shallow stride-1 convolutions ------------------------------------ */

/* dx for few input channels (conv_3l's c = 3): there im2col's route is a gemm of depth f into
 * c*kh*kw x out_hw cols and a col2im of kh*kw-fold overlapping windows, neither near the
 * machine's peak. Computed directly instead, as the stride-1 convolution of dy (padded by
 * kh-1-pad_h, kw-1-pad_w) with the flipped filters, vectorised along dx's rows: a block of
 * DX_CHANNELS channels x DX_ROWS rows (DX_ROWS_V32 with AVX2's 16 registers) x DX_VECS vectors
 * of columns keeps its sums in registers over f and the window, each dy vector loaded once per
 * window column and used by every row and channel of the block it reaches.
 *
 * Measured on dx alone (1 thread, interleaved A/B against im2col + OpenBLAS + col2im, 50
 * images): c = 3, f = 32, 32x32: 7x7 0.59x (conv_3l), 5x5 0.67x; c = 2 and 4 with 7x7 0.66x and
 * 0.72x; 28x28 5x5 0.73x. It lost with 3x3 windows (1.10-1.15x: col2im overlaps only 9-fold
 * there), c = 1 (0.95x) and where the blocks overhang dx (24x24: 1.25x, 13x13: 1.21x), hence
 * the rules. */
#define DX_CHANNELS 3
#define DX_ROWS 4
#define DX_ROWS_V32 2
#define DX_VECS 2
#define DX_MIN_CHANNELS 2
#define DX_MAX_CHANNELS 4 /* more re-read the padded dy once per block of DX_CHANNELS */
#define DX_MIN_WINDOW 25
#define DX_MIN_DEPTH 100 /* f*kh*kw */
#define DX_MAX_IMAGE (INT64_C(1) << 18) /* the padded dy stays in L2 */

typedef struct dx_geom {
    int64_t width;      /* columns per block: DX_VECS vectors */
    int64_t block_rows; /* rows per block: DX_ROWS or DX_ROWS_V32 */
    int64_t top, left;  /* dy's padding: kh-1-pad_h rows, kw-1-pad_w columns */
    int64_t rows, cols; /* the padded dy plane, with room for whole blocks */
    int64_t plane, image; /* rows*cols, and f of them */
    int64_t panel;      /* c*f*kh*kw: the flipped filters, by blocks of channels */
} dx_geom;

static dx_geom dx_geometry(const nnki_conv_geom *g, size_t elem)
{
    dx_geom xg;
    const int bytes = nnki_vector_bytes();
    xg.width = DX_VECS * (int64_t)((bytes != 0 ? (size_t)bytes : 64) / elem);
    xg.block_rows = bytes == 32 ? DX_ROWS_V32 : DX_ROWS;
    xg.top = g->kh - 1 - g->pad_h;
    xg.left = g->kw - 1 - g->pad_w;
    xg.rows = (g->h + xg.block_rows - 1) / xg.block_rows * xg.block_rows + g->kh - 1;
    xg.cols = (g->w + xg.width - 1) / xg.width * xg.width + g->kw - 1;
    xg.plane = xg.rows * xg.cols;
    xg.image = g->f * xg.plane;
    xg.panel = g->c * g->f * g->kh * g->kw;
    return xg;
}

bool nnki_direct_dx_applies(const nnki_conv_geom *g, size_t elem)
{
    if (nnki_vector_bytes() == 0 || g->stride_h != 1 || g->stride_w != 1 ||
        g->kh * g->kw < DX_MIN_WINDOW || g->pad_h >= g->kh || g->pad_w >= g->kw ||
        g->c < DX_MIN_CHANNELS || g->c > DX_MAX_CHANNELS || g->f * g->kh * g->kw < DX_MIN_DEPTH)
        return false;
    /* Each factor of the padded dy's size first, so that the size cannot overflow (huge images
     * are valid geometries). */
    if (g->f > DX_MAX_IMAGE || g->h > DX_MAX_IMAGE || g->w > DX_MAX_IMAGE ||
        g->kh > DX_MAX_IMAGE || g->kw > DX_MAX_IMAGE)
        return false;
    /* At least four fifths of the blocks' rows and columns lie within dx. */
    const dx_geom xg = dx_geometry(g, elem);
    const int64_t covered = (xg.rows - (g->kh - 1)) * (xg.cols - (g->kw - 1));
    return xg.image <= DX_MAX_IMAGE && 5 * g->h * g->w >= 4 * covered;
}

/* The flipped filters are shared; each thread has its own padded dy. */
int64_t nnki_direct_dx_workspace(const nnki_conv_geom *g, size_t elem)
{
    const dx_geom xg = dx_geometry(g, elem);
    return nnki_workspace_wanted(g->n, xg.panel, xg.image, elem);
}

int nnki_direct_dx_threads(const nnki_conv_geom *g, size_t elem, int64_t workspace_len)
{
    const dx_geom xg = dx_geometry(g, elem);
    return nnki_threads_held(g->n, xg.panel, xg.image, elem, workspace_len);
}

/* Each element type's kernels at both widths: DIRECT_BYTES per vector, at most DIRECT_BLOCK
 * vectors of channels a block, DIRECT_PIXELS and DIRECT_DX_ROWS their register blocks. */
#define DIRECT_BYTES 64
#define DIRECT_BLOCK 4
#define DIRECT_PIXELS DIRECT_PIXELS_V64
#define DIRECT_PIXELS_AMD DIRECT_PIXELS_AMD_V64
#define DIRECT_DX_ROWS DX_ROWS
#define DIRECT_TARGET NNKI_TARGET_V64
#define NNK_T float
#define NNK_SUFFIX f32_v64
#define DIRECT_N 16
#include "direct_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
#undef DIRECT_N
#define NNK_T double
#define NNK_SUFFIX f64_v64
#define DIRECT_N 8
#include "direct_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
#undef DIRECT_N
#undef DIRECT_BYTES
#undef DIRECT_BLOCK
#undef DIRECT_PIXELS
#undef DIRECT_PIXELS_AMD
#undef DIRECT_DX_ROWS
#undef DIRECT_TARGET

#define DIRECT_BYTES 32
#define DIRECT_BLOCK 2
#define DIRECT_PIXELS DIRECT_PIXELS_V32
#define DIRECT_PIXELS_AMD DIRECT_PIXELS_AMD_V32
#define DIRECT_DX_ROWS DX_ROWS_V32
#define DIRECT_TARGET NNKI_TARGET_V32
#define NNK_T float
#define NNK_SUFFIX f32_v32
#define DIRECT_N 8
#include "direct_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
#undef DIRECT_N
#define NNK_T double
#define NNK_SUFFIX f64_v32
#define DIRECT_N 4
#include "direct_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
#undef DIRECT_N

/* The entry points of one element type T (suffix S) run the kernels of the width
 * direct_geometry and dx_geometry were laid out for (the callers checked that there is one). */
#define DIRECT_ENTRIES(T, S)                                                                 \
    nnk_status nnki_direct_forward_##S(const nnki_conv_geom *g, const T *x, const T *w,       \
                                       const T *b, T *y, T *workspace, int threads)          \
    {                                                                                        \
        return NNKI_PICK_WIDTH(direct_forward, S, (g, x, w, b, y, workspace, threads));      \
    }                                                                                        \
    nnk_status nnki_direct_backward_filter_##S(const nnki_conv_geom *g, const T *x,          \
                                               const T *dy, T *dw, T *db, T *workspace,      \
                                               int threads)                                  \
    {                                                                                        \
        return NNKI_PICK_WIDTH(direct_backward_filter, S,                                    \
                               (g, x, dy, dw, db, workspace, threads));                      \
    }                                                                                        \
    nnk_status nnki_direct_backward_data_##S(const nnki_conv_geom *g, const T *w,            \
                                             const T *dy, T *dx, T *workspace, int threads)  \
    {                                                                                        \
        return NNKI_PICK_WIDTH(direct_backward_data, S, (g, w, dy, dx, workspace, threads)); \
    }
DIRECT_ENTRIES(float, f32)
DIRECT_ENTRIES(double, f64)
