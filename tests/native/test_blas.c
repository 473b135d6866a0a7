/* Run-time BLAS selection. Each test runs in a fresh process (see test.h), so "before any
 * load" means what it says. */
#include "test.h"

#include <omp.h>
#include <pthread.h>

/* A 1x1 convolution of one pixel: y = w*x + b = 2*3 + 1. */
static nnk_status tiny_forward(double *y)
{
    const nnk_conv2d_desc d = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    double x = 3, w = 2, b = 1, ws[1];
    return nnk_conv2d_forward_f64(&d, &x, 1, &w, 1, &b, 1, y, 1, ws, 1);
}

TEST(Blas_DefaultIsOpenblasLoadedOnFirstUse)
{
    unsetenv("NNK_BLAS");
    CHECK(strcmp(nnk_blas_name(), "") == 0, "before any load: \"%s\"", nnk_blas_name());
    double y = 0;
    CHECK_OK(tiny_forward(&y));
    CHECK(y == 7, "y = %g", y);
    CHECK(strcmp(nnk_blas_name(), "openblas") == 0, "after a kernel: \"%s\"", nnk_blas_name());
}

TEST(Blas_MissingLibraryFailsThenDefaultRecovers)
{
    unsetenv("NNK_BLAS");
    CHECK_ERROR(nnk_blas_select("/nonexistent/libfoo.so"), NNK_ERROR_BLAS_UNAVAILABLE,
                "/nonexistent/libfoo.so");
    CHECK(strcmp(nnk_blas_name(), "") == 0, "after a failed select: \"%s\"", nnk_blas_name());
    CHECK_OK(nnk_blas_select(NULL));
    CHECK(strcmp(nnk_blas_name(), "openblas") == 0, "after select(NULL): \"%s\"",
          nnk_blas_name());
    /* A failed switch keeps the library that was loaded. */
    CHECK_ERROR(nnk_blas_select("/nonexistent/libfoo.so"), NNK_ERROR_BLAS_UNAVAILABLE,
                "cannot open shared object file");
    CHECK(strcmp(nnk_blas_name(), "openblas") == 0, "after a failed switch: \"%s\"",
          nnk_blas_name());
    CHECK(strcmp(nnk_blas_core(), "") != 0, "after a failed switch: no kernel family");
    double y = 0;
    CHECK_OK(tiny_forward(&y));
    CHECK(y == 7, "y = %g", y);
}

TEST(Blas_KernelReportsUnavailableLibrary)
{
    setenv("NNK_BLAS", "/nonexistent/libbar.so", 1);
    double y = 0;
    CHECK_ERROR(tiny_forward(&y), NNK_ERROR_BLAS_UNAVAILABLE, "/nonexistent/libbar.so");
    CHECK(strcmp(nnk_blas_name(), "") == 0, "name \"%s\"", nnk_blas_name());
    setenv("NNK_BLAS", "openblas", 1);
    CHECK_OK(tiny_forward(&y));
    CHECK(y == 7, "y = %g", y);
}

TEST(Blas_EnvironmentChoosesLibrary)
{
    setenv("NNK_BLAS", "OpenBLAS", 1);
    CHECK_OK(nnk_blas_select(NULL));
    CHECK(strcmp(nnk_blas_name(), "openblas") == 0, "name \"%s\"", nnk_blas_name());
    setenv("NNK_BLAS", "/nonexistent/libbaz.so", 1);
    CHECK_ERROR(nnk_blas_select(NULL), NNK_ERROR_BLAS_UNAVAILABLE, "/nonexistent/libbaz.so");
}

/* A name once returned keeps naming its BLAS: switching to another (here OpenBLAS by its path,
 * then back by name) neither changes nor frees it, so a reader racing a select cannot see a
 * half-written string. The same path selected twice gives the same kept string. */
TEST(Blas_NameStaysValidAcrossSelections)
{
    const char *path = "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0";
    CHECK_OK(nnk_blas_select("openblas"));
    const char *by_name = nnk_blas_name();
    CHECK_OK(nnk_blas_select(path));
    const char *by_path = nnk_blas_name();
    CHECK(strcmp(by_path, path) == 0, "name \"%s\"", by_path);
    CHECK(strcmp(by_name, "openblas") == 0, "earlier name now \"%s\"", by_name);
    CHECK_OK(nnk_blas_select("openblas"));
    CHECK(strcmp(by_path, path) == 0, "earlier path now \"%s\"", by_path);
    CHECK_OK(nnk_blas_select(path));
    CHECK(nnk_blas_name() == by_path, "the same path was kept twice");
    CHECK_OK(nnk_blas_select("openblas"));
}

TEST(Blas_LibraryWithoutCblasIsRejected)
{
    /* libm is always there and exports no cblas_sgemm. */
    CHECK_ERROR(nnk_blas_select("libm.so.6"), NNK_ERROR_BLAS_UNAVAILABLE,
                "undefined symbol: cblas_sgemm");
}

TEST(Blas_UnknownNameIsInvalid)
{
    CHECK_ERROR(nnk_blas_select("blis"), NNK_ERROR_INVALID_ARGUMENT, "unknown BLAS \"blis\"");
}

/* MKL is optional: either it loads, or the message lists the paths and what to install. */
TEST(Blas_MklLoadsOrSaysWhatToInstall)
{
    nnk_status status = nnk_blas_select("mkl");
    if (status == NNK_OK) {
        CHECK(strcmp(nnk_blas_name(), "mkl") == 0, "name \"%s\"", nnk_blas_name());
        CHECK(strcmp(nnk_blas_core(), "") == 0, "MKL reports core \"%s\"", nnk_blas_core());
        double y = 0;
        CHECK_OK(tiny_forward(&y));
        CHECK(y == 7, "y = %g", y);
    } else {
        CHECK(status == NNK_ERROR_BLAS_UNAVAILABLE, "status %d", (int)status);
        const char *expected[] = {"libmkl_rt.so", "libmkl_rt.so.2",
                                  "/usr/lib/x86_64-linux-gnu/libmkl_rt.so",
                                  "libmkl-rt from Debian non-free"};
        for (int i = 0; i < 4; i++)
            CHECK(strstr(nnk_last_error(), expected[i]) != NULL, "\"%s\" lacks \"%s\"",
                  nnk_last_error(), expected[i]);
    }
}

/* An OpenMP OpenBLAS sizes a call by the calling thread's own OpenMP thread count, so a gemm
 * made outside our regions must set that count on whichever thread calls; before the fix a
 * thread that had never set it ran the BLAS on every core whatever nnk_set_num_threads said. */
static void *gemm_on_new_thread(void *arg)
{
    float a = 2, b = 3, c = 0;
    nnk_status status = nnk_gemm_f32(0, 0, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1);
    int *seen = arg;
    seen[0] = status == NNK_OK && c == 6;
    seen[1] = omp_get_max_threads();
    return NULL;
}

TEST(Blas_SerialGemmUsesNnkThreadCountOnEveryCallingThread)
{
    unsetenv("NNK_BLAS");
    CHECK_OK(nnk_set_num_threads(1));
    int seen[2] = {0, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, gemm_on_new_thread, seen) == 0, "pthread_create failed");
    pthread_join(thread, NULL);
    CHECK(seen[0], "gemm failed or gave the wrong product");
    CHECK(seen[1] == 1, "the calling thread's OpenMP thread count is %d, not nnk's 1", seen[1]);
}

static bool cpu_runs_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

static bool cpu_runs_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* Debian 12's OpenBLAS mistakes recent Intel cores for a Prescott and runs SSE3 kernels; nnk
 * names the kernel family the CPU's features allow before loading it, unless the user did,
 * and nnk_blas_core reports the family OpenBLAS then runs. */
TEST(Blas_OpenblasCoreChosenFromCpuFeaturesUnlessSet)
{
    unsetenv("NNK_BLAS");
    unsetenv("OPENBLAS_CORETYPE");
    CHECK(strcmp(nnk_blas_core(), "") == 0, "before any load: \"%s\"", nnk_blas_core());
    double y = 0;
    CHECK_OK(tiny_forward(&y));
    const char *core = getenv("OPENBLAS_CORETYPE");
    const char *expected = cpu_runs_avx512() ? "SkylakeX" : cpu_runs_avx2() ? "Haswell" : NULL;
    if (expected != NULL) {
        CHECK(core != NULL && strcmp(core, expected) == 0, "core %s", core ? core : "(unset)");
        CHECK(strcmp(nnk_blas_core(), expected) == 0, "OpenBLAS runs \"%s\", not %s",
              nnk_blas_core(), expected);
    } else {
        CHECK(strcmp(nnk_blas_core(), "") != 0, "OpenBLAS reports no kernel family");
    }
}

/* A value the user set is theirs: nnk neither changes it nor overrides what it chose, even
 * where the CPU runs newer kernels (scripts/blas-env.sh is where our own commands drop one). */
TEST(Blas_OpenblasCoreSetByUserIsKept)
{
    unsetenv("NNK_BLAS");
    setenv("OPENBLAS_CORETYPE", "Haswell", 1);
    double y = 0;
    CHECK_OK(tiny_forward(&y));
    CHECK(y == 7, "y = %g", y);
    CHECK(strcmp(getenv("OPENBLAS_CORETYPE"), "Haswell") == 0, "core %s",
          getenv("OPENBLAS_CORETYPE"));
    if (cpu_runs_avx2())
        CHECK(strcmp(nnk_blas_core(), "Haswell") == 0, "OpenBLAS runs \"%s\"",
              nnk_blas_core());
}
