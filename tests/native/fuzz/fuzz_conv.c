/*
 * fuzz_conv.c - libFuzzer target for the convolution family: conv2d_output_size,
 * conv2d_workspace_size, im2col, col2im, conv2d_forward and conv2d_backward, in float and
 * double.
 *
 * Input: an op byte (bit 0: double; bits 1-3: the call; bits 4-5: the workspace pass; bits
 * 5-7 all set: a NULL descriptor), the 11 sizes of the descriptor, then each buffer's length
 * choice and values (fuzz.h).
 */
#include "fuzz.h"

/* The least workspace the direct input gradient (direct.c) runs in, or -1 where its rules do
 * not take d: stride 1, 2 to 4 input channels, windows of 25 or more with pads smaller than
 * them, f*kh*kw >= 100, and a padded dy of at most 2^18 elements whose blocks of 4 rows and two
 * 64-byte vectors of columns lie at least four fifths within dx. */
static int64_t direct_dx_minimum(const nnk_conv2d_desc *d, bool f64)
{
    const int64_t limit = INT64_C(1) << 18, width = 2 * 64 / (f64 ? 8 : 4);
    if (d->stride_h != 1 || d->stride_w != 1 || d->c < 2 || d->c > 4 || d->pad_h >= d->kh ||
        d->pad_w >= d->kw || d->f > limit || d->h > limit || d->w > limit || d->kh > limit ||
        d->kw > limit || d->kh * d->kw < 25 || d->f * d->kh * d->kw < 100)
        return -1;
    const int64_t rows = (d->h + 3) / 4 * 4, cols = (d->w + width - 1) / width * width;
    const int64_t image = d->f * (rows + d->kh - 1) * (cols + d->kw - 1);
    if (image > limit || 5 * d->h * d->w < 4 * rows * cols)
        return -1;
    return d->c * d->f * d->kh * d->kw + image;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The least workspace the direct kernels (direct.c) run the forward pass (filter false) or the
 * weight gradient alone (true) in, or -1 where their rules do not take d: c*kh*kw from 100 to
 * 1024, not 1x1, three quarters of the 64-byte vector lanes holding output channels, a padded
 * image of at most 2^16 elements (2^18 for the weight gradient). A fuzz build (clang) takes
 * them whatever the CPU. */
static int64_t direct_minimum(const nnk_conv2d_desc *d, int64_t out_hw, bool f64, bool filter)
{
    const int64_t elem = f64 ? 8 : 4, lanes = 64 / elem;
    int64_t ckk, plane, image;
    if (d->kh * d->kw == 1 || __builtin_mul_overflow(d->c, d->kh * d->kw, &ckk) || ckk < 100 ||
        ckk > 1024 || __builtin_mul_overflow(d->h + 2 * d->pad_h, d->w + 2 * d->pad_w, &plane) ||
        __builtin_mul_overflow(d->c, plane, &image) || image > (filter ? 1 << 18 : 1 << 16))
        return -1;
    const int64_t padded_f = (d->f + lanes - 1) / lanes * lanes;
    if (4 * d->f < 3 * padded_f)
        return -1;
    const int64_t offsets = ((ckk + out_hw) * 4 + elem - 1) / elem;
    const int64_t block = padded_f < 4 * lanes ? padded_f : 4 * lanes;
    return filter ? offsets + padded_f * ckk + image + out_hw * block
                  : padded_f * ckk + offsets + image;
}

/* A lower bound on the workspace the shallow kernels (shallow.c) run in, one image's phase
 * planes, for vectors of vector_bytes; or -1 where their rules do not take d with them: not 1x1,
 * c*kh*kw at most 99, stride_w 1 or 2, sizes and planes up to 2^16, output rows filling three
 * quarters of the vectors' lanes, and for the gradients (grad) rows of whole vectors and f up to
 * 2^16. With a huge pad_w the output rows are long and the image tiny, and the planes hold less
 * than one row of im2col's cols. */
static int64_t shallow_planes(const nnk_conv2d_desc *d, int64_t oh, int64_t ow, bool f64,
                              bool grad, int64_t vector_bytes)
{
    const int64_t limit = INT64_C(1) << 16, lanes = vector_bytes / (f64 ? 8 : 4);
    if (d->c > 99 || d->kh > 99 || d->kw > 99 || d->kh * d->kw == 1 ||
        d->c * d->kh * d->kw > 99 || d->stride_w > 2 || oh > limit || ow > limit ||
        d->stride_h > limit)
        return -1;
    const int64_t chunks = (ow + lanes - 1) / lanes, rows = (oh - 1) * d->stride_h + d->kh;
    int64_t cols = chunks * lanes + (d->kw - 1) / d->stride_w;
    if (d->stride_w == 2)
        cols = (cols + lanes - 1) / lanes * lanes;
    const int64_t share = d->c * d->stride_w * rows * cols + (d->stride_w == 2 ? 4 * cols : 0);
    if (share > limit || 4 * ow < 3 * chunks * lanes || (grad && (ow % lanes != 0 || d->f > limit)))
        return -1;
    return share;
}

/* The least of shallow_planes over the vector widths a CPU may give the kernel (32 or 64
 * bytes), or -1 when neither takes d. */
static int64_t shallow_minimum(const nnk_conv2d_desc *d, int64_t oh, int64_t ow, bool f64,
                               bool grad)
{
    const int64_t v32 = shallow_planes(d, oh, ow, f64, grad, 32);
    const int64_t v64 = shallow_planes(d, oh, ow, f64, grad, 64);
    return v32 < 0 ? v64 : v64 < 0 ? v32 : v32 < v64 ? v32 : v64;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_initialize();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {.data = data, .size = size};
    const uint8_t op = fuzz_byte(&in);
    const bool f64 = op & 1;
    const enum fuzz_type type = f64 ? FUZZ_F64 : FUZZ_F32;
    nnk_conv2d_desc d;
    d.n = fuzz_size(&in);
    d.c = fuzz_size(&in);
    d.h = fuzz_size(&in);
    d.w = fuzz_size(&in);
    d.f = fuzz_size(&in);
    d.kh = fuzz_size(&in);
    d.kw = fuzz_size(&in);
    d.stride_h = fuzz_size(&in);
    d.stride_w = fuzz_size(&in);
    d.pad_h = fuzz_pad(&in);
    d.pad_w = fuzz_pad(&in);
    const nnk_conv2d_desc *desc = (op & 0xE0) == 0xE0 ? NULL : &d;

    int64_t oh = 0, ow = 0;
    const bool valid =
        FUZZ_CALL("conv2d_output_size", nnk_conv2d_output_size(desc, &oh, &ow)) == NNK_OK;
    if (valid && (oh != fuzz_expected_side(d.h, d.pad_h, d.kh, d.stride_h) ||
                  ow != fuzz_expected_side(d.w, d.pad_w, d.kw, d.stride_w) || oh < 1 || ow < 1))
        FUZZ_FAIL("conv2d_output_size gave %lld x %lld", (long long)oh, (long long)ow);

    const int64_t x_want = FUZZ_PRODUCT(d.n, d.c, d.h, d.w);
    const int64_t w_want = FUZZ_PRODUCT(d.f, d.c, d.kh, d.kw);
    const int64_t y_want = valid ? FUZZ_PRODUCT(d.n, d.f, oh, ow) : -1;
    const int64_t cols_want = valid ? FUZZ_PRODUCT(d.n, d.c, d.kh, d.kw, oh, ow) : -1;
    /* The least workspace a kernel can run in: one output row of one image's cols (a large image
     * is processed in bands of output rows, so it may hold less than one image's cols); a 1x1
     * stride-1 unpadded convolution reads x as its cols and needs one token element. */
    const bool pointwise = d.kh == 1 && d.kw == 1 && d.stride_h == 1 && d.stride_w == 1 &&
                           d.pad_h == 0 && d.pad_w == 0;
    const int64_t one_row = !valid ? -1 : pointwise ? 1 : FUZZ_PRODUCT(d.c, d.kh, d.kw, ow);

    const nnk_conv_pass pass = (nnk_conv_pass)((op >> 4) & 3); /* 2 and 3 are invalid */
    int64_t workspace_want = -1;
    nnk_status s = FUZZ_CALL("conv2d_workspace_size",
                             nnk_conv2d_workspace_size(desc, pass, &workspace_want));
    if (s == NNK_OK && (!valid || pass > NNK_CONV_BACKWARD || workspace_want < one_row))
        FUZZ_FAIL("conv2d_workspace_size gave %lld for pass %d", (long long)workspace_want,
                  (int)pass);
    if (s != NNK_OK)
        workspace_want = -1;

    switch ((op >> 1) & 3) {
    case 0: {
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer cols = fuzz_tensor(&in, cols_want, type, 0);
        s = FUZZ_CALL("im2col", f64 ? nnk_im2col_f64(desc, x.p, x.len, cols.p, cols.len)
                                    : nnk_im2col_f32(desc, x.p, x.len, cols.p, cols.len));
        if (s == NNK_OK) {
            FUZZ_EXPECT_LEN("im2col", "x", x, x_want);
            FUZZ_EXPECT_LEN("im2col", "cols", cols, cols_want);
        }
        break;
    }
    case 1: {
        fuzz_buffer cols = fuzz_tensor(&in, cols_want, type, 0);
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        s = FUZZ_CALL("col2im", f64 ? nnk_col2im_f64(desc, cols.p, cols.len, x.p, x.len)
                                    : nnk_col2im_f32(desc, cols.p, cols.len, x.p, x.len));
        if (s == NNK_OK) {
            FUZZ_EXPECT_LEN("col2im", "x", x, x_want);
            FUZZ_EXPECT_LEN("col2im", "cols", cols, cols_want);
        }
        break;
    }
    case 2: {
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer w = fuzz_tensor(&in, w_want, type, 0);
        fuzz_buffer b = fuzz_tensor(&in, d.f, type, 0);
        fuzz_buffer y = fuzz_tensor(&in, y_want, type, 0);
        fuzz_buffer ws = fuzz_tensor(&in, workspace_want, type, 0);
        s = FUZZ_CALL("conv2d_forward",
                      f64 ? nnk_conv2d_forward_f64(desc, x.p, x.len, w.p, w.len, b.p, b.len, y.p,
                                                   y.len, ws.p, ws.len)
                          : nnk_conv2d_forward_f32(desc, x.p, x.len, w.p, w.len, b.p, b.len, y.p,
                                                   y.len, ws.p, ws.len));
        if (s == NNK_OK) {
            FUZZ_EXPECT_LEN("conv2d_forward", "x", x, x_want);
            FUZZ_EXPECT_LEN("conv2d_forward", "w", w, w_want);
            FUZZ_EXPECT_LEN("conv2d_forward", "y", y, y_want);
            if (b.p != NULL)
                FUZZ_EXPECT_LEN("conv2d_forward", "b", b, d.f);
            const int64_t direct = direct_minimum(&d, oh * ow, f64, false);
            const int64_t shallow = shallow_minimum(&d, oh, ow, f64, false);
            if (ws.len < one_row && (direct < 0 || ws.len < direct) &&
                (shallow < 0 || ws.len < shallow))
                FUZZ_FAIL("conv2d_forward succeeded with a workspace of %lld < %lld",
                          (long long)ws.len, (long long)one_row);
        }
        break;
    }
    default: {
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer w = fuzz_tensor(&in, w_want, type, 0);
        fuzz_buffer dy = fuzz_tensor(&in, y_want, type, 0);
        fuzz_buffer dx = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer dw = fuzz_tensor(&in, w_want, type, 0);
        fuzz_buffer db = fuzz_tensor(&in, d.f, type, 0);
        fuzz_buffer ws = fuzz_tensor(&in, workspace_want, type, 0);
        s = FUZZ_CALL("conv2d_backward",
                      f64 ? nnk_conv2d_backward_f64(desc, x.p, x.len, w.p, w.len, dy.p, dy.len,
                                                    dx.p, dx.len, dw.p, dw.len, db.p, db.len,
                                                    ws.p, ws.len)
                          : nnk_conv2d_backward_f32(desc, x.p, x.len, w.p, w.len, dy.p, dy.len,
                                                    dx.p, dx.len, dw.p, dw.len, db.p, db.len,
                                                    ws.p, ws.len));
        if (s == NNK_OK) {
            FUZZ_EXPECT_LEN("conv2d_backward", "dy", dy, y_want);
            if (dx.p != NULL) {
                FUZZ_EXPECT_LEN("conv2d_backward", "dx", dx, x_want);
                FUZZ_EXPECT_LEN("conv2d_backward", "w", w, w_want);
            }
            if (dw.p != NULL) {
                FUZZ_EXPECT_LEN("conv2d_backward", "dw", dw, w_want);
                FUZZ_EXPECT_LEN("conv2d_backward", "x", x, x_want);
            }
            if (db.p != NULL)
                FUZZ_EXPECT_LEN("conv2d_backward", "db", db, d.f);
            /* Each gradient may run on its direct or shallow kernel, in less than one row of
             * cols; the other then needs such a kernel too. */
            const int64_t dw_direct = direct_minimum(&d, oh * ow, f64, true);
            const int64_t dx_direct = direct_dx_minimum(&d, f64);
            const int64_t shallow = shallow_minimum(&d, oh, ow, f64, true);
            const bool shallow_small = shallow >= 0 && ws.len >= shallow;
            const bool dw_small =
                dw.p == NULL || (dw_direct >= 0 && ws.len >= dw_direct) || shallow_small;
            const bool dx_small =
                dx.p == NULL || (dx_direct >= 0 && ws.len >= dx_direct) || shallow_small;
            if ((dx.p != NULL || dw.p != NULL) && ws.len < one_row && !(dw_small && dx_small))
                FUZZ_FAIL("conv2d_backward succeeded with a workspace of %lld < %lld",
                          (long long)ws.len, (long long)one_row);
        }
        break;
    }
    }
    if (s == NNK_OK && !valid)
        FUZZ_FAIL("a kernel succeeded on a descriptor conv2d_output_size rejects");
    fuzz_free_all(&in);
    return 0;
}
