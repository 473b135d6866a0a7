/*
 * elementwise_impl.h - ReLU forward and backward for one element type. elementwise.c includes
 * it once per type with NNK_T (float or double) and NNK_SUFFIX (f32 or f64) defined.
 */

/* y[k] = x[k] <= 0 ? 0 : x[k] over one block; a select, so the loop vectorises. */
static NNKI_CLONES void NNK_FN(relu_forward_run)(const NNK_T *x, NNK_T *y, int64_t len)
{
    for (int64_t k = 0; k < len; k++)
        y[k] = x[k] <= 0 ? (NNK_T)0 : x[k];
}

/* dx[k] = x[k] > 0 ? dy[k] : 0 over one block. */
static NNKI_CLONES void NNK_FN(relu_backward_run)(const NNK_T *x, const NNK_T *dy, NNK_T *dx,
                                                  int64_t len)
{
    /* dy is loaded unconditionally so that the select vectorises (a conditional load may
     * not be if-converted). */
    for (int64_t k = 0; k < len; k++) {
        const NNK_T g = dy[k];
        dx[k] = x[k] > 0 ? g : (NNK_T)0;
    }
}

nnk_status NNK_FN(nnk_relu_forward)(const NNK_T *x, int64_t x_len, NNK_T *y, int64_t y_len)
{
    static const char fn[] = "relu_forward";
    NNKI_TRY(check_first(fn, "x", x, x_len));
    NNKI_TRY(nnki_check_tensor(fn, "y", y, y_len, true, NNKI_DIMS(x_len)));

    const int64_t blocks = elementwise_blocks(x_len);
    const int threads = elementwise_threads(blocks);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t start = b * ELEMENTWISE_GRAIN;
        NNK_FN(relu_forward_run)(x + start, y + start,
                                 nnki_min(ELEMENTWISE_GRAIN, x_len - start));
    }
    return NNK_OK;
}

nnk_status NNK_FN(nnk_relu_backward)(const NNK_T *x, int64_t x_len, const NNK_T *dy,
                                     int64_t dy_len, NNK_T *dx, int64_t dx_len)
{
    static const char fn[] = "relu_backward";
    NNKI_TRY(check_first(fn, "x", x, x_len));
    NNKI_TRY(nnki_check_tensor(fn, "dy", dy, dy_len, true, NNKI_DIMS(x_len)));
    NNKI_TRY(nnki_check_tensor(fn, "dx", dx, dx_len, true, NNKI_DIMS(x_len)));

    const int64_t blocks = elementwise_blocks(x_len);
    const int threads = elementwise_threads(blocks);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        int64_t start = b * ELEMENTWISE_GRAIN;
        NNK_FN(relu_backward_run)(x + start, dy + start, dx + start,
                                  nnki_min(ELEMENTWISE_GRAIN, x_len - start));
    }
    return NNK_OK;
}
