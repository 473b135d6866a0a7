/* Dense algebra, ReLU and the classification losses: gemm against a naive triple loop, ReLU
 * element by element, the losses against a direct double reference and centred differences,
 * thread-count independence, and every status path. */
#include "test.h"

/* ---- gemm --------------------------------------------------------------------------------- */

/* c = alpha*op(a)*op(b) + beta*c in double, a stored (m, k) or (k, m), b (k, n) or (n, k). */
static void naive_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                       const double *a, const double *b, double beta, double *c)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double sum = 0;
            for (int64_t p = 0; p < k; p++)
                sum += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
            c[i * n + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * n + j]);
        }
}

TEST(Dense_GemmMatchesNaiveAllTransposes)
{
    const int64_t shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {8, 2, 9}, {13, 11, 17}, {64, 10, 100}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        for (int t = 0; t < 4; t++) {
            /* Any nonzero flag means transposed. */
            const int32_t ta = t & 1 ? 7 : 0, tb = t & 2 ? -1 : 0;
            double *a = test_random(m * k, 11 + s), *b = test_random(k * n, 23 + s);
            double *c0 = test_random(m * n, 37 + s);
            double *expect = malloc((size_t)(m * n) * sizeof *expect);
            double *c = malloc((size_t)(m * n) * sizeof *c);
            memcpy(expect, c0, (size_t)(m * n) * sizeof *c0);
            naive_gemm(ta, tb, m, n, k, 1.5, a, b, 0.5, expect);

            memcpy(c, c0, (size_t)(m * n) * sizeof *c0);
            CHECK_OK(nnk_gemm_f64(ta, tb, m, n, k, 1.5, a, m * k, b, k * n, 0.5, c, m * n));
            double err = test_rel_error(c, expect, m * n);
            CHECK(err < 1e-14, "f64 m=%lld n=%lld k=%lld ta=%d tb=%d: rel error %g",
                  (long long)m, (long long)n, (long long)k, ta, tb, err);

            float *af = test_to_float(a, m * k), *bf = test_to_float(b, k * n);
            float *cf = test_to_float(c0, m * n);
            CHECK_OK(nnk_gemm_f32(ta, tb, m, n, k, 1.5f, af, m * k, bf, k * n, 0.5f, cf, m * n));
            test_from_float(cf, m * n, c);
            err = test_rel_error(c, expect, m * n);
            CHECK(err < 1e-5, "f32 m=%lld n=%lld k=%lld ta=%d tb=%d: rel error %g",
                  (long long)m, (long long)n, (long long)k, ta, tb, err);
            free(a), free(b), free(c0), free(expect), free(c), free(af), free(bf), free(cf);
        }
    }
}

TEST(Dense_GemmBetaZeroIgnoresNanInC)
{
    const int64_t m = 6, n = 5, k = 4;
    double *a = test_random(m * k, 1), *b = test_random(k * n, 2);
    double expect[30], c[30];
    float *af = test_to_float(a, m * k), *bf = test_to_float(b, k * n), cf[30];
    for (int t = 0; t < 4; t++) {
        naive_gemm(t & 1, t & 2, m, n, k, 2, a, b, 0, expect);
        for (int i = 0; i < 30; i++)
            c[i] = NAN, cf[i] = NAN;
        CHECK_OK(nnk_gemm_f64(t & 1, t & 2, m, n, k, 2, a, m * k, b, k * n, 0, c, m * n));
        CHECK_OK(nnk_gemm_f32(t & 1, t & 2, m, n, k, 2, af, m * k, bf, k * n, 0, cf, m * n));
        double cd[30];
        test_from_float(cf, 30, cd);
        for (int i = 0; i < 30; i++)
            CHECK(isfinite(c[i]) && isfinite(cd[i]), "t=%d c[%d] = %g / %g", t, i, c[i], cd[i]);
        CHECK(test_rel_error(c, expect, 30) < 1e-14, "t=%d f64", t);
        CHECK(test_rel_error(cd, expect, 30) < 1e-5, "t=%d f32", t);
    }
    free(a), free(b), free(af), free(bf);
}

TEST(Dense_GemmStatusPaths)
{
    double a[64] = {0}, b[64] = {0}, c[64] = {0};
    float af[64] = {0};
    /* Sizes. */
    CHECK_ERROR(nnk_gemm_f64(0, 0, 0, 3, 4, 1, a, 0, b, 12, 0, c, 0), NNK_ERROR_INVALID_ARGUMENT,
                "gemm: m = 0 (must be >= 1)");
    CHECK_ERROR(nnk_gemm_f64(0, 0, 2, -1, 4, 1, a, 8, b, 4, 0, c, 2), NNK_ERROR_INVALID_ARGUMENT,
                "gemm: n = -1 (must be >= 1)");
    CHECK_ERROR(nnk_gemm_f32(0, 0, 2, 3, 0, 1, af, 0, af, 0, 0, af, 6),
                NNK_ERROR_INVALID_ARGUMENT, "gemm: k = 0 (must be >= 1)");
    /* Null pointers. */
    CHECK_ERROR(nnk_gemm_f64(0, 0, 2, 3, 4, 1, NULL, 8, b, 12, 0, c, 6), NNK_ERROR_NULL_POINTER,
                "gemm: a is NULL");
    CHECK_ERROR(nnk_gemm_f64(0, 0, 2, 3, 4, 1, a, 8, NULL, 12, 0, c, 6), NNK_ERROR_NULL_POINTER,
                "gemm: b is NULL");
    CHECK_ERROR(nnk_gemm_f32(0, 0, 2, 3, 4, 1, af, 8, af, 12, 0, NULL, 6),
                NNK_ERROR_NULL_POINTER, "gemm: c is NULL");
    /* Lengths, with the shape as stored. */
    CHECK_ERROR(nnk_gemm_f64(0, 0, 2, 3, 4, 1, a, 7, b, 12, 0, c, 6), NNK_ERROR_BUFFER_SIZE,
                "gemm: a has 7 elements, expected 2*4 = 8");
    CHECK_ERROR(nnk_gemm_f64(1, 0, 2, 3, 4, 1, a, 9, b, 12, 0, c, 6), NNK_ERROR_BUFFER_SIZE,
                "gemm: a has 9 elements, expected 4*2 = 8");
    CHECK_ERROR(nnk_gemm_f64(0, 1, 2, 3, 4, 1, a, 8, b, 11, 0, c, 6), NNK_ERROR_BUFFER_SIZE,
                "gemm: b has 11 elements, expected 3*4 = 12");
    CHECK_ERROR(nnk_gemm_f64(0, 0, 2, 3, 4, 1, a, 8, b, 12, 0, c, 5), NNK_ERROR_BUFFER_SIZE,
                "gemm: c has 5 elements, expected 2*3 = 6");
    /* Overflow of int64, then of the BLAS's int (the lengths are never dereferenced). */
    const int64_t big = INT64_C(1) << 32;
    CHECK_ERROR(nnk_gemm_f64(0, 0, big, 1, big, 1, a, 1, b, big, 0, c, big), NNK_ERROR_OVERFLOW,
                "gemm: m*k = 4294967296*4294967296 overflows int64");
    CHECK_ERROR(nnk_gemm_f64(0, 1, 1, big, big, 1, a, big, b, 1, 0, c, big), NNK_ERROR_OVERFLOW,
                "gemm: n*k = 4294967296*4294967296 overflows int64");
    const int64_t over = INT64_C(1) << 31;
    CHECK_ERROR(nnk_gemm_f64(0, 0, over, 1, 1, 1, a, over, b, 1, 0, c, over), NNK_ERROR_OVERFLOW,
                "gemm: m = 2147483648 exceeds the BLAS int limit 2147483647");
    /* A BLAS that cannot be loaded. */
    setenv("NNK_BLAS", "/nonexistent/libgemm.so", 1);
    CHECK_ERROR(nnk_gemm_f64(0, 0, 2, 3, 4, 1, a, 8, b, 12, 0, c, 6), NNK_ERROR_BLAS_UNAVAILABLE,
                "/nonexistent/libgemm.so");
}

/* ---- ReLU --------------------------------------------------------------------------------- */

static const double relu_inputs[] = {-2, -0.0, 0, 1e-300, 3.5, -INFINITY, INFINITY, NAN, -1e-30};
#define RELU_COUNT ((int64_t)(sizeof relu_inputs / sizeof relu_inputs[0]))

static bool same_value(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

TEST(Dense_ReluForward)
{
    double y[RELU_COUNT], inplace[RELU_COUNT];
    float xf[RELU_COUNT], yf[RELU_COUNT];
    CHECK_OK(nnk_relu_forward_f64(relu_inputs, RELU_COUNT, y, RELU_COUNT));
    memcpy(inplace, relu_inputs, sizeof inplace);
    CHECK_OK(nnk_relu_forward_f64(inplace, RELU_COUNT, inplace, RELU_COUNT));
    for (int64_t i = 0; i < RELU_COUNT; i++)
        xf[i] = (float)relu_inputs[i];
    CHECK_OK(nnk_relu_forward_f32(xf, RELU_COUNT, yf, RELU_COUNT));
    CHECK_OK(nnk_relu_forward_f32(xf, RELU_COUNT, xf, RELU_COUNT));
    for (int64_t i = 0; i < RELU_COUNT; i++) {
        double x = relu_inputs[i];
        double expect = isnan(x) ? x : x > 0 ? x : 0;
        CHECK(same_value(y[i], expect), "f64 relu(%g) = %g", x, y[i]);
        CHECK(same_value(inplace[i], expect), "f64 in place relu(%g) = %g", x, inplace[i]);
        CHECK(same_value(yf[i], (float)expect), "f32 relu(%g) = %g", x, yf[i]);
        CHECK(same_value(xf[i], (float)expect), "f32 in place relu(%g) = %g", x, xf[i]);
        CHECK(!signbit(y[i]) || isnan(y[i]), "relu(%g) = -0", x);
    }
}

TEST(Dense_ReluBackward)
{
    double dy[RELU_COUNT], dx[RELU_COUNT];
    float xf[RELU_COUNT], dyf[RELU_COUNT], dxf[RELU_COUNT];
    for (int64_t i = 0; i < RELU_COUNT; i++) {
        dy[i] = i == 4 ? NAN : 10 + (double)i; /* a NaN dy where x = 3.5 > 0 */
        xf[i] = (float)relu_inputs[i], dyf[i] = (float)dy[i];
    }
    dy[0] = NAN, dyf[0] = NAN; /* and one where x = -2: masked to 0 */
    CHECK_OK(nnk_relu_backward_f64(relu_inputs, RELU_COUNT, dy, RELU_COUNT, dx, RELU_COUNT));
    CHECK_OK(nnk_relu_backward_f32(xf, RELU_COUNT, dyf, RELU_COUNT, dxf, RELU_COUNT));
    for (int64_t i = 0; i < RELU_COUNT; i++) {
        double x = relu_inputs[i];
        double expect = x > 0 ? dy[i] : 0; /* NaN x gives 0 */
        CHECK(same_value(dx[i], expect), "f64 x=%g dy=%g: dx = %g", x, dy[i], dx[i]);
        /* 1e-300 rounds to a float 0. */
        float expectf = xf[i] > 0 ? dyf[i] : 0;
        CHECK(same_value(dxf[i], expectf), "f32 x=%g dy=%g: dx = %g", xf[i], dyf[i], dxf[i]);
    }
    /* In place: dx is dy. */
    CHECK_OK(nnk_relu_backward_f64(relu_inputs, RELU_COUNT, dy, RELU_COUNT, dy, RELU_COUNT));
    CHECK_OK(nnk_relu_backward_f32(xf, RELU_COUNT, dyf, RELU_COUNT, dyf, RELU_COUNT));
    for (int64_t i = 0; i < RELU_COUNT; i++) {
        CHECK(same_value(dy[i], dx[i]), "f64 in place [%lld]: %g", (long long)i, dy[i]);
        CHECK(same_value(dyf[i], dxf[i]), "f32 in place [%lld]: %g", (long long)i, dyf[i]);
    }
}

/* Arrays of several blocks (and a partial one) give the same results with 1 and 3 threads. */
TEST(Dense_ReluLargeArraysAnyThreadCount)
{
    const int64_t len = 5 * (1 << 15) + 123;
    double *x = test_random(len, 5), *dy = test_random(len, 6);
    double *y1 = malloc((size_t)len * sizeof *y1), *y3 = malloc((size_t)len * sizeof *y3);
    double *dx1 = malloc((size_t)len * sizeof *dx1), *dx3 = malloc((size_t)len * sizeof *dx3);
    float *xf = test_to_float(x, len), *yf = malloc((size_t)len * sizeof *yf);
    CHECK_OK(nnk_set_num_threads(1));
    CHECK_OK(nnk_relu_forward_f64(x, len, y1, len));
    CHECK_OK(nnk_relu_backward_f64(x, len, dy, len, dx1, len));
    CHECK_OK(nnk_set_num_threads(3));
    CHECK_OK(nnk_relu_forward_f64(x, len, y3, len));
    CHECK_OK(nnk_relu_backward_f64(x, len, dy, len, dx3, len));
    CHECK_OK(nnk_relu_forward_f32(xf, len, yf, len));
    int64_t bad = 0;
    for (int64_t i = 0; i < len; i++) {
        double ey = x[i] > 0 ? x[i] : 0, edx = x[i] > 0 ? dy[i] : 0;
        bad += y1[i] != ey || y3[i] != ey || dx1[i] != edx || dx3[i] != edx ||
               yf[i] != (float)ey;
    }
    CHECK(bad == 0, "%lld wrong elements", (long long)bad);
    free(x), free(dy), free(y1), free(y3), free(dx1), free(dx3), free(xf), free(yf);
}

TEST(Dense_ReluStatusPaths)
{
    double x[4] = {0}, y[4];
    float xf[4] = {0};
    CHECK_ERROR(nnk_relu_forward_f64(NULL, 4, y, 4), NNK_ERROR_NULL_POINTER,
                "relu_forward: x is NULL");
    CHECK_ERROR(nnk_relu_forward_f64(x, 4, NULL, 4), NNK_ERROR_NULL_POINTER,
                "relu_forward: y is NULL");
    CHECK_ERROR(nnk_relu_forward_f32(xf, 0, xf, 0), NNK_ERROR_INVALID_ARGUMENT,
                "relu_forward: x_len = 0 (must be >= 1)");
    CHECK_ERROR(nnk_relu_forward_f64(x, -3, y, -3), NNK_ERROR_INVALID_ARGUMENT,
                "relu_forward: x_len = -3 (must be >= 1)");
    CHECK_ERROR(nnk_relu_forward_f64(x, 4, y, 3), NNK_ERROR_BUFFER_SIZE,
                "relu_forward: y has 3 elements, expected 4");
    CHECK_ERROR(nnk_relu_backward_f64(NULL, 4, y, 4, y, 4), NNK_ERROR_NULL_POINTER,
                "relu_backward: x is NULL");
    CHECK_ERROR(nnk_relu_backward_f64(x, 4, NULL, 4, y, 4), NNK_ERROR_NULL_POINTER,
                "relu_backward: dy is NULL");
    CHECK_ERROR(nnk_relu_backward_f32(xf, 4, xf, 4, NULL, 4), NNK_ERROR_NULL_POINTER,
                "relu_backward: dx is NULL");
    CHECK_ERROR(nnk_relu_backward_f64(x, 0, y, 0, y, 0), NNK_ERROR_INVALID_ARGUMENT,
                "relu_backward: x_len = 0 (must be >= 1)");
    CHECK_ERROR(nnk_relu_backward_f64(x, 4, y, 5, y, 4), NNK_ERROR_BUFFER_SIZE,
                "relu_backward: dy has 5 elements, expected 4");
    CHECK_ERROR(nnk_relu_backward_f64(x, 4, y, 4, y, 2), NNK_ERROR_BUFFER_SIZE,
                "relu_backward: dx has 2 elements, expected 4");
}

/* ---- Losses ------------------------------------------------------------------------------- */

/* The seeds' softmax_loss and svm_loss, directly in double. */
static double ref_softmax(int64_t n, int64_t classes, const double *s, const int32_t *y,
                          double *ds)
{
    double loss = 0;
    for (int64_t i = 0; i < n; i++) {
        const double *r = s + i * classes;
        double max = r[0], z = 0;
        for (int64_t j = 1; j < classes; j++)
            max = fmax(max, r[j]);
        for (int64_t j = 0; j < classes; j++)
            z += exp(r[j] - max);
        loss += log(z) - (r[y[i]] - max);
        if (ds != NULL)
            for (int64_t j = 0; j < classes; j++)
                ds[i * classes + j] = (exp(r[j] - max) / z - (j == y[i])) / (double)n;
    }
    return loss / (double)n;
}

static double ref_svm(int64_t n, int64_t classes, const double *s, const int32_t *y,
                      double *ds)
{
    double loss = 0;
    for (int64_t i = 0; i < n; i++) {
        const double *r = s + i * classes;
        int64_t count = 0;
        for (int64_t j = 0; j < classes; j++) {
            double m = j == y[i] ? 0 : fmax(0, r[j] - r[y[i]] + 1);
            loss += m;
            count += m > 0;
            if (ds != NULL)
                ds[i * classes + j] = (m > 0) / (double)n;
        }
        if (ds != NULL)
            ds[i * classes + y[i]] = -(double)count / (double)n;
    }
    return loss / (double)n;
}

typedef double (*ref_loss_fn)(int64_t, int64_t, const double *, const int32_t *, double *);
typedef nnk_status (*loss_f64_fn)(int64_t, int64_t, const double *, int64_t, const int32_t *,
                                  int64_t, double *, double *, int64_t);
typedef nnk_status (*loss_f32_fn)(int64_t, int64_t, const float *, int64_t, const int32_t *,
                                  int64_t, float *, float *, int64_t);

static const struct {
    const char *name;
    ref_loss_fn ref;
    loss_f64_fn f64;
    loss_f32_fn f32;
} losses[] = {
    {"softmax", ref_softmax, nnk_softmax_loss_f64, nnk_softmax_loss_f32},
    {"svm", ref_svm, nnk_svm_loss_f64, nnk_svm_loss_f32},
};

static int32_t *random_labels(int64_t n, int64_t classes, uint64_t seed)
{
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    for (int64_t i = 0; i < n; i++)
        labels[i] = (int32_t)((test_uniform(&seed) + 1) / 2 * (double)classes) % (int32_t)classes;
    return labels;
}

/* Scores uniform in [-scale, scale). */
static double *random_scores(int64_t count, double scale, uint64_t seed)
{
    double *s = test_random(count, seed);
    for (int64_t i = 0; i < count; i++)
        s[i] *= scale;
    return s;
}

TEST(Dense_LossesMatchReference)
{
    const int64_t shapes[][2] = {{1, 1}, {1, 5}, {7, 1}, {64, 10}, {3, 1000}, {300, 7}};
    for (size_t l = 0; l < 2; l++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int64_t n = shapes[s][0], classes = shapes[s][1], len = n * classes;
            double *scores = random_scores(len, 3, 100 + s);
            int32_t *labels = random_labels(n, classes, 200 + s);
            double *expect = malloc((size_t)len * sizeof *expect);
            double *ds = malloc((size_t)len * sizeof *ds);
            double expect_loss = losses[l].ref(n, classes, scores, labels, expect), loss = -1;
            CHECK_OK(losses[l].f64(n, classes, scores, len, labels, n, &loss, ds, len));
            CHECK(fabs(loss - expect_loss) <= 1e-13 * fmax(1, fabs(expect_loss)),
                  "%s f64 n=%lld classes=%lld: loss %.17g, expected %.17g", losses[l].name,
                  (long long)n, (long long)classes, loss, expect_loss);
            double err = test_rel_error(ds, expect, len);
            CHECK(err < 1e-13, "%s f64 n=%lld classes=%lld: dscores rel error %g",
                  losses[l].name, (long long)n, (long long)classes, err);

            float *sf = test_to_float(scores, len), *dsf = malloc((size_t)len * sizeof *dsf);
            float lossf = -1;
            double *sd = malloc((size_t)len * sizeof *sd);
            test_from_float(sf, len, sd); /* the reference on the rounded scores */
            expect_loss = losses[l].ref(n, classes, sd, labels, expect);
            CHECK_OK(losses[l].f32(n, classes, sf, len, labels, n, &lossf, dsf, len));
            CHECK(fabs(lossf - expect_loss) <= 1e-6 * fmax(1, fabs(expect_loss)),
                  "%s f32 n=%lld classes=%lld: loss %.9g, expected %.17g", losses[l].name,
                  (long long)n, (long long)classes, lossf, expect_loss);
            test_from_float(dsf, len, ds);
            err = test_rel_error(ds, expect, len);
            CHECK(err < 1e-6, "%s f32 n=%lld classes=%lld: dscores rel error %g", losses[l].name,
                  (long long)n, (long long)classes, err);
            free(scores), free(labels), free(expect), free(ds), free(sf), free(dsf), free(sd);
        }
}

/* dscores against centred differences of the loss in double. */
TEST(Dense_LossesNumericGradient)
{
    const int64_t n = 8, classes = 6, len = n * classes;
    const double h = 1e-5;
    for (size_t l = 0; l < 2; l++) {
        double *scores = random_scores(len, 2, 300 + l);
        int32_t *labels = random_labels(n, classes, 400 + l);
        double ds[48], numeric[48], scratch[48], loss;
        CHECK_OK(losses[l].f64(n, classes, scores, len, labels, n, &loss, ds, len));
        for (int64_t i = 0; i < len; i++) {
            double saved = scores[i], plus, minus;
            scores[i] = saved + h;
            CHECK_OK(losses[l].f64(n, classes, scores, len, labels, n, &plus, scratch, len));
            scores[i] = saved - h;
            CHECK_OK(losses[l].f64(n, classes, scores, len, labels, n, &minus, scratch, len));
            scores[i] = saved;
            numeric[i] = (plus - minus) / (2 * h);
        }
        double err = test_rel_error(ds, numeric, len);
        CHECK(err < 1e-7, "%s: gradient rel error %g", losses[l].name, err);
        free(scores), free(labels);
    }
}

/* Small random scores give a softmax loss near log(classes) (chance level). */
TEST(Dense_SoftmaxLossOfSmallScoresNearLogClasses)
{
    const int64_t n = 64, classes = 10, len = n * classes;
    double *scores = random_scores(len, 1e-3, 500);
    int32_t *labels = random_labels(n, classes, 501);
    double ds[640], loss;
    float *sf = test_to_float(scores, len), dsf[640], lossf;
    CHECK_OK(nnk_softmax_loss_f64(n, classes, scores, len, labels, n, &loss, ds, len));
    CHECK_OK(nnk_softmax_loss_f32(n, classes, sf, len, labels, n, &lossf, dsf, len));
    CHECK(fabs(loss - log(10.0)) < 2e-3, "loss %.17g, log(10) = %.17g", loss, log(10.0));
    CHECK(fabs(lossf - log(10.0)) < 2e-3, "f32 loss %.9g", lossf);
    free(scores), free(labels), free(sf);
}

/* Scores of +-1000 would overflow exp unshifted; the loss and dscores stay finite. */
TEST(Dense_SoftmaxLossLargeScoresStayFinite)
{
    const int64_t n = 4, classes = 3, len = 12;
    const double scores[12] = {1000, -1000, 0, -1000, 1000, 999, 1000, 1000, 1000,
                               -1000, -1000, -999};
    const int32_t labels[4] = {0, 0, 2, 1};
    double ds[12], expect[12], loss;
    float sf[12], dsf[12], lossf;
    for (int i = 0; i < 12; i++)
        sf[i] = (float)scores[i];
    double expect_loss = ref_softmax(n, classes, scores, labels, expect);
    CHECK(isfinite(expect_loss), "reference loss %g", expect_loss);
    CHECK_OK(nnk_softmax_loss_f64(n, classes, scores, len, labels, n, &loss, ds, len));
    CHECK_OK(nnk_softmax_loss_f32(n, classes, sf, len, labels, n, &lossf, dsf, len));
    CHECK(isfinite(loss) && fabs(loss - expect_loss) < 1e-12 * fabs(expect_loss),
          "loss %.17g, expected %.17g", loss, expect_loss);
    CHECK(isfinite(lossf) && fabs(lossf - expect_loss) < 1e-6 * fabs(expect_loss),
          "f32 loss %.9g, expected %.17g", lossf, expect_loss);
    for (int i = 0; i < 12; i++) {
        CHECK(isfinite(ds[i]) && fabs(ds[i] - expect[i]) < 1e-15, "ds[%d] = %g, expected %g", i,
              ds[i], expect[i]);
        CHECK(isfinite(dsf[i]) && fabs(dsf[i] - expect[i]) < 1e-7, "f32 ds[%d] = %g", i, dsf[i]);
    }
}

TEST(Dense_LossesNanScorePropagates)
{
    double scores[6] = {0.5, NAN, -1, 2, 0, 1}, ds[6], loss;
    const int32_t labels[2] = {0, 2};
    for (size_t l = 0; l < 2; l++) {
        CHECK_OK(losses[l].f64(2, 3, scores, 6, labels, 2, &loss, ds, 6));
        CHECK(isnan(loss), "%s: loss %g", losses[l].name, loss);
    }
}

/* A label out of range fails naming its row and value, before anything is written. */
TEST(Dense_LossLabelOutOfRange)
{
    double scores[12] = {0}, ds[12], loss = 42;
    float sf[12] = {0}, dsf[12], lossf = 42;
    for (int i = 0; i < 12; i++)
        ds[i] = 7, dsf[i] = 7;
    const int32_t high[4] = {0, 1, 3, 2}, low[4] = {0, -1, 1, 2};
    CHECK_ERROR(nnk_softmax_loss_f64(4, 3, scores, 12, high, 4, &loss, ds, 12),
                NNK_ERROR_INVALID_ARGUMENT,
                "softmax_loss: labels[2] = 3 (must be in [0, classes) = [0, 3))");
    CHECK_ERROR(nnk_softmax_loss_f32(4, 3, sf, 12, low, 4, &lossf, dsf, 12),
                NNK_ERROR_INVALID_ARGUMENT, "softmax_loss: labels[1] = -1");
    CHECK_ERROR(nnk_svm_loss_f64(4, 3, scores, 12, low, 4, &loss, ds, 12),
                NNK_ERROR_INVALID_ARGUMENT, "svm_loss: labels[1] = -1");
    CHECK_ERROR(nnk_svm_loss_f32(4, 3, sf, 12, high, 4, &lossf, dsf, 12),
                NNK_ERROR_INVALID_ARGUMENT, "svm_loss: labels[2] = 3");
    CHECK(loss == 42 && lossf == 42, "loss written: %g %g", loss, lossf);
    for (int i = 0; i < 12; i++)
        CHECK(ds[i] == 7 && dsf[i] == 7, "dscores[%d] written: %g %g", i, ds[i], dsf[i]);
}

/* Large enough to run on several threads: bit-identical results with 1, 2 and 3 threads. */
TEST(Dense_LossesIdenticalAcrossThreadCounts)
{
    const int64_t n = 3001, classes = 97, len = n * classes;
    double *scores = random_scores(len, 4, 600);
    int32_t *labels = random_labels(n, classes, 601);
    float *sf = test_to_float(scores, len);
    double *ds[3];
    float *dsf[3];
    double loss[3];
    float lossf[3];
    for (size_t l = 0; l < 2; l++) {
        for (int t = 0; t < 3; t++) {
            ds[t] = malloc((size_t)len * sizeof *ds[t]);
            dsf[t] = malloc((size_t)len * sizeof *dsf[t]);
            CHECK_OK(nnk_set_num_threads(t + 1));
            CHECK_OK(losses[l].f64(n, classes, scores, len, labels, n, &loss[t], ds[t], len));
            CHECK_OK(losses[l].f32(n, classes, sf, len, labels, n, &lossf[t], dsf[t], len));
        }
        double *expect = malloc((size_t)len * sizeof *expect);
        double expect_loss = losses[l].ref(n, classes, scores, labels, expect);
        CHECK(fabs(loss[0] - expect_loss) < 1e-12 * fabs(expect_loss), "%s: loss %.17g vs %.17g",
              losses[l].name, loss[0], expect_loss);
        CHECK(test_rel_error(ds[0], expect, len) < 1e-13, "%s: dscores", losses[l].name);
        for (int t = 1; t < 3; t++) {
            CHECK(memcmp(&loss[t], &loss[0], sizeof loss[0]) == 0,
                  "%s f64 %d threads: %.17g vs %.17g", losses[l].name, t + 1, loss[t], loss[0]);
            CHECK(memcmp(&lossf[t], &lossf[0], sizeof lossf[0]) == 0, "%s f32 %d threads",
                  losses[l].name, t + 1);
            CHECK(memcmp(ds[t], ds[0], (size_t)len * sizeof *ds[0]) == 0,
                  "%s f64 %d threads: dscores differ", losses[l].name, t + 1);
            CHECK(memcmp(dsf[t], dsf[0], (size_t)len * sizeof *dsf[0]) == 0,
                  "%s f32 %d threads: dscores differ", losses[l].name, t + 1);
        }
        for (int t = 0; t < 3; t++)
            free(ds[t]), free(dsf[t]);
        free(expect);
    }
    free(scores), free(labels), free(sf);
}

TEST(Dense_LossStatusPaths)
{
    double s[12] = {0}, ds[12], loss;
    float sf[12] = {0}, dsf[12], lossf;
    const int32_t y[4] = {0, 1, 2, 0};
    const char *names[2] = {"softmax_loss", "svm_loss"};
    for (size_t l = 0; l < 2; l++) {
        char text[128];
        loss_f64_fn f = losses[l].f64;
#define EXPECT(call, status, suffix)                                                          \
    do {                                                                                     \
        snprintf(text, sizeof text, "%s: %s", names[l], suffix);                             \
        CHECK_ERROR(call, status, text);                                                     \
    } while (0)
        EXPECT(f(0, 3, s, 0, y, 0, &loss, ds, 0), NNK_ERROR_INVALID_ARGUMENT,
               "n = 0 (must be >= 1)");
        EXPECT(f(4, -2, s, 12, y, 4, &loss, ds, 12), NNK_ERROR_INVALID_ARGUMENT,
               "classes = -2 (must be >= 1)");
        EXPECT(f(INT64_C(1) << 40, INT64_C(1) << 40, s, 12, y, 4, &loss, ds, 12),
               NNK_ERROR_OVERFLOW, "n*classes = 1099511627776*1099511627776 overflows int64");
        EXPECT(f(4, 3, NULL, 12, y, 4, &loss, ds, 12), NNK_ERROR_NULL_POINTER,
               "scores is NULL");
        EXPECT(f(4, 3, s, 12, NULL, 4, &loss, ds, 12), NNK_ERROR_NULL_POINTER,
               "labels is NULL");
        EXPECT(f(4, 3, s, 12, y, 4, NULL, ds, 12), NNK_ERROR_NULL_POINTER, "loss is NULL");
        EXPECT(f(4, 3, s, 12, y, 4, &loss, NULL, 12), NNK_ERROR_NULL_POINTER,
               "dscores is NULL");
        EXPECT(f(4, 3, s, 11, y, 4, &loss, ds, 12), NNK_ERROR_BUFFER_SIZE,
               "scores has 11 elements, expected 4*3 = 12");
        EXPECT(f(4, 3, s, 12, y, 3, &loss, ds, 12), NNK_ERROR_BUFFER_SIZE,
               "labels has 3 elements, expected 4");
        EXPECT(f(4, 3, s, 12, y, 4, &loss, ds, 13), NNK_ERROR_BUFFER_SIZE,
               "dscores has 13 elements, expected 4*3 = 12");
        EXPECT(losses[l].f32(4, 3, sf, 12, y, 4, &lossf, dsf, 10), NNK_ERROR_BUFFER_SIZE,
               "dscores has 10 elements, expected 4*3 = 12");
        EXPECT(losses[l].f32(4, 3, sf, 12, y, 4, NULL, dsf, 12), NNK_ERROR_NULL_POINTER,
               "loss is NULL");
#undef EXPECT
        CHECK_OK(losses[l].f32(4, 3, sf, 12, y, 4, &lossf, dsf, 12));
    }
}
