/*
 * winograd.c - Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions: forward, the input
 * gradient, which is itself a 3x3 stride-1 convolution of dy, and the weight gradient
 * (instantiated from winograd_impl.h for float and double). conv.c decides when to use it.
 *
 * It makes 16 multiplications per 2x2 outputs and input channel where im2col + gemm makes 36,
 * at the price of transforming the input and the output (memory passes) and of 16 narrower
 * gemms; worth it when both channel counts are large enough for those gemms to run near the
 * BLAS's peak. Accuracy: the transforms only add, subtract and halve, so the result differs
 * from the direct sum by rounding alone (float32 relative error ~1e-6, float64 ~1e-15).
 */
#include "internal.h"

#include <omp.h>
#include <string.h>

/* The transforms' loops run over a strip of tiles, often 16 (a 32-wide image): one AVX-512
 * vector of float, so they are also built for AVX-512. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define WINO_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define WINO_CLONES NNKI_CLONES
#endif


/* V and M of one thread's block stay within nnki_l2_block_elements(), a quarter of L2,
 * leaving room for the BLAS's packed blocks. Interleaved A/B on conv_wide: with a 2 MiB L2
 * against 2^15-2^20 elements, 2^17 was fastest (0.86-0.90x of 2^18's time forward and
 * 0.88-0.97x backward, at 1 and 2 threads); with a 512 KiB L2 (Zen), 2^15 took 0.77x of 2^17's
 * time forward and 0.69x backward at 1 thread, 0.85x and 0.98x at 2 (2^14: 1.18-1.31x). */
/* Below this many input or output channels the transforms cost more than the gemms save. */
#define NNKI_WINO_MIN_CHANNELS 16

/* One direction of the algorithm: the forward pass maps x (cin = c) to y (cout = f); the input
 * gradient maps dy (cin = f) to dx (cout = c) with the flipped filters and padding 2 - pad. */
typedef struct wino_geom {
    int64_t n, cin, cout, in_h, in_w, out_h, out_w, pad_h, pad_w;
    int64_t tiles_h, tiles_w, tiles; /* 2x2 output tiles per column, per row, in all */
    int64_t block;                   /* tiles per gemm */
    int64_t filters;                 /* 16*cout*cin: the transformed filters, shared */
    int64_t share;                   /* 16*(cin + cout)*block: one thread's V and M */
} wino_geom;

/* The weight gradient runs over the forward pass's tiles (x's patches, dy's tiles of y). */
static wino_geom wino_geometry(const nnki_conv_geom *g, nnki_wino_pass pass)
{
    const bool backward = pass == NNKI_WINO_INPUT_GRADIENT;
    wino_geom wg = {
        .n = g->n,
        .cin = backward ? g->f : g->c,
        .cout = backward ? g->c : g->f,
        .in_h = backward ? g->out_h : g->h,
        .in_w = backward ? g->out_w : g->w,
        .out_h = backward ? g->h : g->out_h,
        .out_w = backward ? g->w : g->out_w,
        .pad_h = backward ? 2 - g->pad_h : g->pad_h,
        .pad_w = backward ? 2 - g->pad_w : g->pad_w,
    };
    wg.tiles_h = (wg.out_h + 1) / 2;
    wg.tiles_w = (wg.out_w + 1) / 2;
    wg.tiles = wg.n * wg.tiles_h * wg.tiles_w;
    /* Blocks within the budget, a multiple of the thread count, of equal size. */
    const int64_t threads = nnk_get_num_threads();
    int64_t block =
        nnki_min(wg.tiles, nnki_max(1, nnki_l2_block_elements() / (16 * (wg.cin + wg.cout))));
    int64_t blocks = (wg.tiles + block - 1) / block;
    blocks = (blocks + threads - 1) / threads * threads;
    wg.block = (wg.tiles + blocks - 1) / blocks;
    wg.filters = 16 * wg.cout * wg.cin;
    wg.share = 16 * (wg.cin + wg.cout) * wg.block;
    return wg;
}

/* A run of tiles in one tile row of one image: (i, ty, tx0 .. tx0 + count - 1). */
typedef struct wino_strip {
    int64_t i, ty, tx0, count;
} wino_strip;

/* The strip starting at tile t, at most left tiles and limit long. */
static inline wino_strip wino_strip_at(const wino_geom *wg, int64_t t, int64_t left,
                                       int64_t limit)
{
    const int64_t tiles_image = wg->tiles_h * wg->tiles_w, tx0 = t % wg->tiles_w;
    return (wino_strip){t / tiles_image, t % tiles_image / wg->tiles_w, tx0,
                        nnki_min(nnki_min(limit, wg->tiles_w - tx0), left)};
}

bool nnki_winograd_applies(const nnki_conv_geom *g, nnki_wino_pass pass)
{
    return g->kh == 3 && g->kw == 3 && g->stride_h == 1 && g->stride_w == 1 &&
           g->c >= NNKI_WINO_MIN_CHANNELS && g->f >= NNKI_WINO_MIN_CHANNELS &&
           (pass != NNKI_WINO_INPUT_GRADIENT || (g->pad_h <= 2 && g->pad_w <= 2));
}

/* Workspace per thread: its V and M (or dM), and for the weight gradient its own sum of the
 * transformed dw; the transformed filters are shared otherwise. */
static int64_t wino_fixed(const wino_geom *wg, nnki_wino_pass pass)
{
    return pass == NNKI_WINO_WEIGHT_GRADIENT ? 0 : wg->filters;
}

static int64_t wino_per_thread(const wino_geom *wg, nnki_wino_pass pass)
{
    return wg->share + (pass == NNKI_WINO_WEIGHT_GRADIENT ? wg->filters : 0);
}

/* Every size here is bounded by products conv_geometry has checked (16*c*f < 2*w_len, the
 * shares by the budget), so none overflows. */
static int64_t wino_threads_wanted(const wino_geom *wg)
{
    return nnki_min(nnk_get_num_threads(), (wg->tiles + wg->block - 1) / wg->block);
}

int64_t nnki_winograd_workspace(const nnki_conv_geom *g, nnki_wino_pass pass)
{
    wino_geom wg = wino_geometry(g, pass);
    return wino_fixed(&wg, pass) + wino_threads_wanted(&wg) * wino_per_thread(&wg, pass);
}

int nnki_winograd_threads(const nnki_conv_geom *g, nnki_wino_pass pass, int64_t workspace_len)
{
    wino_geom wg = wino_geometry(g, pass);
    const int64_t fixed = wino_fixed(&wg, pass), each = wino_per_thread(&wg, pass);
    if (workspace_len < fixed + each)
        return 0;
    return (int)nnki_min(wino_threads_wanted(&wg), (workspace_len - fixed) / each);
}

/* Besides NNK_T and NNK_SUFFIX, winograd_impl.h takes NNK_INT, the integer as wide as NNK_T
 * (vector masks); WINO_LANES, the lanes of a 64-byte vector of NNK_T (the tiles of a strip),
 * and WINO_LANE_ORDER, 0 to WINO_LANES - 1; WINO_EVEN and WINO_ODD, the even and odd lanes of
 * two such vectors; WINO_NEXT_EVEN and WINO_NEXT_ODD, lanes 1 to WINO_LANES - 1 of a vector
 * followed by lane 0 or 1 of a second; WINO_LOW_PAIRS and WINO_HIGH_PAIRS, the low and the
 * high halves of two vectors interleaved lane by lane; WINO_SHIFT_1 and WINO_SHIFT_2, a zero
 * vector's lanes then a second's, shifted right by 1 or 2. */
#define NNK_T float
#define NNK_SUFFIX f32
#define NNK_INT int32_t
#define WINO_LANES 16
#define WINO_LANE_ORDER 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#define WINO_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define WINO_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define WINO_NEXT_EVEN 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
#define WINO_NEXT_ODD 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17
#define WINO_LOW_PAIRS 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define WINO_HIGH_PAIRS 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define WINO_SHIFT_1 0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
#define WINO_SHIFT_2 0, 1, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
#include "winograd_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
#undef NNK_INT
#undef WINO_LANES
#undef WINO_LANE_ORDER
#undef WINO_EVEN
#undef WINO_ODD
#undef WINO_NEXT_EVEN
#undef WINO_NEXT_ODD
#undef WINO_LOW_PAIRS
#undef WINO_HIGH_PAIRS
#undef WINO_SHIFT_1
#undef WINO_SHIFT_2

#define NNK_T double
#define NNK_SUFFIX f64
#define NNK_INT int64_t
#define WINO_LANES 8
#define WINO_LANE_ORDER 0, 1, 2, 3, 4, 5, 6, 7
#define WINO_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define WINO_ODD 1, 3, 5, 7, 9, 11, 13, 15
#define WINO_NEXT_EVEN 1, 2, 3, 4, 5, 6, 7, 8
#define WINO_NEXT_ODD 1, 2, 3, 4, 5, 6, 7, 9
#define WINO_LOW_PAIRS 0, 8, 1, 9, 2, 10, 3, 11
#define WINO_HIGH_PAIRS 4, 12, 5, 13, 6, 14, 7, 15
#define WINO_SHIFT_1 0, 8, 9, 10, 11, 12, 13, 14
#define WINO_SHIFT_2 0, 1, 8, 9, 10, 11, 12, 13
#include "winograd_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
#undef NNK_INT
#undef WINO_LANES
#undef WINO_LANE_ORDER
#undef WINO_EVEN
#undef WINO_ODD
#undef WINO_NEXT_EVEN
#undef WINO_NEXT_ODD
#undef WINO_LOW_PAIRS
#undef WINO_HIGH_PAIRS
#undef WINO_SHIFT_1
#undef WINO_SHIFT_2
