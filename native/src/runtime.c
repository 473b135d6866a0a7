/*
 * runtime.c - version, status strings, thread-local error messages, thread count, the cache
 * size blocked kernels size their blocks by, and the argument checks every kernel shares.
 */
#include "internal.h"

#include <inttypes.h>
#include <omp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Defined by native/CMakeLists.txt from the VERSION file. */
#ifndef NNK_VERSION_STRING
#error "NNK_VERSION_STRING must be defined by the build (see native/CMakeLists.txt)"
#endif

const char *nnk_version(void) { return NNK_VERSION_STRING; }

const char *nnk_status_string(nnk_status status)
{
    switch (status) {
    case NNK_OK: return "ok";
    case NNK_ERROR_NULL_POINTER: return "a required pointer was NULL";
    case NNK_ERROR_INVALID_ARGUMENT: return "a size, stride, pad or option is out of range";
    case NNK_ERROR_BUFFER_SIZE: return "a buffer length does not match its shape";
    case NNK_ERROR_OVERFLOW: return "a size product does not fit in int64";
    case NNK_ERROR_BLAS_UNAVAILABLE: return "no usable BLAS library could be loaded";
    }
    return "unknown status";
}

/* Large enough for the BLAS loader's message, which lists every path it tried. */
static _Thread_local char last_error[1024];

const char *nnk_last_error(void) { return last_error; }

nnk_status nnki_set_error(nnk_status status, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, args);
    va_end(args);
    return status;
}

/* 0 until first asked for, so that OMP_NUM_THREADS is read when the library is first used
 * rather than when it is loaded. */
static atomic_int num_threads;

nnk_status nnk_set_num_threads(int32_t n)
{
    if (n < 1)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "set_num_threads: num_threads = %" PRId32 " (must be >= 1)", n);
    atomic_store(&num_threads, n);
    return NNK_OK;
}

int32_t nnk_get_num_threads(void)
{
    int n = atomic_load(&num_threads);
    if (n == 0) {
        /* Only replaces the 0: a concurrent nnk_set_num_threads wins. */
        int unset = 0;
        n = omp_get_max_threads();
        if (!atomic_compare_exchange_strong(&num_threads, &unset, n))
            n = unset;
    }
    return n;
}

/* The size in bytes of CPU 0's data or unified cache of the given level, from Linux sysfs (the
 * size of one instance, which sysconf does not give on every CPU); 0 when unknown. */
static int64_t cache_bytes(int level)
{
    for (int i = 0; i < 16; i++) {
        char path[96], text[32];
        int found = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            return 0;
        if (fscanf(f, "%d", &found) != 1)
            found = 0;
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        if (found != level || (f = fopen(path, "r")) == NULL)
            continue;
        const bool instruction = fgets(text, sizeof text, f) != NULL &&
                                 strncmp(text, "Instruction", 11) == 0;
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (instruction || (f = fopen(path, "r")) == NULL)
            continue;
        long long size = 0;
        char unit = 0;
        const int read = fscanf(f, "%lld%c", &size, &unit);
        fclose(f);
        if (read >= 1 && size > 0 && size < (INT64_C(1) << 40))
            return size * (unit == 'K' ? 1024 : unit == 'M' ? 1024 * 1024 : 1);
    }
    return 0;
}

/* 0 until first asked for. */
static _Atomic int64_t l2_block_elements;

int64_t nnki_l2_block_elements(void)
{
    int64_t e = atomic_load(&l2_block_elements);
    if (e == 0) {
        /* A quarter of L2 in floats: 2 MiB gives 2^17 (measured best there, against 2^15-2^20,
         * for Winograd on conv_wide), 512 KiB 2^15 (0.69-0.77x of 2^17's time there). */
        const int64_t l2 = cache_bytes(2);
        e = l2 > 0 ? nnki_max(INT64_C(1) << 13, nnki_min(INT64_C(1) << 19, l2 / 16))
                   : INT64_C(1) << 17;
        atomic_store(&l2_block_elements, e); /* every thread works out the same value */
    }
    return e;
}

int nnki_loop_threads(int64_t n, int64_t fit)
{
    return (int)nnki_min(nnki_min(nnk_get_num_threads(), n), fit);
}

/* The slack before a kernel's workspace and its shared part (nnki_workspace_wanted's layout). */
static int64_t workspace_shared(int64_t fixed, size_t elem)
{
    return (int64_t)(NNKI_WORKSPACE_ALIGN / elem) + nnki_workspace_round(fixed, elem);
}

int64_t nnki_workspace_wanted(int64_t n, int64_t fixed, int64_t each, size_t elem)
{
    return workspace_shared(fixed, elem) +
           nnki_min(nnk_get_num_threads(), n) * nnki_workspace_round(each, elem);
}

int64_t nnki_bias_sums_len(int64_t n, int64_t f, size_t elem)
{
    const int64_t per = (int64_t)(sizeof(double) / elem);
    return n <= (INT64_MAX / 4) / per / f ? n * f * per : INT64_MAX / 4;
}

void nnki_bias_put(void *sums, int64_t f, int64_t i, int64_t c, double sum)
{
    memcpy((char *)sums + (i * f + c) * (int64_t)sizeof sum, &sum, sizeof sum);
}

double nnki_bias_total(const void *sums, int64_t n, int64_t f, int64_t fi)
{
    double total = 0;
    for (int64_t i = 0; i < n; i++) {
        double sum;
        memcpy(&sum, (const char *)sums + (i * f + fi) * (int64_t)sizeof sum, sizeof sum);
        total += sum;
    }
    return total;
}

int nnki_threads_held(int64_t n, int64_t fixed, int64_t each, size_t elem, int64_t workspace_len)
{
    const int64_t shared = workspace_shared(fixed, elem);
    const int64_t share = nnki_workspace_round(each, elem);
    if (workspace_len < shared + share)
        return 0;
    return nnki_loop_threads(n, (workspace_len - shared) / share);
}

void nnki_format_dims(char *buf, size_t size, const int64_t *dims, int ndims)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndims && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%" PRId64, i ? "*" : "", dims[i]);
}

nnk_status nnki_check_tensor(const char *fn, const char *name, const void *p, int64_t len,
                             bool required, const int64_t *dims, int ndims)
{
    if (p == NULL && (required || len != 0))
        return required ? nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: %s is NULL", fn, name)
                        : nnki_set_error(NNK_ERROR_NULL_POINTER,
                                         "%s: %s is NULL but %s_len is %" PRId64
                                         " (pass NULL with length 0 to skip it)",
                                         fn, name, name, len);
    /* Callers pass shapes whose product they have already checked; checking again costs
     * nothing and keeps a missed check from turning into a wrapped length. */
    int64_t expected = 0;
    NNKI_TRY(nnki_checked_product(fn, name, dims, ndims, &expected));
    if (p == NULL || len == expected)
        return NNK_OK;

    if (ndims == 1)
        return nnki_set_error(NNK_ERROR_BUFFER_SIZE,
                              "%s: %s has %" PRId64 " elements, expected %" PRId64, fn, name,
                              len, expected);
    char shape[160];
    nnki_format_dims(shape, sizeof shape, dims, ndims);
    return nnki_set_error(NNK_ERROR_BUFFER_SIZE,
                          "%s: %s has %" PRId64 " elements, expected %s = %" PRId64, fn, name,
                          len, shape, expected);
}

/* *out = product of dims, or NNK_ERROR_OVERFLOW naming the product. */
nnk_status nnki_checked_product(const char *fn, const char *names, const int64_t *dims,
                                int ndims, int64_t *out)
{
    int64_t product = 1;
    for (int i = 0; i < ndims; i++) {
        if (!nnki_mul(product, dims[i], &product)) {
            char shape[160];
            nnki_format_dims(shape, sizeof shape, dims, ndims);
            return nnki_set_error(NNK_ERROR_OVERFLOW, "%s: %s = %s overflows int64", fn, names,
                                  shape);
        }
    }
    *out = product;
    return NNK_OK;
}

nnk_status nnki_check_window(const char *fn, const char *what, int64_t h, int64_t w,
                             int64_t pad_h, int64_t pad_w, int64_t kh, int64_t kw,
                             int64_t *padded_h_out, int64_t *padded_w_out)
{
    int64_t padded_h, padded_w;
    if (!nnki_mul(2, pad_h, &padded_h) || __builtin_add_overflow(padded_h, h, &padded_h) ||
        !nnki_mul(2, pad_w, &padded_w) || __builtin_add_overflow(padded_w, w, &padded_w))
        return nnki_set_error(NNK_ERROR_OVERFLOW,
                              "%s: padded input (h=%" PRId64 ", w=%" PRId64 ", pad_h=%" PRId64
                              ", pad_w=%" PRId64 ") overflows int64",
                              fn, h, w, pad_h, pad_w);
    if (kh > padded_h || kw > padded_w)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "%s: %s %" PRId64 "x%" PRId64
                              " is larger than padded input %" PRId64 "x%" PRId64 " (h=%" PRId64
                              ", w=%" PRId64 ", pad_h=%" PRId64 ", pad_w=%" PRId64 ")",
                              fn, what, kh, kw, padded_h, padded_w, h, w, pad_h, pad_w);
    *padded_h_out = padded_h;
    *padded_w_out = padded_w;
    return NNK_OK;
}
