/*
 * conv_impl.h - conv2d forward and backward for one element type. conv.c includes it once per
 * type with NNK_T (float or double) and NNK_SUFFIX (f32 or f64) defined.
 *
 * Per image i, with cols_i = im2col(x_i) (c*kh*kw x out_h*out_w) and w seen as a matrix
 * (f x c*kh*kw):
 *   forward   y_i  = w * cols_i + b
 *   backward  dw  += dy_i * cols_i^T,   dx_i = col2im(w^T * dy_i),   db = sum of dy
 * A group of small images (conv_plan) runs as one image whose cols are the group's cols side
 * by side: y and dy then go through a grouped copy (f x group*out_hw) in the workspace. A
 * large image runs in bands of output rows, each band's y and dy a block of columns of y_i
 * and dy_i (leading dimension out_hw).
 *
 * A 1x1 stride-1 unpadded convolution (pointwise) uses x itself as cols and writes dx by gemm
 * directly, with no im2col or col2im.
 * 3x3 stride-1 convolutions with enough channels compute y, dx and dw by Winograd
 * (winograd_impl.h) when the workspace holds it; otherwise deep enough convolutions compute y
 * and dw directly, and shallow stride-1 ones dx (direct_impl.h); shallower ones (c*kh*kw below
 * 100) compute y, and where dy's rows are whole vectors dx and dw, along output rows
 * (shallow_impl.h).
 *
 * Inside the image loops gemm cannot fail: conv_threads has loaded the BLAS and conv_geometry
 * has checked every dimension against its int. The loops still fold the status, rather than
 * drop it, with an OpenMP max reduction.
 */

/* The cols of output rows [oy0, oy1) of image x_i, with their leading dimension: im2col into
 * cols, or for a 1x1 convolution the image itself (ld out_hw). */
static const NNK_T *NNK_FN(band_cols)(const nnki_conv_geom *g, const NNK_T *x_i, int64_t oy0,
                                      int64_t oy1, NNK_T *cols, int64_t *ld)
{
    if (pointwise(g)) {
        *ld = g->out_hw;
        return x_i + oy0 * g->out_w;
    }
    *ld = (oy1 - oy0) * g->out_w;
    NNK_FN(nnki_im2col)(g, x_i, oy0, oy1, cols, *ld);
    return cols;
}

nnk_status NNK_FN(nnk_conv2d_forward)(const nnk_conv2d_desc *desc, const NNK_T *x, int64_t x_len,
                                      const NNK_T *w, int64_t w_len, const NNK_T *b,
                                      int64_t b_len, NNK_T *y, int64_t y_len, NNK_T *workspace,
                                      int64_t workspace_len)
{
    static const char fn[] = "conv2d_forward";
    nnki_conv_geom g;
    NNKI_TRY(conv_geometry(fn, desc, &g));
    NNKI_TRY(nnki_check_tensor(fn, "x", x, x_len, true, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    NNKI_TRY(nnki_check_tensor(fn, "w", w, w_len, true, NNKI_DIMS(g.f, g.c, g.kh, g.kw)));
    NNKI_TRY(nnki_check_tensor(fn, "b", b, b_len, false, NNKI_DIMS(g.f)));
    NNKI_TRY(nnki_check_tensor(fn, "y", y, y_len, true, NNKI_DIMS(g.n, g.f, g.out_h, g.out_w)));
    const int wino = winograd_threads(&g, NNKI_WINO_FORWARD, workspace, workspace_len);
    if (wino > 0) {
        NNKI_TRY(nnki_blas_prepare());
        return NNK_FN(nnki_winograd_forward)(&g, x, w, b, y, workspace, wino);
    }
    const int direct = direct_threads(&g, sizeof(NNK_T), false, workspace, workspace_len);
    if (direct > 0)
        return NNK_FN(nnki_direct_forward)(&g, x, w, b, y, workspace, direct);
    const int shallow =
        shallow_threads(&g, sizeof(NNK_T), NNKI_SHALLOW_FORWARD, workspace, workspace_len);
    if (shallow > 0)
        return NNK_FN(nnki_shallow_forward)(&g, x, w, b, y, workspace, shallow);
    conv_plan p;
    NNKI_TRY(conv_plan_for(fn, &g, workspace, workspace_len, 0, &p));
    const int64_t groups = (g.n + p.group - 1) / p.group;
    int64_t bias_fixed, bias_share;
    const bool bias_row =
        b != NULL && bias_row_fits(&g, &p, workspace_len, &bias_fixed, &bias_share);
    const int64_t fixed = bias_row ? bias_fixed : 0, share = bias_row ? bias_share : p.share;
    NNK_T *const bias_w = workspace;
    if (bias_row)
        for (int64_t fi = 0; fi < g.f; fi++) {
            memcpy(bias_w + fi * (g.ckk + 1), w + fi * g.ckk, (size_t)g.ckk * sizeof *w);
            bias_w[fi * (g.ckk + 1) + g.ckk] = b[fi];
        }

    int status = NNK_OK;
#pragma omp parallel for num_threads(p.threads) if (p.threads > 1) schedule(static) \
    reduction(max : status)
    for (int64_t gi = 0; gi < groups; gi++) {
        NNK_T *cols = workspace + fixed + omp_get_thread_num() * share;
        const int64_t first = gi * p.group, count = nnki_min(p.group, g.n - first);
        NNK_T *y_first = y + first * g.f * g.out_hw;
        if (count == 1) {
            for (int64_t oy0 = 0; oy0 < g.out_h; oy0 += p.rows) {
                const int64_t oy1 = nnki_min(g.out_h, oy0 + p.rows);
                const int64_t columns = (oy1 - oy0) * g.out_w;
                NNK_T *y_band = y_first + oy0 * g.out_w;
                int64_t ld;
                const NNK_T *band_cols =
                    NNK_FN(band_cols)(&g, x + first * g.image, oy0, oy1, cols, &ld);
                if (bias_row) {
                    /* cols, ld = columns apart, gets its row of ones under the ckk of im2col. */
                    NNK_T *ones = cols + g.ckk * ld;
                    for (int64_t q = 0; q < columns; q++)
                        ones[q] = 1;
                    int s = NNK_FN(nnki_gemm)(false, false, g.f, columns, g.ckk + 1, 1, bias_w,
                                              g.ckk + 1, cols, ld, 0, y_band, g.out_hw);
                    status = s > status ? s : status;
                    continue;
                }
                /* Else the bias goes in first and the gemm accumulates onto it. */
                if (b != NULL)
                    for (int64_t fi = 0; fi < g.f; fi++)
                        for (int64_t q = 0; q < columns; q++)
                            y_band[fi * g.out_hw + q] = b[fi];
                int s = NNK_FN(nnki_gemm)(false, false, g.f, columns, g.ckk, 1, w, g.ckk, band_cols,
                                          ld, b != NULL ? 1 : 0, y_band, g.out_hw);
                status = s > status ? s : status;
            }
            continue;
        }
        const int64_t columns = count * g.out_hw;
        NNK_T *grouped = cols + g.ckk * p.columns;
        for (int64_t k = 0; k < count; k++)
            NNK_FN(nnki_im2col)(&g, x + (first + k) * g.image, 0, g.out_h, cols + k * g.out_hw,
                                columns);
        int s = NNK_FN(nnki_gemm)(false, false, g.f, columns, g.ckk, 1, w, g.ckk, cols, columns,
                                  0, grouped, columns);
        status = s > status ? s : status;
        /* Unpacking to y is a pass over y anyway: the bias rides along. */
        for (int64_t k = 0; k < count; k++)
            for (int64_t fi = 0; fi < g.f; fi++) {
                const NNK_T bias = b != NULL ? b[fi] : 0;
                const NNK_T *from = grouped + fi * columns + k * g.out_hw;
                NNK_T *to = y_first + (k * g.f + fi) * g.out_hw;
                for (int64_t q = 0; q < g.out_hw; q++)
                    to[q] = from[q] + bias;
            }
    }
    return (nnk_status)status;
}

/* dx and dw by Winograd (either may be NULL), after the BLAS is loaded. */
static nnk_status NNK_FN(winograd_gradients)(const nnki_conv_geom *g, const NNK_T *x,
                                             const NNK_T *w, const NNK_T *dy, NNK_T *dx,
                                             int dx_threads, NNK_T *dw, int dw_threads,
                                             NNK_T *workspace)
{
    if (dx == NULL && dw == NULL)
        return NNK_OK;
    NNKI_TRY(nnki_blas_prepare());
    if (dw != NULL)
        NNKI_TRY(NNK_FN(nnki_winograd_backward_filter)(g, x, dy, dw, workspace, dw_threads));
    if (dx != NULL)
        NNKI_TRY(NNK_FN(nnki_winograd_backward_data)(g, w, dy, dx, workspace, dx_threads));
    return NNK_OK;
}

/* The sum of a plane of dy in double, over 8 independent lanes (one chain of dependent adds
 * would wait on each add's latency; the lanes vectorise). */
static NNKI_CLONES double NNK_FN(plane_sum)(const NNK_T *plane, int64_t count)
{
    double lanes[8] = {0};
    int64_t p = 0;
    for (; p + 8 <= count; p += 8)
        for (int k = 0; k < 8; k++)
            lanes[k] += (double)plane[p + k];
    double sum = 0;
    for (; p < count; p++)
        sum += plane[p];
    for (int k = 0; k < 8; k++)
        sum += lanes[k];
    return sum;
}

/* db[fi] = sum of dy over images and positions, summed in double so that float gradients of
 * large batches keep their precision. Each thread takes a range of channels and walks it image by
 * image, in memory order (channel by channel, the planes a page or more apart, the hardware
 * prefetcher restarted at every plane: conv_seed's backward spent 9 % of its time here). Each
 * channel still adds its images' plane sums in image order, so the bits are the same. */
enum { NNK_FN(bias_chunk) = 64 };
static void NNK_FN(bias_gradient)(const nnki_conv_geom *g, const NNK_T *dy, NNK_T *db)
{
    int threads = nnki_loop_threads(g->f, g->f);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const int t = omp_get_thread_num(), count = omp_get_num_threads();
        const int64_t f1 = g->f * (t + 1) / count;
        for (int64_t c0 = g->f * t / count; c0 < f1; c0 += NNK_FN(bias_chunk)) {
            const int64_t c1 = nnki_min(f1, c0 + NNK_FN(bias_chunk));
            double sums[NNK_FN(bias_chunk)] = {0};
            for (int64_t i = 0; i < g->n; i++)
                for (int64_t fi = c0; fi < c1; fi++)
                    sums[fi - c0] +=
                        NNK_FN(plane_sum)(dy + (i * g->f + fi) * g->out_hw, g->out_hw);
            for (int64_t fi = c0; fi < c1; fi++)
                db[fi] = (NNK_T)sums[fi - c0];
        }
    }
}

nnk_status NNK_FN(nnk_conv2d_backward)(const nnk_conv2d_desc *desc, const NNK_T *x,
                                       int64_t x_len, const NNK_T *w, int64_t w_len,
                                       const NNK_T *dy, int64_t dy_len, NNK_T *dx, int64_t dx_len,
                                       NNK_T *dw, int64_t dw_len, NNK_T *db, int64_t db_len,
                                       NNK_T *workspace, int64_t workspace_len)
{
    static const char fn[] = "conv2d_backward";
    nnki_conv_geom g;
    NNKI_TRY(conv_geometry(fn, desc, &g));
    NNKI_TRY(nnki_check_tensor(fn, "dy", dy, dy_len, true, NNKI_DIMS(g.n, g.f, g.out_h, g.out_w)));
    NNKI_TRY(nnki_check_tensor(fn, "dx", dx, dx_len, false, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    NNKI_TRY(nnki_check_tensor(fn, "dw", dw, dw_len, false, NNKI_DIMS(g.f, g.c, g.kh, g.kw)));
    NNKI_TRY(nnki_check_tensor(fn, "db", db, db_len, false, NNKI_DIMS(g.f)));
    NNKI_TRY(nnki_check_tensor(fn, "x", x, x_len, dw != NULL, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    NNKI_TRY(nnki_check_tensor(fn, "w", w, w_len, dx != NULL, NNKI_DIMS(g.f, g.c, g.kh, g.kw)));

    /* What Winograd computes, the loop below leaves out (its gradient set to NULL there). */
    const int wino_dx =
        dx != NULL ? winograd_threads(&g, NNKI_WINO_INPUT_GRADIENT, workspace, workspace_len) : 0;
    /* Where both apply, the direct weight gradient beat Winograd's on the Intel machine
     * (conv_wide: 0.90x, Sapphire Rapids) and lost on the AMD one (Zen 4: Winograd's took 0.72x
     * the direct one's time on conv_wide at 1 thread, 0.76x at 2; 0.92x on 32x32 images of 32
     * channels, level on 16x16 ones), so AMD tries Winograd's first. */
    int wino_dw = dw != NULL && nnki_cpu_amd()
                      ? winograd_threads(&g, NNKI_WINO_WEIGHT_GRADIENT, workspace, workspace_len)
                      : 0;
    const int direct_dw =
        dw != NULL && wino_dw == 0
            ? direct_threads(&g, sizeof(NNK_T), true, workspace, workspace_len)
            : 0;
    if (dw != NULL && wino_dw == 0 && direct_dw == 0)
        wino_dw = winograd_threads(&g, NNKI_WINO_WEIGHT_GRADIENT, workspace, workspace_len);
    NNK_T *const wino_dx_out = wino_dx > 0 ? dx : NULL, *const wino_dw_out = wino_dw > 0 ? dw : NULL;
    if (wino_dx > 0)
        dx = NULL;
    if (wino_dw > 0)
        dw = NULL;
    /* So does the direct weight gradient, which runs first: the workspace is free again after.
     * It sums db on the way (it reads dy anyway), as does the shallow one below. */
    bool db_done = false;
    if (direct_dw > 0) {
        NNKI_TRY(NNK_FN(nnki_direct_backward_filter)(&g, x, dy, dw, db, workspace, direct_dw));
        dw = NULL;
        db_done = true;
    }
    /* And the shallow one, along output rows. */
    const int shallow_dw = dw != NULL ? shallow_threads(&g, sizeof(NNK_T), NNKI_SHALLOW_FILTER,
                                                        workspace, workspace_len)
                                      : 0;
    if (shallow_dw > 0) {
        NNKI_TRY(
            NNK_FN(nnki_shallow_backward_filter)(&g, x, dy, dw, db, workspace, shallow_dw));
        dw = NULL;
        db_done = true;
    }
    if (db != NULL && !db_done)
        NNK_FN(bias_gradient)(&g, dy, db);
    /* The direct input gradient of shallow convolutions, likewise. */
    const int direct_dx =
        dx != NULL ? direct_dx_threads(&g, sizeof(NNK_T), workspace, workspace_len) : 0;
    if (direct_dx > 0) {
        NNKI_TRY(NNK_FN(nnki_direct_backward_data)(&g, w, dy, dx, workspace, direct_dx));
        dx = NULL;
    }
    /* And the shallow one, along output rows. */
    const int shallow_dx =
        dx != NULL ? shallow_threads(&g, sizeof(NNK_T), NNKI_SHALLOW_DATA, workspace, workspace_len)
                   : 0;
    if (shallow_dx > 0) {
        NNKI_TRY(NNK_FN(nnki_shallow_backward_data)(&g, w, dy, dx, workspace, shallow_dx));
        dx = NULL;
    }
    /* And small stride-1 ones' across the batch. */
    const int batched_dx =
        dx != NULL ? batched_dx_threads(&g, sizeof(NNK_T), workspace, workspace_len) : 0;
    if (batched_dx > 0) {
        NNKI_TRY(NNK_FN(nnki_batched_backward_data)(&g, w, dy, dx, workspace, batched_dx));
        dx = NULL;
    }
    if (dx == NULL && dw == NULL)
        return NNK_FN(winograd_gradients)(&g, x, w, dy, wino_dx_out, wino_dx, wino_dw_out, wino_dw,
                                          workspace);
    conv_plan p;
    NNKI_TRY(conv_plan_for(fn, &g, workspace, workspace_len, dw != NULL ? g.w_len : 0, &p));
    const int threads = p.threads;
    const int64_t groups = (g.n + p.group - 1) / p.group;

    /* Thread t > 0 sums its images' dw into its own partial, added to dw at the end. */
    NNK_T *partials = workspace + threads * p.share;
    if (dw != NULL) {
        memset(dw, 0, (size_t)g.w_len * sizeof *dw);
        memset(partials, 0, (size_t)((threads - 1) * g.w_len) * sizeof *partials);
    }
    int status = NNK_OK;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static) \
    reduction(max : status)
    for (int64_t gi = 0; gi < groups; gi++) {
        int t = omp_get_thread_num();
        NNK_T *cols = workspace + t * p.share;
        const int64_t first = gi * p.group, count = nnki_min(p.group, g.n - first);
        if (count == 1) {
            const NNK_T *dy_i = dy + first * g.f * g.out_hw;
            NNK_T *dx_i = dx != NULL ? dx + first * g.image : NULL;
            /* A 1x1 convolution writes dx by gemm, each element once; others add into it. */
            if (dx_i != NULL && !pointwise(&g))
                memset(dx_i, 0, (size_t)g.image * sizeof *dx_i);
            for (int64_t oy0 = 0; oy0 < g.out_h; oy0 += p.rows) {
                const int64_t oy1 = nnki_min(g.out_h, oy0 + p.rows);
                const int64_t columns = (oy1 - oy0) * g.out_w;
                const NNK_T *dy_band = dy_i + oy0 * g.out_w;
                if (dw != NULL) {
                    NNK_T *dw_sum = t == 0 ? dw : partials + (t - 1) * g.w_len;
                    int64_t ld;
                    const NNK_T *band_cols =
                        NNK_FN(band_cols)(&g, x + first * g.image, oy0, oy1, cols, &ld);
                    int s = NNK_FN(nnki_gemm)(false, true, g.f, g.ckk, columns, 1, dy_band,
                                              g.out_hw, band_cols, ld, 1, dw_sum, g.ckk);
                    status = s > status ? s : status;
                }
                if (dx_i != NULL) {
                    /* A 1x1 convolution's dx band is its cols: the gemm writes it directly. */
                    const bool direct = pointwise(&g);
                    int s = NNK_FN(nnki_gemm)(true, false, g.ckk, columns, g.f, 1, w, g.ckk,
                                              dy_band, g.out_hw, 0,
                                              direct ? dx_i + oy0 * g.out_w : cols,
                                              direct ? g.out_hw : columns);
                    status = s > status ? s : status;
                    if (!direct)
                        NNK_FN(nnki_col2im)(&g, cols, columns, oy0, oy1, dx_i);
                }
            }
            continue;
        }
        const int64_t columns = count * g.out_hw;
        /* A group's dy is gathered into one (f x columns) matrix. */
        NNK_T *dy_group = cols + g.ckk * p.columns;
        for (int64_t k = 0; k < count; k++)
            for (int64_t fi = 0; fi < g.f; fi++)
                memcpy(dy_group + fi * columns + k * g.out_hw,
                       dy + ((first + k) * g.f + fi) * g.out_hw, (size_t)g.out_hw * sizeof *dy);
        if (dw != NULL) {
            NNK_T *dw_sum = t == 0 ? dw : partials + (t - 1) * g.w_len;
            for (int64_t k = 0; k < count; k++)
                NNK_FN(nnki_im2col)(&g, x + (first + k) * g.image, 0, g.out_h, cols + k * g.out_hw,
                                    columns);
            int s = NNK_FN(nnki_gemm)(false, true, g.f, g.ckk, columns, 1, dy_group, columns,
                                      cols, columns, 1, dw_sum, g.ckk);
            status = s > status ? s : status;
        }
        if (dx != NULL) {
            int s = NNK_FN(nnki_gemm)(true, false, g.ckk, columns, g.f, 1, w, g.ckk, dy_group,
                                      columns, 0, cols, columns);
            status = s > status ? s : status;
            for (int64_t k = 0; k < count; k++) {
                NNK_T *dx_k = dx + (first + k) * g.image;
                memset(dx_k, 0, (size_t)g.image * sizeof *dx_k);
                NNK_FN(nnki_col2im)(&g, cols + k * g.out_hw, columns, 0, g.out_h, dx_k);
            }
        }
    }
    if (dw != NULL)
        for (int t = 1; t < threads; t++)
            for (int64_t j = 0; j < g.w_len; j++)
                dw[j] += partials[(t - 1) * g.w_len + j];
    if (status != NNK_OK)
        return (nnk_status)status;
    return NNK_FN(winograd_gradients)(&g, x, w, dy, wino_dx_out, wino_dx, wino_dw_out, wino_dw,
                                      workspace);
}
