/*
 * internal.h - declarations shared by the sources of libnnk; nothing here is exported.
 *
 * The library is compiled with -fvisibility=hidden, so only functions marked NNK_API (all
 * named nnk_*) leave the shared object; internal functions are static or named nnki_*.
 */
#ifndef NNK_INTERNAL_H
#define NNK_INTERNAL_H

#include "nnk.h"

#include <stdbool.h>
#include <stdint.h>

/* Name pasting for the template sources: NNK_FN(nnk_im2col) is nnk_im2col_f32 when the
 * including file defines NNK_SUFFIX as f32. */
#define NNK_CAT_(a, b) a##_##b
#define NNK_CAT(a, b) NNK_CAT_(a, b)
#define NNK_FN(name) NNK_CAT(name, NNK_SUFFIX)

/* ---- Errors (runtime.c) ------------------------------------------------------------------- */

/* Formats the thread-local message returned by nnk_last_error and returns status, so that a
 * failure path reads `return nnki_set_error(NNK_ERROR_..., "fn: ...", ...);`. */
nnk_status nnki_set_error(nnk_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns from the enclosing function when a check fails. */
#define NNKI_TRY(expr)                                                                       \
    do {                                                                                     \
        nnk_status nnki_try_status_ = (expr);                                                \
        if (nnki_try_status_ != NNK_OK)                                                      \
            return nnki_try_status_;                                                         \
    } while (0)

/* ---- Cache sizes (runtime.c) ------------------------------------------------------------- */

/* Elements of float a gemm's blocked operand (im2col's cols, Winograd's V and M) may take so
 * that it stays in L2 beside the BLAS's packed blocks: a quarter of the L2 of CPU 0 (Linux
 * sysfs), 2^17 (a 2 MiB L2) where that is unknown, within 2^13 and 2^19. */
int64_t nnki_l2_block_elements(void);

/* ---- Checked arithmetic ------------------------------------------------------------------- */

/* a * b into *out; false when the product does not fit in int64. */
static inline bool nnki_mul(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline int64_t nnki_min(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t nnki_max(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---- Argument checks ---------------------------------------------------------------------- */

/* Geometry of a validated nnk_conv2d_desc with every derived size precomputed, so kernels
 * index with plain int64 arithmetic that is known not to overflow. */
typedef struct nnki_conv_geom {
    int64_t n, c, h, w, f, kh, kw, stride_h, stride_w, pad_h, pad_w;
    int64_t out_h, out_w;
    int64_t image;     /* c*h*w: one input image */
    int64_t ckk;       /* c*kh*kw: rows of an image's cols, columns of w */
    int64_t out_hw;    /* out_h*out_w: columns of an image's cols */
    int64_t col_image; /* ckk*out_hw: one image's cols */
    int64_t x_len;     /* n*c*h*w */
    int64_t w_len;     /* f*ckk */
    int64_t y_len;     /* n*f*out_h*out_w */
    int64_t cols_len;  /* n*ckk*out_hw */
} nnki_conv_geom;

/* Validates desc (sizes >= 1, strides >= 1, pads >= 0, kernel within the padded input, every
 * size product within int64) and fills g; fn prefixes the error message. */
nnk_status nnki_conv_geometry(const char *fn, const nnk_conv2d_desc *desc, nnki_conv_geom *g);

/* Checks a tensor argument against its shape dims[0..ndims). A required tensor must be
 * non-NULL; an optional one may be NULL with length 0, meaning absent. Any other length than
 * the product of dims is NNK_ERROR_BUFFER_SIZE, with the shape in the message; a product past
 * int64 is NNK_ERROR_OVERFLOW (callers check their products first, so that is a safety net). */
nnk_status nnki_check_tensor(const char *fn, const char *name, const void *p, int64_t len,
                             bool required, const int64_t *dims, int ndims);

/* Writes dims as "2*3*4*4" for messages. */
void nnki_format_dims(char *buf, size_t size, const int64_t *dims, int ndims);

/* *out = product of dims, or NNK_ERROR_OVERFLOW naming the product (names, e.g. "n*c*h*w"). */
nnk_status nnki_checked_product(const char *fn, const char *names, const int64_t *dims,
                                int ndims, int64_t *out);

/* Checks that a kh x kw window fits the input padded by pad_h, pad_w on each side and writes
 * the padded sizes: NNK_ERROR_OVERFLOW when they overflow int64, NNK_ERROR_INVALID_ARGUMENT when
 * the window is larger; what names the window in the message ("kernel", "window"). */
nnk_status nnki_check_window(const char *fn, const char *what, int64_t h, int64_t w,
                             int64_t pad_h, int64_t pad_w, int64_t kh, int64_t kw,
                             int64_t *padded_h, int64_t *padded_w);

/* Hot per-plane and per-channel functions are built twice, for AVX2 and for baseline x86-64,
 * and the loader picks one (an ifunc): the library still runs on any x86-64 but uses 256-bit
 * vectors where it can. */
#if defined(__GNUC__) && defined(__x86_64__)
#define NNKI_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NNKI_CLONES
#endif

/* The convolution kernels written with vector types (direct.c, shallow.c) are built twice, for
 * 64-byte vectors and 32 registers (x86-64-v4: AVX-512) and for 32-byte vectors and 16
 * registers (x86-64-v3: AVX2 with FMA), and run the width nnki_vector_bytes() gives: 64, 32, or
 * 0 for neither (then im2col + gemm runs). Other compilers build both for their baseline
 * (correct but slow) and run the 64-byte one. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NNKI_TARGET_V64 __attribute__((target("arch=x86-64-v4")))
#define NNKI_TARGET_V32 __attribute__((target("arch=x86-64-v3")))
#else
#define NNKI_TARGET_V64
#define NNKI_TARGET_V32
#endif
/* Keeps vector v in a register: GCC would otherwise fold a load of it into each of the
 * multiply-adds that use it, one load per use. Only where the kernels are built for AVX2 or
 * AVX-512 (a 64-byte vector fits no baseline register, which clang's fuzzing build has). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NNKI_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define NNKI_IN_REGISTER(v) ((void)0)
#endif
/* Calls name_S_v32 or name_S_v64 with args, whichever width this CPU runs. */
#define NNKI_PICK_WIDTH(name, S, args)                                                       \
    (nnki_vector_bytes() == 32 ? name##_##S##_v32 args : name##_##S##_v64 args)
static inline int nnki_vector_bytes(void)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f"))
        return 64;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 32;
    return 0;
#else
    return 64;
#endif
}

/* Whether the CPU is AMD's: where two kernels compute the same thing, the faster one was
 * measured to differ between the Intel and the AMD machines (conv_impl.h, direct.c). */
static inline bool nnki_cpu_amd(void)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    return __builtin_cpu_is("amd");
#else
    return false;
#endif
}

/* NNKI_DIMS(a, b, c) expands to the dims and ndims arguments of nnki_check_tensor. */
#define NNKI_DIMS(...)                                                                       \
    (const int64_t[]){__VA_ARGS__}, (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* ---- Threads (runtime.c) ------------------------------------------------------------------ */

/* Threads an image loop of n images may use when each thread needs its own workspace slice
 * and fit slices fit: min(nnk_get_num_threads(), n, fit). */
int nnki_loop_threads(int64_t n, int64_t fit);
/* The direct and shallow kernels share fixed elements (of elem bytes) of workspace among their
 * threads (one per image at most) and give each thread each more: the workspace they want for
 * n images at nnk_get_num_threads() threads, and the threads workspace_len holds (0 when not
 * even one). Both count NNKI_WORKSPACE_ALIGN bytes of slack, and each part rounded up to whole
 * NNKI_WORKSPACE_ALIGN bytes: the kernels lay their parts out from the workspace's first
 * boundary (nnki_workspace_base), the shared part, then thread t's at
 * nnki_workspace_round(fixed) + t * nnki_workspace_round(each). A managed array starts 8 or 16
 * bytes into a cache line, and the kernels read their planes a vector at a time (conv_seed
 * forward took 1.05x, conv_mnist2's 1.04-1.07x the time 16 bytes off a line). */
#define NNKI_WORKSPACE_ALIGN 64
int64_t nnki_workspace_wanted(int64_t n, int64_t fixed, int64_t each, size_t elem);
int nnki_threads_held(int64_t n, int64_t fixed, int64_t each, size_t elem, int64_t workspace_len);
/* count elements of elem bytes rounded up to whole NNKI_WORKSPACE_ALIGN bytes. */
static inline int64_t nnki_workspace_round(int64_t count, size_t elem)
{
    const int64_t align = (int64_t)(NNKI_WORKSPACE_ALIGN / elem);
    return (count + align - 1) / align * align;
}
/* The workspace from its first NNKI_WORKSPACE_ALIGN-byte boundary (within the slack). */
static inline void *nnki_workspace_base(void *workspace, size_t elem)
{
    const uintptr_t at = (uintptr_t)workspace;
    const uintptr_t up = (at + NNKI_WORKSPACE_ALIGN - 1) & ~(uintptr_t)(NNKI_WORKSPACE_ALIGN - 1);
    return (char *)workspace + (up - at) / elem * elem;
}
/* The weight-gradient kernels that sum db on the way (direct.c, shallow.c) keep one double per
 * image and channel, the (i*f + channel)th, at sums (8 bytes apart, aligned or not, in a
 * workspace of elem-byte elements): the elements they take (n*f doubles, saturated at
 * INT64_MAX / 4 so that no workspace holds an overflowing count); image i's sum of channel c
 * stored; channel fi's total over the n images, added in image order, so that its bits do not
 * depend on which thread took which image. */
int64_t nnki_bias_sums_len(int64_t n, int64_t f, size_t elem);
void nnki_bias_put(void *sums, int64_t f, int64_t i, int64_t c, double sum);
double nnki_bias_total(const void *sums, int64_t n, int64_t f, int64_t fi);

/* ---- BLAS (blas.c) ------------------------------------------------------------------------ */

/* Loads the BLAS if none is loaded yet. Call it on the caller's thread before an OpenMP region
 * whose body calls nnki_gemm_*: a message set on a worker thread would never reach the caller.
 * Thread counts need no preparing: a gemm called inside one of our OpenMP regions runs
 * single-threaded in the BLAS, and one called outside gets all nnk_get_num_threads() threads,
 * one such call at a time. */
nnk_status nnki_blas_prepare(void);

/* Largest dimension or leading dimension the BLAS accepts (its int is 32-bit). */
#define NNKI_BLAS_INT_MAX 2147483647

/* Row-major C (m x n) = alpha * op(A) * op(B) + beta * C, op(A) m x k, op(B) k x n, as
 * cblas_?gemm. Loads the BLAS lazily (NNK_ERROR_BLAS_UNAVAILABLE) and rejects dimensions
 * beyond NNKI_BLAS_INT_MAX (NNK_ERROR_OVERFLOW). */
nnk_status nnki_gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                         const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                         float *c, int64_t ldc);
nnk_status nnki_gemm_f64(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                         double alpha, const double *a, int64_t lda, const double *b, int64_t ldb,
                         double beta, double *c, int64_t ldc);

/* ---- im2col (im2col.c) -------------------------------------------------------------------- */

/* The output rows [oy0, oy1) of one image: cols (ckk, (oy1 - oy0)*out_w, rows ld apart)
 * from x (c, h, w), and x += col2im(cols). */
void nnki_im2col_f32(const nnki_conv_geom *g, const float *x, int64_t oy0, int64_t oy1,
                     float *cols, int64_t ld);
void nnki_im2col_f64(const nnki_conv_geom *g, const double *x, int64_t oy0, int64_t oy1,
                     double *cols, int64_t ld);
void nnki_col2im_f32(const nnki_conv_geom *g, const float *cols, int64_t ld, int64_t oy0,
                     int64_t oy1, float *x);
void nnki_col2im_f64(const nnki_conv_geom *g, const double *cols, int64_t ld, int64_t oy0,
                     int64_t oy1, double *x);

/* ---- Winograd F(2x2, 3x3) (winograd.c) ------------------------------------------------------ */

/* What a Winograd pass computes: y from x, dx from dy, or dw from x and dy. */
typedef enum nnki_wino_pass {
    NNKI_WINO_FORWARD,
    NNKI_WINO_INPUT_GRADIENT,
    NNKI_WINO_WEIGHT_GRADIENT,
} nnki_wino_pass;

/* Whether the Winograd path suits g: 3x3, stride 1, enough channels, and for the input
 * gradient pads of at most 2. */
bool nnki_winograd_applies(const nnki_conv_geom *g, nnki_wino_pass pass);
/* Workspace elements a pass wants at nnk_get_num_threads() threads. */
int64_t nnki_winograd_workspace(const nnki_conv_geom *g, nnki_wino_pass pass);
/* Threads a pass can run with workspace_len elements; 0 when not even one fits. */
int nnki_winograd_threads(const nnki_conv_geom *g, nnki_wino_pass pass, int64_t workspace_len);
/* y = conv(x, w) + b (b may be NULL); dx = the input gradient of dy; dw = the weight gradient
 * (overwritten). The BLAS must be loaded (nnki_blas_prepare) and the workspace hold
 * nnki_winograd_threads' worth for threads. */
nnk_status nnki_winograd_forward_f32(const nnki_conv_geom *g, const float *x, const float *w,
                                     const float *b, float *y, float *workspace, int threads);
nnk_status nnki_winograd_forward_f64(const nnki_conv_geom *g, const double *x, const double *w,
                                     const double *b, double *y, double *workspace, int threads);
nnk_status nnki_winograd_backward_data_f32(const nnki_conv_geom *g, const float *w,
                                           const float *dy, float *dx, float *workspace,
                                           int threads);
nnk_status nnki_winograd_backward_data_f64(const nnki_conv_geom *g, const double *w,
                                           const double *dy, double *dx, double *workspace,
                                           int threads);
nnk_status nnki_winograd_backward_filter_f32(const nnki_conv_geom *g, const float *x,
                                             const float *dy, float *dw, float *workspace,
                                             int threads);
nnk_status nnki_winograd_backward_filter_f64(const nnki_conv_geom *g, const double *x,
                                             const double *dy, double *dw, double *workspace,
                                             int threads);

/* ---- Direct convolution: forward, weight gradient and input gradient (direct.c) ---------- */

/* Whether the direct forward pass (filter false) or weight gradient (true) suits g for
 * elements of elem bytes: c*kh*kw from 100 to 1024, not 1x1, three quarters of the vector
 * lanes used, a small padded image, and AVX-512 where the build can tell. */
bool nnki_direct_applies(const nnki_conv_geom *g, size_t elem, bool filter);
/* Workspace elements the forward pass (filter false) or the weight gradient (true) wants at
 * nnk_get_num_threads() threads. */
int64_t nnki_direct_workspace(const nnki_conv_geom *g, size_t elem, bool filter);
/* Threads it can run with workspace_len elements; 0 when not even one fits. */
int nnki_direct_threads(const nnki_conv_geom *g, size_t elem, bool filter, int64_t workspace_len);
/* y = conv(x, w) + b (b may be NULL), or dw (overwritten) = the weight gradient of dy and,
 * unless db is NULL, db the bias gradient, with nnki_direct_threads' worth of workspace for
 * threads. */
nnk_status nnki_direct_forward_f32(const nnki_conv_geom *g, const float *x, const float *w,
                                   const float *b, float *y, float *workspace, int threads);
nnk_status nnki_direct_forward_f64(const nnki_conv_geom *g, const double *x, const double *w,
                                   const double *b, double *y, double *workspace, int threads);
nnk_status nnki_direct_backward_filter_f32(const nnki_conv_geom *g, const float *x,
                                           const float *dy, float *dw, float *db,
                                           float *workspace, int threads);
nnk_status nnki_direct_backward_filter_f64(const nnki_conv_geom *g, const double *x,
                                           const double *dy, double *dw, double *db,
                                           double *workspace, int threads);

/* Whether the direct input gradient suits g for elements of elem bytes: stride 1, 2 to 4 input
 * channels, windows of 25 or more with pads smaller than them, f*kh*kw >= 100, a small padded
 * dy that its blocks cover closely, and AVX-512 where the build can tell. */
bool nnki_direct_dx_applies(const nnki_conv_geom *g, size_t elem);
/* Workspace elements it wants at nnk_get_num_threads() threads. */
int64_t nnki_direct_dx_workspace(const nnki_conv_geom *g, size_t elem);
/* Threads it can run with workspace_len elements; 0 when not even one fits. */
int nnki_direct_dx_threads(const nnki_conv_geom *g, size_t elem, int64_t workspace_len);
/* dx (every element written) = the input gradient of dy, with nnki_direct_dx_threads' worth
 * of workspace for threads. */
nnk_status nnki_direct_backward_data_f32(const nnki_conv_geom *g, const float *w,
                                         const float *dy, float *dx, float *workspace,
                                         int threads);
nnk_status nnki_direct_backward_data_f64(const nnki_conv_geom *g, const double *w,
                                         const double *dy, double *dx, double *workspace,
                                         int threads);

/* ---- Shallow convolution: forward and gradients, along output rows (shallow.c) ------------ */

/* The passes of the shallow kernels: y, dx, dw. */
typedef enum nnki_shallow_pass {
    NNKI_SHALLOW_FORWARD,
    NNKI_SHALLOW_DATA,
    NNKI_SHALLOW_FILTER
} nnki_shallow_pass;

/* Whether the shallow pass suits g for elements of elem bytes: c*kh*kw below 100, not 1x1,
 * stride_w 1 or 2, three quarters of the vector lanes used (for the gradients all of them),
 * small phase planes, and AVX-512 or AVX2 where the build can tell. */
bool nnki_shallow_applies(const nnki_conv_geom *g, size_t elem, nnki_shallow_pass pass);
/* Workspace elements it wants at nnk_get_num_threads() threads. */
int64_t nnki_shallow_workspace(const nnki_conv_geom *g, size_t elem, nnki_shallow_pass pass);
/* Threads it can run with workspace_len elements; 0 when not even one fits. */
int nnki_shallow_threads(const nnki_conv_geom *g, size_t elem, nnki_shallow_pass pass,
                         int64_t workspace_len);
/* y = conv(x, w) + b (b may be NULL), dx (every element written) = the input gradient of dy,
 * or dw (every element written) = the weight gradient and, unless db is NULL, db the bias
 * gradient, with nnki_shallow_threads' worth of workspace for threads. */
nnk_status nnki_shallow_forward_f32(const nnki_conv_geom *g, const float *x, const float *w,
                                    const float *b, float *y, float *workspace, int threads);
nnk_status nnki_shallow_forward_f64(const nnki_conv_geom *g, const double *x, const double *w,
                                    const double *b, double *y, double *workspace, int threads);
nnk_status nnki_shallow_backward_data_f32(const nnki_conv_geom *g, const float *w,
                                          const float *dy, float *dx, float *workspace,
                                          int threads);
nnk_status nnki_shallow_backward_data_f64(const nnki_conv_geom *g, const double *w,
                                          const double *dy, double *dx, double *workspace,
                                          int threads);
nnk_status nnki_shallow_backward_filter_f32(const nnki_conv_geom *g, const float *x,
                                            const float *dy, float *dw, float *db,
                                            float *workspace, int threads);
nnk_status nnki_shallow_backward_filter_f64(const nnki_conv_geom *g, const double *x,
                                            const double *dy, double *dw, double *db,
                                            double *workspace, int threads);

/* ---- Batched convolution: input gradient, vectors across the images (batched.c) ----------- */

/* Whether the batched input gradient suits g for elements of elem bytes: stride 1, not 1x1,
 * f*kh*kw of 100 or more, 4 input channels or more, images of at most 1024 pixels, three
 * quarters of the vector lanes holding images, and AVX-512 or AVX2 where the build can tell. */
bool nnki_batched_dx_applies(const nnki_conv_geom *g, size_t elem);
/* Workspace elements it wants (shared by the threads). */
int64_t nnki_batched_dx_workspace(const nnki_conv_geom *g, size_t elem);
/* Threads it can run with workspace_len elements; 0 when they do not hold it. */
int nnki_batched_dx_threads(const nnki_conv_geom *g, size_t elem, int64_t workspace_len);
/* dx (every element written) = the input gradient of dy, with nnki_batched_dx_threads' worth
 * of workspace for threads. */
nnk_status nnki_batched_backward_data_f32(const nnki_conv_geom *g, const float *w,
                                          const float *dy, float *dx, float *workspace,
                                          int threads);
nnk_status nnki_batched_backward_data_f64(const nnki_conv_geom *g, const double *w,
                                          const double *dy, double *dx, double *workspace,
                                          int threads);

#endif /* NNK_INTERNAL_H */
