/* im2col and col2im: im2col copies exactly what its definition says, and col2im is its
 * adjoint, <col2im(y), x> = <y, im2col(x)>. */
#include "test.h"

typedef struct sizes {
    int64_t x, cols;
} sizes;

static sizes sizes_of(const nnk_conv2d_desc *d)
{
    int64_t out_h, out_w;
    CHECK_OK(nnk_conv2d_output_size(d, &out_h, &out_w));
    return (sizes){d->n * d->c * d->h * d->w, d->n * d->c * d->kh * d->kw * out_h * out_w};
}

/* cols[i][(ci*kh + ki)*kw + kj][oy*out_w + ox] = x[i][ci][oy*sh - ph + ki][ox*sw - pw + kj],
 * zero outside the image. */
static void reference_im2col(const nnk_conv2d_desc *d, const double *x, double *cols)
{
    int64_t out_h = (d->h + 2 * d->pad_h - d->kh) / d->stride_h + 1;
    int64_t out_w = (d->w + 2 * d->pad_w - d->kw) / d->stride_w + 1;
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t ci = 0; ci < d->c; ci++)
            for (int64_t ki = 0; ki < d->kh; ki++)
                for (int64_t kj = 0; kj < d->kw; kj++)
                    for (int64_t oy = 0; oy < out_h; oy++)
                        for (int64_t ox = 0; ox < out_w; ox++) {
                            int64_t iy = oy * d->stride_h - d->pad_h + ki;
                            int64_t ix = ox * d->stride_w - d->pad_w + kj;
                            *cols++ = iy >= 0 && iy < d->h && ix >= 0 && ix < d->w
                                          ? x[((i * d->c + ci) * d->h + iy) * d->w + ix]
                                          : 0.0;
                        }
}

/* im2col (float or double) of x given in double, returned in double. */
static void run_im2col(const nnk_conv2d_desc *d, bool f32, const double *x, double *cols)
{
    sizes s = sizes_of(d);
    if (f32) {
        float *xf = test_to_float(x, s.x), *colsf = malloc((size_t)s.cols * sizeof *colsf);
        CHECK_OK(nnk_im2col_f32(d, xf, s.x, colsf, s.cols));
        test_from_float(colsf, s.cols, cols);
        free(xf);
        free(colsf);
    } else {
        CHECK_OK(nnk_im2col_f64(d, x, s.x, cols, s.cols));
    }
}

static void run_col2im(const nnk_conv2d_desc *d, bool f32, const double *cols, double *x)
{
    sizes s = sizes_of(d);
    if (f32) {
        float *colsf = test_to_float(cols, s.cols), *xf = malloc((size_t)s.x * sizeof *xf);
        CHECK_OK(nnk_col2im_f32(d, colsf, s.cols, xf, s.x));
        test_from_float(xf, s.x, x);
        free(colsf);
        free(xf);
    } else {
        CHECK_OK(nnk_col2im_f64(d, cols, s.cols, x, s.x));
    }
}

/* im2col of d on random values exactly representable in float (so that both precisions must
 * copy them exactly) against the definition, element for element. */
static void check_exact(const nnk_conv2d_desc *d, bool f32, int seed)
{
    sizes s = sizes_of(d);
    double *x = test_random(s.x, seed);
    for (int64_t i = 0; i < s.x; i++)
        x[i] = (float)x[i];
    double *expected = malloc((size_t)s.cols * sizeof *expected);
    double *actual = malloc((size_t)s.cols * sizeof *actual);
    reference_im2col(d, x, expected);
    run_im2col(d, f32, x, actual);
    int64_t mismatches = 0;
    for (int64_t i = 0; i < s.cols; i++)
        mismatches += actual[i] != expected[i];
    CHECK(mismatches == 0, "%lld of %lld elements differ", (long long)mismatches,
          (long long)s.cols);
    if (mismatches)
        test_print_desc(d);
    free(x);
    free(expected);
    free(actual);
}

static void check_matches_definition(bool f32)
{
    for (int gi = 0; gi < TEST_GEOMETRY_COUNT; gi++)
        check_exact(&test_geometries[gi], f32, 100 + gi);
}

TEST(Im2col_MatchesDefinition_Float64) { check_matches_definition(false); }

TEST(Im2col_MatchesDefinition_Float32) { check_matches_definition(true); }

/* Stride 2 across splits each input row into even and odd columns once and copies every tap's
 * row from them; rows too wide for its buffers (out_w past 512: w = 1030 here) take the
 * gather instead.
 * Every tap width, padding (beyond the window too) and parity of w, both ways. */
static void check_stride2_rows(bool f32)
{
    const int64_t widths[] = {1, 2, 3, 4, 5, 8, 15, 16, 17, 31, 32, 33, 47, 1030};
    int checked = 0;
    for (int64_t kw = 1; kw <= 5; kw++)
        for (int64_t pad = 0; pad <= kw + 1; pad++)
            for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
                const int64_t w = widths[k];
                if (w + 2 * pad < kw)
                    continue;
                const nnk_conv2d_desc d = {2, 2, 5, w, 1, 3, kw, 2, 2, 1, pad};
                check_exact(&d, f32, 7000 + (int)(kw * 100 + pad * 20 + (int64_t)k));
                checked++;
            }
    CHECK(checked > 300, "only %d geometries checked", checked);
}

TEST(Im2col_StrideTwoRows_MatchDefinition_Float64) { check_stride2_rows(false); }

TEST(Im2col_StrideTwoRows_MatchDefinition_Float32) { check_stride2_rows(true); }

/* |<col2im(y), x> - <y, im2col(x)>| relative to the sum of |terms| of either product. */
static void check_adjoint(bool f32, double tolerance)
{
    for (int gi = 0; gi < TEST_GEOMETRY_COUNT; gi++) {
        const nnk_conv2d_desc *d = &test_geometries[gi];
        sizes s = sizes_of(d);
        double *x = test_random(s.x, 200 + gi), *y = test_random(s.cols, 300 + gi);
        double *cols = malloc((size_t)s.cols * sizeof *cols);
        double *image = malloc((size_t)s.x * sizeof *image);
        run_im2col(d, f32, x, cols);
        run_col2im(d, f32, y, image);
        double lhs = 0, rhs = 0, scale = 0;
        for (int64_t i = 0; i < s.x; i++)
            lhs += image[i] * x[i];
        for (int64_t i = 0; i < s.cols; i++) {
            rhs += y[i] * cols[i];
            scale += fabs(y[i] * cols[i]);
        }
        CHECK(fabs(lhs - rhs) <= tolerance * scale, "<col2im(y),x> = %.17g, <y,im2col(x)> = %.17g",
              lhs, rhs);
        if (fabs(lhs - rhs) > tolerance * scale)
            test_print_desc(d);
        free(x);
        free(y);
        free(cols);
        free(image);
    }
}

TEST(Col2im_IsAdjointOfIm2col_Float64) { check_adjoint(false, 1e-10); }

TEST(Col2im_IsAdjointOfIm2col_Float32) { check_adjoint(true, 1e-5); }

/* col2im overwrites x: stale contents must not leak into the result. */
TEST(Col2im_OverwritesOutput)
{
    const nnk_conv2d_desc *d = &test_geometries[1];
    sizes s = sizes_of(d);
    double *cols = test_random(s.cols, 7);
    double *fresh = calloc((size_t)s.x, sizeof *fresh);
    double *stale = malloc((size_t)s.x * sizeof *stale);
    for (int64_t i = 0; i < s.x; i++)
        stale[i] = 1e30;
    run_col2im(d, false, cols, fresh);
    run_col2im(d, false, cols, stale);
    CHECK(memcmp(fresh, stale, (size_t)s.x * sizeof *fresh) == 0, "results differ");
    free(cols);
    free(fresh);
    free(stale);
}
