/*
 * blas.c - the BLAS, loaded at run time with dlopen so that one build of libnnk serves
 * OpenBLAS and MKL, and builds on machines that have neither.
 *
 * Concurrency: loading and switching happen under a mutex; gemm reads the function pointers
 * with atomic loads and takes no lock. A library once loaded is never closed, because another
 * thread may still be inside it when nnk_blas_select switches to a different one.
 */
#include "internal.h"

#include <dlfcn.h>
#include <omp.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The CBLAS and MKL constants we need, declared here rather than taken from cblas.h and
 * mkl_service.h, which need not be installed where libnnk is built. */
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };
enum { MKL_THREADING_GNU = 3 };

typedef void (*sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc);
typedef void (*dgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k, double alpha,
                         const double *a, int lda, const double *b, int ldb, double beta,
                         double *c, int ldc);
typedef void (*set_threads_fn)(int threads);
typedef char *(*corename_fn)(void);
typedef int (*set_threading_layer_fn)(int layer);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Serialises the multi-threaded BLAS calls: OpenBLAS keeps one thread count and one set of
 * worker buffers per process, so two threads running multi-threaded gemms at once corrupt each
 * other's results (seen as NaNs in concurrent tests). Calls from inside our own OpenMP regions
 * run single-threaded in the BLAS and need no lock. */
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(sgemm_fn) sgemm;
static _Atomic(dgemm_fn) dgemm;
static set_threads_fn set_threads;  /* guarded by lock; NULL if the BLAS has no such call */
static int threads_set;             /* guarded by lock; last count passed, 0 if none yet */
/* The loaded BLAS's name: "" until one is loaded, then a string that is never changed or
 * freed (a literal, or a copy of the path kept in paths_kept), so that a pointer nnk_blas_name
 * returned stays valid however another thread switches the BLAS. */
static _Atomic(const char *) name = "";
typedef struct kept_path {
    struct kept_path *next;
    char text[];
} kept_path;
static kept_path *paths_kept; /* guarded by lock: every path a BLAS was loaded from */
/* The kernel family the loaded BLAS reports: "" until one is loaded, or when it reports none;
 * else OpenBLAS's own static string, valid for good since no library is ever closed. */
static _Atomic(const char *) core = "";
/* Longest path accepted, with its terminator: a bound on what paths_kept holds per path. */
enum { NAME_LIMIT = 4096 };

static const char *const openblas_paths[] = {
    /* The OpenMP build first: inside our OpenMP regions it runs single-threaded by itself. */
    "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
    "libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "libopenblas.so",
    NULL,
};
static const char *const mkl_paths[] = {
    "libmkl_rt.so",
    "libmkl_rt.so.2",
    "/usr/lib/x86_64-linux-gnu/libmkl_rt.so",
    NULL,
};

/* Appends "path (reason)" to a list of failed attempts, dropping the "path: " prefix that
 * dlerror usually repeats. */
static size_t append_attempt(char *buf, size_t size, size_t used, const char *path,
                             const char *err)
{
    size_t len = strlen(path);
    if (err == NULL)
        err = "unknown error";
    else if (strncmp(err, path, len) == 0 && err[len] == ':')
        err += len + 2;
    if (used < size)
        used += (size_t)snprintf(buf + used, size - used, "%s%s (%s)", used ? "; " : "", path,
                                 err);
    return used;
}

/* OpenBLAS picks its kernels by CPU model, and the 0.3.21 of Debian 12 does not know recent
 * Intel cores: a Sapphire Rapids reports as "Prescott" and gets SSE3 kernels, 4-6x slower than
 * its AVX-512 ones (sgemm 20 against 127 GFLOP/s on one core). Unless the user chose with
 * OPENBLAS_CORETYPE, name the best kernel family the CPU's features allow; OpenBLAS reads the
 * variable when it is loaded, which is here. */
static void choose_openblas_core(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (getenv("OPENBLAS_CORETYPE") != NULL)
        return;
    __builtin_cpu_init();
    const char *core = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        core = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        core = "Haswell";
    if (core != NULL)
        setenv("OPENBLAS_CORETYPE", core, 0);
#endif
}

/* label itself when it is a literal ("openblas", "mkl"), else the kept copy of the path, made
 * on first use; NULL when memory runs out. Caller holds lock. */
static const char *keep_name(const char *label, bool literal)
{
    if (literal)
        return label;
    for (const kept_path *k = paths_kept; k != NULL; k = k->next)
        if (strcmp(k->text, label) == 0)
            return k->text;
    const size_t length = strlen(label) + 1;
    kept_path *k = malloc(sizeof *k + length);
    if (k == NULL)
        return NULL;
    memcpy(k->text, label, length);
    k->next = paths_kept;
    paths_kept = k;
    return k->text;
}

/* Loads the BLAS named by choice; on success publishes it, on failure keeps the current one.
 * Caller holds lock. */
static nnk_status load(const char *choice)
{
    const char *single[] = {choice, NULL};
    const char *const *paths = single;
    const char *label = choice;
    const char *install;
    if (strcasecmp(choice, "openblas") == 0) {
        paths = openblas_paths;
        label = "openblas";
        install = "install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0-openmp), or "
                  "install MKL (libmkl-rt) and set NNK_BLAS=mkl";
    } else if (strcasecmp(choice, "mkl") == 0) {
        paths = mkl_paths;
        label = "mkl";
        install = "install MKL (libmkl-rt from Debian non-free)";
    } else if (strchr(choice, '/') != NULL || strstr(choice, ".so") != NULL) {
        install = "give a shared library exporting cblas_sgemm and cblas_dgemm";
    } else {
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "unknown BLAS \"%s\" (nnk_blas_select and NNK_BLAS take "
                              "\"openblas\", \"mkl\" or the path of a shared library)",
                              choice);
    }
    if (strlen(label) >= NAME_LIMIT)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "BLAS path is %zu characters long, the limit is %d",
                              strlen(label), NAME_LIMIT - 1);

    if (paths == openblas_paths || strstr(choice, "openblas") != NULL)
        choose_openblas_core();
    char tried[768] = "";
    size_t used = 0;
    for (const char *const *path = paths; *path != NULL; path++) {
        void *lib = dlopen(*path, RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL) {
            used = append_attempt(tried, sizeof tried, used, *path, dlerror());
            continue;
        }
        /* MKL defaults to Intel's OpenMP runtime; two OpenMP runtimes in one process
         * oversubscribe the cores, so it must use GNU OpenMP like we do, before any other
         * MKL call. */
        set_threading_layer_fn layer =
            (set_threading_layer_fn)dlsym(lib, "MKL_Set_Threading_Layer");
        if (layer != NULL)
            layer(MKL_THREADING_GNU);
        sgemm_fn s = (sgemm_fn)dlsym(lib, "cblas_sgemm");
        dgemm_fn d = s != NULL ? (dgemm_fn)dlsym(lib, "cblas_dgemm") : NULL;
        if (d == NULL) {
            used = append_attempt(tried, sizeof tried, used, *path, dlerror());
            dlclose(lib); /* no gemm was published from it, so no thread can be inside */
            continue;
        }
        const char *kept = keep_name(label, label != choice);
        if (kept == NULL) {
            dlclose(lib);
            return nnki_set_error(NNK_ERROR_BLAS_UNAVAILABLE,
                                  "BLAS %s loaded, but no memory was left to keep its name",
                                  label);
        }
        set_threads_fn st = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
        if (st == NULL)
            st = (set_threads_fn)dlsym(lib, "MKL_Set_Num_Threads");
        set_threads = st;
        threads_set = 0;
        corename_fn family = (corename_fn)dlsym(lib, "openblas_get_corename");
        const char *reported = family != NULL ? family() : NULL;
        atomic_store(&core, reported != NULL ? reported : "");
        atomic_store(&name, kept);
        atomic_store(&sgemm, s);
        atomic_store(&dgemm, d);
        return NNK_OK;
    }
    return nnki_set_error(NNK_ERROR_BLAS_UNAVAILABLE, "BLAS %s unavailable: tried %s; %s",
                          label, tried, install);
}

/* NULL means the NNK_BLAS environment variable, else OpenBLAS. */
static const char *default_choice(void)
{
    const char *env = getenv("NNK_BLAS");
    return env != NULL && *env != '\0' ? env : "openblas";
}

nnk_status nnk_blas_select(const char *name_or_path)
{
    pthread_mutex_lock(&lock);
    nnk_status status = load(name_or_path != NULL ? name_or_path : default_choice());
    pthread_mutex_unlock(&lock);
    return status;
}

const char *nnk_blas_name(void) { return atomic_load(&name); }

const char *nnk_blas_core(void) { return atomic_load(&core); }

/* Loads the default BLAS unless one is loaded. Caller holds lock. */
static nnk_status load_default_once(void)
{
    return atomic_load(&dgemm) != NULL ? NNK_OK : load(default_choice());
}

nnk_status nnki_blas_prepare(void)
{
    pthread_mutex_lock(&lock);
    nnk_status status = load_default_once();
    pthread_mutex_unlock(&lock);
    return status;
}

/* Gives the BLAS all of our threads for one call made outside an OpenMP region. Caller holds
 * call_lock, so the count cannot change while another thread's call runs. An OpenMP OpenBLAS
 * sizes each call by the calling thread's own OpenMP thread count (a per-thread setting that
 * openblas_set_num_threads changes only on the thread that called it), so that count is set
 * on every calling thread; without it a caller that never set it runs the BLAS on all cores. */
static void use_all_threads(void)
{
    int threads = nnk_get_num_threads();
    if (omp_get_max_threads() != threads)
        omp_set_num_threads(threads);
    pthread_mutex_lock(&lock);
    if (threads != threads_set) {
        if (set_threads != NULL)
            set_threads(threads);
        threads_set = threads;
    }
    pthread_mutex_unlock(&lock);
}

static bool fits_blas_int(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                          int64_t ldc)
{
    return m <= NNKI_BLAS_INT_MAX && n <= NNKI_BLAS_INT_MAX && k <= NNKI_BLAS_INT_MAX &&
           lda <= NNKI_BLAS_INT_MAX && ldb <= NNKI_BLAS_INT_MAX && ldc <= NNKI_BLAS_INT_MAX;
}

/* One definition for both precisions; the BLAS is loaded on first use. */
#define NNKI_DEFINE_GEMM(suffix, type, fn_type, fn_ptr)                                          \
    nnk_status nnki_gemm_##suffix(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,   \
                                  type alpha, const type *a, int64_t lda, const type *b,         \
                                  int64_t ldb, type beta, type *c, int64_t ldc)                  \
    {                                                                                            \
        if (!fits_blas_int(m, n, k, lda, ldb, ldc))                                              \
            return nnki_set_error(NNK_ERROR_OVERFLOW,                                            \
                                  "gemm: m=%" PRId64 " n=%" PRId64 " k=%" PRId64 " lda=%" PRId64 \
                                  " ldb=%" PRId64 " ldc=%" PRId64                                \
                                  " exceed the BLAS int limit %d",                               \
                                  m, n, k, lda, ldb, ldc, NNKI_BLAS_INT_MAX);                    \
        fn_type gemm = atomic_load_explicit(&fn_ptr, memory_order_acquire);                      \
        if (gemm == NULL) {                                                                      \
            pthread_mutex_lock(&lock);                                                           \
            nnk_status status = load_default_once();                                             \
            pthread_mutex_unlock(&lock);                                                         \
            if (status != NNK_OK)                                                                \
                return status;                                                                   \
            gemm = atomic_load(&fn_ptr);                                                         \
        }                                                                                        \
        const bool serial = !omp_in_parallel();                                                  \
        if (serial) {                                                                            \
            pthread_mutex_lock(&call_lock);                                                      \
            use_all_threads();                                                                   \
        }                                                                                        \
        gemm(CBLAS_ROW_MAJOR, trans_a ? CBLAS_TRANS : CBLAS_NO_TRANS,                            \
             trans_b ? CBLAS_TRANS : CBLAS_NO_TRANS, (int)m, (int)n, (int)k, alpha, a, (int)lda, \
             b, (int)ldb, beta, c, (int)ldc);                                                    \
        if (serial)                                                                              \
            pthread_mutex_unlock(&call_lock);                                                    \
        return NNK_OK;                                                                           \
    }

NNKI_DEFINE_GEMM(f32, float, sgemm_fn, sgemm)
NNKI_DEFINE_GEMM(f64, double, dgemm_fn, dgemm)

/* ---- Public gemm -------------------------------------------------------------------------- */

/* nnk_gemm_*: validates the sizes (m, n, k >= 1, every product within int64 and every
 * dimension within the BLAS's int) and the buffers (a stored (m, k), or (k, m) when trans_a is
 * nonzero; b stored (k, n), or (n, k) when trans_b is nonzero; c (m, n)), then runs one BLAS
 * gemm with all of nnk_get_num_threads() threads. Any nonzero trans flag means transposed. */
static nnk_status check_public_gemm(const char *fn, bool trans_a, bool trans_b, int64_t m,
                                    int64_t n, int64_t k, const void *a, int64_t a_len,
                                    const void *b, int64_t b_len, const void *c, int64_t c_len)
{
    const struct {
        const char *name;
        int64_t value;
    } sizes[] = {{"m", m}, {"n", n}, {"k", k}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].value < 1)
            return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT, "%s: %s = %" PRId64 " (must be >= 1)",
                                  fn, sizes[i].name, sizes[i].value);
    /* Shapes as stored: op(a) = a^T is m x k when a is stored k x m. */
    const int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
    const int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
    int64_t product;
    NNKI_TRY(nnki_checked_product(fn, trans_a ? "k*m" : "m*k", NNKI_DIMS(a_rows, a_cols),
                                  &product));
    NNKI_TRY(nnki_checked_product(fn, trans_b ? "n*k" : "k*n", NNKI_DIMS(b_rows, b_cols),
                                  &product));
    NNKI_TRY(nnki_checked_product(fn, "m*n", NNKI_DIMS(m, n), &product));
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].value > NNKI_BLAS_INT_MAX)
            return nnki_set_error(NNK_ERROR_OVERFLOW,
                                  "%s: %s = %" PRId64 " exceeds the BLAS int limit %d", fn,
                                  sizes[i].name, sizes[i].value, NNKI_BLAS_INT_MAX);
    NNKI_TRY(nnki_check_tensor(fn, "a", a, a_len, true, NNKI_DIMS(a_rows, a_cols)));
    NNKI_TRY(nnki_check_tensor(fn, "b", b, b_len, true, NNKI_DIMS(b_rows, b_cols)));
    NNKI_TRY(nnki_check_tensor(fn, "c", c, c_len, true, NNKI_DIMS(m, n)));
    return nnki_blas_prepare();
}

#define NNKI_DEFINE_PUBLIC_GEMM(suffix, type)                                                    \
    nnk_status nnk_gemm_##suffix(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,         \
                                 int64_t k, type alpha, const type *a, int64_t a_len,            \
                                 const type *b, int64_t b_len, type beta, type *c, int64_t c_len) \
    {                                                                                            \
        static const char fn[] = "gemm";                                                         \
        const bool ta = trans_a != 0, tb = trans_b != 0;                                         \
        NNKI_TRY(check_public_gemm(fn, ta, tb, m, n, k, a, a_len, b, b_len, c, c_len));          \
        return nnki_gemm_##suffix(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, c, \
                                  n);                                                            \
    }

NNKI_DEFINE_PUBLIC_GEMM(f32, float)
NNKI_DEFINE_PUBLIC_GEMM(f64, double)
