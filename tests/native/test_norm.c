/* Batch norm (spatial = 1 and > 1) and group norm (layer norm included) forward and backward
 * against direct loops in double, against a numeric gradient, the training-mode properties
 * of the seeds' notebooks, one against two threads, and every failure path. */
#include "test.h"

typedef enum norm_kind { BATCH, GROUP } norm_kind;

/* A problem in double: batch norm normalises over each channel, group norm over each
 * (sample, group); either way a "set" of values shares one mean and variance. */
typedef struct norm_case {
    norm_kind kind;
    nnk_norm_desc d;
    int64_t len;  /* n*c*spatial */
    int64_t sets; /* statistics: c for batch norm, n*groups for group norm */
    double *x, *gamma, *beta, *dy;
} norm_case;

/* Standard normal by Box-Muller on the harness's uniform stream. */
static double test_normal(uint64_t *state)
{
    double u = 0.5 * (test_uniform(state) + 1), v = 0.5 * (test_uniform(state) + 1);
    return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v);
}

/* x = offset + scale * N(0, 1); gamma, beta and dy N(0, 1). */
static norm_case make_case(norm_kind kind, nnk_norm_desc d, double offset, double scale,
                           uint64_t seed)
{
    norm_case t = {.kind = kind, .d = d, .len = d.n * d.c * d.spatial};
    t.sets = kind == BATCH ? d.c : d.n * d.groups;
    t.x = malloc((size_t)t.len * sizeof(double));
    t.dy = malloc((size_t)t.len * sizeof(double));
    t.gamma = malloc((size_t)d.c * sizeof(double));
    t.beta = malloc((size_t)d.c * sizeof(double));
    for (int64_t k = 0; k < t.len; k++) {
        t.x[k] = offset + scale * test_normal(&seed);
        t.dy[k] = test_normal(&seed);
    }
    for (int64_t k = 0; k < d.c; k++) {
        t.gamma[k] = test_normal(&seed);
        t.beta[k] = test_normal(&seed);
    }
    return t;
}

static void free_case(norm_case *t)
{
    free(t->x);
    free(t->dy);
    free(t->gamma);
    free(t->beta);
}

/* So that the float kernels and the double references see the same inputs. */
static void round_inputs_to_float(norm_case *t)
{
    for (int64_t k = 0; k < t->len; k++) {
        t->x[k] = (float)t->x[k];
        t->dy[k] = (float)t->dy[k];
    }
    for (int64_t k = 0; k < t->d.c; k++) {
        t->gamma[k] = (float)t->gamma[k];
        t->beta[k] = (float)t->beta[k];
    }
}

static double *zeros(int64_t count) { return calloc((size_t)count, sizeof(double)); }

static int64_t set_of(const norm_case *t, int64_t i, int64_t ch)
{
    return t->kind == BATCH ? ch : i * t->d.groups + ch / (t->d.c / t->d.groups);
}

static void print_case(const norm_case *t)
{
    fprintf(stderr, "  %s n=%lld c=%lld spatial=%lld groups=%lld\n",
            t->kind == BATCH ? "batch norm" : "group norm", (long long)t->d.n, (long long)t->d.c,
            (long long)t->d.spatial, (long long)t->d.groups);
}

/* Normwise relative error with the scale floored at 1, so that a gradient that is zero
 * analytically (a set of one value) is held to an absolute bound instead. */
static void check_close(const char *what, const norm_case *t, const double *actual,
                        const double *expected, int64_t count, double tolerance)
{
    double diff = 0, scale = 1;
    for (int64_t k = 0; k < count; k++) {
        diff = fmax(diff, fabs(actual[k] - expected[k]));
        scale = fmax(scale, fabs(expected[k]));
    }
    CHECK(diff / scale <= tolerance, "%s: rel error %.3g > %.3g", what, diff / scale, tolerance);
    if (diff / scale > tolerance)
        print_case(t);
}

/* ---- References in double ----------------------------------------------------------------- */

/* Two passes over the definition: each set's mean, then its biased variance, then y. */
static void reference_forward(const norm_case *t, double *y, double *mean, double *var)
{
    const nnk_norm_desc *d = &t->d;
    double count = (double)t->len / (double)t->sets;
    for (int64_t k = 0; k < t->sets; k++)
        mean[k] = var[k] = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int64_t i = 0; i < d->n; i++)
            for (int64_t ch = 0; ch < d->c; ch++)
                for (int64_t s = 0; s < d->spatial; s++) {
                    int64_t at = (i * d->c + ch) * d->spatial + s, k = set_of(t, i, ch);
                    if (pass == 0)
                        mean[k] += t->x[at] / count;
                    else if (pass == 1)
                        var[k] += (t->x[at] - mean[k]) * (t->x[at] - mean[k]) / count;
                    else
                        y[at] = t->gamma[ch] * (t->x[at] - mean[k]) / sqrt(var[k] + d->eps) +
                                t->beta[ch];
                }
}

/* The seeds' computation graph (batchnorm_backward), node by node, per set. */
static void reference_backward(const norm_case *t, double *dx, double *dgamma, double *dbeta)
{
    const nnk_norm_desc *d = &t->d;
    double count = (double)t->len / (double)t->sets;
    double *y = zeros(t->len), *mean = zeros(t->sets), *var = zeros(t->sets);
    double *divar = zeros(t->sets), *dmu = zeros(t->sets), *dxmu = zeros(t->len);
    reference_forward(t, y, mean, var);
    for (int64_t ch = 0; ch < d->c; ch++)
        dgamma[ch] = dbeta[ch] = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int64_t i = 0; i < d->n; i++)
            for (int64_t ch = 0; ch < d->c; ch++)
                for (int64_t s = 0; s < d->spatial; s++) {
                    int64_t at = (i * d->c + ch) * d->spatial + s, k = set_of(t, i, ch);
                    double xmu = t->x[at] - mean[k], sqrtvar = sqrt(var[k] + d->eps);
                    double ivar = 1 / sqrtvar, dxhat = t->dy[at] * t->gamma[ch];
                    if (pass == 0) {
                        dbeta[ch] += t->dy[at];
                        dgamma[ch] += t->dy[at] * xmu * ivar;
                        divar[k] += dxhat * xmu;
                    } else if (pass == 1) {
                        double dxmu1 = dxhat * ivar;
                        double dsqrtvar = -1 / (sqrtvar * sqrtvar) * divar[k];
                        double dvar = 0.5 / sqrt(var[k] + d->eps) * dsqrtvar;
                        double dxmu2 = 2 * xmu * dvar / count;
                        dxmu[at] = dxmu1 + dxmu2;
                        dmu[k] -= dxmu1 + dxmu2;
                    } else {
                        dx[at] = dxmu[at] + dmu[k] / count;
                    }
                }
    for (double *p[] = {y, mean, var, divar, dmu, dxmu}, **q = p; q < p + 6; q++)
        free(*q);
}

/* ---- Running the kernels on double data --------------------------------------------------- */

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

/* Forward in either precision; batch norm reads and updates running_mean / running_var
 * (group norm ignores mode and them). A NULL save buffer is passed as absent. */
static void run_forward(const norm_case *t, bool f32, nnk_norm_mode mode, double *running_mean,
                        double *running_var, double *y, double *save_mean, double *save_invstd)
{
    const int64_t c = t->d.c, sm_len = save_mean ? t->sets : 0, si_len = save_invstd ? t->sets : 0;
    const bool batch = t->kind == BATCH;
    if (f32) {
        float *x = test_to_float(t->x, t->len), *gamma = test_to_float(t->gamma, c);
        float *beta = test_to_float(t->beta, c), *yf = malloc((size_t)t->len * sizeof(float));
        float *sm = float_output_or_null(save_mean, sm_len);
        float *si = float_output_or_null(save_invstd, si_len);
        if (batch) {
            float *rm = test_to_float(running_mean, c), *rv = test_to_float(running_var, c);
            CHECK_OK(nnk_batchnorm_forward_f32(&t->d, mode, x, t->len, gamma, c, beta, c, rm, c,
                                               rv, c, yf, t->len, sm, sm_len, si, si_len));
            back_to_double(rm, c, running_mean);
            back_to_double(rv, c, running_var);
        } else {
            CHECK_OK(nnk_groupnorm_forward_f32(&t->d, x, t->len, gamma, c, beta, c, yf, t->len,
                                               sm, sm_len, si, si_len));
        }
        back_to_double(yf, t->len, y);
        back_to_double(sm, sm_len, save_mean);
        back_to_double(si, si_len, save_invstd);
        free(x);
        free(gamma);
        free(beta);
    } else if (batch) {
        CHECK_OK(nnk_batchnorm_forward_f64(&t->d, mode, t->x, t->len, t->gamma, c, t->beta, c,
                                           running_mean, c, running_var, c, y, t->len, save_mean,
                                           sm_len, save_invstd, si_len));
    } else {
        CHECK_OK(nnk_groupnorm_forward_f64(&t->d, t->x, t->len, t->gamma, c, t->beta, c, y,
                                           t->len, save_mean, sm_len, save_invstd, si_len));
    }
}

/* Training-mode forward with scratch running statistics; returns the saved statistics. */
static void run_train_forward(const norm_case *t, bool f32, double *y, double *save_mean,
                              double *save_invstd)
{
    double *rm = zeros(t->d.c), *rv = zeros(t->d.c);
    run_forward(t, f32, NNK_NORM_TRAIN, rm, rv, y, save_mean, save_invstd);
    free(rm);
    free(rv);
}

/* Backward in either precision; a NULL gradient is skipped. */
static void run_backward(const norm_case *t, bool f32, const double *save_mean,
                         const double *save_invstd, double *dx, double *dgamma, double *dbeta)
{
    const int64_t c = t->d.c, dx_len = dx ? t->len : 0, dg_len = dgamma ? c : 0;
    const int64_t db_len = dbeta ? c : 0;
    const bool batch = t->kind == BATCH;
    if (f32) {
        float *x = test_to_float(t->x, t->len), *gamma = test_to_float(t->gamma, c);
        float *sm = test_to_float(save_mean, t->sets), *si = test_to_float(save_invstd, t->sets);
        float *dy = test_to_float(t->dy, t->len), *dxf = float_output_or_null(dx, dx_len);
        float *dgf = float_output_or_null(dgamma, dg_len);
        float *dbf = float_output_or_null(dbeta, db_len);
        nnk_status (*backward)(const nnk_norm_desc *, const float *, int64_t, const float *,
                               int64_t, const float *, int64_t, const float *, int64_t,
                               const float *, int64_t, float *, int64_t, float *, int64_t,
                               float *, int64_t) =
            batch ? nnk_batchnorm_backward_f32 : nnk_groupnorm_backward_f32;
        CHECK_OK(backward(&t->d, x, t->len, gamma, c, sm, t->sets, si, t->sets, dy, t->len, dxf,
                          dx_len, dgf, dg_len, dbf, db_len));
        back_to_double(dxf, dx_len, dx);
        back_to_double(dgf, dg_len, dgamma);
        back_to_double(dbf, db_len, dbeta);
        for (float *p[] = {x, gamma, sm, si, dy}, **q = p; q < p + 5; q++)
            free(*q);
    } else {
        nnk_status (*backward)(const nnk_norm_desc *, const double *, int64_t, const double *,
                               int64_t, const double *, int64_t, const double *, int64_t,
                               const double *, int64_t, double *, int64_t, double *, int64_t,
                               double *, int64_t) =
            batch ? nnk_batchnorm_backward_f64 : nnk_groupnorm_backward_f64;
        CHECK_OK(backward(&t->d, t->x, t->len, t->gamma, c, save_mean, t->sets, save_invstd,
                          t->sets, t->dy, t->len, dx, dx_len, dgamma, dg_len, dbeta, db_len));
    }
}

/* ---- Shapes ------------------------------------------------------------------------------- */

#define DESC(n, c, spatial, groups) {n, c, spatial, groups, 1e-5, 0.9}

/* spatial 1 (the row-block loops, with a partial last block) and > 1; one value per channel;
 * one channel; one sample; planes of whole runs of sums and a remainder (100), along which
 * the next channel's dx rides. groups is ignored by batch norm. */
static const nnk_norm_desc batch_shapes[] = {
    DESC(4, 5, 1, 1),  DESC(2, 3, 20, 1), DESC(1, 3, 1, 0), DESC(3, 1, 7, 1),
    DESC(5, 130, 1, 1), DESC(2, 70, 3, 1), DESC(1, 4, 9, 1), DESC(200, 3, 1, 1),
    DESC(3, 4, 100, 1),
};
/* G = 1 (layer norm when spatial = 1), G = C, C = 1, n*spatial = 1, groups straddling the
 * row blocks of the spatial = 1 loops, planes of whole runs of sums and a remainder (100). */
static const nnk_norm_desc group_shapes[] = {
    DESC(2, 6, 20, 2), DESC(3, 4, 5, 1),  DESC(2, 4, 5, 4),   DESC(3, 1, 6, 1),
    DESC(1, 6, 1, 3),  DESC(4, 5, 1, 1),  DESC(2, 130, 1, 13), DESC(2, 8, 1, 8),
    DESC(3, 200, 1, 1), DESC(2, 6, 100, 3),
};

static void for_each_shape(norm_kind kind, void (*check)(norm_case *, bool), bool f32,
                           uint64_t seed)
{
    const nnk_norm_desc *shapes = kind == BATCH ? batch_shapes : group_shapes;
    int count = kind == BATCH ? TEST_COUNT(batch_shapes) : TEST_COUNT(group_shapes);
    for (int k = 0; k < count; k++) {
        norm_case t = make_case(kind, shapes[k], 3, 2, seed + 100 * (uint64_t)k);
        if (f32)
            round_inputs_to_float(&t);
        check(&t, f32);
        free_case(&t);
    }
}

/* ---- Forward against the reference -------------------------------------------------------- */

static void check_forward(norm_case *t, bool f32)
{
    double tolerance = f32 ? 1e-5 : 1e-12;
    double *y = zeros(t->len), *sm = zeros(t->sets), *si = zeros(t->sets);
    double *ref_y = zeros(t->len), *ref_mean = zeros(t->sets), *ref_var = zeros(t->sets);
    run_train_forward(t, f32, y, sm, si);
    reference_forward(t, ref_y, ref_mean, ref_var);
    for (int64_t k = 0; k < t->sets; k++)
        ref_var[k] = 1 / sqrt(ref_var[k] + t->d.eps);
    check_close("y", t, y, ref_y, t->len, tolerance);
    check_close("save_mean", t, sm, ref_mean, t->sets, tolerance);
    check_close("save_invstd", t, si, ref_var, t->sets, tolerance);
    for (double *p[] = {y, sm, si, ref_y, ref_mean, ref_var}, **q = p; q < p + 6; q++)
        free(*q);
}

TEST(BatchNormForward_Train_MatchesTwoPassReference_Float64)
{
    for_each_shape(BATCH, check_forward, false, 1000);
}

TEST(BatchNormForward_Train_MatchesTwoPassReference_Float32)
{
    for_each_shape(BATCH, check_forward, true, 2000);
}

TEST(GroupNormForward_MatchesTwoPassReference_Float64)
{
    for_each_shape(GROUP, check_forward, false, 3000);
}

TEST(GroupNormForward_MatchesTwoPassReference_Float32)
{
    for_each_shape(GROUP, check_forward, true, 4000);
}

/* ---- Backward against the graph reference ------------------------------------------------- */

static void check_backward(norm_case *t, bool f32)
{
    double tolerance = f32 ? 1e-5 : 1e-10;
    double *y = zeros(t->len), *sm = zeros(t->sets), *si = zeros(t->sets);
    double *dx = zeros(t->len), *dg = zeros(t->d.c), *db = zeros(t->d.c);
    double *ref_dx = zeros(t->len), *ref_dg = zeros(t->d.c), *ref_db = zeros(t->d.c);
    run_train_forward(t, f32, y, sm, si);
    run_backward(t, f32, sm, si, dx, dg, db);
    reference_backward(t, ref_dx, ref_dg, ref_db);
    check_close("dx", t, dx, ref_dx, t->len, tolerance);
    check_close("dgamma", t, dg, ref_dg, t->d.c, tolerance);
    check_close("dbeta", t, db, ref_db, t->d.c, tolerance);
    for (double *p[] = {y, sm, si, dx, dg, db, ref_dx, ref_dg, ref_db}, **q = p; q < p + 9; q++)
        free(*q);
}

TEST(BatchNormBackward_MatchesGraphReference_Float64)
{
    for_each_shape(BATCH, check_backward, false, 5000);
}

TEST(BatchNormBackward_MatchesGraphReference_Float32)
{
    for_each_shape(BATCH, check_backward, true, 6000);
}

TEST(GroupNormBackward_MatchesGraphReference_Float64)
{
    for_each_shape(GROUP, check_backward, false, 7000);
}

TEST(GroupNormBackward_MatchesGraphReference_Float32)
{
    for_each_shape(GROUP, check_backward, true, 8000);
}

/* ---- Backward against a numeric gradient -------------------------------------------------- */

/* sum(y * dy) of a training-mode forward in double: its gradient is the backward pass. */
static double objective(const norm_case *t)
{
    double *y = zeros(t->len), *sm = zeros(t->sets), *si = zeros(t->sets), sum = 0;
    run_train_forward(t, false, y, sm, si);
    for (int64_t k = 0; k < t->len; k++)
        sum += y[k] * t->dy[k];
    free(y);
    free(sm);
    free(si);
    return sum;
}

/* Centred differences with step h, one coordinate of values at a time. */
static void numeric_gradient(norm_case *t, double *values, int64_t count, double *grad)
{
    const double h = 1e-5;
    for (int64_t k = 0; k < count; k++) {
        double saved = values[k];
        values[k] = saved + h;
        double plus = objective(t);
        values[k] = saved - h;
        double minus = objective(t);
        values[k] = saved;
        grad[k] = (plus - minus) / (2 * h);
    }
}

static void check_numeric_gradient(norm_kind kind, nnk_norm_desc d, uint64_t seed)
{
    norm_case t = make_case(kind, d, 12, 5, seed);
    double *y = zeros(t.len), *sm = zeros(t.sets), *si = zeros(t.sets);
    double *dx = zeros(t.len), *dg = zeros(d.c), *db = zeros(d.c);
    double *num_dx = zeros(t.len), *num_dg = zeros(d.c), *num_db = zeros(d.c);
    run_train_forward(&t, false, y, sm, si);
    run_backward(&t, false, sm, si, dx, dg, db);
    numeric_gradient(&t, t.x, t.len, num_dx);
    numeric_gradient(&t, t.gamma, d.c, num_dg);
    numeric_gradient(&t, t.beta, d.c, num_db);
    CHECK(test_rel_error(dx, num_dx, t.len) < 1e-6, "dx: rel error %.3g",
          test_rel_error(dx, num_dx, t.len));
    CHECK(test_rel_error(dg, num_dg, d.c) < 1e-8, "dgamma: rel error %.3g",
          test_rel_error(dg, num_dg, d.c));
    CHECK(test_rel_error(db, num_db, d.c) < 1e-8, "dbeta: rel error %.3g",
          test_rel_error(db, num_db, d.c));
    for (double *p[] = {y, sm, si, dx, dg, db, num_dx, num_dg, num_db}, **q = p; q < p + 9; q++)
        free(*q);
    free_case(&t);
}

/* The seeds' gradient checks: x = 5*randn + 12 at (4, 5) and (2, 3, 4, 5); group norm at
 * (2, 6, 4, 5) with G = 2; layer norm at (4, 5). */
TEST(BatchNormBackward_MatchesNumericGradient_Float64)
{
    check_numeric_gradient(BATCH, (nnk_norm_desc)DESC(4, 5, 1, 1), 9000);
    check_numeric_gradient(BATCH, (nnk_norm_desc)DESC(2, 3, 20, 1), 9100);
}

TEST(GroupNormBackward_MatchesNumericGradient_Float64)
{
    check_numeric_gradient(GROUP, (nnk_norm_desc)DESC(2, 6, 20, 2), 9200);
    check_numeric_gradient(GROUP, (nnk_norm_desc)DESC(2, 6, 20, 6), 9300);
}

TEST(LayerNormBackward_MatchesNumericGradient_Float64)
{
    check_numeric_gradient(GROUP, (nnk_norm_desc)DESC(4, 5, 1, 1), 9400);
}

/* Each gradient alone equals the same gradient computed with the others. */
static void check_optional_outputs(norm_case *t, bool f32)
{
    double *y = zeros(t->len), *sm = zeros(t->sets), *si = zeros(t->sets);
    double *dx = zeros(t->len), *dg = zeros(t->d.c), *db = zeros(t->d.c);
    double *dx1 = zeros(t->len), *dg1 = zeros(t->d.c), *db1 = zeros(t->d.c);
    run_train_forward(t, f32, y, sm, si);
    run_backward(t, f32, sm, si, dx, dg, db);
    run_backward(t, f32, sm, si, dx1, NULL, NULL);
    run_backward(t, f32, sm, si, NULL, dg1, NULL);
    run_backward(t, f32, sm, si, NULL, NULL, db1);
    run_backward(t, f32, sm, si, NULL, NULL, NULL);
    CHECK(memcmp(dx, dx1, (size_t)t->len * sizeof(double)) == 0, "dx alone differs");
    CHECK(memcmp(dg, dg1, (size_t)t->d.c * sizeof(double)) == 0, "dgamma alone differs");
    CHECK(memcmp(db, db1, (size_t)t->d.c * sizeof(double)) == 0, "dbeta alone differs");
    for (double *p[] = {y, sm, si, dx, dg, db, dx1, dg1, db1}, **q = p; q < p + 9; q++)
        free(*q);
}

TEST(NormBackward_EachGradientAloneMatchesAllTogether)
{
    for_each_shape(BATCH, check_optional_outputs, false, 9500);
    for_each_shape(GROUP, check_optional_outputs, true, 9600);
}

/* ---- Training-mode properties ------------------------------------------------------------- */

/* Mean and (biased) standard deviation of each set of y. */
static void set_moments(const norm_case *t, const double *y, double *mean, double *std)
{
    const nnk_norm_desc *d = &t->d;
    double count = (double)t->len / (double)t->sets;
    for (int64_t k = 0; k < t->sets; k++)
        mean[k] = std[k] = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int64_t i = 0; i < d->n; i++)
            for (int64_t ch = 0; ch < d->c; ch++)
                for (int64_t s = 0; s < d->spatial; s++) {
                    double v = y[(i * d->c + ch) * d->spatial + s];
                    int64_t k = set_of(t, i, ch);
                    if (pass == 0)
                        mean[k] += v / count;
                    else
                        std[k] += (v - mean[k]) * (v - mean[k]) / count;
                }
    for (int64_t k = 0; k < t->sets; k++)
        std[k] = sqrt(std[k]);
}

/* gamma = 1, beta = 0: each set comes out with mean 0 and standard deviation 1, as in the
 * seeds' "means should be close to zero and stds close to one" cells. */
static void check_normalises(norm_kind kind, nnk_norm_desc d, uint64_t seed)
{
    norm_case t = make_case(kind, d, 12, 5, seed);
    for (int64_t ch = 0; ch < d.c; ch++) {
        t.gamma[ch] = 1;
        t.beta[ch] = 0;
    }
    double *y = zeros(t.len), *sm = zeros(t.sets), *si = zeros(t.sets);
    double *mean = zeros(t.sets), *std = zeros(t.sets);
    run_train_forward(&t, false, y, sm, si);
    set_moments(&t, y, mean, std);
    for (int64_t k = 0; k < t.sets; k++) {
        CHECK(fabs(mean[k]) < 1e-7, "set %lld: mean %.3g", (long long)k, mean[k]);
        CHECK(fabs(std[k] - 1) < 1e-3, "set %lld: std %.6f", (long long)k, std[k]);
    }
    for (double *p[] = {y, sm, si, mean, std}, **q = p; q < p + 5; q++)
        free(*q);
    free_case(&t);
}

TEST(BatchNormForward_Train_GivesZeroMeanUnitStd)
{
    check_normalises(BATCH, (nnk_norm_desc)DESC(200, 3, 1, 1), 10000);
    check_normalises(BATCH, (nnk_norm_desc)DESC(2, 3, 20, 1), 10100);
}

TEST(GroupNormForward_GivesZeroMeanUnitStd)
{
    check_normalises(GROUP, (nnk_norm_desc)DESC(2, 6, 20, 2), 10200);
    check_normalises(GROUP, (nnk_norm_desc)DESC(50, 60, 1, 1), 10300);
}

/* running = momentum*running + (1 - momentum)*batch, with the biased batch variance;
 * momentum 1 leaves the running statistics exactly as they were. */
static void check_running_update(nnk_norm_desc d, bool f32, double tolerance, uint64_t seed)
{
    norm_case t = make_case(BATCH, d, 3, 2, seed);
    if (f32)
        round_inputs_to_float(&t);
    double *rm = test_random(d.c, seed + 1), *rv = test_random(d.c, seed + 2);
    double *rm0 = zeros(d.c), *rv0 = zeros(d.c);
    for (int64_t ch = 0; ch < d.c; ch++) {
        rv[ch] = fabs(rv[ch]);
        if (f32) {
            rm[ch] = (float)rm[ch];
            rv[ch] = (float)rv[ch];
        }
        rm0[ch] = rm[ch];
        rv0[ch] = rv[ch];
    }
    double *y = zeros(t.len), *sm = zeros(d.c), *si = zeros(d.c);
    double *ref_y = zeros(t.len), *mean = zeros(d.c), *var = zeros(d.c);
    run_forward(&t, f32, NNK_NORM_TRAIN, rm, rv, y, sm, si);
    reference_forward(&t, ref_y, mean, var);
    for (int64_t ch = 0; ch < d.c; ch++) {
        mean[ch] = d.momentum * rm0[ch] + (1 - d.momentum) * mean[ch];
        var[ch] = d.momentum * rv0[ch] + (1 - d.momentum) * var[ch];
    }
    check_close("running_mean", &t, rm, mean, d.c, tolerance);
    check_close("running_var", &t, rv, var, d.c, tolerance);
    memcpy(rm0, rm, (size_t)d.c * sizeof(double));
    memcpy(rv0, rv, (size_t)d.c * sizeof(double));
    t.d.momentum = 1;
    run_forward(&t, f32, NNK_NORM_TRAIN, rm, rv, y, sm, si);
    CHECK(memcmp(rm, rm0, (size_t)d.c * sizeof(double)) == 0 &&
              memcmp(rv, rv0, (size_t)d.c * sizeof(double)) == 0,
          "momentum 1 changed the running statistics");
    for (double *p[] = {rm, rv, rm0, rv0, y, sm, si, ref_y, mean, var}, **q = p; q < p + 10; q++)
        free(*q);
    free_case(&t);
}

TEST(BatchNormForward_Train_UpdatesRunningStatsByMomentum)
{
    check_running_update((nnk_norm_desc)DESC(4, 5, 1, 1), false, 1e-14, 11000);
    check_running_update((nnk_norm_desc){3, 70, 6, 1, 1e-3, 0.75}, false, 1e-14, 11100);
    check_running_update((nnk_norm_desc){6, 4, 9, 1, 1e-5, 0}, false, 1e-14, 11200);
    check_running_update((nnk_norm_desc)DESC(2, 3, 20, 1), true, 1e-6, 11300);
}

/* Test mode normalises with the running statistics, reports them through the optional save
 * buffers, and leaves them unchanged. */
static void check_test_mode(nnk_norm_desc d, bool f32, double tolerance, uint64_t seed)
{
    norm_case t = make_case(BATCH, d, 3, 2, seed);
    if (f32)
        round_inputs_to_float(&t);
    double *rm = test_random(d.c, seed + 1), *rv = test_random(d.c, seed + 2);
    double *rm0 = zeros(d.c), *rv0 = zeros(d.c), *invstd = zeros(d.c);
    for (int64_t ch = 0; ch < d.c; ch++) {
        rv[ch] = fabs(rv[ch]) + 0.1;
        if (f32) {
            rm[ch] = (float)rm[ch];
            rv[ch] = (float)rv[ch];
        }
        rm0[ch] = rm[ch];
        rv0[ch] = rv[ch];
        invstd[ch] = 1 / sqrt(rv[ch] + d.eps);
    }
    double *y = zeros(t.len), *y2 = zeros(t.len), *ref_y = zeros(t.len);
    double *sm = zeros(d.c), *si = zeros(d.c);
    for (int64_t i = 0; i < d.n; i++)
        for (int64_t ch = 0; ch < d.c; ch++)
            for (int64_t s = 0; s < d.spatial; s++) {
                int64_t at = (i * d.c + ch) * d.spatial + s;
                ref_y[at] = t.gamma[ch] * (t.x[at] - rm[ch]) * invstd[ch] + t.beta[ch];
            }
    run_forward(&t, f32, NNK_NORM_TEST, rm, rv, y, sm, si);
    check_close("y", &t, y, ref_y, t.len, tolerance);
    check_close("save_mean", &t, sm, rm0, d.c, tolerance);
    check_close("save_invstd", &t, si, invstd, d.c, tolerance);
    CHECK(memcmp(rm, rm0, (size_t)d.c * sizeof(double)) == 0 &&
              memcmp(rv, rv0, (size_t)d.c * sizeof(double)) == 0,
          "test mode changed the running statistics");
    run_forward(&t, f32, NNK_NORM_TEST, rm, rv, y2, NULL, NULL);
    CHECK(memcmp(y, y2, (size_t)t.len * sizeof(double)) == 0, "y differs without save buffers");
    for (double *p[] = {rm, rv, rm0, rv0, invstd, y, y2, ref_y, sm, si}, **q = p; q < p + 10; q++)
        free(*q);
    free_case(&t);
}

TEST(BatchNormForward_Test_UsesRunningStatsAndLeavesThemUnchanged)
{
    check_test_mode((nnk_norm_desc)DESC(2, 3, 20, 1), false, 1e-12, 12000);
    check_test_mode((nnk_norm_desc)DESC(5, 130, 1, 1), false, 1e-12, 12100);
    check_test_mode((nnk_norm_desc)DESC(2, 3, 20, 1), true, 1e-5, 12200);
    check_test_mode((nnk_norm_desc)DESC(5, 130, 1, 1), true, 1e-5, 12300);
}

/* float32 x = 1e4 + randn: a one-pass sum of x*x in float would lose the variance entirely;
 * the shifted double sums keep it. gamma = 1, beta = 0. */
static void check_large_mean(norm_kind kind, nnk_norm_desc d, uint64_t seed)
{
    norm_case t = make_case(kind, d, 1e4, 1, seed);
    round_inputs_to_float(&t);
    for (int64_t ch = 0; ch < d.c; ch++) {
        t.gamma[ch] = 1;
        t.beta[ch] = 0;
    }
    double *y = zeros(t.len), *sm = zeros(t.sets), *si = zeros(t.sets);
    double *mean = zeros(t.sets), *std = zeros(t.sets);
    run_train_forward(&t, true, y, sm, si);
    set_moments(&t, y, mean, std);
    for (int64_t k = 0; k < t.sets; k++) {
        CHECK(fabs(std[k] * std[k] - 1) < 1e-2, "set %lld: variance %.6f", (long long)k,
              std[k] * std[k]);
        CHECK(fabs(mean[k]) < 1e-2, "set %lld: mean %.3g", (long long)k, mean[k]);
    }
    for (double *p[] = {y, sm, si, mean, std}, **q = p; q < p + 5; q++)
        free(*q);
    free_case(&t);
}

TEST(NormForward_LargeMean_Float32_KeepsUnitVariance)
{
    check_large_mean(BATCH, (nnk_norm_desc)DESC(200, 3, 16, 1), 13000);
    check_large_mean(BATCH, (nnk_norm_desc)DESC(3200, 3, 1, 1), 13100);
    check_large_mean(GROUP, (nnk_norm_desc)DESC(200, 6, 16, 2), 13200);
    check_large_mean(GROUP, (nnk_norm_desc)DESC(200, 48, 1, 1), 13300);
}

/* float32 x = 1e4 + randn over sets of thousands of values, the first value of each set (the
 * forward sums' shift) 200 standard deviations out: y and the statistics stay within float
 * rounding of the float64 reference, although the forward sums are partly taken in float.
 * (Backward is not compared here: at this mean its result moves with the float rounding of
 * save_mean itself, which no kernel can undo.) */
static void check_large_mean_accuracy(norm_kind kind, nnk_norm_desc d, uint64_t seed)
{
    norm_case t = make_case(kind, d, 1e4, 1, seed);
    const int64_t per_set = kind == BATCH ? d.spatial : d.c / d.groups * d.spatial;
    for (int64_t u = 0; u < t.sets; u++)
        t.x[u * per_set] = 1e4 + 200;
    round_inputs_to_float(&t);
    check_forward(&t, true);
    /* The outlier sets check_forward's scale; invstd is checked on its own, to 2^-20. */
    double *y = zeros(t.len), *sm = zeros(t.sets), *si = zeros(t.sets);
    double *ref_y = zeros(t.len), *ref_mean = zeros(t.sets), *ref_var = zeros(t.sets);
    run_train_forward(&t, true, y, sm, si);
    reference_forward(&t, ref_y, ref_mean, ref_var);
    for (int64_t u = 0; u < t.sets; u++) {
        double want = 1 / sqrt(ref_var[u] + d.eps);
        CHECK(fabs(si[u] / want - 1) < 0x1p-20, "set %lld: invstd %.9g, want %.9g",
              (long long)u, si[u], want);
    }
    for (double *p[] = {y, sm, si, ref_y, ref_mean, ref_var}, **q = p; q < p + 6; q++)
        free(*q);
    free_case(&t);
}

TEST(NormForward_LargeMeanFarShift_Float32_MatchesFloat64Reference)
{
    check_large_mean_accuracy(BATCH, (nnk_norm_desc)DESC(64, 3, 1024, 1), 13500);
    check_large_mean_accuracy(BATCH, (nnk_norm_desc)DESC(50, 2, 676, 1), 13600);
    /* x (n, c): sums by vectors of channels over runs of rows; 70 channels, so whole vectors
     * and a tail. */
    check_large_mean_accuracy(BATCH, (nnk_norm_desc)DESC(3000, 70, 1, 1), 13650);
    check_large_mean_accuracy(GROUP, (nnk_norm_desc)DESC(4, 8, 1024, 2), 13700);
    check_large_mean_accuracy(GROUP, (nnk_norm_desc)DESC(3, 6, 169, 3), 13800);
}

/* ---- Threads ------------------------------------------------------------------------------ */

/* Every sum is taken by one thread in a fixed order, so two threads give the bits of one. The
 * shapes are large enough for the library to start a second thread. */
static void check_threads(norm_kind kind, nnk_norm_desc d, bool f32, uint64_t seed)
{
    norm_case t = make_case(kind, d, 3, 2, seed);
    if (f32)
        round_inputs_to_float(&t);
    const int64_t sizes[8] = {t.len, t.sets, t.sets, t.len, d.c, d.c, d.c, d.c};
    const char *names[8] = {"y", "save_mean", "save_invstd", "dx", "dgamma", "dbeta",
                            "running_mean", "running_var"};
    double *out[2][8];
    for (int run = 0; run < 2; run++) {
        for (int k = 0; k < 8; k++)
            out[run][k] = zeros(sizes[k]);
        CHECK_OK(nnk_set_num_threads(run + 1));
        run_forward(&t, f32, NNK_NORM_TRAIN, out[run][6], out[run][7], out[run][0], out[run][1],
                    out[run][2]);
        run_backward(&t, f32, out[run][1], out[run][2], out[run][3], out[run][4], out[run][5]);
    }
    for (int k = 0; k < 8; k++) {
        bool same = memcmp(out[0][k], out[1][k], (size_t)sizes[k] * sizeof(double)) == 0;
        CHECK(same, "%s differs between 1 and 2 threads (%s)", names[k], f32 ? "f32" : "f64");
        if (!same)
            print_case(&t);
        free(out[0][k]);
        free(out[1][k]);
    }
    free_case(&t);
}

TEST(BatchNorm_OneAndTwoThreadsAreBitIdentical)
{
    for (int f32 = 0; f32 < 2; f32++) {
        check_threads(BATCH, (nnk_norm_desc)DESC(16, 12, 576, 1), f32, 14000);
        check_threads(BATCH, (nnk_norm_desc)DESC(400, 300, 1, 1), f32, 14100);
        /* x (n, c) with more channels than two threads take by rows: by blocks of channels. */
        check_threads(BATCH, (nnk_norm_desc)DESC(33, 1100, 1, 1), f32, 14150);
    }
}

TEST(GroupNorm_OneAndTwoThreadsAreBitIdentical)
{
    for (int f32 = 0; f32 < 2; f32++) {
        check_threads(GROUP, (nnk_norm_desc)DESC(16, 12, 576, 4), f32, 14200);
        /* One thread takes the one-pass backward in memory order, two threads the one by
         * groups (four groups) or the two loops (three groups: pairs, then channels); all must
         * give the same bits. */
        check_threads(GROUP, (nnk_norm_desc)DESC(16, 12, 576, 3), f32, 14250);
        check_threads(GROUP, (nnk_norm_desc)DESC(400, 300, 1, 3), f32, 14300);
        check_threads(GROUP, (nnk_norm_desc)DESC(400, 300, 1, 1), f32, 14400);
    }
}

/* The same float data one element further into its buffer, so that every vector load is
 * differently aligned, gives the same bits: the partial sums are assigned to lanes by index. */
static void check_alignment(norm_kind kind, nnk_norm_desc d, uint64_t seed)
{
    norm_case t = make_case(kind, d, 3, 2, seed);
    const int64_t c = d.c;
    float *buffers[2][6], *outputs[2][5];
    for (int shift = 0; shift < 2; shift++) {
        float **in = buffers[shift], **out = outputs[shift];
        for (int k = 0; k < 6; k++)
            in[k] = malloc((size_t)(t.len + 1) * sizeof(float));
        for (int k = 0; k < 5; k++)
            out[k] = malloc((size_t)(t.len + 1) * sizeof(float));
        float *x = in[0] + shift, *dy = in[1] + shift, *g = in[2] + shift, *b = in[3] + shift;
        float *rm = in[4] + shift, *rv = in[5] + shift, *y = out[0] + shift, *dx = out[1] + shift;
        float *sm = out[2] + shift, *si = out[3] + shift, *dg = out[4] + shift;
        for (int64_t k = 0; k < t.len; k++) {
            x[k] = (float)t.x[k];
            dy[k] = (float)t.dy[k];
        }
        for (int64_t k = 0; k < c; k++) {
            g[k] = (float)t.gamma[k];
            b[k] = (float)t.beta[k];
            rm[k] = rv[k] = 0;
        }
        if (kind == BATCH) {
            CHECK_OK(nnk_batchnorm_forward_f32(&d, NNK_NORM_TRAIN, x, t.len, g, c, b, c, rm, c,
                                               rv, c, y, t.len, sm, c, si, c));
            CHECK_OK(nnk_batchnorm_backward_f32(&d, x, t.len, g, c, sm, c, si, c, dy, t.len, dx,
                                                t.len, dg, c, NULL, 0));
        } else {
            CHECK_OK(nnk_groupnorm_forward_f32(&d, x, t.len, g, c, b, c, y, t.len, sm, t.sets, si,
                                               t.sets));
            CHECK_OK(nnk_groupnorm_backward_f32(&d, x, t.len, g, c, sm, t.sets, si, t.sets, dy,
                                                t.len, dx, t.len, dg, c, NULL, 0));
        }
    }
    const int64_t sizes[5] = {t.len, t.len, t.sets, t.sets, c};
    for (int k = 0; k < 5; k++) {
        CHECK(memcmp(outputs[0][k], outputs[1][k] + 1, (size_t)sizes[k] * sizeof(float)) == 0,
              "output %d depends on alignment", k);
        free(outputs[0][k]);
        free(outputs[1][k]);
    }
    for (int k = 0; k < 6; k++) {
        free(buffers[0][k]);
        free(buffers[1][k]);
    }
    free_case(&t);
}

TEST(Norm_ResultsDoNotDependOnBufferAlignment)
{
    check_alignment(BATCH, (nnk_norm_desc)DESC(3, 4, 37, 1), 15000);
    check_alignment(GROUP, (nnk_norm_desc)DESC(3, 4, 37, 2), 15100);
    check_alignment(GROUP, (nnk_norm_desc)DESC(3, 75, 1, 1), 15200);
}

/* ---- Failures ----------------------------------------------------------------------------- */

/* Batch norm on (2, 3, 4) and group norm on (2, 6, 2) with 3 groups: 24 elements each. */
static const nnk_norm_desc bn_good = DESC(2, 3, 4, 1), gn_good = DESC(2, 6, 2, 3);
enum { LEN = 24, BN_C = 3, GN_C = 6, GN_STATS = 6, BIG = 64 };

static struct {
    double x[BIG], gamma[BIG], beta[BIG], rm[BIG], rv[BIG], y[BIG], sm[BIG], si[BIG], dy[BIG],
        dx[BIG], dg[BIG], db[BIG];
    float xf[BIG], gammaf[BIG], smf[BIG], sif[BIG], dyf[BIG], dxf[BIG];
} buf;

static nnk_status bn_forward(const nnk_norm_desc *d, nnk_norm_mode mode)
{
    return nnk_batchnorm_forward_f64(d, mode, buf.x, LEN, buf.gamma, BN_C, buf.beta, BN_C, buf.rm,
                                     BN_C, buf.rv, BN_C, buf.y, LEN, buf.sm, BN_C, buf.si, BN_C);
}

static nnk_status bn_backward(const nnk_norm_desc *d)
{
    return nnk_batchnorm_backward_f64(d, buf.x, LEN, buf.gamma, BN_C, buf.sm, BN_C, buf.si, BN_C,
                                      buf.dy, LEN, buf.dx, LEN, buf.dg, BN_C, buf.db, BN_C);
}

static nnk_status gn_forward(const nnk_norm_desc *d)
{
    return nnk_groupnorm_forward_f64(d, buf.x, LEN, buf.gamma, GN_C, buf.beta, GN_C, buf.y, LEN,
                                     buf.sm, GN_STATS, buf.si, GN_STATS);
}

static nnk_status gn_backward(const nnk_norm_desc *d)
{
    return nnk_groupnorm_backward_f64(d, buf.x, LEN, buf.gamma, GN_C, buf.sm, GN_STATS, buf.si,
                                      GN_STATS, buf.dy, LEN, buf.dx, LEN, buf.dg, GN_C, buf.db,
                                      GN_C);
}

/* Statistics a backward pass can read: 1 for every mean and invstd. */
static void fill_buffers(void)
{
    for (int k = 0; k < BIG; k++) {
        buf.x[k] = buf.dy[k] = k % 5;
        buf.gamma[k] = buf.rv[k] = buf.si[k] = buf.sm[k] = 1;
        buf.xf[k] = buf.dyf[k] = (float)(k % 5);
        buf.gammaf[k] = buf.smf[k] = buf.sif[k] = 1;
    }
}

TEST(NormErrors_NullPointers)
{
    fill_buffers();
    CHECK_OK(bn_forward(&bn_good, NNK_NORM_TRAIN));
    CHECK_OK(bn_backward(&bn_good));
    CHECK_OK(gn_forward(&gn_good));
    CHECK_OK(gn_backward(&gn_good));
    CHECK_ERROR(bn_forward(NULL, NNK_NORM_TRAIN), NNK_ERROR_NULL_POINTER,
                "batchnorm_forward: desc is NULL");
    CHECK_ERROR(bn_backward(NULL), NNK_ERROR_NULL_POINTER, "batchnorm_backward: desc is NULL");
    CHECK_ERROR(gn_forward(NULL), NNK_ERROR_NULL_POINTER, "groupnorm_forward: desc is NULL");
    CHECK_ERROR(gn_backward(NULL), NNK_ERROR_NULL_POINTER, "groupnorm_backward: desc is NULL");
    CHECK_ERROR(nnk_groupnorm_backward_f32(NULL, buf.xf, LEN, buf.gammaf, GN_C, buf.smf,
                                           GN_STATS, buf.sif, GN_STATS, buf.dyf, LEN, buf.dxf,
                                           LEN, NULL, 0, NULL, 0),
                NNK_ERROR_NULL_POINTER, "groupnorm_backward: desc is NULL");

    const nnk_norm_desc *d = &bn_good;
    const nnk_norm_mode train = NNK_NORM_TRAIN;
    double *x = buf.x, *g = buf.gamma, *b = buf.beta, *rm = buf.rm, *rv = buf.rv, *y = buf.y;
    double *sm = buf.sm, *si = buf.si;
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, NULL, LEN, g, 3, b, 3, rm, 3, rv, 3, y, LEN,
                                          sm, 3, si, 3),
                NNK_ERROR_NULL_POINTER, "batchnorm_forward: x is NULL");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, NULL, 3, b, 3, rm, 3, rv, 3, y, LEN,
                                          sm, 3, si, 3),
                NNK_ERROR_NULL_POINTER, "gamma is NULL");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, NULL, 3, rm, 3, rv, 3, y, LEN,
                                          sm, 3, si, 3),
                NNK_ERROR_NULL_POINTER, "beta is NULL");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, b, 3, NULL, 3, rv, 3, y, LEN,
                                          sm, 3, si, 3),
                NNK_ERROR_NULL_POINTER, "running_mean is NULL");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, NNK_NORM_TEST, x, LEN, g, 3, b, 3, rm, 3, NULL, 3,
                                          y, LEN, sm, 3, si, 3),
                NNK_ERROR_NULL_POINTER, "running_var is NULL");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, b, 3, rm, 3, rv, 3, NULL, LEN,
                                          sm, 3, si, 3),
                NNK_ERROR_NULL_POINTER, "y is NULL");
    /* The save buffers are required in training mode, optional in test mode. */
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, b, 3, rm, 3, rv, 3, y, LEN,
                                          NULL, 0, si, 3),
                NNK_ERROR_NULL_POINTER, "batchnorm_forward: save_mean is NULL");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, b, 3, rm, 3, rv, 3, y, LEN, sm,
                                          3, NULL, 0),
                NNK_ERROR_NULL_POINTER, "save_invstd is NULL");
    CHECK_OK(nnk_batchnorm_forward_f64(d, NNK_NORM_TEST, x, LEN, g, 3, b, 3, rm, 3, rv, 3, y, LEN,
                                       NULL, 0, NULL, 0));
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, NNK_NORM_TEST, x, LEN, g, 3, b, 3, rm, 3, rv, 3, y,
                                          LEN, sm, 3, NULL, 3),
                NNK_ERROR_NULL_POINTER, "save_invstd is NULL but save_invstd_len is 3");

    double *dy = buf.dy, *dx = buf.dx, *dg = buf.dg, *db = buf.db;
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, NULL, LEN, g, 3, sm, 3, si, 3, dy, LEN, dx, LEN, dg,
                                           3, db, 3),
                NNK_ERROR_NULL_POINTER, "batchnorm_backward: x is NULL");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, NULL, 3, sm, 3, si, 3, dy, LEN, dx, LEN, dg,
                                           3, db, 3),
                NNK_ERROR_NULL_POINTER, "gamma is NULL");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, NULL, 3, si, 3, dy, LEN, dx, LEN, dg,
                                           3, db, 3),
                NNK_ERROR_NULL_POINTER, "save_mean is NULL");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, NULL, 3, dy, LEN, dx, LEN, dg,
                                           3, db, 3),
                NNK_ERROR_NULL_POINTER, "save_invstd is NULL");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, NULL, LEN, dx, LEN, dg,
                                           3, db, 3),
                NNK_ERROR_NULL_POINTER, "dy is NULL");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, dy, LEN, NULL, LEN, dg,
                                           3, db, 3),
                NNK_ERROR_NULL_POINTER, "dx is NULL but dx_len is 24");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, dy, LEN, dx, LEN, NULL,
                                           3, db, 3),
                NNK_ERROR_NULL_POINTER, "dgamma is NULL but dgamma_len is 3");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, dy, LEN, dx, LEN, dg, 3,
                                           NULL, 3),
                NNK_ERROR_NULL_POINTER, "dbeta is NULL but dbeta_len is 3");
    CHECK_OK(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, dy, LEN, NULL, 0, NULL, 0,
                                        NULL, 0));

    CHECK_ERROR(nnk_groupnorm_forward_f64(&gn_good, x, LEN, g, 6, b, 6, y, LEN, NULL, 0, si, 6),
                NNK_ERROR_NULL_POINTER, "groupnorm_forward: save_mean is NULL");
    CHECK_ERROR(nnk_groupnorm_forward_f64(&gn_good, x, LEN, g, 6, NULL, 6, y, LEN, sm, 6, si, 6),
                NNK_ERROR_NULL_POINTER, "groupnorm_forward: beta is NULL");
    CHECK_ERROR(nnk_groupnorm_backward_f64(&gn_good, x, LEN, NULL, 6, sm, 6, si, 6, dy, LEN, dx,
                                           LEN, NULL, 0, NULL, 0),
                NNK_ERROR_NULL_POINTER, "groupnorm_backward: gamma is NULL");
}

/* Each size of the descriptor out of range in turn; batch norm ignores groups. */
TEST(NormErrors_InvalidSizes)
{
    fill_buffers();
    struct {
        nnk_norm_desc d;
        const char *text;
    } cases[] = {
        {DESC(0, 3, 4, 1), "n = 0 (must be >= 1)"},
        {DESC(2, -1, 4, 1), "c = -1 (must be >= 1)"},
        {DESC(2, 3, 0, 1), "spatial = 0 (must be >= 1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_ERROR(bn_forward(&cases[i].d, NNK_NORM_TRAIN), NNK_ERROR_INVALID_ARGUMENT,
                    cases[i].text);
        CHECK_ERROR(bn_backward(&cases[i].d), NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
        CHECK_ERROR(gn_forward(&cases[i].d), NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
        CHECK_ERROR(gn_backward(&cases[i].d), NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
    }
    CHECK_ERROR(bn_forward(&(nnk_norm_desc)DESC(2, 3, 0, 1), NNK_NORM_TEST),
                NNK_ERROR_INVALID_ARGUMENT, "batchnorm_forward: spatial = 0");
    CHECK_OK(bn_forward(&(nnk_norm_desc)DESC(2, 3, 4, 0), NNK_NORM_TRAIN));
    CHECK_OK(bn_backward(&(nnk_norm_desc)DESC(2, 3, 4, 5)));
    CHECK_ERROR(gn_forward(&(nnk_norm_desc)DESC(2, 6, 2, 0)), NNK_ERROR_INVALID_ARGUMENT,
                "groupnorm_forward: groups = 0 (must be >= 1)");
    CHECK_ERROR(gn_backward(&(nnk_norm_desc)DESC(2, 6, 2, -3)), NNK_ERROR_INVALID_ARGUMENT,
                "groupnorm_backward: groups = -3");
    CHECK_ERROR(gn_forward(&(nnk_norm_desc)DESC(2, 6, 2, 4)), NNK_ERROR_INVALID_ARGUMENT,
                "groupnorm_forward: c = 6 is not divisible by groups = 4");
    CHECK_ERROR(gn_backward(&(nnk_norm_desc)DESC(2, 6, 2, 12)), NNK_ERROR_INVALID_ARGUMENT,
                "groupnorm_backward: c = 6 is not divisible by groups = 12");
}

/* eps must be positive and finite wherever it is used (the forward passes), momentum in
 * [0, 1] for batch norm forward; the backward passes read neither. */
TEST(NormErrors_EpsMomentumAndMode)
{
    fill_buffers();
    struct {
        double eps, momentum;
        const char *text;
    } cases[] = {
        {0, 0.9, "eps = 0 (must be > 0 and finite)"},
        {-1e-5, 0.9, "eps = -1e-05"},
        {NAN, 0.9, "eps = nan"},
        {INFINITY, 0.9, "eps = inf"},
        {1e-5, -0.1, "momentum = -0.1 (must be in [0, 1])"},
        {1e-5, 1.5, "momentum = 1.5"},
        {1e-5, NAN, "momentum = nan"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nnk_norm_desc d = {2, 3, 4, 1, cases[i].eps, cases[i].momentum};
        CHECK_ERROR(bn_forward(&d, NNK_NORM_TRAIN), NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
        CHECK_ERROR(bn_forward(&d, NNK_NORM_TEST), NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
        CHECK_OK(bn_backward(&d));
    }
    CHECK_OK(bn_forward(&(nnk_norm_desc){2, 3, 4, 1, 1e-5, 0}, NNK_NORM_TRAIN));
    CHECK_OK(bn_forward(&(nnk_norm_desc){2, 3, 4, 1, 1e-5, 1}, NNK_NORM_TRAIN));
    CHECK_ERROR(gn_forward(&(nnk_norm_desc){2, 6, 2, 3, 0, 0.9}), NNK_ERROR_INVALID_ARGUMENT,
                "groupnorm_forward: eps = 0");
    CHECK_ERROR(gn_forward(&(nnk_norm_desc){2, 6, 2, 3, NAN, 0.9}), NNK_ERROR_INVALID_ARGUMENT,
                "eps = nan");
    /* Group norm has no running statistics: momentum is not read. */
    CHECK_OK(gn_forward(&(nnk_norm_desc){2, 6, 2, 3, 1e-5, 7}));
    CHECK_OK(gn_backward(&(nnk_norm_desc){2, 6, 2, 3, 0, 7}));
    CHECK_ERROR(bn_forward(&bn_good, (nnk_norm_mode)2), NNK_ERROR_INVALID_ARGUMENT,
                "batchnorm_forward: mode = 2 (must be NNK_NORM_TRAIN or NNK_NORM_TEST)");
    CHECK_ERROR(bn_forward(&bn_good, (nnk_norm_mode)-1), NNK_ERROR_INVALID_ARGUMENT,
                "mode = -1");
}

TEST(NormErrors_BufferLengths)
{
    fill_buffers();
    const nnk_norm_desc *d = &bn_good;
    const nnk_norm_mode train = NNK_NORM_TRAIN;
    double *x = buf.x, *g = buf.gamma, *b = buf.beta, *rm = buf.rm, *rv = buf.rv, *y = buf.y;
    double *sm = buf.sm, *si = buf.si, *dy = buf.dy, *dx = buf.dx, *dg = buf.dg, *db = buf.db;
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, 23, g, 3, b, 3, rm, 3, rv, 3, y, LEN, sm,
                                          3, si, 3),
                NNK_ERROR_BUFFER_SIZE, "batchnorm_forward: x has 23 elements, expected 2*3*4 = 24");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 2, b, 3, rm, 3, rv, 3, y, LEN, sm,
                                          3, si, 3),
                NNK_ERROR_BUFFER_SIZE, "gamma has 2 elements, expected 3");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, b, 4, rm, 3, rv, 3, y, LEN, sm,
                                          3, si, 3),
                NNK_ERROR_BUFFER_SIZE, "beta has 4 elements, expected 3");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, b, 3, rm, 2, rv, 3, y, LEN, sm,
                                          3, si, 3),
                NNK_ERROR_BUFFER_SIZE, "running_mean has 2 elements, expected 3");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, NNK_NORM_TEST, x, LEN, g, 3, b, 3, rm, 3, rv, 0, y,
                                          LEN, sm, 3, si, 3),
                NNK_ERROR_BUFFER_SIZE, "running_var has 0 elements, expected 3");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, b, 3, rm, 3, rv, 3, y, 25, sm,
                                          3, si, 3),
                NNK_ERROR_BUFFER_SIZE, "y has 25 elements, expected 2*3*4 = 24");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, train, x, LEN, g, 3, b, 3, rm, 3, rv, 3, y, LEN, sm,
                                          2, si, 3),
                NNK_ERROR_BUFFER_SIZE, "save_mean has 2 elements, expected 3");
    CHECK_ERROR(nnk_batchnorm_forward_f64(d, NNK_NORM_TEST, x, LEN, g, 3, b, 3, rm, 3, rv, 3, y,
                                          LEN, sm, 3, si, 4),
                NNK_ERROR_BUFFER_SIZE, "save_invstd has 4 elements, expected 3");

    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 6, si, 3, dy, LEN, dx, LEN, dg, 3,
                                           db, 3),
                NNK_ERROR_BUFFER_SIZE, "batchnorm_backward: save_mean has 6 elements, expected 3");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, dy, 23, dx, LEN, dg, 3,
                                           db, 3),
                NNK_ERROR_BUFFER_SIZE, "dy has 23 elements, expected 2*3*4 = 24");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, dy, LEN, dx, 48, dg, 3,
                                           db, 3),
                NNK_ERROR_BUFFER_SIZE, "dx has 48 elements");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, dy, LEN, dx, LEN, dg, 2,
                                           db, 3),
                NNK_ERROR_BUFFER_SIZE, "dgamma has 2 elements, expected 3");
    CHECK_ERROR(nnk_batchnorm_backward_f64(d, x, LEN, g, 3, sm, 3, si, 3, dy, LEN, dx, LEN, dg, 3,
                                           db, 4),
                NNK_ERROR_BUFFER_SIZE, "dbeta has 4 elements, expected 3");

    /* Group norm's statistics are per (sample, group): 2*3 of them. */
    const nnk_norm_desc *e = &gn_good;
    CHECK_ERROR(nnk_groupnorm_forward_f64(e, x, LEN, g, 6, b, 6, y, LEN, sm, 3, si, 6),
                NNK_ERROR_BUFFER_SIZE,
                "groupnorm_forward: save_mean has 3 elements, expected 2*3 = 6");
    CHECK_ERROR(nnk_groupnorm_forward_f64(e, x, LEN, g, 6, b, 6, y, LEN, sm, 6, si, 5),
                NNK_ERROR_BUFFER_SIZE, "save_invstd has 5 elements, expected 2*3 = 6");
    CHECK_ERROR(nnk_groupnorm_forward_f64(e, x, LEN, g, 3, b, 6, y, LEN, sm, 6, si, 6),
                NNK_ERROR_BUFFER_SIZE, "gamma has 3 elements, expected 6");
    CHECK_ERROR(nnk_groupnorm_backward_f64(e, x, LEN, g, 6, sm, 6, si, 3, dy, LEN, dx, LEN, dg, 6,
                                           db, 6),
                NNK_ERROR_BUFFER_SIZE,
                "groupnorm_backward: save_invstd has 3 elements, expected 2*3 = 6");
    CHECK_ERROR(nnk_groupnorm_backward_f64(e, x, LEN, g, 6, sm, 6, si, 6, dy, LEN, dx, LEN, dg, 5,
                                           db, 6),
                NNK_ERROR_BUFFER_SIZE, "dgamma has 5 elements, expected 6");
    CHECK_ERROR(nnk_groupnorm_backward_f32(e, buf.xf, LEN, buf.gammaf, 6, buf.smf, 6, buf.sif, 6,
                                           buf.dyf, LEN, buf.dxf, 12, NULL, 0, NULL, 0),
                NNK_ERROR_BUFFER_SIZE,
                "groupnorm_backward: dx has 12 elements, expected 2*6*2 = 24");
}

TEST(NormErrors_SizesThatOverflow)
{
    fill_buffers();
    const int64_t big = INT64_C(1) << 22;
    const nnk_norm_desc huge = {big, big, big, 1, 1e-5, 0.9};
    const char *text = "n*c*spatial = 4194304*4194304*4194304 overflows int64";
    CHECK_ERROR(bn_forward(&huge, NNK_NORM_TRAIN), NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(bn_backward(&huge), NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(gn_forward(&huge), NNK_ERROR_OVERFLOW, text);
    CHECK_ERROR(gn_backward(&huge), NNK_ERROR_OVERFLOW, text);
    /* n*c fits, the spatial factor does not. */
    const nnk_norm_desc wide = {2, 3, INT64_MAX / 4, 3, 1e-5, 0.9};
    CHECK_ERROR(gn_forward(&wide), NNK_ERROR_OVERFLOW, "groupnorm_forward: n*c*spatial = 2*3*");
}
