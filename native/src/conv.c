/*
 * conv.c - 2-D convolution as im2col + gemm, one image at a time (instantiated from
 * conv_impl.h for float and double), and the size queries. 3x3 stride-1 convolutions with
 * enough channels go to Winograd (winograd.c) instead, deep ones to the direct kernels
 * (direct.c) for y and dw, and shallow ones to the row-vectorised kernels (shallow.c) for y, dx
 * and dw.
 *
 * Threads: either images run in parallel, each thread with its own slice of the workspace and
 * a single-threaded BLAS, or images run one after another with every thread given to the
 * BLAS (so a batch of one still uses all cores). Never both, so OpenMP and the BLAS do not
 * oversubscribe the cores.
 */
#include "internal.h"

#include <inttypes.h>
#include <omp.h>
#include <string.h>

/* nnki_conv_geometry, plus the limit of the BLAS's 32-bit int on the gemm dimensions. */
static nnk_status conv_geometry(const char *fn, const nnk_conv2d_desc *desc, nnki_conv_geom *g)
{
    NNKI_TRY(nnki_conv_geometry(fn, desc, g));
    const struct {
        const char *name;
        int64_t value;
    } dims[] = {{"f", g->f}, {"c*kh*kw", g->ckk}, {"out_h*out_w", g->out_hw}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (dims[i].value > NNKI_BLAS_INT_MAX)
            return nnki_set_error(NNK_ERROR_OVERFLOW,
                                  "%s: %s = %" PRId64 " exceeds the BLAS int limit %d", fn,
                                  dims[i].name, dims[i].value, NNKI_BLAS_INT_MAX);
    return NNK_OK;
}

/* Images per gemm, and output rows per gemm. A small image's gemm is too narrow for the BLAS
 * to run near its peak (conv_mnist2: 50 x 81 x 500 runs at 100 GFLOP/s on one core, 50 x 486
 * x 500 at 118), so small images are grouped: their cols side by side, one gemm for the group.
 * Only when each output sums many products: with few (conv_seed's 27, conv_mnist1's 9) the
 * gemm is bound by writing y, and the group's extra copy of y costs more than the wider gemm
 * saves. A large image's cols would not stay in L2 between im2col writing it and the gemm
 * reading it (conv_wide: 2.25 MiB), so it is cut into bands of output rows, one gemm per band.
 * Either way cols stays within cols_elements(), a quarter of L2, leaving room for the BLAS's
 * packed blocks and y: with a 2 MiB L2, 2^17 elements (measured against 2^16 and 2^18); with
 * 512 KiB (Zen), 2^15 (conv_mnist2 forward 0.84-0.85x of 2^17's time, conv_3l 0.95x). */
static int64_t cols_elements(void) { return nnki_l2_block_elements(); }
#define NNKI_GROUP_MIN_CKK 128

typedef struct conv_plan {
    int64_t group;   /* images per gemm */
    int64_t rows;    /* output rows per gemm: out_h unless group is 1 */
    int64_t columns; /* group*rows*out_w: columns of the gemm's cols */
    int64_t share;   /* workspace elements per thread: cols, then (group > 1) f x columns
                      * for the grouped y or dy */
    int threads;
} conv_plan;

/* A 1x1 stride-1 unpadded convolution's cols is the image itself: (c, h*w) row-major. It runs
 * its gemms on x directly, one image at a time and without bands, and needs no workspace but a
 * token element per thread. */
static bool pointwise(const nnki_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_h == 0 &&
           g->pad_w == 0;
}

static conv_plan plan_for_group(const nnki_conv_geom *g, int64_t group)
{
    conv_plan p = {group, g->out_h, group * g->out_hw, 0, 1};
    if (pointwise(g)) {
        p.share = 1;
        return p;
    }
    if (group == 1 && g->col_image > cols_elements()) {
        /* Bands of equal height, as few as the budget allows. */
        int64_t rows = nnki_min(g->out_h, nnki_max(1, cols_elements() / (g->ckk * g->out_w)));
        int64_t bands = (g->out_h + rows - 1) / rows;
        p.rows = (g->out_h + bands - 1) / bands;
        p.columns = p.rows * g->out_w;
    }
    /* Only a group or band within the budget is ever formed, so these products fit too. */
    p.share = group == 1 ? g->ckk * p.columns : (g->ckk + g->f) * p.columns;
    return p;
}

static conv_plan preferred_plan(const nnki_conv_geom *g, int64_t threads)
{
    int64_t group = 1;
    if (!pointwise(g) && g->ckk >= NNKI_GROUP_MIN_CKK && g->col_image <= cols_elements() / 2) {
        group = cols_elements() / g->col_image;
        /* The same number of groups for every thread, each as full as that allows. */
        int64_t groups = (g->n + group - 1) / group;
        groups = (groups + threads - 1) / threads * threads;
        group = (g->n + groups - 1) / groups;
    }
    return plan_for_group(g, group);
}

/* Shallow layers (c*kh*kw < NNKI_GROUP_MIN_CKK, one image or band per gemm) take the bias into
 * their forward gemm as one more product: w gets b as an extra column (bias_w, f x (ckk + 1),
 * at the start of the workspace) and cols a row of ones. Filling y with b before the gemm was a
 * pass over y as long as the gemm's own (conv_mnist1: 25-29 % of forward, conv_seed 12-15 %).
 * The fixed part and each thread's share, or false when the layer does not qualify. */
static bool bias_row_sizes(const nnki_conv_geom *g, const conv_plan *p, int64_t *fixed,
                           int64_t *share)
{
    if (pointwise(g) || p->group != 1 || g->ckk >= NNKI_GROUP_MIN_CKK)
        return false;
    *fixed = g->f * (g->ckk + 1);
    *share = (g->ckk + 1) * p->columns;
    return true;
}

/* The bias row's whole workspace for threads threads, false when the layer does not qualify
 * or the size overflows (the layer then fills y with b first). */
static bool bias_row_total(const nnki_conv_geom *g, const conv_plan *p, int64_t threads,
                           int64_t *fixed, int64_t *share, int64_t *total)
{
    return bias_row_sizes(g, p, fixed, share) && nnki_mul(threads, *share, total) &&
           !__builtin_add_overflow(*fixed, *total, total);
}

/* Whether the workspace holds the bias row's layout for the plan's threads. */
static bool bias_row_fits(const nnki_conv_geom *g, const conv_plan *p, int64_t workspace_len,
                          int64_t *fixed, int64_t *share)
{
    int64_t total;
    return bias_row_total(g, p, p->threads, fixed, share, &total) && workspace_len >= total;
}

/* Workspace layout for t threads: t shares, then, when the pass sums dw, t - 1 partial sums
 * of part elements (thread 0 sums into dw itself). */
static int64_t threads_fitting(int64_t workspace_len, int64_t share, int64_t part)
{
    int64_t per_extra_thread;
    if (workspace_len < share)
        return 0;
    if (__builtin_add_overflow(share, part, &per_extra_thread))
        return 1;
    return 1 + (workspace_len - share) / per_extra_thread;
}

/* Checks the workspace and chooses the plan: the preferred group if the workspace holds it
 * (it does when sized by nnk_conv2d_workspace_size), else one image per gemm. */
static nnk_status conv_plan_for(const char *fn, const nnki_conv_geom *g, const void *workspace,
                                int64_t workspace_len, int64_t part, conv_plan *plan)
{
    if (workspace == NULL)
        return nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: workspace is NULL", fn);
    int64_t threads = nnki_min(nnk_get_num_threads(), g->n);
    conv_plan p = preferred_plan(g, threads);
    int64_t fit = threads_fitting(workspace_len, p.share, part);
    if (p.group > 1 && fit < threads) {
        p = plan_for_group(g, 1);
        fit = threads_fitting(workspace_len, p.share, part);
    }
    if (fit < 1)
        return nnki_set_error(NNK_ERROR_BUFFER_SIZE,
                              "%s: workspace has %" PRId64 " elements, one thread needs %" PRId64
                              " (c*kh*kw*rows*out_w = %" PRId64 "*%" PRId64 "*%" PRId64
                              "*%" PRId64 "*%" PRId64 ")",
                              fn, workspace_len, p.share, g->c, g->kh, g->kw, p.rows, g->out_w);
    p.threads = nnki_loop_threads((g->n + p.group - 1) / p.group, fit);
    *plan = p;
    return nnki_blas_prepare();
}

/* Threads for a Winograd pass, or 0 when it does not suit g or the workspace does not hold it
 * (sized by an older query, say): then im2col + gemm runs. */
static int winograd_threads(const nnki_conv_geom *g, nnki_wino_pass pass, const void *workspace,
                            int64_t workspace_len)
{
    if (workspace == NULL || !nnki_winograd_applies(g, pass))
        return 0;
    return nnki_winograd_threads(g, pass, workspace_len);
}

/* Threads for a direct pass (forward, or the weight gradient with filter) with elements of
 * elem bytes, or 0 when it does not suit g or the workspace does not hold it: then im2col +
 * gemm runs. */
static int direct_threads(const nnki_conv_geom *g, size_t elem, bool filter, const void *workspace,
                          int64_t workspace_len)
{
    if (workspace == NULL || !nnki_direct_applies(g, elem, filter))
        return 0;
    return nnki_direct_threads(g, elem, filter, workspace_len);
}

/* Threads for the direct input gradient, or 0 when it does not suit g or the workspace does not
 * hold it. */
static int direct_dx_threads(const nnki_conv_geom *g, size_t elem, const void *workspace,
                             int64_t workspace_len)
{
    if (workspace == NULL || !nnki_direct_dx_applies(g, elem))
        return 0;
    return nnki_direct_dx_threads(g, elem, workspace_len);
}

/* Threads for the batched input gradient, or 0 when it does not suit g or the workspace does
 * not hold it. */
static int batched_dx_threads(const nnki_conv_geom *g, size_t elem, const void *workspace,
                              int64_t workspace_len)
{
    if (workspace == NULL || !nnki_batched_dx_applies(g, elem))
        return 0;
    return nnki_batched_dx_threads(g, elem, workspace_len);
}

/* Threads for a shallow pass, or 0 when it does not suit g or the workspace does not hold it. */
static int shallow_threads(const nnki_conv_geom *g, size_t elem, nnki_shallow_pass pass,
                           const void *workspace, int64_t workspace_len)
{
    if (workspace == NULL || !nnki_shallow_applies(g, elem, pass))
        return 0;
    return nnki_shallow_threads(g, elem, pass, workspace_len);
}

nnk_status nnk_conv2d_output_size(const nnk_conv2d_desc *desc, int64_t *out_h, int64_t *out_w)
{
    static const char fn[] = "conv2d_output_size";
    nnki_conv_geom g;
    NNKI_TRY(nnki_conv_geometry(fn, desc, &g));
    if (out_h == NULL || out_w == NULL)
        return nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: %s is NULL", fn,
                              out_h == NULL ? "out_h" : "out_w");
    *out_h = g.out_h;
    *out_w = g.out_w;
    return NNK_OK;
}

nnk_status nnk_conv2d_workspace_size(const nnk_conv2d_desc *desc, nnk_conv_pass pass,
                                     int64_t *elements)
{
    static const char fn[] = "conv2d_workspace_size";
    nnki_conv_geom g;
    NNKI_TRY(conv_geometry(fn, desc, &g));
    if (pass != NNK_CONV_FORWARD && pass != NNK_CONV_BACKWARD)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "%s: pass = %d (must be NNK_CONV_FORWARD or NNK_CONV_BACKWARD)", fn,
                              (int)pass);
    if (elements == NULL)
        return nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: elements is NULL", fn);
    int64_t threads = nnki_min(nnk_get_num_threads(), g.n);
    int64_t part = pass == NNK_CONV_BACKWARD ? g.w_len : 0;
    int64_t share = preferred_plan(&g, threads).share;
    int64_t cols_total, parts_total, total;
    if (!nnki_mul(threads, share, &cols_total) ||
        !nnki_mul(threads - 1, part, &parts_total) ||
        __builtin_add_overflow(cols_total, parts_total, &total))
        return nnki_set_error(NNK_ERROR_OVERFLOW,
                              "%s: workspace for %" PRId64 " threads (%" PRId64
                              " cols elements each, %" PRId64
                              " dw partial elements for each but the first) overflows int64",
                              fn, threads, share, part);
    int64_t fixed, bias_share, bias_total;
    if (pass == NNK_CONV_FORWARD) {
        const conv_plan p = preferred_plan(&g, threads);
        if (bias_row_total(&g, &p, threads, &fixed, &bias_share, &bias_total))
            total = nnki_max(total, bias_total);
    }
    const nnki_wino_pass wino[] = {pass == NNK_CONV_BACKWARD ? NNKI_WINO_INPUT_GRADIENT
                                                             : NNKI_WINO_FORWARD,
                                   NNKI_WINO_WEIGHT_GRADIENT};
    for (int k = 0; k < (pass == NNK_CONV_BACKWARD ? 2 : 1); k++)
        if (nnki_winograd_applies(&g, wino[k]))
            total = nnki_max(total, nnki_winograd_workspace(&g, wino[k]));
    /* The query does not know the element type; float's direct workspace covers double's. The
     * direct weight gradient may take precedence over Winograd's (conv_impl.h), the forward
     * pass does not. */
    const bool filter = pass == NNK_CONV_BACKWARD;
    if ((filter || !nnki_winograd_applies(&g, NNKI_WINO_FORWARD)) &&
        (nnki_direct_applies(&g, sizeof(float), filter) ||
         nnki_direct_applies(&g, sizeof(double), filter)))
        total = nnki_max(total, nnki_direct_workspace(&g, sizeof(float), filter));
    for (size_t elem = sizeof(float); elem <= sizeof(double); elem *= 2) {
        if (filter && nnki_direct_dx_applies(&g, elem))
            total = nnki_max(total, nnki_direct_dx_workspace(&g, elem));
        if (filter && nnki_batched_dx_applies(&g, elem))
            total = nnki_max(total, nnki_batched_dx_workspace(&g, elem));
        const nnki_shallow_pass passes[] = {filter ? NNKI_SHALLOW_DATA : NNKI_SHALLOW_FORWARD,
                                             NNKI_SHALLOW_FILTER};
        for (int k = 0; k < (filter ? 2 : 1); k++)
            if (nnki_shallow_applies(&g, elem, passes[k]))
                total = nnki_max(total, nnki_shallow_workspace(&g, elem, passes[k]));
    }
    *elements = total;
    return NNK_OK;
}

#define NNK_T float
#define NNK_SUFFIX f32
#include "conv_impl.h"
#undef NNK_T
#undef NNK_SUFFIX

#define NNK_T double
#define NNK_SUFFIX f64
#include "conv_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
