/* conv2d forward and backward against direct loops over the definition, in both precisions,
 * on the shared geometries, and with one and two threads. */
#include "test.h"

typedef struct conv_case {
    nnk_conv2d_desc d;
    int64_t out_h, out_w, x_len, w_len, y_len;
    double *x, *w, *b, *dy;
} conv_case;

static conv_case make_case(const nnk_conv2d_desc *d, uint64_t seed)
{
    conv_case c = {.d = *d};
    CHECK_OK(nnk_conv2d_output_size(d, &c.out_h, &c.out_w));
    c.x_len = d->n * d->c * d->h * d->w;
    c.w_len = d->f * d->c * d->kh * d->kw;
    c.y_len = d->n * d->f * c.out_h * c.out_w;
    c.x = test_random(c.x_len, seed);
    c.w = test_random(c.w_len, seed + 1);
    c.b = test_random(d->f, seed + 2);
    c.dy = test_random(c.y_len, seed + 3);
    return c;
}

static void free_case(conv_case *c)
{
    free(c->x);
    free(c->w);
    free(c->b);
    free(c->dy);
}

static double *zeros(int64_t count) { return calloc((size_t)count, sizeof(double)); }

/* Index of the input pixel under output (oy, ox) and kernel tap (ki, kj), or -1 in padding. */
static int64_t input_index(const conv_case *c, int64_t i, int64_t ci, int64_t oy, int64_t ox,
                           int64_t ki, int64_t kj)
{
    const nnk_conv2d_desc *d = &c->d;
    int64_t iy = oy * d->stride_h - d->pad_h + ki, ix = ox * d->stride_w - d->pad_w + kj;
    if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
        return -1;
    return ((i * d->c + ci) * d->h + iy) * d->w + ix;
}

/* The seven loops of the definition; the backward pass visits the same terms and sends each
 * product to the gradient of its two factors. */
static void reference_forward(const conv_case *c, const double *b, double *y)
{
    const nnk_conv2d_desc *d = &c->d;
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t fi = 0; fi < d->f; fi++)
            for (int64_t oy = 0; oy < c->out_h; oy++)
                for (int64_t ox = 0; ox < c->out_w; ox++) {
                    double sum = b != NULL ? b[fi] : 0;
                    for (int64_t ci = 0; ci < d->c; ci++)
                        for (int64_t ki = 0; ki < d->kh; ki++)
                            for (int64_t kj = 0; kj < d->kw; kj++) {
                                int64_t at = input_index(c, i, ci, oy, ox, ki, kj);
                                if (at >= 0)
                                    sum += c->x[at] *
                                           c->w[((fi * d->c + ci) * d->kh + ki) * d->kw + kj];
                            }
                    *y++ = sum;
                }
}

static void reference_backward(const conv_case *c, double *dx, double *dw, double *db)
{
    const nnk_conv2d_desc *d = &c->d;
    const double *dy = c->dy;
    for (int64_t i = 0; i < d->n; i++)
        for (int64_t fi = 0; fi < d->f; fi++)
            for (int64_t oy = 0; oy < c->out_h; oy++)
                for (int64_t ox = 0; ox < c->out_w; ox++, dy++) {
                    db[fi] += *dy;
                    for (int64_t ci = 0; ci < d->c; ci++)
                        for (int64_t ki = 0; ki < d->kh; ki++)
                            for (int64_t kj = 0; kj < d->kw; kj++) {
                                int64_t at = input_index(c, i, ci, oy, ox, ki, kj);
                                int64_t wi = ((fi * d->c + ci) * d->kh + ki) * d->kw + kj;
                                if (at >= 0) {
                                    dx[at] += c->w[wi] * *dy;
                                    dw[wi] += c->x[at] * *dy;
                                }
                            }
                }
}

static int64_t query_workspace(const nnk_conv2d_desc *d, nnk_conv_pass pass)
{
    int64_t elements = -1;
    CHECK_OK(nnk_conv2d_workspace_size(d, pass, &elements));
    return elements;
}

/* Converts an optional double buffer to float (NULL stays NULL). */
static float *to_float_or_null(const double *values, int64_t count)
{
    return values != NULL ? test_to_float(values, count) : NULL;
}

static float *float_output_or_null(const double *wanted, int64_t count)
{
    return wanted != NULL ? malloc((size_t)count * sizeof(float)) : NULL;
}

static void back_to_double(float *values, int64_t count, double *out)
{
    if (out != NULL)
        test_from_float(values, count, out);
    free(values);
}

/* conv2d_forward in either precision on double data; workspace_len < 0 means the size the
 * query gives. */
static void run_forward(const conv_case *c, bool f32, bool bias, int64_t workspace_len,
                        double *y)
{
    if (workspace_len < 0)
        workspace_len = query_workspace(&c->d, NNK_CONV_FORWARD);
    int64_t b_len = bias ? c->d.f : 0;
    if (f32) {
        float *x = test_to_float(c->x, c->x_len), *w = test_to_float(c->w, c->w_len);
        float *b = to_float_or_null(bias ? c->b : NULL, b_len);
        float *yf = malloc((size_t)c->y_len * sizeof *yf);
        float *ws = malloc((size_t)workspace_len * sizeof *ws);
        CHECK_OK(nnk_conv2d_forward_f32(&c->d, x, c->x_len, w, c->w_len, b, b_len, yf, c->y_len,
                                        ws, workspace_len));
        back_to_double(yf, c->y_len, y);
        free(x);
        free(w);
        free(b);
        free(ws);
    } else {
        double *ws = malloc((size_t)workspace_len * sizeof *ws);
        CHECK_OK(nnk_conv2d_forward_f64(&c->d, c->x, c->x_len, c->w, c->w_len,
                                        bias ? c->b : NULL, b_len, y, c->y_len, ws,
                                        workspace_len));
        free(ws);
    }
}

/* conv2d_backward in either precision; a NULL gradient is skipped, and then the input it
 * alone needs (x for dw, w for dx) is passed as NULL too. */
static void run_backward(const conv_case *c, bool f32, int64_t workspace_len, double *dx,
                         double *dw, double *db)
{
    if (workspace_len < 0)
        workspace_len = query_workspace(&c->d, NNK_CONV_BACKWARD);
    const double *x = dw != NULL ? c->x : NULL, *w = dx != NULL ? c->w : NULL;
    int64_t x_len = x ? c->x_len : 0, w_len = w ? c->w_len : 0, f = c->d.f;
    int64_t dx_len = dx ? c->x_len : 0, dw_len = dw ? c->w_len : 0, db_len = db ? f : 0;
    if (f32) {
        float *xf = to_float_or_null(x, x_len), *wf = to_float_or_null(w, w_len);
        float *dyf = test_to_float(c->dy, c->y_len);
        float *dxf = float_output_or_null(dx, dx_len), *dwf = float_output_or_null(dw, dw_len);
        float *dbf = float_output_or_null(db, db_len);
        float *ws = malloc((size_t)workspace_len * sizeof *ws);
        CHECK_OK(nnk_conv2d_backward_f32(&c->d, xf, x_len, wf, w_len, dyf, c->y_len, dxf, dx_len,
                                         dwf, dw_len, dbf, db_len, ws, workspace_len));
        back_to_double(dxf, dx_len, dx);
        back_to_double(dwf, dw_len, dw);
        back_to_double(dbf, db_len, db);
        free(xf);
        free(wf);
        free(dyf);
        free(ws);
    } else {
        double *ws = malloc((size_t)workspace_len * sizeof *ws);
        CHECK_OK(nnk_conv2d_backward_f64(&c->d, x, x_len, w, w_len, c->dy, c->y_len, dx, dx_len,
                                         dw, dw_len, db, db_len, ws, workspace_len));
        free(ws);
    }
}

static void check_close(const char *what, const conv_case *c, const double *actual,
                        const double *expected, int64_t count, double tolerance)
{
    double error = test_rel_error(actual, expected, count);
    CHECK(error <= tolerance, "%s: rel error %.3g > %.3g", what, error, tolerance);
    if (error > tolerance)
        test_print_desc(&c->d);
}

/* So that the float kernels and the double reference see the same inputs. */
static void round_inputs_to_float(conv_case *c)
{
    struct {
        double *values;
        int64_t len;
    } inputs[] = {{c->x, c->x_len}, {c->w, c->w_len}, {c->b, c->d.f}, {c->dy, c->y_len}};
    for (int k = 0; k < 4; k++)
        for (int64_t i = 0; i < inputs[k].len; i++)
            inputs[k].values[i] = (float)inputs[k].values[i];
}

/* y and every gradient of c in one precision, with workspaces of forward_len and backward_len
 * elements (< 0: what the query gives), checked against the direct loops; with alone, also dx
 * alone and dw alone, each into a buffer of garbage (every path must overwrite it all). */
static void check_against_direct_loops(const conv_case *c, bool f32, int64_t forward_len,
                                       int64_t backward_len, bool alone, double tolerance)
{
    double *y = zeros(c->y_len), *ref_y = zeros(c->y_len);
    double *dx = zeros(c->x_len), *dw = zeros(c->w_len), *db = zeros(c->d.f);
    double *ref_dx = zeros(c->x_len), *ref_dw = zeros(c->w_len), *ref_db = zeros(c->d.f);
    reference_forward(c, c->b, ref_y);
    reference_backward(c, ref_dx, ref_dw, ref_db);
    run_forward(c, f32, true, forward_len, y);
    run_backward(c, f32, backward_len, dx, dw, db);
    check_close("y", c, y, ref_y, c->y_len, tolerance);
    check_close("dx", c, dx, ref_dx, c->x_len, tolerance);
    check_close("dw", c, dw, ref_dw, c->w_len, tolerance);
    check_close("db", c, db, ref_db, c->d.f, tolerance);
    if (alone) {
        for (int64_t i = 0; i < c->x_len; i++)
            dx[i] = 1e300;
        for (int64_t i = 0; i < c->w_len; i++)
            dw[i] = 1e300;
        run_backward(c, f32, backward_len, dx, NULL, NULL);
        run_backward(c, f32, backward_len, NULL, dw, NULL);
        check_close("dx alone", c, dx, ref_dx, c->x_len, tolerance);
        check_close("dw alone", c, dw, ref_dw, c->w_len, tolerance);
    }
    for (double *p[] = {y, ref_y, dx, dw, db, ref_dx, ref_dw, ref_db}, **q = p; q < p + 8; q++)
        free(*q);
}

static void check_forward(bool f32, bool bias, double tolerance)
{
    for (int gi = 0; gi < TEST_GEOMETRY_COUNT; gi++) {
        conv_case c = make_case(&test_geometries[gi], 1000 + 10 * gi);
        if (f32)
            round_inputs_to_float(&c);
        double *expected = zeros(c.y_len), *actual = zeros(c.y_len);
        reference_forward(&c, bias ? c.b : NULL, expected);
        run_forward(&c, f32, bias, -1, actual);
        check_close("y", &c, actual, expected, c.y_len, tolerance);
        free(expected);
        free(actual);
        free_case(&c);
    }
}

TEST(Conv2dForward_MatchesDirectLoops_Float64) { check_forward(false, true, 1e-12); }

TEST(Conv2dForward_MatchesDirectLoops_Float32) { check_forward(true, true, 1e-5); }

TEST(Conv2dForward_WithoutBias_MatchesDirectLoops_Float64) { check_forward(false, false, 1e-12); }

static void check_backward(bool f32, double tolerance)
{
    for (int gi = 0; gi < TEST_GEOMETRY_COUNT; gi++) {
        conv_case c = make_case(&test_geometries[gi], 2000 + 10 * gi);
        if (f32)
            round_inputs_to_float(&c);
        double *dx = zeros(c.x_len), *dw = zeros(c.w_len), *db = zeros(c.d.f);
        double *ref_dx = zeros(c.x_len), *ref_dw = zeros(c.w_len), *ref_db = zeros(c.d.f);
        reference_backward(&c, ref_dx, ref_dw, ref_db);
        run_backward(&c, f32, -1, dx, dw, db);
        check_close("dx", &c, dx, ref_dx, c.x_len, tolerance);
        check_close("dw", &c, dw, ref_dw, c.w_len, tolerance);
        check_close("db", &c, db, ref_db, c.d.f, tolerance);
        for (double *p[] = {dx, dw, db, ref_dx, ref_dw, ref_db}, **q = p; q < p + 6; q++)
            free(*q);
        free_case(&c);
    }
}

TEST(Conv2dBackward_MatchesDirectLoops_Float64) { check_backward(false, 1e-12); }

TEST(Conv2dBackward_MatchesDirectLoops_Float32) { check_backward(true, 1e-5); }

/* Images in parallel (two threads) and in sequence with a threaded BLAS (one image or one
 * thread) sum in different orders; the results must agree to rounding. */
TEST(Conv2d_OneAndTwoThreadsAgree_Float64)
{
    for (int gi = 0; gi < TEST_GEOMETRY_COUNT; gi++) {
        conv_case c = make_case(&test_geometries[gi], 3000 + 10 * gi);
        double *y[2], *dx[2], *dw[2], *db[2];
        for (int t = 0; t < 2; t++) {
            CHECK_OK(nnk_set_num_threads(t + 1));
            y[t] = zeros(c.y_len);
            dx[t] = zeros(c.x_len);
            dw[t] = zeros(c.w_len);
            db[t] = zeros(c.d.f);
            run_forward(&c, false, true, -1, y[t]);
            run_backward(&c, false, -1, dx[t], dw[t], db[t]);
        }
        check_close("y", &c, y[1], y[0], c.y_len, 1e-12);
        check_close("dx", &c, dx[1], dx[0], c.x_len, 1e-12);
        check_close("dw", &c, dw[1], dw[0], c.w_len, 1e-12);
        check_close("db", &c, db[1], db[0], c.d.f, 1e-12);
        for (int t = 0; t < 2; t++) {
            free(y[t]);
            free(dx[t]);
            free(dw[t]);
            free(db[t]);
        }
        free_case(&c);
    }
}

/* A workspace sized while one thread was set still works after the count goes up: the call
 * uses as many threads as the workspace has slices for. */
TEST(Conv2d_WorkspaceForOneThreadWorksWithTwoThreads)
{
    for (int gi = 0; gi < TEST_GEOMETRY_COUNT; gi++) {
        conv_case c = make_case(&test_geometries[gi], 4000 + 10 * gi);
        CHECK_OK(nnk_set_num_threads(1));
        int64_t forward_len = query_workspace(&c.d, NNK_CONV_FORWARD);
        int64_t backward_len = query_workspace(&c.d, NNK_CONV_BACKWARD);
        CHECK_OK(nnk_set_num_threads(2));
        check_against_direct_loops(&c, false, forward_len, backward_len, false, 1e-12);
        free_case(&c);
    }
}

/* Each gradient alone, with the inputs it does not need (and for db alone, the workspace)
 * passed as NULL; and none at all. */
/* db sums each channel's images in image order whatever the thread count, in chunks of 64
 * channels per thread: 130 channels make three chunks at 1 thread and split them at 2 and 3. The
 * float sums must match the reference and each other bit for bit. */
TEST(Conv2dBackward_BiasGradientOfManyChannels_SameBitsAtAnyThreadCount)
{
    const nnk_conv2d_desc d = {5, 2, 6, 7, 130, 3, 3, 1, 1, 1, 1};
    conv_case c = make_case(&d, 9700);
    double *ref_dx = zeros(c.x_len), *ref_dw = zeros(c.w_len), *ref_db = zeros(d.f);
    double *db = zeros(d.f), *db1 = zeros(d.f);
    reference_backward(&c, ref_dx, ref_dw, ref_db);
    const int threads[] = {1, 2, 3};
    for (int t = 0; t < 3; t++) {
        CHECK_OK(nnk_set_num_threads(threads[t]));
        run_backward(&c, true, -1, NULL, NULL, db);
        check_close("db (float)", &c, db, ref_db, d.f, 1e-6);
        if (t == 0)
            memcpy(db1, db, (size_t)d.f * sizeof *db);
        else
            CHECK(memcmp(db, db1, (size_t)d.f * sizeof *db) == 0,
                  "db at %d threads differs from 1", threads[t]);
        run_backward(&c, false, -1, NULL, NULL, db);
        check_close("db (double)", &c, db, ref_db, d.f, 1e-13);
    }
    CHECK_OK(nnk_set_num_threads(1));
    free(ref_dx);
    free(ref_dw);
    free(ref_db);
    free(db);
    free(db1);
    free_case(&c);
}

/* The shallow weight gradient (conv_seed's shape, dy rows of whole vectors) and the direct one
 * (conv_3l's 3 x 7 x 7 window into 32 channels) sum db in their pass over dy (shallow.c,
 * direct.c), image by image; the images' sums add in image order, so db has the same bits at 1,
 * 2 and 3 threads (7 images: 4 + 3, 3 + 2 + 2) there too. */
TEST(Conv2dBackward_FusedBiasGradient_SameBitsAtAnyThreadCount)
{
    const nnk_conv2d_desc table[] = {
        {7, 3, 31, 31, 25, 3, 3, 2, 2, 1, 1},
        {7, 3, 12, 12, 32, 7, 7, 1, 1, 3, 3},
    };
    for (int gi = 0; gi < TEST_COUNT(table); gi++) {
        const nnk_conv2d_desc d = table[gi];
        conv_case c = make_case(&d, 9710 + (uint64_t)gi);
        double *ref_dx = zeros(c.x_len), *ref_dw = zeros(c.w_len), *ref_db = zeros(d.f);
        double *dw = zeros(c.w_len), *db = zeros(d.f), *db1 = zeros(d.f);
        reference_backward(&c, ref_dx, ref_dw, ref_db);
        const int threads[] = {1, 2, 3};
        for (int f32 = 0; f32 <= 1; f32++)
            for (int t = 0; t < 3; t++) {
                CHECK_OK(nnk_set_num_threads(threads[t]));
                run_backward(&c, f32, -1, NULL, dw, db);
                check_close(f32 ? "db (float)" : "db (double)", &c, db, ref_db, d.f,
                            f32 ? 1e-6 : 1e-13);
                check_close(f32 ? "dw (float)" : "dw (double)", &c, dw, ref_dw, c.w_len,
                            f32 ? 1e-5 : 1e-12);
                if (t == 0)
                    memcpy(db1, db, (size_t)d.f * sizeof *db);
                else
                    CHECK(memcmp(db, db1, (size_t)d.f * sizeof *db) == 0,
                          "db at %d threads differs from 1 (%s)", threads[t],
                          f32 ? "float" : "double");
            }
        CHECK_OK(nnk_set_num_threads(1));
        free(ref_dx);
        free(ref_dw);
        free(ref_db);
        free(dw);
        free(db);
        free(db1);
        free_case(&c);
    }
}

TEST(Conv2dBackward_SkipsGradientsPassedAsNull_Float64)
{
    conv_case c = make_case(&test_geometries[2], 5000);
    double *ref_dx = zeros(c.x_len), *ref_dw = zeros(c.w_len), *ref_db = zeros(c.d.f);
    reference_backward(&c, ref_dx, ref_dw, ref_db);
    double *dx = zeros(c.x_len), *dw = zeros(c.w_len), *db = zeros(c.d.f);
    run_backward(&c, false, -1, dx, NULL, NULL);
    run_backward(&c, false, -1, NULL, dw, NULL);
    check_close("dx alone", &c, dx, ref_dx, c.x_len, 1e-12);
    check_close("dw alone", &c, dw, ref_dw, c.w_len, 1e-12);
    CHECK_OK(nnk_conv2d_backward_f64(&c.d, NULL, 0, NULL, 0, c.dy, c.y_len, NULL, 0, NULL, 0, db,
                                     c.d.f, NULL, 0));
    check_close("db alone", &c, db, ref_db, c.d.f, 1e-12);
    CHECK_OK(nnk_conv2d_backward_f64(&c.d, NULL, 0, NULL, 0, c.dy, c.y_len, NULL, 0, NULL, 0,
                                     NULL, 0, NULL, 0));
    for (double *p[] = {dx, dw, db, ref_dx, ref_dw, ref_db}, **q = p; q < p + 6; q++)
        free(*q);
    free_case(&c);
}

/* The gradients of L = sum(y * dy) by central differences: checks the backward pass, and
 * with it the reference loops, against the forward pass alone. */
TEST(Conv2dBackward_MatchesNumericGradient_Float64)
{
    const nnk_conv2d_desc d = {2, 2, 5, 4, 3, 3, 2, 2, 1, 1, 0};
    conv_case c = make_case(&d, 6000);
    double *dx = zeros(c.x_len), *dw = zeros(c.w_len), *db = zeros(d.f);
    double *y = zeros(c.y_len);
    run_backward(&c, false, -1, dx, dw, db);
    struct {
        const char *name;
        double *param, *grad;
        int64_t len;
    } params[] = {{"x", c.x, dx, c.x_len}, {"w", c.w, dw, c.w_len}, {"b", c.b, db, d.f}};
    for (int p = 0; p < 3; p++) {
        double *numeric = zeros(params[p].len);
        for (int64_t i = 0; i < params[p].len; i++) {
            double saved = params[p].param[i], loss[2];
            for (int side = 0; side < 2; side++) {
                params[p].param[i] = saved + (side ? -1e-6 : 1e-6);
                run_forward(&c, false, true, -1, y);
                loss[side] = 0;
                for (int64_t j = 0; j < c.y_len; j++)
                    loss[side] += y[j] * c.dy[j];
            }
            params[p].param[i] = saved;
            numeric[i] = (loss[0] - loss[1]) / 2e-6;
        }
        check_close(params[p].name, &c, params[p].grad, numeric, params[p].len, 1e-7);
        free(numeric);
    }
    free(dx);
    free(dw);
    free(db);
    free(y);
    free_case(&c);
}

TEST(Conv2dOutputSize_FloorsPartialWindows)
{
    const nnk_conv2d_desc d = {1, 1, 7, 8, 1, 3, 3, 2, 3, 0, 1};
    int64_t out_h = 0, out_w = 0;
    CHECK_OK(nnk_conv2d_output_size(&d, &out_h, &out_w));
    CHECK(out_h == 3 && out_w == 3, "out %lldx%lld, expected 3x3", (long long)out_h,
          (long long)out_w);
}

/* One image's cols per thread, min(threads, n) threads, plus a dw partial for each thread but
 * the first in the backward pass. A shallow layer's forward pass (c*kh*kw < 128) takes its bias
 * in the gemm: w with a column of b (f x (c*kh*kw + 1)), and a row of ones under each cols. */
TEST(Conv2dWorkspaceSize_DependsOnThreadsImagesAndPass)
{
    const nnk_conv2d_desc d = {3, 2, 6, 5, 4, 3, 3, 1, 1, 1, 1};
    const int64_t cols = 2 * 3 * 3 * 6 * 5, part = 4 * 2 * 3 * 3;
    const int64_t bias_w = 4 * (2 * 3 * 3 + 1), bias_cols = (2 * 3 * 3 + 1) * 6 * 5;
    CHECK_OK(nnk_set_num_threads(2));
    CHECK(query_workspace(&d, NNK_CONV_FORWARD) == bias_w + 2 * bias_cols, "forward, 2 threads");
    CHECK(query_workspace(&d, NNK_CONV_BACKWARD) == 2 * cols + part, "backward, 2 threads");
    CHECK_OK(nnk_set_num_threads(8));
    CHECK(query_workspace(&d, NNK_CONV_FORWARD) == bias_w + 3 * bias_cols,
          "forward, 8 threads, 3 images");
    CHECK(query_workspace(&d, NNK_CONV_BACKWARD) == 3 * cols + 2 * part, "backward, 8 threads");
    CHECK_OK(nnk_set_num_threads(1));
    CHECK(query_workspace(&d, NNK_CONV_FORWARD) == bias_w + bias_cols, "forward, 1 thread");
    CHECK(query_workspace(&d, NNK_CONV_BACKWARD) == cols, "backward, 1 thread");
}

/* With c*kh*kw >= 128 and small images a thread's share holds a group of images: their cols
 * ((c*kh*kw) x group*out_h*out_w) and their y or dy (f x group*out_h*out_w), the images split
 * evenly over the threads. */
TEST(Conv2dWorkspaceSize_GroupsSmallImages)
{
    const nnk_conv2d_desc d = {5, 8, 6, 7, 3, 4, 4, 1, 2, 1, 0};
    const int64_t per_image = (8 * 4 * 4 + 3) * 5 * 2, part = 3 * 8 * 4 * 4;
    CHECK_OK(nnk_set_num_threads(1));
    CHECK(query_workspace(&d, NNK_CONV_FORWARD) == 5 * per_image, "forward, 1 thread");
    CHECK(query_workspace(&d, NNK_CONV_BACKWARD) == 5 * per_image, "backward, 1 thread");
    CHECK_OK(nnk_set_num_threads(2));
    CHECK(query_workspace(&d, NNK_CONV_FORWARD) == 2 * 3 * per_image, "forward, 2 threads");
    CHECK(query_workspace(&d, NNK_CONV_BACKWARD) == 2 * 3 * per_image + part,
          "backward, 2 threads");
    CHECK_OK(nnk_set_num_threads(1));
}

/* An image whose cols exceeds the cache budget runs in bands of output rows, the last band
 * shorter here (41 rows), with and without stride, at one and two threads. */
TEST(Conv2d_LargeImagesInBands_MatchDirectLoops)
{
    const nnk_conv2d_desc bands[] = {
        {2, 16, 41, 36, 3, 3, 3, 1, 1, 1, 1},
        {3, 16, 81, 36, 2, 3, 3, 2, 1, 1, 1},
    };
    for (int bi = 0; bi < 2; bi++)
        for (int threads = 1; threads <= 2; threads++) {
            conv_case c = make_case(&bands[bi], 6000 + 10 * bi);
            CHECK_OK(nnk_set_num_threads(threads));
            check_against_direct_loops(&c, false, -1, -1, false, 1e-12);
            free_case(&c);
        }
    CHECK_OK(nnk_set_num_threads(1));
}

/* A workspace of one image's cols, less than a group needs, still works: one image per gemm. */
TEST(Conv2d_OneImageWorkspace_WorksWhenImagesWouldBeGrouped)
{
    for (int gi = TEST_GEOMETRY_COUNT - 2; gi < TEST_GEOMETRY_COUNT; gi++) {
        conv_case c = make_case(&test_geometries[gi], 5000 + 10 * gi);
        int64_t oh = 0, ow = 0;
        CHECK_OK(nnk_conv2d_output_size(&c.d, &oh, &ow));
        const int64_t cols = c.d.c * c.d.kh * c.d.kw * oh * ow;
        CHECK_OK(nnk_set_num_threads(1));
        check_against_direct_loops(&c, false, cols, cols, false, 1e-12);
        free_case(&c);
    }
}

/* 3x3 stride-1 convolutions with >= 16 input and output channels run y, dx and dw by Winograd
 * F(2x2, 3x3) (dw only where the direct pass does not apply): odd and even output sizes
 * (cropped last tiles), pads 0-3 (pad 3 leaves dx to im2col), rows of more than 64 tiles
 * (several strips), rows whose strips load straight into registers, blocks spanning images, in both precisions at one and two threads (two
 * threads sum dw in two partial sums). */
static const nnk_conv2d_desc winograd_geometries[] = {
    /* n  c   h    w   f kh kw sh sw ph pw */
    {2, 16, 9, 10, 16, 3, 3, 1, 1, 1, 1},
    {3, 17, 7, 150, 20, 3, 3, 1, 1, 0, 0},
    {1, 32, 5, 6, 18, 3, 3, 1, 1, 2, 2},
    {2, 16, 4, 6, 16, 3, 3, 1, 1, 3, 1},
    {9, 16, 3, 3, 24, 3, 3, 1, 1, 1, 0},
    /* Rows of whole vectors of tiles whose padding shifts into registers (pad 1, pad 2), and a
     * row that ends on the image's last column. */
    {2, 16, 5, 32, 16, 3, 3, 1, 1, 1, 1},
    {1, 16, 4, 37, 17, 3, 3, 1, 1, 0, 2},
    /* Where the direct dw does not apply, dw too is Winograd's: too few channels for the
     * direct pass's vector lanes (f = 17) or too deep (c*kh*kw = 1080). */
    {2, 16, 6, 7, 17, 3, 3, 1, 1, 1, 1},
    {1, 120, 4, 5, 16, 3, 3, 1, 1, 1, 1},
};

/* Every geometry of a table against the direct loops (y, gradients together and each alone), at
 * one and two threads, with the inputs of seed + 10 * its index. */
static void check_table(const nnk_conv2d_desc *table, int count, uint64_t seed, bool f32,
                        double tolerance)
{
    for (int gi = 0; gi < count; gi++)
        for (int threads = 1; threads <= 2; threads++) {
            conv_case c = make_case(&table[gi], seed + 10 * (uint64_t)gi);
            if (f32)
                round_inputs_to_float(&c);
            CHECK_OK(nnk_set_num_threads(threads));
            check_against_direct_loops(&c, f32, -1, -1, true, tolerance);
            free_case(&c);
        }
    CHECK_OK(nnk_set_num_threads(1));
}

TEST(Conv2d_Winograd_MatchesDirectLoops_Float64)
{
    check_table(winograd_geometries, TEST_COUNT(winograd_geometries), 7000, false, 1e-12);
}

TEST(Conv2d_Winograd_MatchesDirectLoops_Float32)
{
    check_table(winograd_geometries, TEST_COUNT(winograd_geometries), 7000, true, 1e-5);
}

/* Winograd wants more workspace than im2col for these shapes; a workspace sized for im2col
 * alone (one image's cols and a dw partial) still gives the right answer, by im2col (y, dx)
 * and the direct pass (dw, which fits). */
TEST(Conv2d_Winograd_FallsBackToIm2colInASmallerWorkspace)
{
    const nnk_conv2d_desc d = {2, 16, 9, 10, 16, 3, 3, 1, 1, 1, 1};
    const int64_t cols = 16 * 9 * 9 * 10;
    CHECK_OK(nnk_set_num_threads(1));
    CHECK(query_workspace(&d, NNK_CONV_FORWARD) > cols, "forward asks for Winograd's workspace");
    conv_case c = make_case(&d, 7500);
    double *y = zeros(c.y_len), *ref_y = zeros(c.y_len);
    double *dx = zeros(c.x_len), *ref_dx = zeros(c.x_len), *ref_dw = zeros(c.w_len);
    double *ref_db = zeros(c.d.f);
    reference_forward(&c, c.b, ref_y);
    reference_backward(&c, ref_dx, ref_dw, ref_db);
    double *dw = zeros(c.w_len);
    run_forward(&c, false, true, cols, y);
    run_backward(&c, false, cols, dx, NULL, NULL);
    run_backward(&c, false, cols, NULL, dw, NULL);
    check_close("y", &c, y, ref_y, c.y_len, 1e-12);
    check_close("dx", &c, dx, ref_dx, c.x_len, 1e-12);
    check_close("dw", &c, dw, ref_dw, c.w_len, 1e-12);
    for (double *p[] = {y, ref_y, dx, ref_dx, ref_dw, ref_db, dw}, **q = p; q < p + 7; q++)
        free(*q);
    free_case(&c);
}

/* A 1x1 stride-1 unpadded convolution runs on x itself: no cols, a token workspace element per
 * thread, images never grouped (c*kh*kw = 130 would group them otherwise) and never banded;
 * forward and backward against direct loops at one and two threads, and each gradient alone. */
TEST(Conv2d_Pointwise_NeedsNoColsAndMatchesDirectLoops)
{
    const nnk_conv2d_desc d = {3, 130, 9, 7, 5, 1, 1, 1, 1, 0, 0};
    for (int threads = 1; threads <= 2; threads++) {
        CHECK_OK(nnk_set_num_threads(threads));
        CHECK(query_workspace(&d, NNK_CONV_FORWARD) == threads, "forward workspace, %d threads",
              threads);
        conv_case c = make_case(&d, 8000 + threads);
        check_against_direct_loops(&c, false, -1, -1, true, 1e-12);
        free_case(&c);
    }
    CHECK_OK(nnk_set_num_threads(1));
}

/* Convolutions with c*kh*kw >= 100 whose output channels fill most vector lanes compute y and
 * dw directly, not by im2col (direct.c): vectors of channels 1-4 per block and several blocks
 * (f = 100 in float, 50 in double), blocks of pixels and of k cut at the end, strides and pads
 * that differ by axis, f = 20 (direct in double only), y with and without bias, dw with dx and
 * alone, at one and two threads (two threads sum dw in two partials). */
static const nnk_conv2d_desc direct_geometries[] = {
    /* n  c   h   w   f kh kw sh sw ph pw */
    {3, 3, 12, 11, 32, 7, 7, 1, 1, 3, 3},
    {2, 20, 13, 13, 50, 5, 5, 1, 1, 0, 0},
    {2, 12, 9, 9, 100, 3, 3, 2, 2, 1, 1},
    {3, 16, 5, 7, 13, 3, 3, 1, 2, 2, 0},
    {2, 12, 6, 6, 20, 3, 3, 1, 1, 1, 1},
};

/* y with and without bias into a buffer of garbage, and with bias every gradient, of every
 * geometry of a table at one and two threads, with the inputs of seed + 10 * its index + the
 * thread count. */
static void check_forward_table(const nnk_conv2d_desc *table, int count, uint64_t seed, bool f32,
                                double tolerance)
{
    for (int gi = 0; gi < count; gi++)
        for (int threads = 1; threads <= 2; threads++)
            for (int bias = 0; bias <= 1; bias++) {
                conv_case c = make_case(&table[gi], seed + 10 * (uint64_t)gi + (uint64_t)threads);
                if (f32)
                    round_inputs_to_float(&c);
                CHECK_OK(nnk_set_num_threads(threads));
                double *y = zeros(c.y_len), *ref_y = zeros(c.y_len);
                reference_forward(&c, bias ? c.b : NULL, ref_y);
                for (int64_t i = 0; i < c.y_len; i++)
                    y[i] = 1e300;
                run_forward(&c, f32, bias, -1, y);
                check_close(bias ? "y" : "y without bias", &c, y, ref_y, c.y_len, tolerance);
                if (bias)
                    check_against_direct_loops(&c, f32, -1, -1, true, tolerance);
                free(y);
                free(ref_y);
                free_case(&c);
            }
    CHECK_OK(nnk_set_num_threads(1));
}

TEST(Conv2d_Direct_MatchesDirectLoops_Float64)
{
    check_forward_table(direct_geometries, TEST_COUNT(direct_geometries), 9000, false, 1e-12);
}

TEST(Conv2d_Direct_MatchesDirectLoops_Float32)
{
    check_forward_table(direct_geometries, TEST_COUNT(direct_geometries), 9000, true, 1e-5);
}

/* Convolutions with c*kh*kw below 100, stride_w 1 or 2 and output rows that fill three
 * quarters of their vectors compute y directly along output rows (shallow.c), and dx too where
 * the rows are whole vectors (16 and 32 wide; in double also 8): conv_seed's and conv_mnist1's
 * shapes, blocks of 1 to 6 channels for y (f = 1, 2, 3, 6, 7 = 4 + 3, 9, 13, 20, 25, 32 =
 * 6+6+5+5+5+5), taps for dx in blocks cut at ckk (27, 18, 75), output rows of one vector or
 * less (12 wide), of one cut vector at the plane's end (15, 26) and of whole vectors (16, 32),
 * strides that differ by axis (3 down, 2 across), pads of 0 to 3 that differ by axis and exceed
 * the window, 1x5 and 3x5 windows, and a last input row and column no window reaches (18x34,
 * stride 2, no pad: their dx is zero); dx rows of stride 2 that start a vector at an odd column
 * (31 wide, pad 1) or an even one (34, no pad), or hold less than a vector (7 wide, pad 5: in
 * double, 8 output columns). Stride-2 input rows whose padded row fits two vectors are split
 * from registers, their neighbours' lanes masked (31 + 1, 29 + 2, 30 + 2, 7 + 5 and in double
 * on AVX2 6 + 1), the tensor's first and last rows through a buffer. dx of 3x3 windows at
 * stride 2, pad 1 and odd widths is gathered in registers (31, 63 and 15 wide: dy rows of one
 * to four vectors; 15 in float at 512 bits goes elsewhere), in blocks of 3 input channels at
 * 512 bits (1, 3, 4 = 3 + 1, 5 = 3 + 2) and of 4 rows (30, 9 and 1 high: a last block that ends
 * early, its dy rows past out_h zero). */
static const nnk_conv2d_desc shallow_geometries[] = {
    /* n  c   h   w   f kh kw sh sw ph pw */
    {2, 3, 31, 31, 25, 3, 3, 2, 2, 1, 1},
    {2, 1, 28, 28, 20, 3, 3, 1, 1, 0, 0},
    {2, 2, 9, 14, 7, 3, 3, 1, 1, 0, 0},
    {3, 3, 20, 29, 13, 3, 5, 3, 2, 2, 2},
    {2, 4, 10, 16, 6, 2, 2, 1, 1, 0, 0},
    {2, 2, 17, 34, 1, 3, 3, 2, 2, 1, 0},
    {1, 1, 5, 12, 3, 3, 3, 1, 1, 3, 2},
    {2, 3, 6, 30, 9, 1, 5, 1, 2, 0, 2},
    {2, 3, 8, 32, 32, 5, 5, 1, 1, 2, 2},
    {2, 2, 9, 18, 6, 3, 3, 1, 1, 0, 0},
    {1, 3, 6, 16, 2, 3, 3, 1, 1, 1, 1},
    {2, 2, 18, 34, 3, 3, 3, 2, 2, 0, 0},
    {2, 2, 5, 7, 3, 3, 3, 2, 2, 1, 5},
    {2, 2, 6, 6, 4, 3, 3, 2, 2, 1, 1},
    {2, 1, 30, 63, 3, 3, 3, 2, 2, 1, 1},
    {3, 5, 9, 15, 7, 3, 3, 2, 2, 1, 1},
    {2, 4, 1, 31, 2, 3, 3, 2, 2, 1, 1},
};

TEST(Conv2d_Shallow_MatchesDirectLoops_Float64)
{
    check_forward_table(shallow_geometries, TEST_COUNT(shallow_geometries), 9200, false, 1e-12);
}

TEST(Conv2d_Shallow_MatchesDirectLoops_Float32)
{
    check_forward_table(shallow_geometries, TEST_COUNT(shallow_geometries), 9200, true, 1e-5);
}

/* The kernels lay their workspace out from its first 64-byte boundary (a managed array starts 8
 * or 16 bytes into a line): the size the query gives holds them wherever the workspace starts,
 * at two threads, and every offset gives the bits of the aligned one with nothing written past
 * the workspace's end. The shapes of conv_seed (shallow y, dx and dw), conv_mnist2 (direct y and
 * dw) and conv_mnist1 (shallow y, direct dx) with 4 images, offsets of 0, 4 and 13 floats. */
static void check_workspace_offsets(const nnk_conv2d_desc *d, uint64_t seed)
{
    conv_case c = make_case(d, seed);
    float *x = test_to_float(c.x, c.x_len), *w = test_to_float(c.w, c.w_len);
    float *b = test_to_float(c.b, d->f), *dy = test_to_float(c.dy, c.y_len);
    const int64_t lens[2] = {query_workspace(d, NNK_CONV_FORWARD),
                             query_workspace(d, NNK_CONV_BACKWARD)};
    const int64_t out_lens[4] = {c.y_len, c.x_len, c.w_len, d->f};
    const int offsets[] = {0, 4, 13};
    float *first[4] = {NULL};
    for (int oi = 0; oi < TEST_COUNT(offsets); oi++) {
        const int offset = offsets[oi];
        float *out[4];
        for (int k = 0; k < 4; k++)
            out[k] = malloc((size_t)out_lens[k] * sizeof(float));
        for (int pass = 0; pass < 2; pass++) {
            /* A 64-byte aligned buffer (aligned_alloc wants whole multiples of the alignment),
             * the workspace offset floats in, canaries after it. */
            const size_t bytes = (size_t)(lens[pass] + 64) * sizeof(float);
            float *buffer = aligned_alloc(64, (bytes + 63) / 64 * 64);
            float *ws = buffer + offset;
            for (int64_t k = lens[pass]; k < lens[pass] + 64 - offset; k++)
                ws[k] = 12345;
            if (pass == 0)
                CHECK_OK(nnk_conv2d_forward_f32(d, x, c.x_len, w, c.w_len, b, d->f, out[0],
                                                c.y_len, ws, lens[0]));
            else
                CHECK_OK(nnk_conv2d_backward_f32(d, x, c.x_len, w, c.w_len, dy, c.y_len, out[1],
                                                 c.x_len, out[2], c.w_len, out[3], d->f, ws,
                                                 lens[1]));
            for (int64_t k = lens[pass]; k < lens[pass] + 64 - offset; k++)
                CHECK(ws[k] == 12345, "offset %d, pass %d: element %lld past the workspace written",
                      offset, pass, (long long)(k - lens[pass]));
            free(buffer);
        }
        for (int k = 0; k < 4; k++) {
            if (oi == 0) {
                first[k] = out[k];
                continue;
            }
            CHECK(memcmp(out[k], first[k], (size_t)out_lens[k] * sizeof(float)) == 0,
                  "offset %d: output %d differs from the aligned workspace's", offset, k);
            free(out[k]);
        }
    }
    for (int k = 0; k < 4; k++)
        free(first[k]);
    for (float **p = (float *[]){x, w, b, dy}, **q = p; q < p + 4; q++)
        free(*q);
    free_case(&c);
}

TEST(Conv2d_WorkspaceAtAnyOffset)
{
    CHECK_OK(nnk_set_num_threads(2));
    check_workspace_offsets(&(nnk_conv2d_desc){4, 3, 31, 31, 25, 3, 3, 2, 2, 1, 1}, 9600);
    check_workspace_offsets(&(nnk_conv2d_desc){4, 20, 13, 13, 50, 5, 5, 1, 1, 0, 0}, 9610);
    check_workspace_offsets(&(nnk_conv2d_desc){4, 1, 28, 28, 20, 3, 3, 1, 1, 0, 0}, 9620);
    CHECK_OK(nnk_set_num_threads(1));
}

/* Small stride-1 convolutions that no kernel above takes, with 4 input channels or more and
 * batches that fill three quarters of their vectors of images, compute dx across the batch
 * (batched.c): 48 images (float: one block of 64 lanes, 16 of them padding; double: two blocks
 * of 32), 50 (a part tile of images) and 64; blocks of 3 to 5 input channels (c = 7 is 4 + 3,
 * 6 is 3 + 3, 8 is 4 + 4, 12 is 4 + 4 + 4, 4, 5; with AVX2's blocks of 3, also 2); windows of
 * 5x5, 3x5 and 3x3; pads of 0 to 3, different by axis, one past the window (output larger than
 * the input); planes of dx and dy that are and are not whole tiles of 8 and 16 positions (4,
 * 9, 12, 21, 30, 35, 36, 49). The 3-channel row is left to im2col + gemm + col2im. Small enough
 * for valgrind (the reference loops run there too); y with and without bias is the forward
 * tables' business. */
static const nnk_conv2d_desc batched_geometries[] = {
    /* n  c   h   w   f kh kw sh sw ph pw */
    {48, 7, 6, 6, 4, 5, 5, 1, 1, 0, 0},
    {50, 3, 4, 7, 7, 3, 5, 1, 1, 1, 2},
    {64, 6, 7, 7, 4, 5, 5, 1, 1, 0, 0},
    {48, 4, 3, 3, 12, 3, 3, 1, 1, 3, 3},
    {64, 5, 7, 5, 12, 3, 3, 1, 1, 1, 0},
    {48, 8, 6, 6, 4, 5, 5, 1, 1, 0, 0},
    {50, 12, 5, 6, 12, 3, 3, 1, 1, 0, 0},
};

TEST(Conv2d_Batched_MatchesDirectLoops_Float64)
{
    check_table(batched_geometries, TEST_COUNT(batched_geometries), 9300, false, 1e-12);
}

TEST(Conv2d_Batched_MatchesDirectLoops_Float32)
{
    check_table(batched_geometries, TEST_COUNT(batched_geometries), 9300, true, 1e-5);
}

/* Shallow stride-1 convolutions with windows of 25 or more compute dx directly, not by
 * col2im (direct.c): one and two blocks of channels (c = 4 is 3 + 1), 5x5 and 7x7 windows
 * (their own unrolled kernels) and 5x7 (the general one), pads of 0 to kh-1 that differ by
 * axis, blocks of rows and columns cut at dx's edge, and a width the blocks cover closely
 * enough in double only (16 wide), each gradient alone and with the other, at one and two
 * threads. */
static const nnk_conv2d_desc direct_dx_geometries[] = {
    /* n  c   h   w   f kh kw sh sw ph pw */
    {2, 3, 8, 32, 8, 7, 7, 1, 1, 3, 3},
    {3, 2, 15, 30, 16, 5, 5, 1, 1, 0, 2},
    {2, 4, 7, 62, 4, 5, 7, 1, 1, 2, 3},
    {1, 3, 16, 16, 10, 7, 7, 1, 1, 1, 6},
};

TEST(Conv2d_DirectDx_MatchesDirectLoops_Float64)
{
    check_table(direct_dx_geometries, TEST_COUNT(direct_dx_geometries), 9300, false, 1e-12);
}

TEST(Conv2d_DirectDx_MatchesDirectLoops_Float32)
{
    check_table(direct_dx_geometries, TEST_COUNT(direct_dx_geometries), 9300, true, 1e-5);
}

/* Whether the direct kernels run here, by the library's own rule (nnki_vector_bytes in
 * internal.h): GCC builds need AVX-512, or AVX2 with FMA (valgrind offers the latter). */
static bool direct_available(void)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    return __builtin_cpu_supports("avx512f") ||
           (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
#else
    return true;
#endif
}

/* A workspace that holds one image's cols but not the direct pass's weight panel (f = 100
 * channels of 108 weights) still gives the right answer, by im2col. */
TEST(Conv2d_Direct_FallsBackToIm2colInASmallerWorkspace)
{
    const nnk_conv2d_desc d = {2, 12, 9, 9, 100, 3, 3, 2, 2, 1, 1};
    const int64_t cols = 12 * 3 * 3 * 5 * 5; /* c*kh*kw x out_h*out_w */
    CHECK_OK(nnk_set_num_threads(1));
    CHECK(!direct_available() || query_workspace(&d, NNK_CONV_FORWARD) > cols,
          "forward asks for the direct pass's");
    conv_case c = make_case(&d, 9500);
    double *y = zeros(c.y_len), *ref_y = zeros(c.y_len);
    reference_forward(&c, c.b, ref_y);
    run_forward(&c, false, true, cols, y);
    check_close("y", &c, y, ref_y, c.y_len, 1e-12);
    free(y);
    free(ref_y);
    free_case(&c);
}

/* A shallow layer's bias rides in its gemm (a column of b in w, a row of ones in cols) when the
 * workspace holds that layout, and goes into y before the gemm otherwise: both give y, in
 * float and double, with bands (a 1-row budget is not reachable here, so whole images) and with
 * more threads than the workspace holds bias rows for. Rows of 5 outputs fill too little of a
 * vector for the shallow kernel (shallow.c), which would take y otherwise. */
TEST(Conv2dForward_ShallowBiasInTheGemmOrBeforeIt)
{
    const nnk_conv2d_desc d = {3, 3, 11, 7, 7, 3, 3, 2, 1, 1, 0};
    const int64_t ckk = 3 * 3 * 3, out_hw = 6 * 5;
    const int64_t cols = ckk * out_hw, with_row = 7 * (ckk + 1) + (ckk + 1) * out_hw;
    conv_case c = make_case(&d, 9600);
    double *y = zeros(c.y_len), *ref_y = zeros(c.y_len);
    reference_forward(&c, c.b, ref_y);
    const int threads[] = {1, 2};
    for (int t = 0; t < 2; t++) {
        CHECK_OK(nnk_set_num_threads(threads[t]));
        const int64_t sizes[] = {cols, with_row - 1, with_row, 2 * with_row, -1};
        for (int k = 0; k < 5; k++) {
            run_forward(&c, false, true, sizes[k], y);
            check_close("y (double)", &c, y, ref_y, c.y_len, 1e-12);
            run_forward(&c, true, true, sizes[k], y);
            check_close("y (float)", &c, y, ref_y, c.y_len, 1e-5);
        }
    }
    CHECK_OK(nnk_set_num_threads(1));
    CHECK(query_workspace(&d, NNK_CONV_FORWARD) == with_row, "forward query, 1 thread");
    free(y);
    free(ref_y);
    free_case(&c);
}

/* Runs the backward pass of c with a workspace of len elements into dx and dw, which start as
 * garbage so that a path leaving a gradient unwritten cannot pass on an earlier size's answer. */
static nnk_status backward_with_workspace(const conv_case *c, int64_t len, double *dx, double *dw)
{
    for (int64_t i = 0; i < c->x_len; i++)
        dx[i] = 1e300;
    for (int64_t i = 0; i < c->w_len; i++)
        dw[i] = 1e300;
    double *ws = malloc((size_t)len * sizeof *ws);
    nnk_status s = nnk_conv2d_backward_f64(&c->d, c->x, c->x_len, c->w, c->w_len, c->dy, c->y_len,
                                           dx, c->x_len, dw, c->w_len, NULL, 0, ws, len);
    free(ws);
    return s;
}

/* Every workspace from the smallest that works up to the query's gives the right gradients,
 * whichever mix of Winograd, direct and im2col passes it fits: here (pad 2: y larger than x)
 * Winograd's dx fits in less than its dw, which the direct pass then takes (a dx lost that
 * way once went unnoticed); the last runs the direct dx when it fits. Smaller workspaces must
 * fail with NNK_ERROR_BUFFER_SIZE. The smallest that works depends on the machine (the L2
 * sets im2col's bands and groups; with a 1 MiB L2 it lies within 1 % of the query's for the
 * second geometry), so it is found by bisection and the sizes tried spread from it. */
TEST(Conv2dBackward_EveryWorkspaceSizeGivesTheSameGradients)
{
    const nnk_conv2d_desc geometries[] = {
        {2, 16, 5, 5, 16, 3, 3, 1, 1, 2, 2},
        {2, 20, 13, 13, 50, 5, 5, 1, 1, 0, 0},
        {2, 3, 8, 32, 8, 7, 7, 1, 1, 3, 3}, /* the direct dx, dw by im2col */
    };
    CHECK_OK(nnk_set_num_threads(1));
    for (int gi = 0; gi < TEST_COUNT(geometries); gi++) {
        conv_case c = make_case(&geometries[gi], 9700 + gi);
        const int64_t full = query_workspace(&c.d, NNK_CONV_BACKWARD);
        double *dx = zeros(c.x_len), *dw = zeros(c.w_len), *ref_dx = zeros(c.x_len);
        double *ref_dw = zeros(c.w_len), *ref_db = zeros(c.d.f);
        reference_backward(&c, ref_dx, ref_dw, ref_db);
        /* Success grows with the size: fails below `smallest`, works from it on. */
        int64_t fails = 0, smallest = full;
        while (smallest - fails > 1) {
            const int64_t mid = fails + (smallest - fails) / 2;
            nnk_status s = backward_with_workspace(&c, mid, dx, dw);
            CHECK(s == NNK_OK || s == NNK_ERROR_BUFFER_SIZE, "workspace %lld: status %d",
                  (long long)mid, (int)s);
            if (s == NNK_OK)
                smallest = mid;
            else
                fails = mid;
        }
        for (int64_t len = full / 97 + 1; len < smallest; len += full / 97 + 1) {
            nnk_status s = backward_with_workspace(&c, len, dx, dw);
            CHECK(s == NNK_ERROR_BUFFER_SIZE, "workspace %lld (< %lld): status %d",
                  (long long)len, (long long)smallest, (int)s);
        }
        int worked = 0;
        /* 65 sizes: as dense as the old fixed grid of 97 steps over the whole range. */
        for (int k = 0; k <= 64; k++) {
            const int64_t len = smallest + (full - smallest) * k / 64;
            nnk_status s = backward_with_workspace(&c, len, dx, dw);
            CHECK(s == NNK_OK, "workspace %lld (>= %lld): status %d", (long long)len,
                  (long long)smallest, (int)s);
            if (s != NNK_OK)
                continue;
            worked++;
            check_close("dx", &c, dx, ref_dx, c.x_len, 1e-12);
            check_close("dw", &c, dw, ref_dw, c.w_len, 1e-12);
        }
        CHECK(worked == 65, "%d of 65 workspace sizes worked", worked);
        for (double *p[] = {dx, dw, ref_dx, ref_dw, ref_db}, **q = p; q < p + 5; q++)
            free(*q);
        free_case(&c);
    }
}
