/*
 * fuzz_pool.c - libFuzzer target for pooling: pool2d_output_size, max pooling forward and
 * backward, average pooling forward and backward, in float and double.
 *
 * Input: an op byte (bit 0: double; bits 1-2: the call; bits 5-7 all set: a NULL descriptor),
 * the 10 sizes of the descriptor, then each buffer's length choice and values (fuzz.h).
 *
 * Besides the checks of fuzz.h: a max pooling forward that succeeds must give each output the
 * value of the input its argmax names (a NaN where that input is NaN), and feeding its argmax
 * to the backward pass must succeed.
 */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_initialize();
    return 0;
}

/* Output o of plane p is input argmax[o] of that plane, bit for bit or both NaN. */
#define CHECK_ARGMAX(T, x, y, argmax, planes, plane, out_plane)                              \
    do {                                                                                     \
        const T *xs = (x).p, *ys = (y).p;                                                    \
        const int32_t *at = (argmax).p;                                                      \
        for (int64_t p = 0; p < (planes); p++)                                               \
            for (int64_t o = 0; o < (out_plane); o++) {                                      \
                int32_t i = at[p * (out_plane) + o];                                         \
                if (i < 0 || i >= (plane))                                                   \
                    FUZZ_FAIL("argmax[%lld] = %d outside a plane of %lld",                    \
                              (long long)(p * (out_plane) + o), i, (long long)(plane));      \
                T chosen = xs[p * (plane) + i], got = ys[p * (out_plane) + o];               \
                if (!(isnan(chosen) ? isnan(got) : memcmp(&chosen, &got, sizeof got) == 0))  \
                    FUZZ_FAIL("y[%lld] = %g but x at its argmax is %g",                      \
                              (long long)(p * (out_plane) + o), (double)got, (double)chosen); \
            }                                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {.data = data, .size = size};
    const uint8_t op = fuzz_byte(&in);
    const bool f64 = op & 1;
    const enum fuzz_type type = f64 ? FUZZ_F64 : FUZZ_F32;
    nnk_pool2d_desc d;
    d.n = fuzz_size(&in);
    d.c = fuzz_size(&in);
    d.h = fuzz_size(&in);
    d.w = fuzz_size(&in);
    d.pool_h = fuzz_size(&in);
    d.pool_w = fuzz_size(&in);
    d.stride_h = fuzz_size(&in);
    d.stride_w = fuzz_size(&in);
    d.pad_h = fuzz_pad(&in);
    d.pad_w = fuzz_pad(&in);
    const nnk_pool2d_desc *desc = (op & 0xE0) == 0xE0 ? NULL : &d;

    int64_t oh = 0, ow = 0;
    const bool valid =
        FUZZ_CALL("pool2d_output_size", nnk_pool2d_output_size(desc, &oh, &ow)) == NNK_OK;
    if (valid && (oh != fuzz_expected_side(d.h, d.pad_h, d.pool_h, d.stride_h) ||
                  ow != fuzz_expected_side(d.w, d.pad_w, d.pool_w, d.stride_w) || oh < 1 || ow < 1))
        FUZZ_FAIL("pool2d_output_size gave %lld x %lld", (long long)oh, (long long)ow);

    const int64_t x_want = FUZZ_PRODUCT(d.n, d.c, d.h, d.w);
    const int64_t y_want = valid ? FUZZ_PRODUCT(d.n, d.c, oh, ow) : -1;
    nnk_status s;
    switch ((op >> 1) & 3) {
    case 0: {
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer y = fuzz_tensor(&in, y_want, type, 0);
        fuzz_buffer argmax = fuzz_tensor(&in, y_want, FUZZ_I32, 0);
        s = FUZZ_CALL("maxpool2d_forward",
                      f64 ? nnk_maxpool2d_forward_f64(desc, x.p, x.len, y.p, y.len, argmax.p,
                                                      argmax.len)
                          : nnk_maxpool2d_forward_f32(desc, x.p, x.len, y.p, y.len, argmax.p,
                                                      argmax.len));
        if (s != NNK_OK)
            break;
        FUZZ_EXPECT_LEN("maxpool2d_forward", "x", x, x_want);
        FUZZ_EXPECT_LEN("maxpool2d_forward", "y", y, y_want);
        FUZZ_EXPECT_LEN("maxpool2d_forward", "argmax", argmax, y_want);
        const int64_t planes = d.n * d.c, plane = d.h * d.w, out_plane = oh * ow;
        if (f64)
            CHECK_ARGMAX(double, x, y, argmax, planes, plane, out_plane);
        else
            CHECK_ARGMAX(float, x, y, argmax, planes, plane, out_plane);
        /* The gradient of y, routed back through that argmax. */
        s = FUZZ_CALL("maxpool2d_backward",
                      f64 ? nnk_maxpool2d_backward_f64(desc, y.p, y.len, argmax.p, argmax.len,
                                                       x.p, x.len)
                          : nnk_maxpool2d_backward_f32(desc, y.p, y.len, argmax.p, argmax.len,
                                                       x.p, x.len));
        if (s != NNK_OK)
            FUZZ_FAIL("maxpool2d_backward refused the argmax of a forward pass: %s",
                      nnk_last_error());
        break;
    }
    case 1: {
        fuzz_buffer dy = fuzz_tensor(&in, y_want, type, 0);
        /* Indices: in range when the plane is small enough for the labels' generator. */
        const int64_t plane = valid ? d.h * d.w : 1;
        fuzz_buffer argmax = fuzz_tensor(&in, y_want, FUZZ_I32, plane);
        fuzz_buffer dx = fuzz_tensor(&in, x_want, type, 0);
        s = FUZZ_CALL("maxpool2d_backward",
                      f64 ? nnk_maxpool2d_backward_f64(desc, dy.p, dy.len, argmax.p, argmax.len,
                                                       dx.p, dx.len)
                          : nnk_maxpool2d_backward_f32(desc, dy.p, dy.len, argmax.p, argmax.len,
                                                       dx.p, dx.len));
        if (s == NNK_OK) {
            FUZZ_EXPECT_LEN("maxpool2d_backward", "dy", dy, y_want);
            FUZZ_EXPECT_LEN("maxpool2d_backward", "argmax", argmax, y_want);
            FUZZ_EXPECT_LEN("maxpool2d_backward", "dx", dx, x_want);
        }
        break;
    }
    case 2: {
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer y = fuzz_tensor(&in, y_want, type, 0);
        s = FUZZ_CALL("avgpool2d_forward",
                      f64 ? nnk_avgpool2d_forward_f64(desc, x.p, x.len, y.p, y.len)
                          : nnk_avgpool2d_forward_f32(desc, x.p, x.len, y.p, y.len));
        if (s == NNK_OK) {
            FUZZ_EXPECT_LEN("avgpool2d_forward", "x", x, x_want);
            FUZZ_EXPECT_LEN("avgpool2d_forward", "y", y, y_want);
        }
        break;
    }
    default: {
        fuzz_buffer dy = fuzz_tensor(&in, y_want, type, 0);
        fuzz_buffer dx = fuzz_tensor(&in, x_want, type, 0);
        s = FUZZ_CALL("avgpool2d_backward",
                      f64 ? nnk_avgpool2d_backward_f64(desc, dy.p, dy.len, dx.p, dx.len)
                          : nnk_avgpool2d_backward_f32(desc, dy.p, dy.len, dx.p, dx.len));
        if (s == NNK_OK) {
            FUZZ_EXPECT_LEN("avgpool2d_backward", "dy", dy, y_want);
            FUZZ_EXPECT_LEN("avgpool2d_backward", "dx", dx, x_want);
        }
        break;
    }
    }
    if (s == NNK_OK && !valid)
        FUZZ_FAIL("a kernel succeeded on a descriptor pool2d_output_size rejects");
    fuzz_free_all(&in);
    return 0;
}
