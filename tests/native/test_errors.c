/* Every failure returns its status and leaves a thread-local message that names the values;
 * plus the runtime calls (version, status strings, thread count). */
#include "test.h"

#include <pthread.h>
#include <stdint.h>

/* x (2,3,4,4), w (2,3,3,3), stride 1, pad 1: y (2,2,4,4). */
static const nnk_conv2d_desc good = {2, 3, 4, 4, 2, 3, 3, 1, 1, 1, 1};
enum { X_LEN = 96, W_LEN = 54, Y_LEN = 64, WS_LEN = 432 + 54, BIG = 1024 };

static double x[BIG], w[BIG], b[BIG], y[BIG], dy[BIG], dx[BIG], dw[BIG], db[BIG], ws[BIG];
static float xf[BIG], colsf[BIG], wf[BIG], bf[BIG], yf[BIG], wsf[BIG];

static nnk_status forward(const nnk_conv2d_desc *d)
{
    return nnk_conv2d_forward_f64(d, x, X_LEN, w, W_LEN, b, 2, y, Y_LEN, ws, WS_LEN);
}

TEST(Errors_NullPointers)
{
    int64_t out = 0;
    CHECK_ERROR(forward(NULL), NNK_ERROR_NULL_POINTER, "desc is NULL");
    CHECK_ERROR(nnk_conv2d_output_size(NULL, &out, &out), NNK_ERROR_NULL_POINTER, "desc");
    CHECK_ERROR(nnk_conv2d_output_size(&good, NULL, &out), NNK_ERROR_NULL_POINTER, "out_h");
    CHECK_ERROR(nnk_conv2d_workspace_size(&good, NNK_CONV_FORWARD, NULL), NNK_ERROR_NULL_POINTER,
                "elements");
    CHECK_ERROR(nnk_im2col_f32(NULL, xf, X_LEN, colsf, BIG), NNK_ERROR_NULL_POINTER, "desc");
    CHECK_ERROR(nnk_col2im_f64(&good, NULL, 864, x, X_LEN), NNK_ERROR_NULL_POINTER,
                "col2im: cols is NULL");
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, NULL, X_LEN, w, W_LEN, b, 2, y, Y_LEN, ws, WS_LEN),
                NNK_ERROR_NULL_POINTER, "conv2d_forward: x is NULL");
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, x, X_LEN, NULL, W_LEN, b, 2, y, Y_LEN, ws, WS_LEN),
                NNK_ERROR_NULL_POINTER, "w is NULL");
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, x, X_LEN, w, W_LEN, b, 2, NULL, Y_LEN, ws, WS_LEN),
                NNK_ERROR_NULL_POINTER, "y is NULL");
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, x, X_LEN, w, W_LEN, b, 2, y, Y_LEN, NULL, WS_LEN),
                NNK_ERROR_NULL_POINTER, "workspace is NULL");
    /* An optional buffer is absent only as NULL with length 0. */
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, x, X_LEN, w, W_LEN, NULL, 2, y, Y_LEN, ws, WS_LEN),
                NNK_ERROR_NULL_POINTER, "b is NULL but b_len is 2");
    CHECK_ERROR(nnk_conv2d_backward_f64(&good, x, X_LEN, w, W_LEN, NULL, Y_LEN, dx, X_LEN, dw,
                                        W_LEN, db, 2, ws, WS_LEN),
                NNK_ERROR_NULL_POINTER, "dy is NULL");
    CHECK_ERROR(nnk_conv2d_backward_f64(&good, x, X_LEN, w, W_LEN, dy, Y_LEN, NULL, X_LEN, dw,
                                        W_LEN, db, 2, ws, WS_LEN),
                NNK_ERROR_NULL_POINTER, "dx is NULL but dx_len is 96");
    /* x is required once dw is wanted, w once dx is. */
    CHECK_ERROR(nnk_conv2d_backward_f64(&good, NULL, 0, w, W_LEN, dy, Y_LEN, NULL, 0, dw, W_LEN,
                                        NULL, 0, ws, WS_LEN),
                NNK_ERROR_NULL_POINTER, "x is NULL");
    CHECK_ERROR(nnk_conv2d_backward_f64(&good, x, X_LEN, NULL, 0, dy, Y_LEN, dx, X_LEN, NULL, 0,
                                        NULL, 0, ws, WS_LEN),
                NNK_ERROR_NULL_POINTER, "w is NULL");
}

/* Each field of the descriptor out of range in turn. */
TEST(Errors_InvalidDescriptor)
{
    struct {
        nnk_conv2d_desc d;
        const char *text;
    } cases[] = {
        {{0, 3, 4, 4, 2, 3, 3, 1, 1, 1, 1}, "conv2d_forward: n = 0 (must be >= 1)"},
        {{2, -2, 4, 4, 2, 3, 3, 1, 1, 1, 1}, "c = -2 (must be >= 1)"},
        {{2, 3, 0, 4, 2, 3, 3, 1, 1, 1, 1}, "h = 0"},
        {{2, 3, 4, -1, 2, 3, 3, 1, 1, 1, 1}, "w = -1"},
        {{2, 3, 4, 4, 0, 3, 3, 1, 1, 1, 1}, "f = 0"},
        {{2, 3, 4, 4, 2, 0, 3, 1, 1, 1, 1}, "kh = 0"},
        {{2, 3, 4, 4, 2, 3, -3, 1, 1, 1, 1}, "kw = -3"},
        {{2, 3, 4, 4, 2, 3, 3, 0, 1, 1, 1}, "stride_h = 0 (must be >= 1)"},
        {{2, 3, 4, 4, 2, 3, 3, 1, -2, 1, 1}, "stride_w = -2"},
        {{2, 3, 4, 4, 2, 3, 3, 1, 1, -1, 1}, "pad_h = -1 (must be >= 0)"},
        {{2, 3, 4, 4, 2, 3, 3, 1, 1, 1, -5}, "pad_w = -5"},
        {{1, 1, 3, 3, 1, 7, 7, 1, 1, 0, 0},
         "kernel 7x7 is larger than padded input 3x3 (h=3, w=3, pad_h=0, pad_w=0)"},
        {{1, 1, 3, 3, 1, 3, 6, 1, 1, 0, 1},
         "kernel 3x6 is larger than padded input 3x5 (h=3, w=3, pad_h=0, pad_w=1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_ERROR(forward(&cases[i].d), NNK_ERROR_INVALID_ARGUMENT, cases[i].text);
    int64_t out_h, out_w;
    CHECK_ERROR(nnk_conv2d_output_size(&cases[11].d, &out_h, &out_w), NNK_ERROR_INVALID_ARGUMENT,
                "conv2d_output_size: kernel 7x7");
    CHECK_ERROR(nnk_im2col_f32(&cases[7].d, xf, X_LEN, colsf, BIG), NNK_ERROR_INVALID_ARGUMENT,
                "im2col: stride_h = 0");
    CHECK_ERROR(nnk_conv2d_workspace_size(&good, (nnk_conv_pass)7, &out_h),
                NNK_ERROR_INVALID_ARGUMENT, "pass = 7");
}

TEST(Errors_BufferLengths)
{
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, x, 100, w, W_LEN, b, 2, y, Y_LEN, ws, WS_LEN),
                NNK_ERROR_BUFFER_SIZE, "conv2d_forward: x has 100 elements, expected 2*3*4*4 = 96");
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, x, X_LEN, w, 53, b, 2, y, Y_LEN, ws, WS_LEN),
                NNK_ERROR_BUFFER_SIZE, "w has 53 elements, expected 2*3*3*3 = 54");
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, x, X_LEN, w, W_LEN, b, 3, y, Y_LEN, ws, WS_LEN),
                NNK_ERROR_BUFFER_SIZE, "b has 3 elements, expected 2");
    CHECK_ERROR(nnk_conv2d_forward_f64(&good, x, X_LEN, w, W_LEN, b, 2, y, -1, ws, WS_LEN),
                NNK_ERROR_BUFFER_SIZE, "y has -1 elements, expected 2*2*4*4 = 64");
    /* In float: its rows of 4 outputs fill too little of a vector (8 or 16 lanes) for the
     * shallow kernel (shallow.c), which needs less; in double on AVX2 (4 lanes) it takes y. */
    CHECK_ERROR(nnk_conv2d_forward_f32(&good, xf, X_LEN, wf, W_LEN, bf, 2, yf, Y_LEN, wsf, 431),
                NNK_ERROR_BUFFER_SIZE,
                "workspace has 431 elements, one thread needs 432 (c*kh*kw*rows*out_w = "
                "3*3*3*4*4)");
    CHECK_ERROR(nnk_conv2d_backward_f64(&good, x, X_LEN, w, W_LEN, dy, Y_LEN, dx, 95, dw, W_LEN,
                                        db, 2, ws, WS_LEN),
                NNK_ERROR_BUFFER_SIZE, "conv2d_backward: dx has 95 elements");
    CHECK_ERROR(nnk_conv2d_backward_f64(&good, x, X_LEN, w, W_LEN, dy, Y_LEN, dx, X_LEN, dw,
                                        W_LEN, db, 2, ws, 100),
                NNK_ERROR_BUFFER_SIZE, "workspace has 100 elements, one thread needs 432");
    CHECK_ERROR(nnk_im2col_f32(&good, xf, X_LEN, colsf, 5), NNK_ERROR_BUFFER_SIZE,
                "im2col: cols has 5 elements, expected 2*27*16 = 864");
}

TEST(Errors_SizesThatOverflow)
{
    const int64_t big = INT64_C(1) << 20;
    const nnk_conv2d_desc huge = {big, big, big, big, 1, 3, 3, 1, 1, 0, 0};
    CHECK_ERROR(forward(&huge), NNK_ERROR_OVERFLOW,
                "n*c*h*w = 1048576*1048576*1048576*1048576 overflows int64");
    const nnk_conv2d_desc padded = {1, 1, 5, 5, 1, 3, 3, 1, 1, INT64_MAX / 2, 0};
    CHECK_ERROR(forward(&padded), NNK_ERROR_OVERFLOW, "pad_h=4611686018427387903");
    /* Fits int64 but not the BLAS's int. */
    const nnk_conv2d_desc wide = {1, INT64_C(1) << 31, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    int64_t elements;
    CHECK_ERROR(nnk_conv2d_workspace_size(&wide, NNK_CONV_FORWARD, &elements), NNK_ERROR_OVERFLOW,
                "c*kh*kw = 2147483648 exceeds the BLAS int limit");
    CHECK_OK(nnk_conv2d_output_size(&wide, &elements, &elements));
}

TEST(Errors_NumThreadsBelowOne)
{
    CHECK_ERROR(nnk_set_num_threads(0), NNK_ERROR_INVALID_ARGUMENT, "num_threads = 0");
    CHECK_ERROR(nnk_set_num_threads(-3), NNK_ERROR_INVALID_ARGUMENT, "num_threads = -3");
    CHECK(nnk_get_num_threads() >= 1, "threads %d", (int)nnk_get_num_threads());
}

/* Each thread sees the message of its own last failure, however the failures interleave. */
static pthread_barrier_t start;

static void *fail_repeatedly(void *arg)
{
    int32_t threads = (int32_t)(intptr_t)arg;
    char expected[64];
    snprintf(expected, sizeof expected, "num_threads = %d", (int)threads);
    pthread_barrier_wait(&start);
    for (int i = 0; i < 2000; i++) {
        CHECK_ERROR(nnk_set_num_threads(threads), NNK_ERROR_INVALID_ARGUMENT, expected);
        CHECK(strstr(nnk_last_error(), expected) != NULL, "message \"%s\" after a pause",
              nnk_last_error());
    }
    return NULL;
}

TEST(Errors_AreThreadLocal)
{
    CHECK(strcmp(nnk_last_error(), "") == 0, "message before any failure: \"%s\"",
          nnk_last_error());
    CHECK_ERROR(forward(NULL), NNK_ERROR_NULL_POINTER, "desc is NULL");
    pthread_t threads[2];
    pthread_barrier_init(&start, NULL, 2);
    pthread_create(&threads[0], NULL, fail_repeatedly, (void *)(intptr_t)-7);
    pthread_create(&threads[1], NULL, fail_repeatedly, (void *)(intptr_t)-11);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    CHECK(strstr(nnk_last_error(), "desc is NULL") != NULL, "main thread's message now \"%s\"",
          nnk_last_error());
}

TEST(Runtime_StatusStrings)
{
    const nnk_status all[] = {NNK_OK,
                              NNK_ERROR_NULL_POINTER,
                              NNK_ERROR_INVALID_ARGUMENT,
                              NNK_ERROR_BUFFER_SIZE,
                              NNK_ERROR_OVERFLOW,
                              NNK_ERROR_BLAS_UNAVAILABLE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *text = nnk_status_string(all[i]);
        CHECK(text != NULL && *text != '\0' && strcmp(text, "unknown status") != 0,
              "status %d has no string", (int)all[i]);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(text, nnk_status_string(all[j])) != 0, "%d and %d share \"%s\"",
                  (int)all[i], (int)all[j], text);
    }
    CHECK(strcmp(nnk_status_string((nnk_status)42), "unknown status") == 0, "status 42");
}

TEST(Runtime_VersionMatchesVersionFile)
{
    /* NNK_EXPECTED_VERSION is the VERSION file as CMake read it (tests/native/CMakeLists.txt). */
    CHECK(strcmp(nnk_version(), NNK_EXPECTED_VERSION) == 0, "\"%s\", expected \"%s\"",
          nnk_version(), NNK_EXPECTED_VERSION);
}

TEST(Runtime_NumThreadsRoundTrips)
{
    CHECK(nnk_get_num_threads() >= 1, "default %d", (int)nnk_get_num_threads());
    CHECK_OK(nnk_set_num_threads(3));
    CHECK(nnk_get_num_threads() == 3, "got %d", (int)nnk_get_num_threads());
    CHECK_OK(nnk_set_num_threads(1));
    CHECK(nnk_get_num_threads() == 1, "got %d", (int)nnk_get_num_threads());
}
