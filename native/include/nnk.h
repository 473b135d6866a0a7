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

/* Library version as "MAJOR.MINOR.PATCH" (the repository's VERSION file); static storage. */
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

/* Name of the loaded BLAS ("openblas", "mkl" or the path given), "" if none is loaded. The
 * string is never changed or freed: it stays valid, naming that BLAS, after later selections
 * and while another thread selects. */
NNK_API const char *nnk_blas_name(void);

/* The kernel family the loaded BLAS reports running, as OpenBLAS names it ("SkylakeX" for its
 * AVX-512 kernels, "Haswell" or "Zen" for AVX2, ...); "" before a BLAS is loaded and for one
 * that reports none (MKL). nnk picks the family from the CPU's features unless
 * OPENBLAS_CORETYPE is set; this shows what a value found there chose. Static storage. */
NNK_API const char *nnk_blas_core(void);

/* ---- Convolution -------------------------------------------------------------------------- */

/* Validates desc and writes the output height and width. */
NNK_API nnk_status nnk_conv2d_output_size(const nnk_conv2d_desc *desc, int64_t *out_h,
                                          int64_t *out_w);

/* Elements (of the kernel's element type) the workspace of one conv2d call needs at the
 * current thread count. A smaller workspace still works if it fits one thread's share. The
 * workspace may start anywhere (the size includes 64 bytes the kernels skip to put their own
 * buffers on a cache-line boundary). */
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

/* ---- Pooling ------------------------------------------------------------------------------ */

/* Geometry of 2-D pooling over x (n, c, h, w) with a pool_h x pool_w window. Output is
 * (n, c, out_h, out_w) with out_h = 1 + (h + 2*pad_h - pool_h) / stride_h (floored).
 * 0 <= pad < pool along each axis, so every window holds at least one real input. */
typedef struct nnk_pool2d_desc {
    int64_t n;
    int64_t c;
    int64_t h;
    int64_t w;
    int64_t pool_h;
    int64_t pool_w;
    int64_t stride_h;
    int64_t stride_w;
    int64_t pad_h;
    int64_t pad_w;
} nnk_pool2d_desc;

/* Validates desc and writes the output height and width. */
NNK_API nnk_status nnk_pool2d_output_size(const nnk_pool2d_desc *desc, int64_t *out_h,
                                          int64_t *out_w);

/* y (n, c, out_h, out_w) = max over each window; padding never wins. argmax (same length as y)
 * receives, for each output, the index ih*w + iw within its input plane of the first maximum
 * in window order (row by row); a NaN counts as larger than any number. */
NNK_API nnk_status nnk_maxpool2d_forward_f32(const nnk_pool2d_desc *desc, const float *x,
                                             int64_t x_len, float *y, int64_t y_len,
                                             int32_t *argmax, int64_t argmax_len);
NNK_API nnk_status nnk_maxpool2d_forward_f64(const nnk_pool2d_desc *desc, const double *x,
                                             int64_t x_len, double *y, int64_t y_len,
                                             int32_t *argmax, int64_t argmax_len);

/* dx (n, c, h, w) = dy scattered to the positions argmax recorded; overlapping windows
 * accumulate. dx is overwritten. An argmax entry outside its plane is an error. */
NNK_API nnk_status nnk_maxpool2d_backward_f32(const nnk_pool2d_desc *desc, const float *dy,
                                              int64_t dy_len, const int32_t *argmax,
                                              int64_t argmax_len, float *dx, int64_t dx_len);
NNK_API nnk_status nnk_maxpool2d_backward_f64(const nnk_pool2d_desc *desc, const double *dy,
                                              int64_t dy_len, const int32_t *argmax,
                                              int64_t argmax_len, double *dx, int64_t dx_len);

/* y (n, c, out_h, out_w) = mean over each window, padding counted as zeros in the window
 * (divisor pool_h*pool_w, as PyTorch's default count_include_pad). */
NNK_API nnk_status nnk_avgpool2d_forward_f32(const nnk_pool2d_desc *desc, const float *x,
                                             int64_t x_len, float *y, int64_t y_len);
NNK_API nnk_status nnk_avgpool2d_forward_f64(const nnk_pool2d_desc *desc, const double *x,
                                             int64_t x_len, double *y, int64_t y_len);

/* dx (n, c, h, w): each dy spread evenly over its window's real inputs (dy / (pool_h*pool_w)
 * each); overlapping windows accumulate. dx is overwritten. */
NNK_API nnk_status nnk_avgpool2d_backward_f32(const nnk_pool2d_desc *desc, const float *dy,
                                              int64_t dy_len, float *dx, int64_t dx_len);
NNK_API nnk_status nnk_avgpool2d_backward_f64(const nnk_pool2d_desc *desc, const double *dy,
                                              int64_t dy_len, double *dx, int64_t dx_len);

/* ---- Normalisation ------------------------------------------------------------------------ */

/* Training or test behaviour of batch normalisation. */
typedef enum nnk_norm_mode {
    NNK_NORM_TRAIN = 0, /* statistics of the batch; running statistics updated */
    NNK_NORM_TEST = 1   /* running statistics used; nothing updated */
} nnk_norm_mode;

/* Geometry of a channel-wise normalisation of x seen as (n, c, spatial): batch norm over
 * (N, D) is (n=N, c=D, spatial=1); spatial batch norm and group norm over (N, C, H, W) are
 * (n=N, c=C, spatial=H*W). groups divides c (group norm; layer norm over (N, D) is group norm
 * with (n=N, c=D, spatial=1, groups=1)); batch norm ignores it. eps > 0 is added to the
 * variance; momentum in [0, 1] weighs the old running statistics:
 * running = momentum*running + (1-momentum)*batch. Variances are biased (divided by the count). */
typedef struct nnk_norm_desc {
    int64_t n;
    int64_t c;
    int64_t spatial;
    int64_t groups;
    double eps;
    double momentum;
} nnk_norm_desc;

/* Batch norm forward: statistics per channel over n*spatial values.
 * Train: y = gamma*(x - mean)*invstd + beta with the batch's mean and biased variance
 * (computed in one numerically safe pass), save_mean and save_invstd (c each) receive them for
 * the backward pass, and running_mean / running_var (c each) are updated.
 * Test: the running statistics normalise x; save_mean / save_invstd may be NULL (length 0) and
 * are otherwise filled with the statistics used; the running statistics are only read. */
NNK_API nnk_status nnk_batchnorm_forward_f32(
    const nnk_norm_desc *desc, nnk_norm_mode mode, const float *x, int64_t x_len,
    const float *gamma, int64_t gamma_len, const float *beta, int64_t beta_len,
    float *running_mean, int64_t running_mean_len, float *running_var, int64_t running_var_len,
    float *y, int64_t y_len, float *save_mean, int64_t save_mean_len, float *save_invstd,
    int64_t save_invstd_len);
NNK_API nnk_status nnk_batchnorm_forward_f64(
    const nnk_norm_desc *desc, nnk_norm_mode mode, const double *x, int64_t x_len,
    const double *gamma, int64_t gamma_len, const double *beta, int64_t beta_len,
    double *running_mean, int64_t running_mean_len, double *running_var,
    int64_t running_var_len, double *y, int64_t y_len, double *save_mean,
    int64_t save_mean_len, double *save_invstd, int64_t save_invstd_len);

/* Batch norm backward of a training-mode forward, in closed form: dgamma, dbeta (c each) and
 * dx from x, gamma, the saved statistics and dy, without a temporary the size of x. Each of
 * dx, dgamma, dbeta is optional (NULL with length 0) and overwritten. */
NNK_API nnk_status nnk_batchnorm_backward_f32(
    const nnk_norm_desc *desc, const float *x, int64_t x_len, const float *gamma,
    int64_t gamma_len, const float *save_mean, int64_t save_mean_len, const float *save_invstd,
    int64_t save_invstd_len, const float *dy, int64_t dy_len, float *dx, int64_t dx_len,
    float *dgamma, int64_t dgamma_len, float *dbeta, int64_t dbeta_len);
NNK_API nnk_status nnk_batchnorm_backward_f64(
    const nnk_norm_desc *desc, const double *x, int64_t x_len, const double *gamma,
    int64_t gamma_len, const double *save_mean, int64_t save_mean_len,
    const double *save_invstd, int64_t save_invstd_len, const double *dy, int64_t dy_len,
    double *dx, int64_t dx_len, double *dgamma, int64_t dgamma_len, double *dbeta,
    int64_t dbeta_len);

/* Group norm forward: statistics per sample and group over (c/groups)*spatial values; gamma and
 * beta per channel (c each); save_mean and save_invstd (n*groups each) receive the statistics. */
NNK_API nnk_status nnk_groupnorm_forward_f32(
    const nnk_norm_desc *desc, const float *x, int64_t x_len, const float *gamma,
    int64_t gamma_len, const float *beta, int64_t beta_len, float *y, int64_t y_len,
    float *save_mean, int64_t save_mean_len, float *save_invstd, int64_t save_invstd_len);
NNK_API nnk_status nnk_groupnorm_forward_f64(
    const nnk_norm_desc *desc, const double *x, int64_t x_len, const double *gamma,
    int64_t gamma_len, const double *beta, int64_t beta_len, double *y, int64_t y_len,
    double *save_mean, int64_t save_mean_len, double *save_invstd, int64_t save_invstd_len);

/* Group norm backward in closed form; dx, dgamma, dbeta optional (NULL with length 0), overwritten. */
NNK_API nnk_status nnk_groupnorm_backward_f32(
    const nnk_norm_desc *desc, const float *x, int64_t x_len, const float *gamma,
    int64_t gamma_len, const float *save_mean, int64_t save_mean_len, const float *save_invstd,
    int64_t save_invstd_len, const float *dy, int64_t dy_len, float *dx, int64_t dx_len,
    float *dgamma, int64_t dgamma_len, float *dbeta, int64_t dbeta_len);
NNK_API nnk_status nnk_groupnorm_backward_f64(
    const nnk_norm_desc *desc, const double *x, int64_t x_len, const double *gamma,
    int64_t gamma_len, const double *save_mean, int64_t save_mean_len,
    const double *save_invstd, int64_t save_invstd_len, const double *dy, int64_t dy_len,
    double *dx, int64_t dx_len, double *dgamma, int64_t dgamma_len, double *dbeta,
    int64_t dbeta_len);

/* ---- Dense algebra, elementwise and losses ------------------------------------------------ */

/* c (m x n) = alpha * op(a) * op(b) + beta * c through the loaded BLAS, row-major and dense:
 * op(a) is m x k (a stored k x m when trans_a is nonzero), op(b) is k x n (b stored n x k when
 * trans_b is nonzero). beta == 0 overwrites c without reading it. m, n, k >= 1. */
NNK_API nnk_status nnk_gemm_f32(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                                int64_t k, float alpha, const float *a, int64_t a_len,
                                const float *b, int64_t b_len, float beta, float *c,
                                int64_t c_len);
NNK_API nnk_status nnk_gemm_f64(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                                int64_t k, double alpha, const double *a, int64_t a_len,
                                const double *b, int64_t b_len, double beta, double *c,
                                int64_t c_len);

/* y = max(x, 0) elementwise (NaN propagates); y may be x. */
NNK_API nnk_status nnk_relu_forward_f32(const float *x, int64_t x_len, float *y, int64_t y_len);
NNK_API nnk_status nnk_relu_forward_f64(const double *x, int64_t x_len, double *y,
                                        int64_t y_len);

/* dx = dy where x > 0, else 0; dx may be dy. */
NNK_API nnk_status nnk_relu_backward_f32(const float *x, int64_t x_len, const float *dy,
                                         int64_t dy_len, float *dx, int64_t dx_len);
NNK_API nnk_status nnk_relu_backward_f64(const double *x, int64_t x_len, const double *dy,
                                         int64_t dy_len, double *dx, int64_t dx_len);

/* Softmax cross-entropy over scores (n, classes) with labels in [0, classes): *loss is the mean
 * over the n samples, dscores (n, classes) its gradient. Numerically stable (scores shifted by
 * each row's maximum). A label out of range is NNK_ERROR_INVALID_ARGUMENT naming it. */
NNK_API nnk_status nnk_softmax_loss_f32(int64_t n, int64_t classes, const float *scores,
                                        int64_t scores_len, const int32_t *labels,
                                        int64_t labels_len, float *loss, float *dscores,
                                        int64_t dscores_len);
NNK_API nnk_status nnk_softmax_loss_f64(int64_t n, int64_t classes, const double *scores,
                                        int64_t scores_len, const int32_t *labels,
                                        int64_t labels_len, double *loss, double *dscores,
                                        int64_t dscores_len);

/* Multiclass SVM (hinge) loss with margin 1, as the seeds' svm_loss: *loss is the mean over the
 * n samples of sum over j != y of max(0, s_j - s_y + 1); dscores its gradient. */
NNK_API nnk_status nnk_svm_loss_f32(int64_t n, int64_t classes, const float *scores,
                                    int64_t scores_len, const int32_t *labels, int64_t labels_len,
                                    float *loss, float *dscores, int64_t dscores_len);
NNK_API nnk_status nnk_svm_loss_f64(int64_t n, int64_t classes, const double *scores,
                                    int64_t scores_len, const int32_t *labels, int64_t labels_len,
                                    double *loss, double *dscores, int64_t dscores_len);

#ifdef __cplusplus
}
#endif

#endif /* NNK_H */
