/*
 * test_nan.c - what NaN and infinities do in every kernel family (the rules README.md lists):
 * they propagate as IEEE arithmetic does, through exactly the outputs whose inputs hold them;
 * max pooling takes NaN as the maximum (test_pool.c checks its tie and NaN rules in detail);
 * a normalisation set holding a NaN or an infinity has a NaN variance (and a NaN or infinite
 * mean), so every output of that set is NaN.
 */
#include "test.h"

static bool is_pos_inf(double v) { return isinf(v) && v > 0; }

/* ---- im2col, col2im, convolution ---------------------------------------------------------- */

TEST(Nan_Im2colCopiesSpecials_PaddingIsPlusZero)
{
    /* x (1,1,2,3), 2x2 kernel, pad 1: every element reaches cols, and so does padding. */
    const nnk_conv2d_desc d = {1, 1, 2, 3, 1, 2, 2, 1, 1, 1, 1};
    const double x[6] = {NAN, -INFINITY, INFINITY, -0.0, 0x1p-1074, 5};
    double cols[1 * 4 * 3 * 4];
    CHECK_OK(nnk_im2col_f64(&d, x, 6, cols, 48));
    int nans = 0, pos_inf = 0, neg_inf = 0, neg_zero = 0, denormal = 0, pos_zero = 0;
    for (int i = 0; i < 48; i++) {
        nans += isnan(cols[i]);
        pos_inf += is_pos_inf(cols[i]);
        neg_inf += isinf(cols[i]) && cols[i] < 0;
        neg_zero += cols[i] == 0 && signbit(cols[i]);
        pos_zero += cols[i] == 0 && !signbit(cols[i]);
        denormal += cols[i] == 0x1p-1074;
    }
    /* Each input lands in all 4 taps; the 48 - 24 other entries are padding, +0. */
    CHECK(nans == 4 && pos_inf == 4 && neg_inf == 4 && neg_zero == 4 && denormal == 4,
          "counts nan %d +inf %d -inf %d -0 %d denormal %d", nans, pos_inf, neg_inf, neg_zero,
          denormal);
    CHECK(pos_zero == 24, "%d entries are +0, expected 24 of padding", pos_zero);
}

TEST(Nan_Col2imSumsAsIeee_InfinitiesOfBothSignsGiveNan)
{
    /* x (1,1,1,3), 1x2 kernel: pixel 1 receives tap 1 of output 0 and tap 0 of output 1. */
    const nnk_conv2d_desc d = {1, 1, 1, 3, 1, 1, 2, 1, 1, 0, 0};
    const double cols[4] = {1, -INFINITY, /* tap 0 */ INFINITY, 2 /* tap 1 */};
    double x[3];
    CHECK_OK(nnk_col2im_f64(&d, cols, 4, x, 3));
    CHECK(x[0] == 1 && isnan(x[1]) && x[2] == 2, "x %g %g %g, expected 1 nan 2", x[0], x[1],
          x[2]);
}

/* x (1,1,5,5), one 3x3 filter of ones, no padding: output (i, j) sums x[i..i+2][j..j+2]. */
static const nnk_conv2d_desc conv5 = {1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0};

TEST(Nan_ConvForward_SpecialsReachExactlyTheOutputsOverThem)
{
    double x[25], w[9], y[9], ws[81];
    float xf[25], wf[9], yf[9], wsf[81];
    for (int i = 0; i < 25; i++)
        x[i] = i % 3;
    x[0] = NAN;               /* (0,0): in output (0,0) only */
    x[2 * 5 + 4] = INFINITY;  /* (2,4): outputs with ox = 2 */
    x[3 * 5 + 0] = -INFINITY; /* (3,0): outputs (1,0) and (2,0) */
    x[4 * 5 + 2] = -INFINITY; /* (4,2): outputs with oy = 2, so (2,2) holds both infinities */
    for (int i = 0; i < 25; i++)
        xf[i] = (float)x[i];
    for (int i = 0; i < 9; i++)
        w[i] = 1, wf[i] = 1;
    CHECK_OK(nnk_set_num_threads(1));
    CHECK_OK(nnk_conv2d_forward_f64(&conv5, x, 25, w, 9, NULL, 0, y, 9, ws, 81));
    CHECK_OK(nnk_conv2d_forward_f32(&conv5, xf, 25, wf, 9, NULL, 0, yf, 9, wsf, 81));
    for (int o = 0; o < 9; o++) {
        const int oy = o / 3, ox = o % 3;
        const bool neg = (ox == 0 && oy >= 1) || oy == 2, pos = ox == 2;
        for (int t = 0; t < 2; t++) {
            const double v = t ? yf[o] : y[o];
            if (o == 0 || (neg && pos))
                CHECK(isnan(v), "y[%d] = %g, expected NaN (float: %d)", o, v, t);
            else if (neg)
                CHECK(isinf(v) && v < 0, "y[%d] = %g, expected -inf (float: %d)", o, v, t);
            else if (pos)
                CHECK(is_pos_inf(v), "y[%d] = %g, expected +inf (float: %d)", o, v, t);
            else
                CHECK(isfinite(v), "y[%d] = %g, expected finite (float: %d)", o, v, t);
        }
    }
}

/* Padding enters the product as zeros, so an infinite weight over padding gives 0*inf = NaN,
 * as it would for an explicitly zero-padded input. */
TEST(Nan_ConvForward_InfiniteWeightOverPaddingIsNan)
{
    const nnk_conv2d_desc d = {1, 1, 1, 1, 1, 1, 3, 1, 1, 0, 1}; /* 1x3 kernel, pad_w 1 */
    const double x[1] = {2}, w[3] = {INFINITY, 1, 1};
    double y[1], ws[3];
    CHECK_OK(nnk_conv2d_forward_f64(&d, x, 1, w, 3, NULL, 0, y, 1, ws, 3));
    CHECK(isnan(y[0]), "y %g, expected NaN (0 * inf from the padded tap)", y[0]);
    const double w_finite[3] = {1, INFINITY, 1};
    CHECK_OK(nnk_conv2d_forward_f64(&d, x, 1, w_finite, 3, NULL, 0, y, 1, ws, 3));
    CHECK(is_pos_inf(y[0]), "y %g, expected +inf (the infinite weight is over x)", y[0]);
}

TEST(Nan_ConvBackward_NanGradientReachesItsWindowAndItsFilter)
{
    /* Two filters; a NaN in filter 0's gradient at output (0,0). */
    const nnk_conv2d_desc d = {1, 1, 5, 5, 2, 3, 3, 1, 1, 0, 0};
    double x[25], w[18], dy[18], dx[25], dw[18], db[2], ws[81 + 18];
    for (int i = 0; i < 25; i++)
        x[i] = 0.5 * (i % 4);
    for (int i = 0; i < 18; i++)
        w[i] = 1, dy[i] = 1;
    dy[0] = NAN;
    CHECK_OK(nnk_set_num_threads(1));
    CHECK_OK(nnk_conv2d_backward_f64(&d, x, 25, w, 18, dy, 18, dx, 25, dw, 18, db, 2, ws, 99));
    CHECK(isnan(db[0]) && db[1] == 9, "db %g %g, expected nan 9", db[0], db[1]);
    for (int i = 0; i < 9; i++) {
        CHECK(isnan(dw[i]), "dw[%d] = %g, expected NaN (filter 0)", i, dw[i]);
        CHECK(isfinite(dw[9 + i]), "dw[%d] = %g, expected finite (filter 1)", 9 + i, dw[9 + i]);
    }
    for (int i = 0; i < 25; i++) {
        const bool in_window = i / 5 < 3 && i % 5 < 3;
        CHECK(in_window ? isnan(dx[i]) : isfinite(dx[i]), "dx[%d] = %g", i, dx[i]);
    }
}

/* The same rules on a geometry the direct kernels take (c*kh*kw = 108, f = 13, no Winograd:
 * c < 16), where vector lanes past f (13 of 16) and, in float, a block of pixels past the image
 * (36 = 24 + 12) are computed but dropped: a NaN in x reaches exactly the outputs over it, in
 * its own image; a NaN in dy reaches its filter's dw (every tap, padding included: 0 * NaN)
 * and the dx under its window, in its own image. */
enum { DN_XL = 2 * 12 * 36, DN_WL = 13 * 108, DN_YL = 2 * 13 * 36 };

static void direct_nan_case(bool f32, double *y, double *dx, double *dw)
{
    const nnk_conv2d_desc d = {2, 12, 6, 6, 13, 3, 3, 1, 1, 1, 1};
    static double x[DN_XL], w[DN_WL], dy[DN_YL];
    for (int i = 0; i < DN_XL; i++)
        x[i] = 0.25 * (i % 7) - 0.5;
    for (int i = 0; i < DN_WL; i++)
        w[i] = 0.125 * (i % 5) - 0.25;
    for (int i = 0; i < DN_YL; i++)
        dy[i] = 0.5 * (i % 3) - 0.5;
    x[(0 * 12 + 3) * 36 + 2 * 6 + 2] = NAN; /* image 0, channel 3, (2, 2) */
    dy[(1 * 13 + 5) * 36 + 0] = NAN;       /* image 1, filter 5, output (0, 0) */
    CHECK_OK(nnk_set_num_threads(1));
    int64_t fl, bl;
    CHECK_OK(nnk_conv2d_workspace_size(&d, NNK_CONV_FORWARD, &fl));
    CHECK_OK(nnk_conv2d_workspace_size(&d, NNK_CONV_BACKWARD, &bl));
    const int64_t len = fl > bl ? fl : bl;
    if (!f32) {
        double *ws = malloc((size_t)len * sizeof *ws);
        CHECK_OK(nnk_conv2d_forward_f64(&d, x, DN_XL, w, DN_WL, NULL, 0, y, DN_YL, ws, fl));
        x[(0 * 12 + 3) * 36 + 2 * 6 + 2] = 1;
        CHECK_OK(nnk_conv2d_backward_f64(&d, x, DN_XL, w, DN_WL, dy, DN_YL, dx, DN_XL, dw, DN_WL,
                                         NULL, 0, ws, bl));
        free(ws);
        return;
    }
    static float xf[DN_XL], wf[DN_WL], dyf[DN_YL], yf[DN_YL], dxf[DN_XL], dwf[DN_WL];
    for (int i = 0; i < DN_XL; i++)
        xf[i] = (float)x[i];
    for (int i = 0; i < DN_WL; i++)
        wf[i] = (float)w[i];
    for (int i = 0; i < DN_YL; i++)
        dyf[i] = (float)dy[i];
    float *ws = malloc((size_t)len * sizeof *ws);
    CHECK_OK(nnk_conv2d_forward_f32(&d, xf, DN_XL, wf, DN_WL, NULL, 0, yf, DN_YL, ws, fl));
    xf[(0 * 12 + 3) * 36 + 2 * 6 + 2] = 1;
    CHECK_OK(nnk_conv2d_backward_f32(&d, xf, DN_XL, wf, DN_WL, dyf, DN_YL, dxf, DN_XL, dwf, DN_WL,
                                     NULL, 0, ws, bl));
    free(ws);
    for (int i = 0; i < DN_YL; i++)
        y[i] = yf[i];
    for (int i = 0; i < DN_XL; i++)
        dx[i] = dxf[i];
    for (int i = 0; i < DN_WL; i++)
        dw[i] = dwf[i];
}

TEST(Nan_DirectConv_SpecialsReachExactlyTheirOutputsAndGradients)
{
    static double y[DN_YL], dx[DN_XL], dw[DN_WL];
    for (int t = 0; t < 2; t++) {
        direct_nan_case(t == 1, y, dx, dw);
        for (int i = 0; i < DN_YL; i++) {
            const int image = i / (13 * 36), oy = i % 36 / 6, ox = i % 6;
            const bool over = image == 0 && oy >= 1 && oy <= 3 && ox >= 1 && ox <= 3;
            CHECK(over ? isnan(y[i]) : isfinite(y[i]), "y[%d] = %g (float: %d)", i, y[i], t);
        }
        for (int i = 0; i < DN_WL; i++)
            CHECK(i / 108 == 5 ? isnan(dw[i]) : isfinite(dw[i]), "dw[%d] = %g (float: %d)", i,
                  dw[i], t);
        for (int i = 0; i < DN_XL; i++) {
            const int image = i / (12 * 36), iy = i % 36 / 6, ix = i % 6;
            const bool under = image == 1 && iy <= 1 && ix <= 1;
            CHECK(under ? isnan(dx[i]) : isfinite(dx[i]), "dx[%d] = %g (float: %d)", i, dx[i],
                  t);
        }
    }
}

/* The shallow forward pass and input gradient (shallow.c: conv_seed's shape, stride 2, pad 1,
 * vectors along output rows over phase planes): NaN at an interior position and +inf on the
 * right edge of x reach exactly the outputs whose 3x3 windows hold them (positive weights keep
 * +inf), and NaN in dy exactly the inputs under its window, in float and double; the vectors'
 * lanes past a row and the padding carry nothing anywhere else. */
TEST(Nan_ShallowConv_SpecialsReachExactlyTheOutputsOverThem)
{
    const nnk_conv2d_desc d = {2, 3, 31, 31, 25, 3, 3, 2, 2, 1, 1};
    enum { XL = 2 * 3 * 31 * 31, WL = 25 * 27, YL = 2 * 25 * 16 * 16 };
    static double x[XL], w[WL], b[25], y[YL], dy[YL], dx[XL];
    static float xf[XL], wf[WL], bf[25], yf[YL], dyf[YL], dxf[XL];
    for (int i = 0; i < XL; i++)
        x[i] = 0.25 * (i % 9) - 1;
    for (int i = 0; i < WL; i++)
        w[i] = 0.05 + 0.01 * (i % 7);
    for (int i = 0; i < 25; i++)
        b[i] = 0.5 - 0.125 * (i % 4);
    x[(1 * 3 + 2) * 961 + 10 * 31 + 7] = NAN;     /* image 1, channel 2, (10, 7) */
    x[(0 * 3 + 0) * 961 + 4 * 31 + 30] = INFINITY; /* image 0, channel 0, (4, 30) */
    for (int i = 0; i < XL; i++)
        xf[i] = (float)x[i];
    for (int i = 0; i < WL; i++)
        wf[i] = (float)w[i];
    for (int i = 0; i < 25; i++)
        bf[i] = (float)b[i];
    for (int i = 0; i < YL; i++)
        dyf[i] = (float)(dy[i] = 0.5 * (i % 3) - 0.5);
    dyf[(1 * 25 + 7) * 256 + 5 * 16 + 15] = (float)(dy[(1 * 25 + 7) * 256 + 5 * 16 + 15] = NAN);
    CHECK_OK(nnk_set_num_threads(1));
    int64_t fl, bl;
    CHECK_OK(nnk_conv2d_workspace_size(&d, NNK_CONV_FORWARD, &fl));
    CHECK_OK(nnk_conv2d_workspace_size(&d, NNK_CONV_BACKWARD, &bl));
    const int64_t len = fl > bl ? fl : bl;
    double *ws = malloc((size_t)len * sizeof *ws);
    CHECK_OK(nnk_conv2d_forward_f64(&d, x, XL, w, WL, b, 25, y, YL, ws, len));
    CHECK_OK(nnk_conv2d_forward_f32(&d, xf, XL, wf, WL, bf, 25, yf, YL, (float *)ws, len));
    CHECK_OK(nnk_conv2d_backward_f64(&d, NULL, 0, w, WL, dy, YL, dx, XL, NULL, 0, NULL, 0, ws,
                                     len));
    CHECK_OK(nnk_conv2d_backward_f32(&d, NULL, 0, wf, WL, dyf, YL, dxf, XL, NULL, 0, NULL, 0,
                                     (float *)ws, len));
    free(ws);
    /* dy's NaN (image 1, channel 7, output (5, 15)) reaches rows 9-11 and columns 29-30. */
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < XL; i++) {
            const double v = t == 0 ? dx[i] : dxf[i];
            const int image = i / (3 * 961), iy = i % 961 / 31, ix = i % 31;
            const bool nan = image == 1 && iy >= 9 && iy <= 11 && ix >= 29;
            CHECK(nan ? isnan(v) : isfinite(v), "dx[%d] = %g (float: %d)", i, v, t);
        }
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < YL; i++) {
            const double v = t == 0 ? y[i] : yf[i];
            const int image = i / (25 * 256), oy = i % 256 / 16, ox = i % 16;
            /* Output (oy, ox) reads rows 2oy-1 .. 2oy+1 and columns 2ox-1 .. 2ox+1. */
            const bool nan = image == 1 && 2 * oy - 1 <= 10 && 10 <= 2 * oy + 1 &&
                             2 * ox - 1 <= 7 && 7 <= 2 * ox + 1;
            const bool inf = image == 0 && 2 * oy - 1 <= 4 && 4 <= 2 * oy + 1 && ox == 15;
            CHECK(nan ? isnan(v) : inf ? is_pos_inf(v) : isfinite(v), "y[%d] = %g (float: %d)", i,
                  v, t);
        }
}

/* The batched input gradient (batched.c: 48 images as the lanes of vectors, 16 more lanes of
 * padding in float's block of 64): NaN in dy of image 17 (mid-vector) and of image 47 (the last,
 * next to the padding lanes) reaches exactly those images' dx under its window, every input
 * channel, in float and double; no other image, position or lane carries it. */
TEST(Nan_BatchedConvDx_StaysInItsImageAndWindow)
{
    const nnk_conv2d_desc d = {48, 4, 6, 6, 4, 5, 5, 1, 1, 0, 0};
    enum { XL = 48 * 4 * 36, WL = 4 * 4 * 25, YL = 48 * 4 * 4 };
    static double w[WL], dy[YL], dx[XL];
    static float wf[WL], dyf[YL], dxf[XL];
    for (int i = 0; i < WL; i++)
        wf[i] = (float)(w[i] = 0.05 + 0.01 * (i % 7));
    for (int i = 0; i < YL; i++)
        dy[i] = 0.5 * (i % 3) - 0.5;
    dy[(17 * 4 + 2) * 4 + 1 * 2 + 0] = NAN; /* image 17, channel 2, output (1, 0) */
    dy[(47 * 4 + 0) * 4 + 0 * 2 + 1] = NAN; /* image 47, channel 0, output (0, 1) */
    for (int i = 0; i < YL; i++)
        dyf[i] = (float)dy[i];
    CHECK_OK(nnk_set_num_threads(2));
    int64_t len;
    CHECK_OK(nnk_conv2d_workspace_size(&d, NNK_CONV_BACKWARD, &len));
    double *ws = malloc((size_t)len * sizeof *ws);
    CHECK_OK(nnk_conv2d_backward_f64(&d, NULL, 0, w, WL, dy, YL, dx, XL, NULL, 0, NULL, 0, ws,
                                     len));
    CHECK_OK(nnk_conv2d_backward_f32(&d, NULL, 0, wf, WL, dyf, YL, dxf, XL, NULL, 0, NULL, 0,
                                     (float *)ws, len));
    free(ws);
    CHECK_OK(nnk_set_num_threads(1));
    /* Output (oy, ox) reaches input rows oy..oy+4 and columns ox..ox+4. */
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < XL; i++) {
            const double v = t == 0 ? dx[i] : dxf[i];
            const int image = i / (4 * 36), iy = i % 36 / 6, ix = i % 6;
            const bool nan = (image == 17 && iy >= 1 && ix <= 4) ||
                             (image == 47 && iy <= 4 && ix >= 1);
            CHECK(nan ? isnan(v) : isfinite(v), "dx[%d] = %g (float: %d)", i, v, t);
        }
}

/* Winograd (3x3, stride 1, 16 channels each way) adds and subtracts each 4x4 input patch in its
 * transforms: an infinity in x still reaches exactly the outputs whose windows hold it, but may
 * arrive there as NaN (inf - inf), as the README says. Every position of a 7x7 plane (corners,
 * edges, both parities within a 2x2 tile) takes +inf, -inf and NaN in turn. */
TEST(Nan_Winograd_SpecialsReachExactlyTheOutputsOverThem)
{
    const nnk_conv2d_desc d = {1, 16, 7, 7, 16, 3, 3, 1, 1, 1, 1};
    enum { XL = 16 * 49, WL = 16 * 16 * 9, YL = 16 * 49 };
    static double x[XL], w[WL], y[YL];
    static float xf[XL], wf[WL], yf[YL];
    for (int i = 0; i < WL; i++)
        wf[i] = (float)(w[i] = 0.5 + 0.01 * (i % 7));
    CHECK_OK(nnk_set_num_threads(1));
    int64_t len;
    CHECK_OK(nnk_conv2d_workspace_size(&d, NNK_CONV_FORWARD, &len));
    double *ws = malloc((size_t)len * sizeof *ws);
    const double specials[] = {INFINITY, -INFINITY, NAN};
    for (int k = 0; k < 3; k++)
        for (int at = 0; at < 49; at++) {
            for (int i = 0; i < XL; i++)
                xf[i] = (float)(x[i] = 0.1 * (i % 5));
            xf[3 * 49 + at] = (float)(x[3 * 49 + at] = specials[k]); /* channel 3 */
            CHECK_OK(nnk_conv2d_forward_f64(&d, x, XL, w, WL, NULL, 0, y, YL, ws, len));
            CHECK_OK(nnk_conv2d_forward_f32(&d, xf, XL, wf, WL, NULL, 0, yf, YL, (float *)ws, len));
            for (int i = 0; i < YL; i++) {
                const int dy = i % 49 / 7 - at / 7, dx = i % 7 - at % 7;
                const bool over = dy >= -1 && dy <= 1 && dx >= -1 && dx <= 1;
                CHECK(over ? !isfinite(y[i]) : isfinite(y[i]), "special %d at %d: y[%d] = %g", k,
                      at, i, y[i]);
                CHECK(over ? !isfinite(yf[i]) : isfinite(yf[i]),
                      "special %d at %d: y[%d] = %g (float)", k, at, i, yf[i]);
            }
        }
    free(ws);
}

/* The direct dx (c = 3, 5x5 windows, stride 1): its blocks of 4 rows and 32 (float) or 16
 * (double) columns run past dx's 7 x 30, over dy's zero padding. A NaN in dy at the last output
 * row and column reaches exactly the dx under its window, in its own image and every channel,
 * and nothing of the rows and columns computed past the edge leaks in. */
enum { DD_XL = 2 * 3 * 7 * 30, DD_WL = 4 * 3 * 25, DD_YL = 2 * 4 * 7 * 30 };

TEST(Nan_DirectDx_NanInDyReachesExactlyItsWindow)
{
    const nnk_conv2d_desc d = {2, 3, 7, 30, 4, 5, 5, 1, 1, 2, 2};
    static double w[DD_WL], dy[DD_YL], dx[DD_XL];
    static float wf[DD_WL], dyf[DD_YL], dxf[DD_XL];
    for (int i = 0; i < DD_WL; i++)
        wf[i] = (float)(w[i] = 0.125 * (i % 5) - 0.25);
    for (int i = 0; i < DD_YL; i++)
        dyf[i] = (float)(dy[i] = 0.5 * (i % 3) - 0.5);
    dyf[((1 * 4 + 2) * 7 + 6) * 30 + 29] = (float)(dy[((1 * 4 + 2) * 7 + 6) * 30 + 29] = NAN);
    CHECK_OK(nnk_set_num_threads(1));
    int64_t len;
    CHECK_OK(nnk_conv2d_workspace_size(&d, NNK_CONV_BACKWARD, &len));
    double *ws = malloc((size_t)len * sizeof *ws);
    CHECK_OK(nnk_conv2d_backward_f64(&d, NULL, 0, w, DD_WL, dy, DD_YL, dx, DD_XL, NULL, 0, NULL,
                                     0, ws, len));
    CHECK_OK(nnk_conv2d_backward_f32(&d, NULL, 0, wf, DD_WL, dyf, DD_YL, dxf, DD_XL, NULL, 0,
                                     NULL, 0, (float *)ws, len));
    free(ws);
    for (int i = 0; i < DD_XL; i++) {
        const int image = i / (3 * 210), iy = i % 210 / 30, ix = i % 30;
        const bool under = image == 1 && iy >= 4 && ix >= 27;
        CHECK(under ? isnan(dx[i]) : isfinite(dx[i]), "dx[%d] = %g (double)", i, dx[i]);
        CHECK(under ? isnan(dxf[i]) : isfinite(dxf[i]), "dx[%d] = %g (float)", i, dxf[i]);
    }
}

/* ---- Pooling ------------------------------------------------------------------------------ */

TEST(Nan_AvgPool_SpecialsReachTheirWindowsOnly)
{
    /* x (1,1,4,4), 2x2 windows, stride 2: four outputs, each over its own 2x2 block. */
    const nnk_pool2d_desc d = {1, 1, 4, 4, 2, 2, 2, 2, 0, 0};
    double x[16], y[4], dy[4] = {1, NAN, 1, INFINITY}, dx[16];
    for (int i = 0; i < 16; i++)
        x[i] = i;
    x[0] = NAN;                           /* block 0 */
    x[2] = INFINITY, x[7] = -INFINITY;    /* block 1: +inf and -inf */
    x[10] = -INFINITY;                    /* block 3 */
    CHECK_OK(nnk_avgpool2d_forward_f64(&d, x, 16, y, 4));
    CHECK(isnan(y[0]) && isnan(y[1]) && y[2] == (8 + 9 + 12 + 13) / 4.0 && isinf(y[3]) &&
              y[3] < 0,
          "y %g %g %g %g, expected nan nan 10.5 -inf", y[0], y[1], y[2], y[3]);
    CHECK_OK(nnk_avgpool2d_backward_f64(&d, dy, 4, dx, 16));
    for (int i = 0; i < 16; i++) {
        const int block = (i / 8) * 2 + (i % 4) / 2;
        if (block == 1)
            CHECK(isnan(dx[i]), "dx[%d] = %g, expected NaN", i, dx[i]);
        else if (block == 3)
            CHECK(is_pos_inf(dx[i]), "dx[%d] = %g, expected +inf", i, dx[i]);
        else
            CHECK(dx[i] == 0.25, "dx[%d] = %g, expected 0.25", i, dx[i]);
    }
}

TEST(Nan_MaxPoolBackward_NanGradientGoesToItsArgmax)
{
    const nnk_pool2d_desc d = {1, 1, 2, 4, 2, 2, 2, 2, 0, 0};
    const float x[8] = {1, NAN, 3, 4, 5, 6, -INFINITY, 2};
    float y[2], dx[8];
    const float dy[2] = {NAN, INFINITY};
    int32_t argmax[2];
    CHECK_OK(nnk_maxpool2d_forward_f32(&d, x, 8, y, 2, argmax, 2));
    CHECK(isnan(y[0]) && argmax[0] == 1 && y[1] == 4 && argmax[1] == 3,
          "y %g@%d %g@%d, expected nan@1 4@3", y[0], (int)argmax[0], y[1], (int)argmax[1]);
    CHECK_OK(nnk_maxpool2d_backward_f32(&d, dy, 2, argmax, 2, dx, 8));
    for (int i = 0; i < 8; i++)
        CHECK(i == 1 ? isnan(dx[i]) : i == 3 ? is_pos_inf(dx[i]) : dx[i] == 0, "dx[%d] = %g", i,
              dx[i]);
}

/* ---- Normalisation ------------------------------------------------------------------------ */

/* Batch norm over x (n=4, c=3, spatial) with a special value in channel 1 of sample 2, in
 * float and double: channel 1's outputs are all NaN, and so are its statistics, except that
 * with an infinity the mean is that infinity (its variance is inf - inf, NaN). The other
 * channels are untouched. */
static void check_batchnorm_channel(int64_t spatial, double special)
{
    const nnk_norm_desc d = {4, 3, spatial, 1, 1e-5, 0.9};
    const int64_t len = 4 * 3 * spatial;
    double *x = test_random(len, 7), *y = malloc((size_t)len * sizeof *y);
    x[(2 * 3 + 1) * spatial] = special;
    const double gamma[3] = {1, 2, 3}, beta[3] = {0, 1, 2};
    double rm[3] = {0, 0, 0}, rv[3] = {1, 1, 1}, mean[3], invstd[3];
    CHECK_OK(nnk_batchnorm_forward_f64(&d, NNK_NORM_TRAIN, x, len, gamma, 3, beta, 3, rm, 3, rv,
                                       3, y, len, mean, 3, invstd, 3));
    float *xf = test_to_float(x, len), *yf = malloc((size_t)len * sizeof *yf);
    const float gammaf[3] = {1, 2, 3}, betaf[3] = {0, 1, 2};
    float rmf[3] = {0, 0, 0}, rvf[3] = {1, 1, 1}, meanf[3], invstdf[3];
    CHECK_OK(nnk_batchnorm_forward_f32(&d, NNK_NORM_TRAIN, xf, len, gammaf, 3, betaf, 3, rmf, 3,
                                       rvf, 3, yf, len, meanf, 3, invstdf, 3));
    for (int ch = 0; ch < 3; ch++) {
        const bool bad = ch == 1;
        /* Means at even positions, variances and inverse deviations at odd ones. */
        const double stats[8] = {mean[ch], invstd[ch], rm[ch], rv[ch],
                                 rmf[ch],  rvf[ch],    meanf[ch], invstdf[ch]};
        for (int k = 0; k < 8; k++) {
            const double v = stats[k];
            const bool ok = !bad                          ? isfinite(v)
                            : isnan(special) || k % 2 == 1 ? isnan(v)
                                                           : v == special;
            CHECK(ok, "spatial %lld, special %g: statistic %d of channel %d is %g",
                  (long long)spatial, special, k, ch, v);
        }
    }
    for (int64_t i = 0; i < len; i++) {
        const bool bad = (i / spatial) % 3 == 1;
        CHECK(bad ? isnan(y[i]) && isnan(yf[i]) : isfinite(y[i]) && isfinite(yf[i]),
              "spatial %lld: y[%lld] = %g, float %g", (long long)spatial, (long long)i, y[i],
              yf[i]);
    }
    free(x), free(y), free(xf), free(yf);
}

TEST(Nan_BatchNormTrain_NanOrInfinityMakesItsChannelNan)
{
    /* spatial 1 takes the row-block loops, spatial 5 the per-channel ones. */
    for (int64_t spatial = 1; spatial <= 5; spatial += 4) {
        check_batchnorm_channel(spatial, NAN);
        check_batchnorm_channel(spatial, INFINITY);
        check_batchnorm_channel(spatial, -INFINITY);
    }
}

TEST(Nan_BatchNormTest_NanStaysInItsElement)
{
    const nnk_norm_desc d = {2, 2, 3, 1, 1e-5, 0.9};
    const double x[12] = {1, 2, NAN, 4, 5, 6, 7, INFINITY, 9, 10, 11, 12};
    const double gamma[2] = {1, 1}, beta[2] = {0, 0};
    double rm[2] = {1, 2}, rv[2] = {4, 9}, y[12];
    CHECK_OK(nnk_batchnorm_forward_f64(&d, NNK_NORM_TEST, x, 12, gamma, 2, beta, 2, rm, 2, rv, 2,
                                       y, 12, NULL, 0, NULL, 0));
    for (int i = 0; i < 12; i++)
        CHECK(i == 2 ? isnan(y[i]) : i == 7 ? is_pos_inf(y[i]) : isfinite(y[i]), "y[%d] = %g",
              i, y[i]);
    CHECK(rm[0] == 1 && rv[1] == 9, "test mode changed the running statistics");
}

TEST(Nan_BatchNormBackward_NanGradientMakesItsChannelNan)
{
    for (int64_t spatial = 1; spatial <= 5; spatial += 4) {
        const nnk_norm_desc d = {4, 3, spatial, 1, 1e-5, 0.9};
        const int64_t len = 4 * 3 * spatial;
        double *x = test_random(len, 3), *dy = test_random(len, 4);
        double *dx = malloc((size_t)len * sizeof *dx);
        const double gamma[3] = {1, 2, 3}, mean[3] = {0, 0.1, 0}, invstd[3] = {1, 2, 3};
        double dgamma[3], dbeta[3];
        dy[(1 * 3 + 2) * spatial] = NAN; /* channel 2 of sample 1 */
        CHECK_OK(nnk_batchnorm_backward_f64(&d, x, len, gamma, 3, mean, 3, invstd, 3, dy, len, dx,
                                            len, dgamma, 3, dbeta, 3));
        for (int ch = 0; ch < 3; ch++)
            CHECK(ch == 2 ? isnan(dgamma[ch]) && isnan(dbeta[ch])
                          : isfinite(dgamma[ch]) && isfinite(dbeta[ch]),
                  "spatial %lld: dgamma %g dbeta %g of channel %d", (long long)spatial,
                  dgamma[ch], dbeta[ch], ch);
        for (int64_t i = 0; i < len; i++)
            CHECK((i / spatial) % 3 == 2 ? isnan(dx[i]) : isfinite(dx[i]),
                  "spatial %lld: dx[%lld] = %g", (long long)spatial, (long long)i, dx[i]);
        free(x), free(dy), free(dx);
    }
}

TEST(Nan_GroupNorm_NanMakesItsSampleAndGroupNan)
{
    /* x (2, 4, 3) in 2 groups of 2 channels; a NaN in sample 1, channel 3 (group 1). */
    const nnk_norm_desc d = {2, 4, 3, 2, 1e-5, 0.9};
    double *x = test_random(24, 11), *dy = test_random(24, 12), y[24], dx[24];
    const double gamma[4] = {1, 1, 2, 2}, beta[4] = {0, 0, 1, 1};
    double mean[4], invstd[4], dgamma[4], dbeta[4];
    x[(1 * 4 + 3) * 3 + 1] = NAN;
    CHECK_OK(nnk_groupnorm_forward_f64(&d, x, 24, gamma, 4, beta, 4, y, 24, mean, 4, invstd, 4));
    for (int u = 0; u < 4; u++)
        CHECK(u == 3 ? isnan(mean[u]) && isnan(invstd[u]) : isfinite(invstd[u]),
              "statistics of pair %d: %g %g", u, mean[u], invstd[u]);
    for (int i = 0; i < 24; i++)
        CHECK(i >= 18 ? isnan(y[i]) : isfinite(y[i]), "y[%d] = %g", i, y[i]);

    /* Backward with those statistics: the NaN pair's dx, and the dgamma/dbeta of the channels
     * that sum over it, are NaN. */
    CHECK_OK(nnk_groupnorm_backward_f64(&d, x, 24, gamma, 4, mean, 4, invstd, 4, dy, 24, dx, 24,
                                        dgamma, 4, dbeta, 4));
    for (int i = 0; i < 24; i++)
        CHECK(i >= 18 ? isnan(dx[i]) : isfinite(dx[i]), "dx[%d] = %g", i, dx[i]);
    for (int ch = 0; ch < 4; ch++)
        CHECK(ch >= 2 ? isnan(dgamma[ch]) : isfinite(dgamma[ch]) && isfinite(dbeta[ch]),
              "dgamma %g dbeta %g of channel %d", dgamma[ch], dbeta[ch], ch);
    free(x), free(dy);
}

/* ---- Dense and losses --------------------------------------------------------------------- */

TEST(Nan_Gemm_NanInARowReachesItsRowOfC)
{
    /* c (2x3) = a (2x2) * b (2x3); a NaN in row 0 of a, and b holds zeros: 0 * NaN is NaN. */
    const double a[4] = {NAN, 1, 2, 3}, b[6] = {0, 0, 1, 1, 0, 2};
    double c[6];
    CHECK_OK(nnk_gemm_f64(0, 0, 2, 3, 2, 1, a, 4, b, 6, 0, c, 6));
    for (int i = 0; i < 6; i++)
        CHECK(i < 3 ? isnan(c[i]) : isfinite(c[i]), "c[%d] = %g", i, c[i]);
}

TEST(Nan_Losses_InfiniteScores)
{
    double loss, ds[3];
    const int32_t label[1] = {0};
    /* +inf score: the row's shift is inf - inf, NaN. */
    const double pos[3] = {0, INFINITY, 1};
    CHECK_OK(nnk_softmax_loss_f64(1, 3, pos, 3, label, 1, &loss, ds, 3));
    CHECK(isnan(loss), "softmax with a +inf score: loss %g, expected NaN", loss);
    /* -inf on another class: probability 0, a finite loss and a zero gradient there. */
    const double neg[3] = {0, -INFINITY, 1};
    CHECK_OK(nnk_softmax_loss_f64(1, 3, neg, 3, label, 1, &loss, ds, 3));
    CHECK(isfinite(loss) && ds[1] == 0, "softmax with -inf elsewhere: loss %g, ds[1] %g", loss,
          ds[1]);
    /* -inf on the label: probability 0, loss +inf. */
    const double on_label[3] = {-INFINITY, 0, 1};
    CHECK_OK(nnk_softmax_loss_f64(1, 3, on_label, 3, label, 1, &loss, ds, 3));
    CHECK(is_pos_inf(loss), "softmax with -inf on the label: loss %g, expected +inf", loss);

    /* SVM: a NaN margin makes the loss NaN; its gradient entry is 0 (a NaN margin is not > 0,
     * as PyTorch's multi_margin_loss). */
    const double svm[3] = {0, NAN, 2};
    CHECK_OK(nnk_svm_loss_f64(1, 3, svm, 3, label, 1, &loss, ds, 3));
    CHECK(isnan(loss) && ds[1] == 0 && ds[2] == 1 && ds[0] == -1,
          "svm with a NaN score: loss %g, ds %g %g %g, expected nan, -1 0 1", loss, ds[0], ds[1],
          ds[2]);
    const double svm_inf[3] = {0, INFINITY, -INFINITY};
    CHECK_OK(nnk_svm_loss_f64(1, 3, svm_inf, 3, label, 1, &loss, ds, 3));
    CHECK(is_pos_inf(loss) && ds[1] == 1 && ds[2] == 0,
          "svm with infinite scores: loss %g, ds %g %g %g", loss, ds[0], ds[1], ds[2]);
}
