/*
 * direct.c - the direct convolution forward pass (instantiated from direct_impl.h for float
 * and double): y computed from x and w with no im2col, for the geometries where that beats
 * im2col + gemm. conv.c decides when to use it.
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

#include <omp.h>
#include <string.h>

/* The kernel wants 32 vector registers and 64-byte vectors: AVX-512, chosen at run time. Other
 * compilers and CPUs build it for their baseline (correct but slow), and a GCC build on a CPU
 * without AVX-512 leaves convolutions to im2col. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DIRECT_TARGET __attribute__((target("arch=x86-64-v4")))
#define DIRECT_AVAILABLE() __builtin_cpu_supports("avx512f")
#else
#define DIRECT_TARGET
#define DIRECT_AVAILABLE() 1
#endif

/* Below this many multiply-adds per output (c*kh*kw) the per-pixel epilogue outweighs the
 * saved im2col; the padded image and the weight panel must stay near L2. The weight gradient
 * also beats Winograd's on conv_wide (c = f = 64, 34x34 padded: 0.90x), so its images may be
 * larger; the forward pass was not measured beyond conv_3l's and conv_mnist2's. */
#define DIRECT_MIN_DEPTH 100
#define DIRECT_MAX_IMAGE (INT64_C(1) << 16)
#define DIRECT_MAX_FILTER_IMAGE (INT64_C(1) << 18)
#define DIRECT_MAX_DEPTH 1024

/* The block of pixels (or of k, for the weight gradient) that fv vectors of channels keep in
 * registers: fv * pixels sums + fv weight vectors + one broadcast <= 32 registers. A constant
 * where fv is, so that the kernel's loops unroll. */
#define DIRECT_PIXELS(fv) ((fv) == 4 ? 6 : (fv) == 3 ? 8 : (fv) == 2 ? 12 : 24)

typedef struct direct_geom {
    int64_t lanes;       /* channels per vector */
    int64_t padded_f;    /* f rounded up to whole vectors */
    int64_t padded_h, padded_w, padded_image; /* the zero-padded copy of one image */
    int64_t panel;       /* padded_f*ckk: w repacked by blocks of up to 4 vectors */
    int64_t offsets;     /* elements holding the ckk + out_hw int32 offsets */
} direct_geom;

static direct_geom direct_geometry(const nnki_conv_geom *g, size_t elem)
{
    direct_geom dg;
    dg.lanes = (int64_t)(64 / elem);
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
    if (!DIRECT_AVAILABLE() || g->kh * g->kw == 1 || g->ckk < DIRECT_MIN_DEPTH ||
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

/* Vectors of channels in the block of up to 4 starting at channel f0. */
static inline int direct_block_vectors(const direct_geom *dg, int64_t f0)
{
    return (int)nnki_min(4, (dg->padded_f - f0) / dg->lanes);
}

/* One thread's share for the weight gradient: its dw in panel order, its padded image and one
 * block's dy transposed (out_hw x at most 4 vectors). */
static int64_t direct_filter_share(const nnki_conv_geom *g, const direct_geom *dg)
{
    return dg->panel + dg->padded_image + g->out_hw * nnki_min(dg->padded_f, 4 * dg->lanes);
}

/* Forward: the panel and offsets are shared; each thread has its own padded image. The sizes
 * are bounded by the rules above and by conv_geometry's checks (out_hw, f*ckk), so none
 * overflows. */
static void direct_sizes(const nnki_conv_geom *g, size_t elem, bool filter, int64_t *fixed,
                         int64_t *each)
{
    const direct_geom dg = direct_geometry(g, elem);
    *fixed = filter ? dg.offsets : dg.panel + dg.offsets;
    *each = filter ? direct_filter_share(g, &dg) : dg.padded_image;
}

int64_t nnki_direct_workspace(const nnki_conv_geom *g, size_t elem, bool filter)
{
    int64_t fixed, each;
    direct_sizes(g, elem, filter, &fixed, &each);
    return fixed + nnki_min(nnk_get_num_threads(), g->n) * each;
}

int nnki_direct_threads(const nnki_conv_geom *g, size_t elem, bool filter, int64_t workspace_len)
{
    int64_t fixed, each;
    direct_sizes(g, elem, filter, &fixed, &each);
    if (workspace_len < fixed + each)
        return 0;
    return (int)nnki_min(nnki_min(nnk_get_num_threads(), g->n), (workspace_len - fixed) / each);
}

#define NNK_T float
#define NNK_SUFFIX f32
#include "direct_impl.h"
#undef NNK_T
#undef NNK_SUFFIX

#define NNK_T double
#define NNK_SUFFIX f64
#include "direct_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
