/*
 * test_overflow.c - size products at the limits, through every public function that takes a
 * geometry or sizes:
 *   - products past 32 bits, which fit in int64 and must be compared in full: 641*6700417 is
 *     2^32 + 1, so a product kept in 32 bits would accept a buffer of one element;
 *   - products past 64 bits: NNK_ERROR_OVERFLOW naming the product, never a wrapped length;
 *   - strides and pads near INT64_MAX, valid and giving one output, whose index arithmetic must
 *     not overflow on the way (run under UBSan: scripts/test.sh builds build-asan).
 * The per-family test files check the same errors' messages in more detail on some calls;
 * here every call of each family meets each limit once.
 */
#include "test.h"

/* 641 * 6700417 = 2^32 + 1 = 4294967297 (Euler's factorisation of the fifth Fermat number). */
#define P641 INT64_C(641)
#define P6700417 INT64_C(6700417)
#define WRAPPED "4294967297"

/* ---- Products past 32 bits ---------------------------------------------------------------- */

TEST(Overflow_ConvProductsPast32Bits_AreComparedInFull)
{
    static float dy[641]; /* one output per image: the shapes below need 641 of dy */
    float xf[1] = {0}, wf[1] = {1}, yf[1] = {0}, ws[1] = {0};
    double xd[1] = {0}, cols[1] = {0};
    /* x is n*c*h*w = 641*6700417*1*1. */
    const nnk_conv2d_desc d = {P641, P6700417, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    CHECK_ERROR(nnk_im2col_f64(&d, xd, 1, cols, 1), NNK_ERROR_BUFFER_SIZE, WRAPPED);
    CHECK_ERROR(nnk_col2im_f64(&d, cols, 1, xd, 1), NNK_ERROR_BUFFER_SIZE, WRAPPED);
    CHECK_ERROR(nnk_conv2d_forward_f32(&d, xf, 1, wf, 1, NULL, 0, yf, 1, ws, 1),
                NNK_ERROR_BUFFER_SIZE, WRAPPED);
    CHECK_ERROR(nnk_conv2d_backward_f32(&d, xf, 1, wf, 1, dy, 641, xf, 1, NULL, 0, NULL, 0, ws, 1),
                NNK_ERROR_BUFFER_SIZE, "dx has 1 elements, expected 641*6700417*1*1 = " WRAPPED);
    /* w is f*c*kh*kw = 641*6700417*1*1; dw is checked before x. */
    const nnk_conv2d_desc dw = {1, P6700417, 1, 1, P641, 1, 1, 1, 1, 0, 0};
    CHECK_ERROR(nnk_conv2d_backward_f32(&dw, xf, 1, wf, 1, dy, 641, NULL, 0, wf, 1, NULL, 0, ws, 1),
                NNK_ERROR_BUFFER_SIZE, "dw has 1 elements, expected 641*6700417*1*1 = " WRAPPED);

    /* A thread's cols holds at least one output row, c*kh*kw*out_w = 641*1*1*6700417: here the
     * whole image and the workspace size (stride 2: a 1x1 stride-1 convolution needs no cols). */
    const nnk_conv2d_desc wide = {1, P641, 1, 2 * P6700417 - 1, 1, 1, 1, 1, 2, 0, 0};
    int64_t elements = 0, out_h = 0, out_w = 0;
    CHECK_OK(nnk_conv2d_output_size(&wide, &out_h, &out_w));
    CHECK(out_h == 1 && out_w == P6700417, "out %lldx%lld", (long long)out_h, (long long)out_w);
    CHECK_OK(nnk_set_num_threads(1));
    CHECK_OK(nnk_conv2d_workspace_size(&wide, NNK_CONV_FORWARD, &elements));
    CHECK(elements == (INT64_C(1) << 32) + 1, "workspace %lld, expected " WRAPPED,
          (long long)elements);
    CHECK_ERROR(nnk_col2im_f64(&wide, cols, 1, xd, 1), NNK_ERROR_BUFFER_SIZE,
                "cols has 1 elements, expected 1*641*6700417 = " WRAPPED);
}

TEST(Overflow_PoolProductsPast32Bits_AreComparedInFull)
{
    double x[1] = {0}, y[1] = {0};
    int32_t argmax[1] = {0};
    const nnk_pool2d_desc d = {P641, P6700417, 1, 1, 1, 1, 1, 1, 0, 0};
    CHECK_ERROR(nnk_maxpool2d_forward_f64(&d, x, 1, y, 1, argmax, 1), NNK_ERROR_BUFFER_SIZE,
                WRAPPED);
    CHECK_ERROR(nnk_maxpool2d_backward_f64(&d, y, 1, argmax, 1, x, 1), NNK_ERROR_BUFFER_SIZE,
                WRAPPED);
    CHECK_ERROR(nnk_avgpool2d_forward_f64(&d, x, 1, y, 1), NNK_ERROR_BUFFER_SIZE, WRAPPED);
    CHECK_ERROR(nnk_avgpool2d_backward_f64(&d, y, 1, x, 1), NNK_ERROR_BUFFER_SIZE, WRAPPED);
    /* A plane of 2^32 + 1 elements: too large for max pooling's int32 argmax, fine for
     * average pooling (whose x is then too short). */
    const nnk_pool2d_desc plane = {1, 1, P641, P6700417, 1, 1, 1, 1, 0, 0};
    CHECK_ERROR(nnk_maxpool2d_forward_f64(&plane, x, 1, y, 1, argmax, 1), NNK_ERROR_OVERFLOW,
                "h*w = 641*6700417 = " WRAPPED " exceeds the int32 range of argmax");
    CHECK_ERROR(nnk_avgpool2d_forward_f64(&plane, x, 1, y, 1), NNK_ERROR_BUFFER_SIZE, WRAPPED);
}

TEST(Overflow_NormProductsPast32Bits_AreComparedInFull)
{
    float v[1] = {1};
    const nnk_norm_desc d = {P641, 1, P6700417, 1, 1e-5, 0.9};
    CHECK_ERROR(nnk_batchnorm_forward_f32(&d, NNK_NORM_TRAIN, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1,
                                          v, 1, v, 1),
                NNK_ERROR_BUFFER_SIZE, WRAPPED);
    CHECK_ERROR(nnk_batchnorm_backward_f32(&d, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1),
                NNK_ERROR_BUFFER_SIZE, WRAPPED);
    CHECK_ERROR(nnk_groupnorm_forward_f32(&d, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1),
                NNK_ERROR_BUFFER_SIZE, WRAPPED);
    CHECK_ERROR(nnk_groupnorm_backward_f32(&d, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1),
                NNK_ERROR_BUFFER_SIZE, WRAPPED);
}

TEST(Overflow_DenseProductsPast32Bits_AreComparedInFull)
{
    static double a[641];
    double v[1] = {1}, loss = 0;
    int32_t labels[1] = {0};
    /* a is m*k = 641*6700417 (every dimension within the BLAS's int). */
    CHECK_ERROR(nnk_gemm_f64(0, 0, P641, 1, P6700417, 1, v, 1, v, P6700417, 0, v, P641),
                NNK_ERROR_BUFFER_SIZE, "a has 1 elements, expected 641*6700417 = " WRAPPED);
    /* b is k*n = 641*6700417, a (1, 641) being right. */
    CHECK_ERROR(nnk_gemm_f64(0, 0, 1, P6700417, P641, 1, a, 641, v, 1, 0, v, P6700417),
                NNK_ERROR_BUFFER_SIZE, "b has 1 elements, expected 641*6700417 = " WRAPPED);
    CHECK_ERROR(nnk_softmax_loss_f64(P641, P6700417, v, 1, labels, 1, &loss, v, 1),
                NNK_ERROR_BUFFER_SIZE, WRAPPED);
    CHECK_ERROR(nnk_svm_loss_f64(P641, P6700417, v, 1, labels, 1, &loss, v, 1),
                NNK_ERROR_BUFFER_SIZE, WRAPPED);
}

/* ---- Products past 64 bits ---------------------------------------------------------------- */

/* Every conv2d call on d fails with OVERFLOW and a message containing text. */
static void check_conv_overflow(const nnk_conv2d_desc *d, const char *text)
{
    double v[1] = {0};
    float f[1] = {0};
    int64_t a = 0, b = 0;
    CHECK_ERROR(nnk_conv2d_output_size(d, &a, &b), NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(nnk_conv2d_workspace_size(d, NNK_CONV_BACKWARD, &a), NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(nnk_im2col_f64(d, v, 1, v, 1), NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(nnk_col2im_f32(d, f, 1, f, 1), NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(nnk_conv2d_forward_f64(d, v, 1, v, 1, NULL, 0, v, 1, v, 1), NNK_ERROR_OVERFLOW,
                text);
    CHECK_ERROR(nnk_conv2d_backward_f32(d, f, 1, f, 1, f, 1, f, 1, f, 1, f, 1, f, 1),
                NNK_ERROR_OVERFLOW, text);
}

TEST(Overflow_ConvProductsPast64Bits_AreOverflowErrors)
{
    const int64_t p16 = INT64_C(1) << 16, p20 = INT64_C(1) << 20, p32 = INT64_C(1) << 32;
    /* Each desc has one product past INT64_MAX, the ones checked before it fitting. */
    const nnk_conv2d_desc x = {p16, p16, p16, p16, 1, 1, 1, 1, 1, 0, 0};
    check_conv_overflow(&x, "n*c*h*w = 65536*65536*65536*65536 overflows int64");
    const nnk_conv2d_desc w = {1, p20, 1, 1, INT64_C(1) << 44, 1, 1, 1, 1, 0, 0};
    check_conv_overflow(&w, "f*c*kh*kw = 17592186044416*1048576*1*1 overflows int64");
    const nnk_conv2d_desc y = {p32, 1, 1, 1, p32, 1, 1, 1, 1, 0, 0};
    check_conv_overflow(&y, "n*f*out_h*out_w = 4294967296*4294967296*1*1 overflows int64");
    /* x 2^60, cols 2^20 * 32 * 32 (c*kh*kw) times about 2^40 (out_h*out_w). */
    const nnk_conv2d_desc cols = {1, p20, p20, p20, 1, 32, 32, 1, 1, 0, 0};
    check_conv_overflow(&cols, "n*c*kh*kw*out_h*out_w = 1*1048576*32*32*1048545*1048545");
    /* With one channel every product fits; only the BLAS's int refuses out_h*out_w. */
    const nnk_conv2d_desc plane = {1, 1, p20, p20, 1, 1024, 1024, 1, 1, 0, 0};
    int64_t elements = 0;
    CHECK_ERROR(nnk_conv2d_workspace_size(&plane, NNK_CONV_FORWARD, &elements), NNK_ERROR_OVERFLOW,
                "out_h*out_w = 1097367287809 exceeds the BLAS int limit");
    /* The padded input itself. */
    const nnk_conv2d_desc pad = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, INT64_MAX / 2 + 1};
    check_conv_overflow(&pad, "padded input (h=1, w=1, pad_h=0, pad_w=4611686018427387904)");
}

TEST(Overflow_PoolProductsPast64Bits_AreOverflowErrors)
{
    const int64_t p16 = INT64_C(1) << 16, p32 = INT64_C(1) << 32;
    const struct {
        nnk_pool2d_desc d;
        const char *text;
    } cases[] = {
        {{p16, p16, p16, p16, 1, 1, 1, 1, 0, 0},
         "n*c*h*w = 65536*65536*65536*65536 overflows int64"},
        /* A one-element input padded to a 2^32 x 2^32 output. */
        {{1, 1, 1, 1, p32, p32, 1, 1, p32 - 1, p32 - 1},
         "n*c*out_h*out_w = 1*1*4294967296*4294967296 overflows int64"},
        {{1, 1, 1, 1, p32, p32, p32, p32, p32 - 1, p32 - 1},
         "pool_h*pool_w = 4294967296*4294967296 overflows int64"},
        {{1, 1, 1, 1, 2, INT64_MAX, 1, 1, 0, INT64_MAX / 2 + 1},
         "padded input (h=1, w=1, pad_h=0, pad_w=4611686018427387904) overflows int64"},
    };
    double v[1] = {0};
    int32_t argmax[1] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const nnk_pool2d_desc *d = &cases[i].d;
        const char *text = cases[i].text;
        int64_t a = 0, b = 0;
        CHECK_ERROR(nnk_pool2d_output_size(d, &a, &b), NNK_ERROR_OVERFLOW, text);
        CHECK_ERROR(nnk_maxpool2d_forward_f64(d, v, 1, v, 1, argmax, 1), NNK_ERROR_OVERFLOW, text);
        CHECK_ERROR(nnk_maxpool2d_backward_f64(d, v, 1, argmax, 1, v, 1), NNK_ERROR_OVERFLOW, text);
        CHECK_ERROR(nnk_avgpool2d_forward_f64(d, v, 1, v, 1), NNK_ERROR_OVERFLOW, text);
        CHECK_ERROR(nnk_avgpool2d_backward_f64(d, v, 1, v, 1), NNK_ERROR_OVERFLOW, text);
    }
}

TEST(Overflow_NormAndDenseProductsPast64Bits_AreOverflowErrors)
{
    const int64_t p32 = INT64_C(1) << 32;
    float v[1] = {1}, loss = 0;
    int32_t labels[1] = {0};
    const nnk_norm_desc d = {p32, 2, p32, 2, 1e-5, 0.9};
    const char *text = "n*c*spatial = 4294967296*2*4294967296 overflows int64";
    CHECK_ERROR(nnk_batchnorm_forward_f32(&d, NNK_NORM_TRAIN, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1,
                                          v, 1, v, 1),
                NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(nnk_batchnorm_backward_f32(&d, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1),
                NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(nnk_groupnorm_forward_f32(&d, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1),
                NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(nnk_groupnorm_backward_f32(&d, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1, v, 1),
                NNK_ERROR_OVERFLOW, text);

    /* Products are checked before the BLAS's int limit on each dimension. */
    CHECK_ERROR(nnk_gemm_f32(0, 0, p32, 1, p32, 1, v, 1, v, 1, 0, v, 1), NNK_ERROR_OVERFLOW,
                "m*k = 4294967296*4294967296 overflows int64");
    CHECK_ERROR(nnk_gemm_f32(0, 1, 1, p32, p32, 1, v, 1, v, 1, 0, v, 1), NNK_ERROR_OVERFLOW,
                "n*k = 4294967296*4294967296 overflows int64");
    CHECK_ERROR(nnk_gemm_f32(0, 0, p32, p32, 1, 1, v, 1, v, 1, 0, v, 1), NNK_ERROR_OVERFLOW,
                "m*n = 4294967296*4294967296 overflows int64");
    CHECK_ERROR(nnk_softmax_loss_f32(p32, p32, v, 1, labels, 1, &loss, v, 1), NNK_ERROR_OVERFLOW,
                "n*classes = 4294967296*4294967296 overflows int64");
    CHECK_ERROR(nnk_svm_loss_f32(p32, p32, v, 1, labels, 1, &loss, v, 1), NNK_ERROR_OVERFLOW,
                "n*classes = 4294967296*4294967296 overflows int64");
}

/* ---- Strides near INT64_MAX --------------------------------------------------------------- */

/* Found by fuzz_conv (tests/native/fuzz/conv/regression-*): a stride near INT64_MAX leaves one
 * output column, but working out which output columns read the image used to overflow
 * (w - first + stride - 1). Both geometries are valid; their results are checked. */
TEST(Overflow_ConvStrideNearInt64Max_OneOutputColumn)
{
    /* w = 2, stride_w = INT64_MAX: the one output column reads x[0]. */
    const nnk_conv2d_desc d = {1, 1, 1, 2, 1, 1, 1, 1, INT64_MAX, 0, 0};
    const double x[2] = {3, 5};
    double cols[1] = {0}, back[2] = {-1, -1};
    CHECK_OK(nnk_im2col_f64(&d, x, 2, cols, 1));
    CHECK(cols[0] == 3, "cols %g, expected 3", cols[0]);
    CHECK_OK(nnk_col2im_f64(&d, cols, 1, back, 2));
    CHECK(back[0] == 3 && back[1] == 0, "col2im %g %g, expected 3 0", back[0], back[1]);

    /* n = 2, w = 1, pad_w = 1, stride_w = INT64_MAX - 1: the output column is padding. */
    const nnk_conv2d_desc p = {2, 1, 1, 1, 1, 1, 1, 1, INT64_MAX - 1, 0, 1};
    const float xf[2] = {7, 11}, wf[1] = {2}, bf[1] = {0.5f};
    float yf[2] = {-1, -1}, ws[2] = {0}, dxf[2] = {-1, -1}, dwf[1] = {-1}, dbf[1] = {-1};
    CHECK_OK(nnk_set_num_threads(1));
    CHECK_OK(nnk_conv2d_forward_f32(&p, xf, 2, wf, 1, bf, 1, yf, 2, ws, 2));
    CHECK(yf[0] == 0.5f && yf[1] == 0.5f, "y %g %g, expected the bias alone", yf[0], yf[1]);
    const float dyf[2] = {1, 1};
    CHECK_OK(nnk_conv2d_backward_f32(&p, xf, 2, wf, 1, dyf, 2, dxf, 2, dwf, 1, dbf, 1, ws, 2));
    CHECK(dxf[0] == 0 && dxf[1] == 0 && dwf[0] == 0 && dbf[0] == 2,
          "dx %g %g dw %g db %g, expected 0 0 0 2", dxf[0], dxf[1], dwf[0], dbf[0]);
}
