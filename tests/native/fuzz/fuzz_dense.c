/*
 * fuzz_dense.c - libFuzzer target for the dense and elementwise calls: gemm (every transpose,
 * alpha and beta including NaN and infinities) and ReLU forward and backward (also in place),
 * in float and double.
 *
 * Input: an op byte (bit 0: double; bits 1-2: the call; bit 3: in place), then for gemm the
 * two transpose bytes, m, n, k, alpha and beta, for ReLU the length, then each buffer's length
 * choice and values (fuzz.h).
 *
 * Besides the checks of fuzz.h: ReLU's results are checked element by element against its
 * definition (y = x <= 0 ? 0 : x, so NaN propagates; dx = x > 0 ? dy : 0).
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

static double fuzz_scalar(fuzz_input *in)
{
    static const double values[] = {1, 0, -0.0, 2, -1, 0.5, NAN, INFINITY, -INFINITY,
                                    DBL_TRUE_MIN, FLT_MAX, 1e-40};
    uint8_t b = fuzz_byte(in);
    return values[b % (sizeof values / sizeof values[0])];
}

/* Same value: equal bits, or both NaN (a NaN's payload may change on the way). */
static bool same(double a, double b)
{
    return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

/* ReLU's results against its definition; x and dy are copies of the inputs (the call may have
 * run in place). */
#define CHECK_RELU(T, backward, x, dy, out, len)                                             \
    do {                                                                                     \
        const T *xs = (x), *gs = (dy), *os = (out);                                          \
        for (int64_t k = 0; k < (len); k++) {                                                \
            T expect = (backward) ? (xs[k] > 0 ? gs[k] : (T)0) : (xs[k] <= 0 ? (T)0 : xs[k]); \
            if (!same(os[k], expect))                                                        \
                FUZZ_FAIL("relu %s [%lld]: x %g dy %g gave %g, expected %g",                 \
                          (backward) ? "backward" : "forward", (long long)k, (double)xs[k],  \
                          (backward) ? (double)gs[k] : 0.0, (double)os[k], (double)expect);  \
        }                                                                                    \
    } while (0)

static void *copy_of(fuzz_buffer b, size_t element)
{
    size_t bytes = (size_t)(b.len > 0 ? b.len : 0) * element;
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (p == NULL)
        abort();
    if (b.p != NULL)
        memcpy(p, b.p, bytes);
    return p;
}

static void relu(fuzz_input *in, uint8_t op, bool f64, enum fuzz_type type)
{
    const bool backward = (op >> 1) & 1, in_place = (op >> 3) & 1;
    const int64_t decoded = fuzz_size(in);
    const int64_t len = decoded > FUZZ_MAX_ELEMENTS ? FUZZ_MAX_ELEMENTS : decoded;
    fuzz_buffer x = fuzz_tensor(in, len, type, 0);
    fuzz_buffer dy = backward ? fuzz_tensor(in, len, type, 0) : (fuzz_buffer){NULL, 0};
    /* In place: y is x (forward), dx is dy (backward). */
    fuzz_buffer out = in_place ? (backward ? dy : x) : fuzz_tensor(in, len, type, 0);
    const size_t element = fuzz_type_size(type);
    void *x_copy = copy_of(x, element), *dy_copy = copy_of(dy, element);
    nnk_status s;
    if (backward)
        s = FUZZ_CALL("relu_backward",
                      f64 ? nnk_relu_backward_f64(x.p, x.len, dy.p, dy.len, out.p, out.len)
                          : nnk_relu_backward_f32(x.p, x.len, dy.p, dy.len, out.p, out.len));
    else
        s = FUZZ_CALL("relu_forward", f64 ? nnk_relu_forward_f64(x.p, x.len, out.p, out.len)
                                          : nnk_relu_forward_f32(x.p, x.len, out.p, out.len));
    if (s == NNK_OK) {
        /* x's length is the shape: the other buffers must have matched it. */
        if (x.len < 1)
            FUZZ_FAIL("relu succeeded on a length of %lld", (long long)x.len);
        FUZZ_EXPECT_LEN("relu", "y or dx", out, x.len);
        if (backward)
            FUZZ_EXPECT_LEN("relu", "dy", dy, x.len);
        if (f64)
            CHECK_RELU(double, backward, (const double *)x_copy, (const double *)dy_copy,
                       (const double *)out.p, x.len);
        else
            CHECK_RELU(float, backward, (const float *)x_copy, (const float *)dy_copy,
                       (const float *)out.p, x.len);
    }
    free(x_copy);
    free(dy_copy);
}

static void gemm(fuzz_input *in, bool f64, enum fuzz_type type)
{
    const int32_t trans_a = (int32_t)(int8_t)fuzz_byte(in) % 3; /* -2..2: any nonzero is yes */
    const int32_t trans_b = (int32_t)(int8_t)fuzz_byte(in) % 3;
    const int64_t m = fuzz_size(in), n = fuzz_size(in), k = fuzz_size(in);
    const double alpha = fuzz_scalar(in), beta = fuzz_scalar(in);
    const int64_t a_want = FUZZ_PRODUCT(m, k), b_want = FUZZ_PRODUCT(k, n);
    const int64_t c_want = FUZZ_PRODUCT(m, n);
    fuzz_buffer a = fuzz_tensor(in, a_want, type, 0);
    fuzz_buffer b = fuzz_tensor(in, b_want, type, 0);
    fuzz_buffer c = fuzz_tensor(in, c_want, type, 0);
    nnk_status s = FUZZ_CALL(
        "gemm", f64 ? nnk_gemm_f64(trans_a, trans_b, m, n, k, alpha, a.p, a.len, b.p, b.len,
                                   beta, c.p, c.len)
                    : nnk_gemm_f32(trans_a, trans_b, m, n, k, (float)alpha, a.p, a.len, b.p,
                                   b.len, (float)beta, c.p, c.len));
    if (s == NNK_OK) {
        FUZZ_EXPECT_LEN("gemm", "a", a, a_want);
        FUZZ_EXPECT_LEN("gemm", "b", b, b_want);
        FUZZ_EXPECT_LEN("gemm", "c", c, c_want);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {.data = data, .size = size};
    const uint8_t op = fuzz_byte(&in);
    const bool f64 = op & 1;
    const enum fuzz_type type = f64 ? FUZZ_F64 : FUZZ_F32;
    if ((op >> 1) & 2)
        gemm(&in, f64, type);
    else
        relu(&in, op, f64, type);
    fuzz_free_all(&in);
    return 0;
}
