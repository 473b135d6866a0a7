/* Max and average pooling against direct loops over the definition, in both precisions: on
 * random geometries, on the geometries that have their own fast loops (with ties, NaNs and
 * infinities), with one and two threads; the tie, NaN and padding rules one by one; and every
 * failure status with its message. */
#include "test.h"

/* ---- Shapes and data ---------------------------------------------------------------------- */

typedef struct pool_shape {
    int64_t out_h, out_w, plane, out_plane, x_len, y_len;
} pool_shape;

/* The sizes by the formula of nnk.h, checked against nnk_pool2d_output_size. */
static pool_shape shape_of(const nnk_pool2d_desc *d)
{
    pool_shape s = {
        .out_h = 1 + (d->h + 2 * d->pad_h - d->pool_h) / d->stride_h,
        .out_w = 1 + (d->w + 2 * d->pad_w - d->pool_w) / d->stride_w,
    };
    int64_t out_h = -1, out_w = -1;
    CHECK_OK(nnk_pool2d_output_size(d, &out_h, &out_w));
    CHECK(out_h == s.out_h && out_w == s.out_w, "output %lldx%lld, expected %lldx%lld",
          (long long)out_h, (long long)out_w, (long long)s.out_h, (long long)s.out_w);
    s.plane = d->h * d->w;
    s.out_plane = s.out_h * s.out_w;
    s.x_len = d->n * d->c * s.plane;
    s.y_len = d->n * d->c * s.out_plane;
    return s;
}

static void print_desc(const nnk_pool2d_desc *d)
{
    fprintf(stderr,
            "  geometry n=%lld c=%lld h=%lld w=%lld pool=%lldx%lld stride=%lldx%lld "
            "pad=%lldx%lld\n",
            (long long)d->n, (long long)d->c, (long long)d->h, (long long)d->w,
            (long long)d->pool_h, (long long)d->pool_w, (long long)d->stride_h,
            (long long)d->stride_w, (long long)d->pad_h, (long long)d->pad_w);
}

/* Uniform in [0, count). */
static int64_t pick(uint64_t *state, int64_t count)
{
    int64_t k = (int64_t)((test_uniform(state) + 1) * 0.5 * (double)count);
    return k < count ? k : count - 1;
}

/* Window 1-5, stride 1-3, pad 0-min(2, pool-1) along each axis independently; the input at
 * least as large as the window within the padding, up to 9 more. */
static nnk_pool2d_desc random_geometry(uint64_t *state)
{
    nnk_pool2d_desc d;
    d.pool_h = 1 + pick(state, 5);
    d.pool_w = 1 + pick(state, 5);
    d.stride_h = 1 + pick(state, 3);
    d.stride_w = 1 + pick(state, 3);
    d.pad_h = pick(state, (d.pool_h - 1 < 2 ? d.pool_h - 1 : 2) + 1);
    d.pad_w = pick(state, (d.pool_w - 1 < 2 ? d.pool_w - 1 : 2) + 1);
    d.h = (d.pool_h - 2 * d.pad_h > 1 ? d.pool_h - 2 * d.pad_h : 1) + pick(state, 10);
    d.w = (d.pool_w - 2 * d.pad_w > 1 ? d.pool_w - 2 * d.pad_w : 1) + pick(state, 10);
    d.n = 1 + pick(state, 3);
    d.c = 1 + pick(state, 3);
    return d;
}

enum { RANDOM_GEOMETRIES = 60 };

/* The geometries with their own loops (2x2 and 3x3, stride 2): odd sizes, rows of several
 * vectors whose last one overlaps, planes too narrow for a vector (8 float or 4 double
 * outputs), padding whose border rows have fewer window rows and whose border columns are
 * gathered by column; and near misses, which take the generic path, tall enough for it to
 * gather by column too. */
static const nnk_pool2d_desc fast_geometries[] = {
    /* n c   h   w pool  stride pad */
    {2, 3, 2, 2, 2, 2, 2, 2, 0, 0},
    {2, 3, 3, 5, 2, 2, 2, 2, 0, 0},
    {1, 2, 5, 7, 2, 2, 2, 2, 0, 0},
    {2, 3, 8, 16, 2, 2, 2, 2, 0, 0},
    {2, 2, 9, 17, 2, 2, 2, 2, 0, 0},
    {1, 3, 16, 33, 2, 2, 2, 2, 0, 0},
    {2, 2, 7, 67, 2, 2, 2, 2, 0, 0},
    {2, 2, 32, 32, 2, 2, 2, 2, 0, 0},
    {2, 2, 5, 9, 2, 2, 2, 2, 1, 1},
    {1, 2, 8, 32, 2, 2, 2, 2, 1, 0},
    {2, 3, 3, 3, 3, 3, 2, 2, 0, 0},
    {2, 2, 5, 7, 3, 3, 2, 2, 0, 0},
    {1, 3, 9, 17, 3, 3, 2, 2, 0, 0},
    {2, 2, 15, 33, 3, 3, 2, 2, 0, 0},
    {2, 2, 32, 32, 3, 3, 2, 2, 0, 0},
    {1, 2, 7, 67, 3, 3, 2, 2, 0, 0},
    {2, 3, 3, 4, 3, 3, 2, 2, 1, 1},
    {2, 2, 6, 9, 3, 3, 2, 2, 1, 1},
    {1, 2, 16, 33, 3, 3, 2, 2, 1, 1},
    {2, 2, 32, 32, 3, 3, 2, 2, 1, 1},
    {1, 2, 7, 68, 3, 3, 2, 2, 0, 1},
    {2, 2, 5, 11, 3, 3, 2, 2, 2, 2},
    {1, 2, 9, 40, 3, 3, 2, 2, 2, 2},
    {2, 2, 9, 23, 3, 3, 2, 2, 1, 1},
    {2, 2, 7, 21, 2, 2, 2, 2, 1, 1},
    {1, 2, 40, 9, 3, 3, 2, 2, 1, 1},
    {1, 2, 33, 34, 3, 3, 2, 2, 1, 1},
    {2, 2, 8, 9, 2, 2, 2, 1, 0, 0},
    {2, 2, 9, 9, 3, 2, 2, 2, 1, 1},
    {1, 2, 30, 7, 3, 2, 1, 2, 1, 1},
};
#define FAST_GEOMETRY_COUNT ((int)(sizeof fast_geometries / sizeof fast_geometries[0]))

/* Values that tie often: small integers and -0, with NaN, -inf and +inf sprinkled in. */
static double *tied_values(int64_t count, uint64_t seed)
{
    double *values = malloc((size_t)count * sizeof *values);
    for (int64_t i = 0; i < count; i++) {
        double r = (test_uniform(&seed) + 1) * 0.5;
        values[i] = r < 0.05   ? NAN
                    : r < 0.10 ? -INFINITY
                    : r < 0.13 ? INFINITY
                    : r < 0.18 ? -0.0
                               : floor(r * 5) - 2;
    }
    return values;
}

/* Uniform values scaled by 2^-24 to 2^24, so that sums round and their order shows in the
 * last bits (sums of plain uniform values in [-1, 1) are mostly exact); and a few -0, whose
 * share of a gradient lands in a zeroed dx as +0. */
static double *scaled_values(int64_t count, uint64_t seed)
{
    double *values = test_random(count, seed);
    for (int64_t i = 0; i < count; i++)
        values[i] = i % 7 == 3 ? -0.0 : ldexp(values[i], (int)pick(&seed, 49) - 24);
    return values;
}

static void round_to_float(double *values, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        values[i] = (float)values[i];
}

/* ---- The definition, directly ------------------------------------------------------------- */

/* Plane index of window tap (ki, kj) of output (oy, ox), or -1 in the padding. */
static int64_t tap(const nnk_pool2d_desc *d, int64_t oy, int64_t ox, int64_t ki, int64_t kj)
{
    int64_t iy = oy * d->stride_h - d->pad_h + ki, ix = ox * d->stride_w - d->pad_w + kj;
    if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
        return -1;
    return iy * d->w + ix;
}

/* The first real input in window order that no later one exceeds, NaN exceeding any number. */
static void reference_max_forward(const nnk_pool2d_desc *d, const double *x, double *y,
                                  int32_t *argmax)
{
    pool_shape s = shape_of(d);
    for (int64_t p = 0; p < d->n * d->c; p++)
        for (int64_t oy = 0; oy < s.out_h; oy++)
            for (int64_t ox = 0; ox < s.out_w; ox++) {
                int64_t best = -1;
                double best_value = 0;
                for (int64_t ki = 0; ki < d->pool_h; ki++)
                    for (int64_t kj = 0; kj < d->pool_w; kj++) {
                        int64_t at = tap(d, oy, ox, ki, kj);
                        if (at < 0)
                            continue;
                        double v = x[p * s.plane + at];
                        if (best < 0 || (!isnan(best_value) && (isnan(v) || v > best_value))) {
                            best = at;
                            best_value = v;
                        }
                    }
                *y++ = best_value;
                *argmax++ = (int32_t)best;
            }
}

static void reference_max_backward(const nnk_pool2d_desc *d, const double *dy,
                                   const int32_t *argmax, double *dx)
{
    pool_shape s = shape_of(d);
    memset(dx, 0, (size_t)s.x_len * sizeof *dx);
    for (int64_t p = 0; p < d->n * d->c; p++)
        for (int64_t o = 0; o < s.out_plane; o++)
            dx[p * s.plane + argmax[p * s.out_plane + o]] += dy[p * s.out_plane + o];
}

/* The sum of the real inputs over the full window area, padding counting as zeros. */
static void reference_avg_forward(const nnk_pool2d_desc *d, const double *x, double *y)
{
    pool_shape s = shape_of(d);
    for (int64_t p = 0; p < d->n * d->c; p++)
        for (int64_t oy = 0; oy < s.out_h; oy++)
            for (int64_t ox = 0; ox < s.out_w; ox++) {
                double sum = 0;
                for (int64_t ki = 0; ki < d->pool_h; ki++)
                    for (int64_t kj = 0; kj < d->pool_w; kj++) {
                        int64_t at = tap(d, oy, ox, ki, kj);
                        if (at >= 0)
                            sum += x[p * s.plane + at];
                    }
                *y++ = sum / (double)(d->pool_h * d->pool_w);
            }
}

static void reference_avg_backward(const nnk_pool2d_desc *d, const double *dy, double *dx)
{
    pool_shape s = shape_of(d);
    memset(dx, 0, (size_t)s.x_len * sizeof *dx);
    for (int64_t p = 0; p < d->n * d->c; p++)
        for (int64_t oy = 0; oy < s.out_h; oy++)
            for (int64_t ox = 0; ox < s.out_w; ox++, dy++)
                for (int64_t ki = 0; ki < d->pool_h; ki++)
                    for (int64_t kj = 0; kj < d->pool_w; kj++) {
                        int64_t at = tap(d, oy, ox, ki, kj);
                        if (at >= 0)
                            dx[p * s.plane + at] += *dy / (double)(d->pool_h * d->pool_w);
                    }
}

/* ---- The library, in either precision on double data -------------------------------------- */

static double *doubles(int64_t count) { return calloc((size_t)count, sizeof(double)); }

static int32_t *indices(int64_t count) { return calloc((size_t)count, sizeof(int32_t)); }

static void run_max_forward(const nnk_pool2d_desc *d, bool f32, const double *x, double *y,
                            int32_t *argmax)
{
    pool_shape s = shape_of(d);
    if (f32) {
        float *xf = test_to_float(x, s.x_len), *yf = malloc((size_t)s.y_len * sizeof *yf);
        CHECK_OK(nnk_maxpool2d_forward_f32(d, xf, s.x_len, yf, s.y_len, argmax, s.y_len));
        test_from_float(yf, s.y_len, y);
        free(xf);
        free(yf);
    } else {
        CHECK_OK(nnk_maxpool2d_forward_f64(d, x, s.x_len, y, s.y_len, argmax, s.y_len));
    }
}

static void run_max_backward(const nnk_pool2d_desc *d, bool f32, const double *dy,
                             const int32_t *argmax, double *dx)
{
    pool_shape s = shape_of(d);
    if (f32) {
        float *dyf = test_to_float(dy, s.y_len), *dxf = malloc((size_t)s.x_len * sizeof *dxf);
        CHECK_OK(nnk_maxpool2d_backward_f32(d, dyf, s.y_len, argmax, s.y_len, dxf, s.x_len));
        test_from_float(dxf, s.x_len, dx);
        free(dyf);
        free(dxf);
    } else {
        CHECK_OK(nnk_maxpool2d_backward_f64(d, dy, s.y_len, argmax, s.y_len, dx, s.x_len));
    }
}

static void run_avg_forward(const nnk_pool2d_desc *d, bool f32, const double *x, double *y)
{
    pool_shape s = shape_of(d);
    if (f32) {
        float *xf = test_to_float(x, s.x_len), *yf = malloc((size_t)s.y_len * sizeof *yf);
        CHECK_OK(nnk_avgpool2d_forward_f32(d, xf, s.x_len, yf, s.y_len));
        test_from_float(yf, s.y_len, y);
        free(xf);
        free(yf);
    } else {
        CHECK_OK(nnk_avgpool2d_forward_f64(d, x, s.x_len, y, s.y_len));
    }
}

/* dx starts as NaN: the kernel must write every element, whatever path it takes. */
static void run_avg_backward(const nnk_pool2d_desc *d, bool f32, const double *dy, double *dx)
{
    pool_shape s = shape_of(d);
    if (f32) {
        float *dyf = test_to_float(dy, s.y_len), *dxf = malloc((size_t)s.x_len * sizeof *dxf);
        for (int64_t i = 0; i < s.x_len; i++)
            dxf[i] = NAN;
        CHECK_OK(nnk_avgpool2d_backward_f32(d, dyf, s.y_len, dxf, s.x_len));
        test_from_float(dxf, s.x_len, dx);
        free(dyf);
        free(dxf);
    } else {
        for (int64_t i = 0; i < s.x_len; i++)
            dx[i] = NAN;
        CHECK_OK(nnk_avgpool2d_backward_f64(d, dy, s.y_len, dx, s.x_len));
    }
}

/* ---- Comparisons -------------------------------------------------------------------------- */

/* Bit for bit, except that any NaN equals any NaN (a float NaN's payload may change when it
 * is widened); so -0 and +0 differ. */
static bool same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

static void check_same_values(const char *what, const nnk_pool2d_desc *d, const double *actual,
                              const double *expected, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        if (!same_value(actual[i], expected[i])) {
            CHECK(false, "%s[%lld] = %.17g, expected %.17g", what, (long long)i, actual[i],
                  expected[i]);
            print_desc(d);
            return;
        }
}

static void check_same_indices(const char *what, const nnk_pool2d_desc *d, const int32_t *actual,
                               const int32_t *expected, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        if (actual[i] != expected[i]) {
            CHECK(false, "%s[%lld] = %d, expected %d", what, (long long)i, (int)actual[i],
                  (int)expected[i]);
            print_desc(d);
            return;
        }
}

/* Normwise relative error within tolerance; a tolerance of 0 asks for the same bits. */
static void check_close(const char *what, const nnk_pool2d_desc *d, const double *actual,
                        const double *expected, int64_t count, double tolerance)
{
    if (tolerance == 0) {
        check_same_values(what, d, actual, expected, count);
        return;
    }
    double error = test_rel_error(actual, expected, count);
    CHECK(error <= tolerance, "%s: rel error %.3g > %.3g", what, error, tolerance);
    if (error > tolerance)
        print_desc(d);
}

/* ---- Against the definition --------------------------------------------------------------- */

/* y and argmax exactly as the reference's (a maximum is a copy, never rounded). */
static void check_max_forward(const nnk_pool2d_desc *d, bool f32, double *x)
{
    pool_shape s = shape_of(d);
    if (f32)
        round_to_float(x, s.x_len);
    double *y = doubles(s.y_len), *ref_y = doubles(s.y_len);
    int32_t *argmax = indices(s.y_len), *ref_argmax = indices(s.y_len);
    reference_max_forward(d, x, ref_y, ref_argmax);
    run_max_forward(d, f32, x, y, argmax);
    check_same_values("y", d, y, ref_y, s.y_len);
    check_same_indices("argmax", d, argmax, ref_argmax, s.y_len);
    free(y);
    free(ref_y);
    free(argmax);
    free(ref_argmax);
}

/* dx from the library's own argmax, against the reference's scatter of the same argmax. */
static void check_max_backward(const nnk_pool2d_desc *d, bool f32, double *x, double *dy,
                               double tolerance)
{
    pool_shape s = shape_of(d);
    if (f32)
        round_to_float(dy, s.y_len);
    double *y = doubles(s.y_len), *dx = doubles(s.x_len), *ref_dx = doubles(s.x_len);
    int32_t *argmax = indices(s.y_len);
    run_max_forward(d, f32, x, y, argmax);
    reference_max_backward(d, dy, argmax, ref_dx);
    run_max_backward(d, f32, dy, argmax, dx);
    check_close("dx", d, dx, ref_dx, s.x_len, tolerance);
    free(y);
    free(dx);
    free(ref_dx);
    free(argmax);
}

static void check_avg_forward(const nnk_pool2d_desc *d, bool f32, double *x, double tolerance)
{
    pool_shape s = shape_of(d);
    if (f32)
        round_to_float(x, s.x_len);
    double *y = doubles(s.y_len), *ref_y = doubles(s.y_len);
    reference_avg_forward(d, x, ref_y);
    run_avg_forward(d, f32, x, y);
    check_close("y", d, y, ref_y, s.y_len, tolerance);
    free(y);
    free(ref_y);
}

static void check_avg_backward(const nnk_pool2d_desc *d, bool f32, double *dy, double tolerance)
{
    pool_shape s = shape_of(d);
    if (f32)
        round_to_float(dy, s.y_len);
    double *dx = doubles(s.x_len), *ref_dx = doubles(s.x_len);
    reference_avg_backward(d, dy, ref_dx);
    run_avg_backward(d, f32, dy, dx);
    check_close("dx", d, dx, ref_dx, s.x_len, tolerance);
    free(dx);
    free(ref_dx);
}

typedef enum pool_check { MAX_FORWARD, MAX_BACKWARD, AVG_FORWARD, AVG_BACKWARD } pool_check;

typedef enum pool_data { UNIFORM, TIED, SCALED } pool_data;

static double *make_data(pool_data data, int64_t count, uint64_t seed)
{
    switch (data) {
    case TIED: return tied_values(count, seed);
    case SCALED: return scaled_values(count, seed);
    case UNIFORM: break;
    }
    return test_random(count, seed);
}

/* One check on a geometry, x drawn as data says and dy (scaled when x is) by seed. */
static void check_geometry(const nnk_pool2d_desc *d, pool_check check, bool f32, pool_data data,
                           uint64_t seed, double tolerance)
{
    pool_shape s = shape_of(d);
    double *x = make_data(data, s.x_len, seed);
    double *dy = make_data(data == SCALED ? SCALED : UNIFORM, s.y_len, seed + 1);
    switch (check) {
    case MAX_FORWARD: check_max_forward(d, f32, x); break;
    case MAX_BACKWARD: check_max_backward(d, f32, x, dy, tolerance); break;
    case AVG_FORWARD: check_avg_forward(d, f32, x, tolerance); break;
    case AVG_BACKWARD: check_avg_backward(d, f32, dy, tolerance); break;
    }
    free(x);
    free(dy);
}

static void check_random_geometries(pool_check check, bool f32)
{
    uint64_t state = 7000 + 100 * (uint64_t)check;
    for (int gi = 0; gi < RANDOM_GEOMETRIES; gi++) {
        nnk_pool2d_desc d = random_geometry(&state);
        check_geometry(&d, check, f32, UNIFORM, 8000 + 10 * (uint64_t)gi, f32 ? 1e-5 : 1e-12);
    }
}

TEST(MaxPool2dForward_MatchesReference_RandomGeometries_Float64)
{
    check_random_geometries(MAX_FORWARD, false);
}

TEST(MaxPool2dForward_MatchesReference_RandomGeometries_Float32)
{
    check_random_geometries(MAX_FORWARD, true);
}

TEST(MaxPool2dBackward_MatchesReference_RandomGeometries_Float64)
{
    check_random_geometries(MAX_BACKWARD, false);
}

TEST(MaxPool2dBackward_MatchesReference_RandomGeometries_Float32)
{
    check_random_geometries(MAX_BACKWARD, true);
}

TEST(AvgPool2dForward_MatchesReference_RandomGeometries_Float64)
{
    check_random_geometries(AVG_FORWARD, false);
}

TEST(AvgPool2dForward_MatchesReference_RandomGeometries_Float32)
{
    check_random_geometries(AVG_FORWARD, true);
}

TEST(AvgPool2dBackward_MatchesReference_RandomGeometries_Float64)
{
    check_random_geometries(AVG_BACKWARD, false);
}

TEST(AvgPool2dBackward_MatchesReference_RandomGeometries_Float32)
{
    check_random_geometries(AVG_BACKWARD, true);
}

/* The fast loops must give the generic path's bits. In float64 the reference makes the same
 * additions in the same order (from zero, window order; gradients in output order), so its
 * results are those bits; in float32 it adds in double, hence the tolerance. */
static double fast_path_tolerance(bool f32) { return f32 ? 1e-5 : 0; }

/* The fast loops pick the same element as the walk in window order, on data full of ties,
 * NaNs and infinities, and their gradients land in the same place. */
TEST(MaxPool2d_FastPathGeometries_MatchReference_WithTiesAndNaNs)
{
    for (int gi = 0; gi < FAST_GEOMETRY_COUNT; gi++)
        for (int f32 = 0; f32 < 2; f32++) {
            const nnk_pool2d_desc *d = &fast_geometries[gi];
            double tolerance = fast_path_tolerance(f32);
            check_geometry(d, MAX_FORWARD, f32, TIED, 9000 + 10 * gi, 0);
            check_geometry(d, MAX_BACKWARD, f32, TIED, 9000 + 10 * gi, tolerance);
            check_geometry(d, MAX_FORWARD, f32, UNIFORM, 9500 + 10 * gi, 0);
        }
}

TEST(AvgPool2d_FastPathGeometries_MatchReference)
{
    for (int gi = 0; gi < FAST_GEOMETRY_COUNT; gi++)
        for (int f32 = 0; f32 < 2; f32++) {
            const nnk_pool2d_desc *d = &fast_geometries[gi];
            double tolerance = fast_path_tolerance(f32);
            check_geometry(d, AVG_FORWARD, f32, SCALED, 10000 + 10 * gi, tolerance);
            check_geometry(d, AVG_BACKWARD, f32, SCALED, 10000 + 10 * gi, tolerance);
        }
}

/* ---- Threads ------------------------------------------------------------------------------ */

/* Every output of the four calls, in one precision, as doubles. */
typedef struct pool_outputs {
    double *max_y, *max_dx, *avg_y, *avg_dx;
    int32_t *argmax;
} pool_outputs;

static pool_outputs run_all(const nnk_pool2d_desc *d, bool f32, const double *x, const double *dy)
{
    pool_shape s = shape_of(d);
    pool_outputs out = {doubles(s.y_len), doubles(s.x_len), doubles(s.y_len), doubles(s.x_len),
                        indices(s.y_len)};
    run_max_forward(d, f32, x, out.max_y, out.argmax);
    run_max_backward(d, f32, dy, out.argmax, out.max_dx);
    run_avg_forward(d, f32, x, out.avg_y);
    run_avg_backward(d, f32, dy, out.avg_dx);
    return out;
}

static void free_outputs(pool_outputs *out)
{
    free(out->max_y);
    free(out->max_dx);
    free(out->avg_y);
    free(out->avg_dx);
    free(out->argmax);
}

/* Each plane is one thread's, walked in one fixed order, so the thread count cannot change a
 * single bit. */
static void check_threads_agree(const nnk_pool2d_desc *d, uint64_t seed)
{
    pool_shape s = shape_of(d);
    double *x = tied_values(s.x_len, seed), *dy = test_random(s.y_len, seed + 1);
    round_to_float(x, s.x_len);
    round_to_float(dy, s.y_len);
    for (int f32 = 0; f32 < 2; f32++) {
        pool_outputs out[2];
        for (int t = 0; t < 2; t++) {
            CHECK_OK(nnk_set_num_threads(t + 1));
            out[t] = run_all(d, f32, x, dy);
        }
        bool same = memcmp(out[0].max_y, out[1].max_y, (size_t)s.y_len * sizeof(double)) == 0 &&
                    memcmp(out[0].argmax, out[1].argmax, (size_t)s.y_len * sizeof(int32_t)) == 0 &&
                    memcmp(out[0].max_dx, out[1].max_dx, (size_t)s.x_len * sizeof(double)) == 0 &&
                    memcmp(out[0].avg_y, out[1].avg_y, (size_t)s.y_len * sizeof(double)) == 0 &&
                    memcmp(out[0].avg_dx, out[1].avg_dx, (size_t)s.x_len * sizeof(double)) == 0;
        CHECK(same, "%s: 1 and 2 threads differ", f32 ? "float32" : "float64");
        if (!same)
            print_desc(d);
        free_outputs(&out[0]);
        free_outputs(&out[1]);
    }
    free(x);
    free(dy);
}

TEST(Pool2d_OneAndTwoThreadsBitIdentical)
{
    uint64_t state = 11000;
    for (int gi = 0; gi < RANDOM_GEOMETRIES; gi++) {
        nnk_pool2d_desc d = random_geometry(&state);
        check_threads_agree(&d, 12000 + 10 * (uint64_t)gi);
    }
    for (int gi = 0; gi < FAST_GEOMETRY_COUNT; gi++)
        check_threads_agree(&fast_geometries[gi], 13000 + 10 * (uint64_t)gi);
}

/* ---- The tie, NaN and padding rules ------------------------------------------------------- */

/* Geometries of each plane path: 2x2 and 3x3 stride 2 (fast), and 3x2 stride 1 (generic). */
static const nnk_pool2d_desc rule_geometries[] = {
    {1, 2, 6, 8, 2, 2, 2, 2, 0, 0},
    {1, 2, 7, 9, 3, 3, 2, 2, 0, 0},
    {1, 2, 5, 6, 3, 2, 1, 1, 0, 0},
};
#define RULE_GEOMETRY_COUNT ((int)(sizeof rule_geometries / sizeof rule_geometries[0]))

/* Plane index of the first element of output o's window (no padding in these geometries). */
static int32_t window_start(const nnk_pool2d_desc *d, const pool_shape *s, int64_t o)
{
    return (int32_t)(o / s->out_w * d->stride_h * d->w + o % s->out_w * d->stride_w);
}

/* A constant input ties every window: each maximum is the window's first element, and its
 * gradient goes there and nowhere else in the window. */
TEST(MaxPool2d_AllEqualWindow_ArgmaxAndGradientGoToFirstElement)
{
    for (int gi = 0; gi < RULE_GEOMETRY_COUNT; gi++)
        for (int f32 = 0; f32 < 2; f32++) {
            const nnk_pool2d_desc *d = &rule_geometries[gi];
            pool_shape s = shape_of(d);
            double *x = doubles(s.x_len), *y = doubles(s.y_len), *dy = doubles(s.y_len);
            double *dx = doubles(s.x_len), *expected_dx = doubles(s.x_len);
            int32_t *argmax = indices(s.y_len);
            for (int64_t i = 0; i < s.x_len; i++)
                x[i] = -1.5;
            for (int64_t o = 0; o < s.y_len; o++)
                dy[o] = (double)(o + 1);
            run_max_forward(d, f32, x, y, argmax);
            run_max_backward(d, f32, dy, argmax, dx);
            for (int64_t o = 0; o < s.y_len; o++) {
                int32_t first = window_start(d, &s, o % s.out_plane);
                CHECK(argmax[o] == first && y[o] == -1.5, "output %lld: argmax %d, expected %d",
                      (long long)o, (int)argmax[o], (int)first);
                expected_dx[o / s.out_plane * s.plane + first] += dy[o];
            }
            check_same_values("dx", d, dx, expected_dx, s.x_len);
            free(x);
            free(y);
            free(dy);
            free(dx);
            free(expected_dx);
            free(argmax);
        }
}

/* Writes values, the taps of output 0's window of plane 0 in window order, into x; the rest
 * of x is -5. */
static void set_first_window(const nnk_pool2d_desc *d, double *x, int64_t x_len,
                             const double *values)
{
    for (int64_t i = 0; i < x_len; i++)
        x[i] = -5;
    for (int64_t ki = 0, k = 0; ki < d->pool_h; ki++)
        for (int64_t kj = 0; kj < d->pool_w; kj++, k++)
            x[ki * d->w + kj] = values[k];
}

/* Runs one window through every plane path in both precisions and checks that output 0 is
 * tap tap_index of its window (at least 4 taps in every path) with value expected. */
static void check_first_window(const char *what, const double *values, int32_t tap_index,
                               double expected)
{
    for (int gi = 0; gi < RULE_GEOMETRY_COUNT; gi++)
        for (int f32 = 0; f32 < 2; f32++) {
            nnk_pool2d_desc d = rule_geometries[gi];
            pool_shape s = shape_of(&d);
            double *x = doubles(s.x_len), *y = doubles(s.y_len);
            int32_t *argmax = indices(s.y_len);
            set_first_window(&d, x, s.x_len, values);
            run_max_forward(&d, f32, x, y, argmax);
            int32_t expected_at = (int32_t)(tap_index / d.pool_w * d.w + tap_index % d.pool_w);
            CHECK(argmax[0] == expected_at && same_value(y[0], expected),
                  "%s (%s, pool %lldx%lld): argmax %d y %g, expected %d y %g", what,
                  f32 ? "float32" : "float64", (long long)d.pool_h, (long long)d.pool_w,
                  (int)argmax[0], y[0], (int)expected_at, expected);
            free(x);
            free(y);
            free(argmax);
        }
}

/* The first NaN of a window wins over any number, and once the best is NaN it stays. A 2x2
 * window takes the first four values as its taps, a 3x2 window the first six. */
TEST(MaxPool2dForward_NaNIsLargest_FirstNaNWins)
{
    const double nan_late[9] = {1, 2, 3, NAN, 7, NAN, 8, 9, NAN};
    check_first_window("NaN after numbers", nan_late, 3, NAN);
    const double nan_first[9] = {NAN, 4, INFINITY, 5, NAN, 6, 7, 8, 9};
    check_first_window("NaN first", nan_first, 0, NAN);
    const double nan_second[9] = {-INFINITY, NAN, INFINITY, NAN, 9, 9, 9, 9, 9};
    check_first_window("NaN second", nan_second, 1, NAN);
}

TEST(MaxPool2dForward_NegativeInfinity)
{
    const double all[9] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                           -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    check_first_window("all -inf", all, 0, -INFINITY);
    /* -2^100 is exact in float too. */
    const double one_number[9] = {-INFINITY, -INFINITY, -INFINITY, -0x1p100, -INFINITY,
                                  -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    check_first_window("-inf and a number", one_number, 3, -0x1p100);
}

/* -0 and +0 are equal, so the first of them wins and y keeps its sign. */
TEST(MaxPool2dForward_SignedZerosTie_FirstWins)
{
    const double zeros[9] = {-1, -0.0, 0.0, 0.0, -0.0, -0.0, 0.0, -0.0, 0.0};
    check_first_window("-0 then +0", zeros, 1, -0.0);
    const double positive_first[9] = {-1, 0.0, -0.0, -0.0, 0.0, 0.0, -0.0, 0.0, 0.0};
    check_first_window("+0 then -0", positive_first, 1, 0.0);
}

/* Padding is not a zero in max pooling: with every input negative, every maximum is still a
 * real (negative) input, on the padded borders of every plane path. */
TEST(MaxPool2dForward_PaddingNeverWins_AllInputsNegative)
{
    const nnk_pool2d_desc geometries[] = {
        {2, 2, 7, 9, 2, 2, 2, 2, 1, 1},
        {2, 2, 8, 33, 3, 3, 2, 2, 1, 1},
        {2, 2, 6, 7, 3, 3, 2, 2, 2, 2},
        {2, 2, 5, 6, 3, 2, 1, 1, 1, 1},
        {1, 1, 1, 1, 3, 3, 1, 1, 2, 2},
    };
    for (size_t gi = 0; gi < sizeof geometries / sizeof geometries[0]; gi++)
        for (int f32 = 0; f32 < 2; f32++) {
            const nnk_pool2d_desc *d = &geometries[gi];
            pool_shape s = shape_of(d);
            double *x = test_random(s.x_len, 14000 + gi);
            for (int64_t i = 0; i < s.x_len; i++)
                x[i] = -2 + x[i]; /* in [-3, -1) */
            if (f32)
                round_to_float(x, s.x_len);
            double *y = doubles(s.y_len), *ref_y = doubles(s.y_len);
            int32_t *argmax = indices(s.y_len), *ref_argmax = indices(s.y_len);
            run_max_forward(d, f32, x, y, argmax);
            reference_max_forward(d, x, ref_y, ref_argmax);
            for (int64_t o = 0; o < s.y_len; o++)
                CHECK(y[o] < -0.5 && argmax[o] >= 0 && argmax[o] < s.plane,
                      "output %lld: y %g, argmax %d", (long long)o, y[o], (int)argmax[o]);
            check_same_values("y", d, y, ref_y, s.y_len);
            check_same_indices("argmax", d, argmax, ref_argmax, s.y_len);
            free(x);
            free(y);
            free(ref_y);
            free(argmax);
            free(ref_argmax);
        }
}

/* The backward pass trusts any in-range argmax, even outside its window: dx[argmax] += dy. */
TEST(MaxPool2dBackward_ScattersToAnyIndexInItsPlane)
{
    const nnk_pool2d_desc d = {1, 2, 4, 4, 2, 2, 2, 2, 0, 0};
    const int32_t argmax[8] = {15, 15, 0, 7, 3, 3, 3, 3};
    const double dy[8] = {1, 2, 4, 8, 16, 32, 64, 128};
    double dx[32], expected[32] = {0};
    expected[15] = 3;
    expected[0] = 4;
    expected[7] = 8;
    expected[16 + 3] = 240;
    for (int f32 = 0; f32 < 2; f32++) {
        run_max_backward(&d, f32, dy, argmax, dx);
        check_same_values("dx", &d, dx, expected, 32);
    }
}

/* Planes that 2x2 windows tile take a path that stores each element once (pool_impl.h's
 * max_backward_tiles). An argmax outside its own window sends the plane back to the scatter,
 * and a dy of -0 lands as +0, the zeroed dx plus -0, on either path. */
TEST(MaxPool2dBackward_TiledPlanes_AnyIndexAndSignedZerosAsTheScatter)
{
    const nnk_pool2d_desc d = {1, 3, 16, 20, 2, 2, 2, 2, 0, 0}; /* out 8 x 10: vector rows */
    pool_shape s = shape_of(&d);
    double *x = test_random(s.x_len, 18000), *y = doubles(s.y_len), *dy = doubles(s.y_len);
    double *dx = doubles(s.x_len), *expected = doubles(s.x_len);
    int32_t *argmax = indices(s.y_len);
    run_max_forward(&d, false, x, y, argmax);
    for (int64_t o = 0; o < s.y_len; o++)
        dy[o] = (double)(o % 7) - 3; /* small integers: any sum is exact in float */
    /* Plane 0 as forward left it, with -0 and NaN; plane 1 with two entries moved to other
     * windows (one onto an element that is already another window's argmax); plane 2 with its
     * last entry moved to its first window. */
    dy[3] = -0.0;
    dy[4] = NAN;
    argmax[s.out_plane + 5] = 0;
    argmax[s.out_plane + 17] = argmax[s.out_plane + 40];
    argmax[3 * s.out_plane - 1] = 1;
    for (int64_t i = 0; i < s.x_len; i++)
        expected[i] = 0;
    for (int64_t o = 0; o < s.y_len; o++) {
        const int64_t p = o / s.out_plane;
        expected[p * d.h * d.w + argmax[o]] += dy[o];
    }
    for (int f32 = 0; f32 < 2; f32++) {
        run_max_backward(&d, f32, dy, argmax, dx);
        check_same_values("dx", &d, dx, expected, s.x_len);
    }
    free(x);
    free(y);
    free(dy);
    free(dx);
    free(expected);
    free(argmax);
}

/* ---- Numeric gradients -------------------------------------------------------------------- */

/* dL/dx for L = sum(y * dy) by central differences, against the backward pass (float64). */
static void check_numeric_gradient(const nnk_pool2d_desc *d, bool max, uint64_t seed)
{
    pool_shape s = shape_of(d);
    double *x = test_random(s.x_len, seed), *dy = test_random(s.y_len, seed + 1);
    double *y = doubles(s.y_len), *dx = doubles(s.x_len), *numeric = doubles(s.x_len);
    int32_t *argmax = indices(s.y_len);
    if (max) {
        run_max_forward(d, false, x, y, argmax);
        run_max_backward(d, false, dy, argmax, dx);
    } else {
        run_avg_backward(d, false, dy, dx);
    }
    for (int64_t i = 0; i < s.x_len; i++) {
        double saved = x[i], loss[2];
        for (int side = 0; side < 2; side++) {
            x[i] = saved + (side ? -1e-6 : 1e-6);
            if (max)
                run_max_forward(d, false, x, y, argmax);
            else
                run_avg_forward(d, false, x, y);
            loss[side] = 0;
            for (int64_t o = 0; o < s.y_len; o++)
                loss[side] += y[o] * dy[o];
        }
        x[i] = saved;
        numeric[i] = (loss[0] - loss[1]) / 2e-6;
    }
    check_close("dx", d, dx, numeric, s.x_len, 1e-7);
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(numeric);
    free(argmax);
}

TEST(MaxPool2dBackward_MatchesNumericGradient_Float64)
{
    const nnk_pool2d_desc d = {2, 2, 5, 6, 3, 2, 2, 1, 1, 1};
    check_numeric_gradient(&d, true, 15000);
}

TEST(AvgPool2dBackward_MatchesNumericGradient_Float64)
{
    const nnk_pool2d_desc d = {2, 2, 5, 6, 3, 2, 2, 1, 1, 1};
    check_numeric_gradient(&d, false, 16000);
}

TEST(Pool2dOutputSize_FloorsPartialWindows)
{
    const nnk_pool2d_desc d = {1, 1, 7, 8, 3, 2, 2, 3, 1, 0};
    int64_t out_h = 0, out_w = 0;
    CHECK_OK(nnk_pool2d_output_size(&d, &out_h, &out_w));
    CHECK(out_h == 4 && out_w == 3, "out %lldx%lld, expected 4x3", (long long)out_h,
          (long long)out_w);
}

/* Sizes near the int64 limit that are still valid: one output, its window reaching two rows
 * and columns into the padding; nothing may overflow on the way (run under UBSan). */
TEST(Pool2d_HugeStrideAndPad_OneOutput)
{
    const nnk_pool2d_desc d = {1, 1, 1, 2, 3, 3, INT64_MAX, INT64_MAX, 2, 2};
    int64_t out_h = 0, out_w = 0;
    CHECK_OK(nnk_pool2d_output_size(&d, &out_h, &out_w));
    CHECK(out_h == 1 && out_w == 1, "out %lldx%lld, expected 1x1", (long long)out_h,
          (long long)out_w);
    const double x[2] = {-4, 5};
    double y = 0, dy = 9, dx[2];
    int32_t argmax = -1;
    CHECK_OK(nnk_maxpool2d_forward_f64(&d, x, 2, &y, 1, &argmax, 1));
    CHECK(y == -4 && argmax == 0, "max %g at %d, expected -4 at 0 (column 1 is outside)", y,
          (int)argmax);
    CHECK_OK(nnk_avgpool2d_forward_f64(&d, x, 2, &y, 1));
    CHECK(y == -4.0 / 9, "mean %g, expected -4/9", y);
    CHECK_OK(nnk_avgpool2d_backward_f64(&d, &dy, 1, dx, 2));
    CHECK(dx[0] == 1 && dx[1] == 0, "dx %g %g, expected 1 0", dx[0], dx[1]);
}

/* ---- Failures ----------------------------------------------------------------------------- */

/* x (2,3,4,4), 2x2 windows, stride 2: y (2,3,2,2). */
static const nnk_pool2d_desc good = {2, 3, 4, 4, 2, 2, 2, 2, 0, 0};
enum { X_LEN = 96, Y_LEN = 24, BIG = 256 };

static double x64[BIG], y64[BIG];
static float x32[BIG], y32[BIG];
static int32_t am[BIG];

TEST(Pool2d_Errors_NullPointers)
{
    int64_t out = 0;
    CHECK_ERROR(nnk_pool2d_output_size(NULL, &out, &out), NNK_ERROR_NULL_POINTER,
                "pool2d_output_size: desc is NULL");
    CHECK_ERROR(nnk_pool2d_output_size(&good, NULL, &out), NNK_ERROR_NULL_POINTER, "out_h is NULL");
    CHECK_ERROR(nnk_pool2d_output_size(&good, &out, NULL), NNK_ERROR_NULL_POINTER, "out_w is NULL");

    CHECK_ERROR(nnk_maxpool2d_forward_f64(NULL, x64, X_LEN, y64, Y_LEN, am, Y_LEN),
                NNK_ERROR_NULL_POINTER, "maxpool2d_forward: desc is NULL");
    CHECK_ERROR(nnk_maxpool2d_forward_f32(&good, NULL, X_LEN, y32, Y_LEN, am, Y_LEN),
                NNK_ERROR_NULL_POINTER, "maxpool2d_forward: x is NULL");
    CHECK_ERROR(nnk_maxpool2d_forward_f64(&good, x64, X_LEN, NULL, Y_LEN, am, Y_LEN),
                NNK_ERROR_NULL_POINTER, "maxpool2d_forward: y is NULL");
    CHECK_ERROR(nnk_maxpool2d_forward_f32(&good, x32, X_LEN, y32, Y_LEN, NULL, Y_LEN),
                NNK_ERROR_NULL_POINTER, "maxpool2d_forward: argmax is NULL");

    CHECK_ERROR(nnk_maxpool2d_backward_f32(NULL, y32, Y_LEN, am, Y_LEN, x32, X_LEN),
                NNK_ERROR_NULL_POINTER, "maxpool2d_backward: desc is NULL");
    CHECK_ERROR(nnk_maxpool2d_backward_f64(&good, NULL, Y_LEN, am, Y_LEN, x64, X_LEN),
                NNK_ERROR_NULL_POINTER, "maxpool2d_backward: dy is NULL");
    CHECK_ERROR(nnk_maxpool2d_backward_f32(&good, y32, Y_LEN, NULL, Y_LEN, x32, X_LEN),
                NNK_ERROR_NULL_POINTER, "maxpool2d_backward: argmax is NULL");
    CHECK_ERROR(nnk_maxpool2d_backward_f64(&good, y64, Y_LEN, am, Y_LEN, NULL, X_LEN),
                NNK_ERROR_NULL_POINTER, "maxpool2d_backward: dx is NULL");

    CHECK_ERROR(nnk_avgpool2d_forward_f64(NULL, x64, X_LEN, y64, Y_LEN), NNK_ERROR_NULL_POINTER,
                "avgpool2d_forward: desc is NULL");
    CHECK_ERROR(nnk_avgpool2d_forward_f32(&good, NULL, X_LEN, y32, Y_LEN),
                NNK_ERROR_NULL_POINTER, "avgpool2d_forward: x is NULL");
    CHECK_ERROR(nnk_avgpool2d_forward_f64(&good, x64, X_LEN, NULL, Y_LEN),
                NNK_ERROR_NULL_POINTER, "avgpool2d_forward: y is NULL");
    CHECK_ERROR(nnk_avgpool2d_backward_f32(NULL, y32, Y_LEN, x32, X_LEN), NNK_ERROR_NULL_POINTER,
                "avgpool2d_backward: desc is NULL");
    CHECK_ERROR(nnk_avgpool2d_backward_f64(&good, NULL, Y_LEN, x64, X_LEN),
                NNK_ERROR_NULL_POINTER, "avgpool2d_backward: dy is NULL");
    CHECK_ERROR(nnk_avgpool2d_backward_f32(&good, y32, Y_LEN, NULL, X_LEN),
                NNK_ERROR_NULL_POINTER, "avgpool2d_backward: dx is NULL");
}

/* Each field of the descriptor out of range in turn, and the window rules. */
TEST(Pool2d_Errors_InvalidDescriptor)
{
    struct {
        nnk_pool2d_desc d;
        const char *text;
    } cases[] = {
        {{0, 3, 4, 4, 2, 2, 2, 2, 0, 0}, "maxpool2d_forward: n = 0 (must be >= 1)"},
        {{2, -1, 4, 4, 2, 2, 2, 2, 0, 0}, "c = -1 (must be >= 1)"},
        {{2, 3, 0, 4, 2, 2, 2, 2, 0, 0}, "h = 0"},
        {{2, 3, 4, 0, 2, 2, 2, 2, 0, 0}, "w = 0"},
        {{2, 3, 4, 4, 0, 2, 2, 2, 0, 0}, "pool_h = 0 (must be >= 1)"},
        {{2, 3, 4, 4, 2, -2, 2, 2, 0, 0}, "pool_w = -2"},
        {{2, 3, 4, 4, 2, 2, 0, 2, 0, 0}, "stride_h = 0 (must be >= 1)"},
        {{2, 3, 4, 4, 2, 2, 2, -1, 0, 0}, "stride_w = -1"},
        {{2, 3, 4, 4, 2, 2, 2, 2, -1, 0}, "pad_h = -1 (must be >= 0)"},
        {{2, 3, 4, 4, 2, 2, 2, 2, 0, -3}, "pad_w = -3 (must be >= 0)"},
        {{2, 3, 4, 4, 2, 2, 2, 2, 2, 0},
         "pad_h = 2, pad_w = 0 (each must be < its window side: pool_h = 2, pool_w = 2)"},
        {{2, 3, 4, 4, 3, 2, 2, 2, 1, 5},
         "pad_h = 1, pad_w = 5 (each must be < its window side: pool_h = 3, pool_w = 2)"},
        {{1, 1, 3, 3, 5, 5, 1, 1, 0, 0},
         "window 5x5 is larger than padded input 3x3 (h=3, w=3, pad_h=0, pad_w=0)"},
        {{1, 1, 1, 3, 4, 2, 1, 1, 1, 0},
         "window 4x2 is larger than padded input 3x3 (h=1, w=3, pad_h=1, pad_w=0)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_ERROR(nnk_maxpool2d_forward_f64(&cases[i].d, x64, X_LEN, y64, Y_LEN, am, Y_LEN),
                    NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
    int64_t out_h, out_w;
    CHECK_ERROR(nnk_pool2d_output_size(&cases[10].d, &out_h, &out_w), NNK_ERROR_INVALID_ARGUMENT,
                "pool2d_output_size: pad_h = 2");
    CHECK_ERROR(nnk_maxpool2d_backward_f32(&cases[12].d, y32, 1, am, 1, x32, 9),
                NNK_ERROR_INVALID_ARGUMENT, "maxpool2d_backward: window 5x5");
    CHECK_ERROR(nnk_avgpool2d_forward_f32(&cases[4].d, x32, X_LEN, y32, Y_LEN),
                NNK_ERROR_INVALID_ARGUMENT, "avgpool2d_forward: pool_h = 0");
    CHECK_ERROR(nnk_avgpool2d_backward_f64(&cases[13].d, y64, 3, x64, 3),
                NNK_ERROR_INVALID_ARGUMENT, "avgpool2d_backward: window 4x2");
}

TEST(Pool2d_Errors_BufferLengths)
{
    CHECK_ERROR(nnk_maxpool2d_forward_f64(&good, x64, 95, y64, Y_LEN, am, Y_LEN),
                NNK_ERROR_BUFFER_SIZE,
                "maxpool2d_forward: x has 95 elements, expected 2*3*4*4 = 96");
    CHECK_ERROR(nnk_maxpool2d_forward_f32(&good, x32, X_LEN, y32, 25, am, Y_LEN),
                NNK_ERROR_BUFFER_SIZE,
                "maxpool2d_forward: y has 25 elements, expected 2*3*2*2 = 24");
    CHECK_ERROR(nnk_maxpool2d_forward_f64(&good, x64, X_LEN, y64, Y_LEN, am, 23),
                NNK_ERROR_BUFFER_SIZE, "argmax has 23 elements, expected 2*3*2*2 = 24");
    CHECK_ERROR(nnk_maxpool2d_backward_f32(&good, y32, 0, am, Y_LEN, x32, X_LEN),
                NNK_ERROR_BUFFER_SIZE, "maxpool2d_backward: dy has 0 elements");
    CHECK_ERROR(nnk_maxpool2d_backward_f64(&good, y64, Y_LEN, am, -24, x64, X_LEN),
                NNK_ERROR_BUFFER_SIZE, "argmax has -24 elements");
    CHECK_ERROR(nnk_maxpool2d_backward_f32(&good, y32, Y_LEN, am, Y_LEN, x32, 97),
                NNK_ERROR_BUFFER_SIZE, "dx has 97 elements, expected 2*3*4*4 = 96");
    CHECK_ERROR(nnk_avgpool2d_forward_f32(&good, x32, 1, y32, Y_LEN), NNK_ERROR_BUFFER_SIZE,
                "avgpool2d_forward: x has 1 elements");
    CHECK_ERROR(nnk_avgpool2d_forward_f64(&good, x64, X_LEN, y64, 96), NNK_ERROR_BUFFER_SIZE,
                "y has 96 elements, expected 2*3*2*2 = 24");
    CHECK_ERROR(nnk_avgpool2d_backward_f64(&good, y64, 12, x64, X_LEN), NNK_ERROR_BUFFER_SIZE,
                "avgpool2d_backward: dy has 12 elements");
    CHECK_ERROR(nnk_avgpool2d_backward_f32(&good, y32, Y_LEN, x32, 48), NNK_ERROR_BUFFER_SIZE,
                "dx has 48 elements");
}

TEST(Pool2d_Errors_SizesThatOverflow)
{
    const int64_t big = INT64_C(1) << 20, side = INT64_C(1) << 40;
    const nnk_pool2d_desc huge = {big, big, big, big, 2, 2, 2, 2, 0, 0};
    CHECK_ERROR(nnk_maxpool2d_forward_f64(&huge, x64, X_LEN, y64, Y_LEN, am, Y_LEN),
                NNK_ERROR_OVERFLOW, "n*c*h*w = 1048576*1048576*1048576*1048576 overflows int64");
    CHECK_ERROR(nnk_avgpool2d_backward_f32(&huge, y32, Y_LEN, x32, X_LEN), NNK_ERROR_OVERFLOW,
                "avgpool2d_backward: n*c*h*w");
    /* A one-element input padded to 2^41 - 1 along each axis: tiny x, huge y. */
    const nnk_pool2d_desc wide = {1, 1, 1, 1, side, side, 1, 1, side - 1, side - 1};
    CHECK_ERROR(nnk_avgpool2d_forward_f64(&wide, x64, 1, y64, 1), NNK_ERROR_OVERFLOW,
                "n*c*out_h*out_w = 1*1*1099511627776*1099511627776 overflows int64");
    /* The same with strides that leave one output: only the window area overflows. */
    const nnk_pool2d_desc area = {1, 1, 1, 1, side, side, side, side, side - 1, side - 1};
    CHECK_ERROR(nnk_avgpool2d_forward_f64(&area, x64, 1, y64, 1), NNK_ERROR_OVERFLOW,
                "pool_h*pool_w = 1099511627776*1099511627776 overflows int64");
    const nnk_pool2d_desc padded = {1, 1, 5, 5, INT64_MAX, 2, 1, 1, INT64_MAX / 2, 0};
    CHECK_ERROR(nnk_maxpool2d_backward_f64(&padded, y64, 1, am, 1, x64, 25), NNK_ERROR_OVERFLOW,
                "maxpool2d_backward: padded input (h=5, w=5, pad_h=4611686018427387903, pad_w=0) "
                "overflows int64");

    /* argmax holds int32 indices within a plane: max pooling needs h*w <= INT32_MAX, average
     * pooling does not. Geometry is checked before the buffers, so the lengths here only
     * show which check failed. */
    const nnk_pool2d_desc plane = {1, 1, 65536, 32768, 2, 2, 2, 2, 0, 0};
    CHECK_ERROR(nnk_maxpool2d_forward_f32(&plane, x32, 1, y32, 1, am, 1), NNK_ERROR_OVERFLOW,
                "maxpool2d_forward: h*w = 65536*32768 = 2147483648 exceeds the int32 range of "
                "argmax indices (2147483647)");
    CHECK_ERROR(nnk_maxpool2d_backward_f64(&plane, y64, 1, am, 1, x64, 1), NNK_ERROR_OVERFLOW,
                "maxpool2d_backward: h*w = 65536*32768");
    CHECK_ERROR(nnk_avgpool2d_forward_f32(&plane, x32, 1, y32, 1), NNK_ERROR_BUFFER_SIZE,
                "avgpool2d_forward: x has 1 elements");
    int64_t out_h, out_w;
    CHECK_OK(nnk_pool2d_output_size(&plane, &out_h, &out_w));
    const nnk_pool2d_desc largest = {1, 1, 1, INT32_MAX, 1, 1, 1, 1, 0, 0};
    CHECK_ERROR(nnk_maxpool2d_forward_f32(&largest, x32, 1, y32, 1, am, 1),
                NNK_ERROR_BUFFER_SIZE, "maxpool2d_forward: x has 1 elements");
}

/* An argmax entry outside [0, h*w) fails with its position and value, and nothing is written
 * outside dx: dx is allocated to its exact length, so an AddressSanitizer build would catch a
 * write at dx[-1] (entry -1 of plane 0) or dx[n*c*h*w] (entry h*w of the last plane). */
TEST(MaxPool2dBackward_ArgmaxOutOfRange_FailsWithoutWritingOutsideDx)
{
    const nnk_pool2d_desc d = {2, 2, 4, 5, 2, 2, 2, 2, 0, 0};
    const int64_t x_len = 80, y_len = 16;
    struct {
        int64_t position;
        int32_t value;
        const char *text;
    } cases[] = {
        {0, -1, "maxpool2d_backward: argmax[0] = -1 is outside its input plane of 20 elements "
                "(h*w = 4*5)"},
        {15, 20, "argmax[15] = 20 is outside its input plane of 20 elements"},
        {6, INT32_MAX, "argmax[6] = 2147483647"},
        {9, INT32_MIN, "argmax[9] = -2147483648"},
    };
    for (int threads = 1; threads <= 2; threads++) {
        CHECK_OK(nnk_set_num_threads(threads));
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            for (int f32 = 0; f32 < 2; f32++) {
                double *x = test_random(x_len, 17000), *y = doubles(y_len);
                double *dy = test_random(y_len, 17001);
                int32_t *argmax = indices(y_len);
                run_max_forward(&d, false, x, y, argmax);
                argmax[cases[i].position] = cases[i].value;
                if (f32) {
                    float *dyf = test_to_float(dy, y_len), *dx = malloc(x_len * sizeof *dx);
                    CHECK_ERROR(nnk_maxpool2d_backward_f32(&d, dyf, y_len, argmax, y_len, dx,
                                                           x_len),
                                NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
                    free(dyf);
                    free(dx);
                } else {
                    double *dx = malloc(x_len * sizeof *dx);
                    CHECK_ERROR(nnk_maxpool2d_backward_f64(&d, dy, y_len, argmax, y_len, dx,
                                                           x_len),
                                NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
                    free(dx);
                }
                free(x);
                free(y);
                free(dy);
                free(argmax);
            }
    }
}

/* With several bad entries the first is named, whichever thread meets it. */
TEST(MaxPool2dBackward_SeveralBadEntries_NamesTheFirst)
{
    const nnk_pool2d_desc d = {4, 2, 4, 4, 2, 2, 2, 2, 0, 0};
    const int64_t x_len = 128, y_len = 32;
    double dy[32] = {0}, dx[128];
    int32_t argmax[32] = {0};
    argmax[29] = 16;
    argmax[13] = -7;
    argmax[14] = 99;
    for (int threads = 1; threads <= 2; threads++) {
        CHECK_OK(nnk_set_num_threads(threads));
        CHECK_ERROR(nnk_maxpool2d_backward_f64(&d, dy, y_len, argmax, y_len, dx, x_len),
                    NNK_ERROR_INVALID_ARGUMENT, "argmax[13] = -7 is outside");
    }
}
