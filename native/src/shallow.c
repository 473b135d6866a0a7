/*
 * shallow.c - the forward pass and gradients of shallow convolutions (c*kh*kw below 100:
 * conv_seed's 27, conv_mnist1's 9) computed directly, vectorised along output rows
 * (shallow_impl.h, for float and double at two vector widths). conv.c decides when to use them.
 *
 * There im2col + gemm is a poor fit: the gemm is only c*kh*kw deep, so im2col's copy (col2im's
 * adds, for dx) costs as much as the multiply-adds, and the gemm's blocking needs depth to reach
 * its peak. The direct kernel of direct.c, vectorised over output channels, pays a per-pixel
 * transpose that depth does not amortise either. Here the vectors run along an output row, so
 * the sums are y's rows as they are stored (dy's as they are read), and the cols are read in
 * place from the image split by column phase (for dx, gathered there and interleaved back, or
 * for 3x3 windows at stride 2 gathered row by row in registers, shallow_gathers).
 * Measured (interleaved A/B against im2col + OpenBLAS, 1 / 2 threads, AVX-512): conv_seed
 * forward 0.67x / 0.54x, dx 0.67x / 0.72x, dw 0.71x / 0.71-0.76x; conv_mnist1 forward 0.90x /
 * 0.81x. An earlier dw here lost to OpenBLAS because GCC folded each dy load into every one of
 * its multiply-adds (18 loads per 15) and split rows with two divisions each.
 */
#include "internal.h"
#include "shuffles.h"

#include <omp.h>
#include <string.h>

/* From 100 on, direct.c's kernel (vectorised over channels) takes y. The phase planes of one
 * image stay in L2. */
#define SHALLOW_MAX_DEPTH 99
#define SHALLOW_MAX_IMAGE (INT64_C(1) << 16)

/* Channels x vectors of a block: fb*pv sums + pv loaded vectors + one broadcast within the 32
 * registers of AVX-512 (at most 6 channels) or the 16 of AVX2 (at most 4). */
#define SHALLOW_VECTORS_V64(fb) ((fb) >= 5 ? 4 : (fb) == 4 ? 5 : (fb) == 3 ? 6 : (fb) == 2 ? 8 : 12)
#define SHALLOW_VECTORS_V32(fb) ((fb) >= 4 ? 2 : (fb) == 3 ? 3 : (fb) == 2 ? 4 : 6)
/* The input gradient's blocks: taps x vectors of sums + the vectors of dy + one broadcast. */
#define SHALLOW_DATA_TAPS_V64 6
#define SHALLOW_DATA_VECTORS_V64 4
#define SHALLOW_DATA_TAPS_V32 3
#define SHALLOW_DATA_VECTORS_V32 3
/* The weight gradient's blocks: channels x taps of per-lane sums + a vector of dy per channel
 * + one of the planes. 5 x 4 took conv_seed's dw in 0.93x the time of 5 x 3, 5 x 5 no less. */
#define SHALLOW_FILTER_CHANNELS_V64 5
#define SHALLOW_FILTER_TAPS_V64 4
#define SHALLOW_FILTER_CHANNELS_V32 3
#define SHALLOW_FILTER_TAPS_V32 3
/* The gathered input gradient's blocks: channels x pairs of rows x 2 rows x 2 phases of sums. */
#define SHALLOW_GATHER_CHANNELS_V64 3
#define SHALLOW_GATHER_PAIRS_V64 2
#define SHALLOW_GATHER_CHANNELS_V32 1
#define SHALLOW_GATHER_PAIRS_V32 2

typedef struct shallow_geom {
    int64_t lanes;  /* elements per vector */
    int64_t chunks; /* vectors per output row */
    int64_t phases; /* stride_w: planes per input channel */
    int64_t rows;   /* padded rows the output reaches: (out_h-1)*stride_h + kh */
    int64_t cols;   /* columns of a plane: every vector's reach, chunks*lanes + (kw-1)/stride_w,
                       for stride_w 2 rounded up to whole vectors */
    int64_t plane;  /* rows*cols */
    int64_t image;  /* c*phases*plane: one image's planes */
    int64_t share;  /* a thread's: the planes, and for stride_w 2 two row buffers of 2*cols */
    /* The input gradient's: */
    int64_t data_taps;  /* ckk rounded up to whole blocks of taps */
    int64_t data_panel; /* data_taps*f: the weights by blocks of taps */
    int64_t data_fixed; /* the panel, lanes + out_w zeros and lanes + 1 elements (a copy of dy's
                           first row, shallow_gather_block's head), shared by the threads */
    /* The weight gradient's: */
    int64_t filter_taps; /* ckk rounded up to whole blocks of taps */
    int64_t filter_sums; /* f*filter_taps vectors: a thread's per-lane sums of dw */
    int64_t filter_bias; /* n*f doubles: each image's sums of dy, shared by the threads */
} shallow_geom;

static shallow_geom shallow_geometry(const nnki_conv_geom *g, size_t elem)
{
    shallow_geom sg;
    const int bytes = nnki_vector_bytes();
    sg.lanes = (int64_t)((bytes != 0 ? (size_t)bytes : 64) / elem);
    sg.chunks = (g->out_w + sg.lanes - 1) / sg.lanes;
    sg.phases = g->stride_w;
    sg.rows = (g->out_h - 1) * g->stride_h + g->kh;
    sg.cols = sg.chunks * sg.lanes + (g->kw - 1) / g->stride_w;
    if (sg.phases == 2)
        sg.cols = (sg.cols + sg.lanes - 1) / sg.lanes * sg.lanes;
    sg.plane = sg.rows * sg.cols;
    sg.image = g->c * sg.phases * sg.plane;
    sg.share = sg.image + (sg.phases == 2 ? 4 * sg.cols : 0);
    const int64_t kb = bytes == 32 ? SHALLOW_DATA_TAPS_V32 : SHALLOW_DATA_TAPS_V64;
    sg.data_taps = (g->ckk + kb - 1) / kb * kb;
    sg.data_panel = sg.data_taps * g->f;
    sg.data_fixed = sg.data_panel + 2 * sg.lanes + g->out_w + 1;
    const int64_t fk = bytes == 32 ? SHALLOW_FILTER_TAPS_V32 : SHALLOW_FILTER_TAPS_V64;
    sg.filter_taps = (g->ckk + fk - 1) / fk * fk;
    sg.filter_sums = g->f * sg.filter_taps * sg.lanes;
    sg.filter_bias = nnki_bias_sums_len(g->n, g->f, elem);
    return sg;
}

/* A region (the next image's dy) on its way to L1 a slice at a time, one slice before each block
 * of the image's work, so that the next image's first blocks find it there instead of waiting on
 * L3. All at once, the burst of prefetches held up the loads after it (1.05x slower). */
typedef struct shallow_ahead {
    const char *from; /* NULL: nothing ahead */
    int64_t lines, slice, done;
} shallow_ahead;

static inline shallow_ahead shallow_ahead_of(const void *from, int64_t bytes, int64_t blocks)
{
    const int64_t lines = (bytes + 63) / 64;
    return (shallow_ahead){(const char *)from, lines, (lines + blocks - 1) / blocks, 0};
}

static inline void shallow_ahead_step(shallow_ahead *a)
{
    const int64_t end = nnki_min(a->done + a->slice, a->lines);
    for (; a->from != NULL && a->done < end; a->done++)
        __builtin_prefetch(a->from + 64 * a->done);
}

/* Whether the input gradient gathers each row of dx in registers (shallow_gather_image): 3x3
 * windows at stride 2 with padding 1, odd widths (w = 2*out_w - 1, every column a window's) of
 * whole vectors of dy. */
static bool shallow_gathers(const nnki_conv_geom *g, const shallow_geom *sg)
{
    return g->kh == 3 && g->kw == 3 && g->stride_h == 2 && g->stride_w == 2 && g->pad_h == 1 &&
           g->pad_w == 1 && g->w == 2 * g->out_w - 1 && g->out_w % sg->lanes == 0;
}

/* Tap k = (ci, ki, kj)'s offset from its vector's position in the planes. */
static int64_t shallow_tap_offset(const nnki_conv_geom *g, const shallow_geom *sg, int64_t k)
{
    const int64_t ci = k / (g->kh * g->kw), ki = k / g->kw % g->kh, kj = k % g->kw;
    return (ci * sg->phases + kj % sg->phases) * sg->plane + ki * sg->cols + kj / sg->phases;
}

bool nnki_shallow_applies(const nnki_conv_geom *g, size_t elem, nnki_shallow_pass pass)
{
    if (nnki_vector_bytes() == 0 || g->kh * g->kw == 1 || g->ckk > SHALLOW_MAX_DEPTH ||
        g->stride_w > 2)
        return false;
    /* Each factor of the planes' size first, so that it cannot overflow (huge images are
     * valid geometries). */
    if (g->out_h > SHALLOW_MAX_IMAGE || g->stride_h > SHALLOW_MAX_IMAGE ||
        g->out_w > SHALLOW_MAX_IMAGE || g->kh > SHALLOW_MAX_IMAGE)
        return false;
    /* The gradients' weight panel (data_taps*f) and sums (filter_sums) likewise. */
    if (pass != NNKI_SHALLOW_FORWARD && g->f > SHALLOW_MAX_IMAGE)
        return false;
    /* At least three quarters of the vectors' lanes hold output columns. */
    const shallow_geom sg = shallow_geometry(g, elem);
    if (sg.share > SHALLOW_MAX_IMAGE || 4 * g->out_w < 3 * sg.chunks * sg.lanes)
        return false;
    /* The weight gradient's sums stay in L2 beside the planes; its bias sums' count must not
     * have saturated (nnki_bias_sums_len). */
    if (pass == NNKI_SHALLOW_FILTER && (sg.filter_sums > SHALLOW_MAX_IMAGE ||
                                        sg.filter_bias >= INT64_MAX / 4))
        return false;
    /* The gradients read dy's rows in place, as whole vectors. */
    return pass == NNKI_SHALLOW_FORWARD || g->out_w % sg.lanes == 0;
}

/* Workspace shared by the threads, and each thread's own (nnki_workspace_wanted lays them out). */
static int64_t shallow_fixed(const shallow_geom *sg, nnki_shallow_pass pass)
{
    return pass == NNKI_SHALLOW_DATA ? sg->data_fixed
           : pass == NNKI_SHALLOW_FILTER ? sg->filter_bias
                                         : 0;
}
static int64_t shallow_share(const shallow_geom *sg, nnki_shallow_pass pass)
{
    return sg->share + (pass == NNKI_SHALLOW_FILTER ? sg->filter_sums : 0);
}

/* The input gradient's panel and the weight gradient's bias sums are shared; each thread has
 * its own planes and row buffers, and for the weight gradient its own sums. */
int64_t nnki_shallow_workspace(const nnki_conv_geom *g, size_t elem, nnki_shallow_pass pass)
{
    const shallow_geom sg = shallow_geometry(g, elem);
    return nnki_workspace_wanted(g->n, shallow_fixed(&sg, pass), shallow_share(&sg, pass), elem);
}

int nnki_shallow_threads(const nnki_conv_geom *g, size_t elem, nnki_shallow_pass pass,
                         int64_t workspace_len)
{
    const shallow_geom sg = shallow_geometry(g, elem);
    return nnki_threads_held(g->n, shallow_fixed(&sg, pass), shallow_share(&sg, pass), elem,
                             workspace_len);
}

#define SHALLOW_BYTES 64
#define SHALLOW_CHANNELS 6
#define SHALLOW_VECTORS SHALLOW_VECTORS_V64
#define SHALLOW_DATA_TAPS SHALLOW_DATA_TAPS_V64
#define SHALLOW_DATA_VECTORS SHALLOW_DATA_VECTORS_V64
#define SHALLOW_FILTER_CHANNELS SHALLOW_FILTER_CHANNELS_V64
#define SHALLOW_FILTER_TAPS SHALLOW_FILTER_TAPS_V64
#define SHALLOW_GATHER_PAIRS SHALLOW_GATHER_PAIRS_V64
#define SHALLOW_GATHER_CHANNELS SHALLOW_GATHER_CHANNELS_V64
#define SHALLOW_TARGET NNKI_TARGET_V64
#define NNK_T float
#define NNK_SUFFIX f32_v64
#define SHALLOW_N 16
#include "shallow_impl.h"
#undef SHALLOW_N
#undef NNK_T
#undef NNK_SUFFIX
#define NNK_T double
#define NNK_SUFFIX f64_v64
#define SHALLOW_N 8
#include "shallow_impl.h"
#undef SHALLOW_N
#undef NNK_T
#undef NNK_SUFFIX
#undef SHALLOW_BYTES
#undef SHALLOW_CHANNELS
#undef SHALLOW_VECTORS
#undef SHALLOW_TARGET
#undef SHALLOW_DATA_TAPS
#undef SHALLOW_DATA_VECTORS
#undef SHALLOW_FILTER_CHANNELS
#undef SHALLOW_FILTER_TAPS
#undef SHALLOW_GATHER_PAIRS
#undef SHALLOW_GATHER_CHANNELS

#define SHALLOW_BYTES 32
#define SHALLOW_CHANNELS 4
#define SHALLOW_VECTORS SHALLOW_VECTORS_V32
#define SHALLOW_DATA_TAPS SHALLOW_DATA_TAPS_V32
#define SHALLOW_DATA_VECTORS SHALLOW_DATA_VECTORS_V32
#define SHALLOW_FILTER_CHANNELS SHALLOW_FILTER_CHANNELS_V32
#define SHALLOW_FILTER_TAPS SHALLOW_FILTER_TAPS_V32
#define SHALLOW_GATHER_PAIRS SHALLOW_GATHER_PAIRS_V32
#define SHALLOW_GATHER_CHANNELS SHALLOW_GATHER_CHANNELS_V32
#define SHALLOW_TARGET NNKI_TARGET_V32
#define NNK_T float
#define NNK_SUFFIX f32_v32
#define SHALLOW_N 8
#include "shallow_impl.h"
#undef SHALLOW_N
#undef NNK_T
#undef NNK_SUFFIX
#define NNK_T double
#define NNK_SUFFIX f64_v32
#define SHALLOW_N 4
#include "shallow_impl.h"
#undef SHALLOW_N
#undef NNK_T
#undef NNK_SUFFIX

/* The entry points of one element type T (suffix S) run the kernels of the width
 * shallow_geometry laid the planes out for (the callers checked that there is one). */
#define SHALLOW_ENTRIES(T, S)                                                                \
    nnk_status nnki_shallow_forward_##S(const nnki_conv_geom *g, const T *x, const T *w,      \
                                        const T *b, T *y, T *workspace, int threads)         \
    {                                                                                        \
        return NNKI_PICK_WIDTH(shallow_forward, S, (g, x, w, b, y, workspace, threads));     \
    }                                                                                        \
    nnk_status nnki_shallow_backward_data_##S(const nnki_conv_geom *g, const T *w,           \
                                              const T *dy, T *dx, T *workspace, int threads) \
    {                                                                                        \
        return NNKI_PICK_WIDTH(shallow_backward_data, S, (g, w, dy, dx, workspace, threads)); \
    }                                                                                        \
    nnk_status nnki_shallow_backward_filter_##S(const nnki_conv_geom *g, const T *x,         \
                                                const T *dy, T *dw, T *db, T *workspace,     \
                                                int threads)                                 \
    {                                                                                        \
        return NNKI_PICK_WIDTH(shallow_backward_filter, S,                                   \
                               (g, x, dy, dw, db, workspace, threads));                      \
    }
SHALLOW_ENTRIES(float, f32)
SHALLOW_ENTRIES(double, f64)
