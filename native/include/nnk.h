/*
 * nnk.h - the whole public C API of libnnk (neural-network kernels).
 *
 * Conventions:
 *   - Tensors are dense, row-major NCHW; convolution is cross-correlation with weights
 *     (F, C, KH, KW), as in the cs231n notebooks.
 *   - Every numeric kernel exists for float (_f32) and double (_f64).
 *   - Every buffer is passed with its length in elements. Tensor buffers must have exactly the
 *     length their shape implies; a workspace must be at least as long as the size query says.
 *     The caller owns every buffer; the library never keeps a pointer after a call returns.
 *   - Every function returns an nnk_status; on failure nnk_last_error() gives a message naming
 *     the offending values (thread-local, valid until the next failing call on that thread).
 *     Nothing aborts, prints or allocates in a kernel call.
 */
#ifndef NNK_H
#define NNK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NNK_BUILD) && defined(__GNUC__)
#define NNK_API __attribute__((visibility("default")))
#else
#define NNK_API
#endif

#define NNK_VERSION_MAJOR 0
#define NNK_VERSION_MINOR 1
#define NNK_VERSION_PATCH 0

/* Result of every call. */
typedef enum nnk_status {
    NNK_OK = 0,
    NNK_ERROR_NULL_POINTER = 1,     /* a required pointer was NULL */
    NNK_ERROR_INVALID_ARGUMENT = 2, /* a size, stride, pad or option is out of range */
    NNK_ERROR_BUFFER_SIZE = 3,      /* a buffer length does not match its shape */
    NNK_ERROR_OVERFLOW = 4,         /* a size product does not fit in int64 */
    NNK_ERROR_BLAS_UNAVAILABLE = 5  /* no usable BLAS library could be loaded */
} nnk_status;

/* Which pass a workspace is sized for. */
typedef enum nnk_conv_pass {
    NNK_CONV_FORWARD = 0,
    NNK_CONV_BACKWARD = 1
} nnk_conv_pass;

/* Geometry of a 2-D convolution: input (n, c, h, w), weights (f, c, kh, kw).
 * Output is (n, f, out_h, out_w) with out_h = 1 + (h + 2*pad_h - kh) / stride_h (floored). */
typedef struct nnk_conv2d_desc {
    int64_t n;
    int64_t c;
    int64_t h;
    int64_t w;
    int64_t f;
    int64_t kh;
    int64_t kw;
    int64_t stride_h;
    int64_t stride_w;
    int64_t pad_h;
    int64_t pad_w;
} nnk_conv2d_desc;

/* ---- Runtime ------------------------------------------------------------------------------ */

/* Library version as "MAJOR.MINOR.PATCH"; static storage. */
NNK_API const char *nnk_version(void);

/* Short fixed description of a status code; static storage. */
NNK_API const char *nnk_status_string(nnk_status status);

/* Message of the last failing call on this thread ("" if none); thread-local storage. */
NNK_API const char *nnk_last_error(void);

/* Threads used by kernels (OpenMP and BLAS together, never more than this in total).
 * num_threads >= 1; the default is the OpenMP default (OMP_NUM_THREADS or the core count). */
NNK_API nnk_status nnk_set_num_threads(int32_t num_threads);
NNK_API int32_t nnk_get_num_threads(void);

/* ---- BLAS --------------------------------------------------------------------------------- */

/* Loads a BLAS: "openblas", "mkl", a path to a shared library exporting cblas_sgemm and
 * cblas_dgemm, or NULL for the default (the NNK_BLAS environment variable, else OpenBLAS).
 * Kernels load the default lazily; call this to choose another or to see the error early. */
NNK_API nnk_status nnk_blas_select(const char *name_or_path);

/* Name of the loaded BLAS ("openblas", "mkl" or the path given), "" if none is loaded;
 * static storage valid until the next nnk_blas_select. */
NNK_API const char *nnk_blas_name(void);

/* ---- Convolution -------------------------------------------------------------------------- */

/* Validates desc and writes the output height and width. */
NNK_API nnk_status nnk_conv2d_output_size(const nnk_conv2d_desc *desc, int64_t *out_h,
                                          int64_t *out_w);

/* Elements (of the kernel's element type) the workspace of one conv2d call needs at the
 * current thread count. A smaller workspace still works if it fits one thread's share. */
NNK_API nnk_status nnk_conv2d_workspace_size(const nnk_conv2d_desc *desc, nnk_conv_pass pass,
                                             int64_t *elements);

/* cols (n, c*kh*kw, out_h*out_w) from x (n, c, h, w); padding reads as zero. */
NNK_API nnk_status nnk_im2col_f32(const nnk_conv2d_desc *desc, const float *x, int64_t x_len,
                                  float *cols, int64_t cols_len);
NNK_API nnk_status nnk_im2col_f64(const nnk_conv2d_desc *desc, const double *x, int64_t x_len,
                                  double *cols, int64_t cols_len);

/* x (n, c, h, w) = sum of cols (n, c*kh*kw, out_h*out_w) scattered back; the adjoint of
 * im2col. x is overwritten, not accumulated into. */
NNK_API nnk_status nnk_col2im_f32(const nnk_conv2d_desc *desc, const float *cols,
                                  int64_t cols_len, float *x, int64_t x_len);
NNK_API nnk_status nnk_col2im_f64(const nnk_conv2d_desc *desc, const double *cols,
                                  int64_t cols_len, double *x, int64_t x_len);

/* y (n, f, out_h, out_w) = conv(x, w) + b. b may be NULL (with b_len 0) for no bias. */
NNK_API nnk_status nnk_conv2d_forward_f32(const nnk_conv2d_desc *desc, const float *x,
                                          int64_t x_len, const float *w, int64_t w_len,
                                          const float *b, int64_t b_len, float *y, int64_t y_len,
                                          float *workspace, int64_t workspace_len);
NNK_API nnk_status nnk_conv2d_forward_f64(const nnk_conv2d_desc *desc, const double *x,
                                          int64_t x_len, const double *w, int64_t w_len,
                                          const double *b, int64_t b_len, double *y,
                                          int64_t y_len, double *workspace,
                                          int64_t workspace_len);

/* Gradients of conv2d_forward given dy (n, f, out_h, out_w). dx (n, c, h, w), dw (f, c, kh, kw)
 * and db (f) are each optional (NULL with length 0 skips it) and are overwritten. x is needed
 * when dw is wanted, w when dx is wanted; otherwise they may be NULL. */
NNK_API nnk_status nnk_conv2d_backward_f32(const nnk_conv2d_desc *desc, const float *x,
                                           int64_t x_len, const float *w, int64_t w_len,
                                           const float *dy, int64_t dy_len, float *dx,
                                           int64_t dx_len, float *dw, int64_t dw_len, float *db,
                                           int64_t db_len, float *workspace,
                                           int64_t workspace_len);
NNK_API nnk_status nnk_conv2d_backward_f64(const nnk_conv2d_desc *desc, const double *x,
                                           int64_t x_len, const double *w, int64_t w_len,
                                           const double *dy, int64_t dy_len, double *dx,
                                           int64_t dx_len, double *dw, int64_t dw_len,
                                           double *db, int64_t db_len, double *workspace,
                                           int64_t workspace_len);

#ifdef __cplusplus
}
#endif

#endif /* NNK_H */
