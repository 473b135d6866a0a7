/*
 * loss.c - argument checks shared by the classification losses; the softmax and SVM losses
 * themselves are instantiated from loss_impl.h for float and double.
 *
 * Every row's loss is worked out in double, whatever NNK_T is, and dscores is rounded to NNK_T
 * once, from a double.
 *
 * Threads: rows are cut into at most LOSS_BLOCKS blocks whose size depends on n alone. Blocks
 * run in parallel, each writing its rows of dscores and the sum of its rows' losses (in row
 * order) to a slot on the stack; the slots are then added in block order on the calling
 * thread. The loss and dscores are therefore bit-identical whatever the thread count, and no
 * memory is allocated.
 */
#include "internal.h"

#include <inttypes.h>
#include <math.h>

enum {
    /* Upper bound on the blocks of rows (one double of stack each). */
    LOSS_BLOCKS = 256,
    /* Elements (n*classes) a thread must have before another one is started. */
    LOSS_GRAIN = 1 << 15,
};

/* Rows per block, so that n rows make at most LOSS_BLOCKS blocks. */
static int64_t loss_block_rows(int64_t n)
{
    return n / LOSS_BLOCKS + (n % LOSS_BLOCKS != 0);
}

/* Threads for blocks blocks of a loss over len = n*classes elements. */
static int loss_threads(int64_t blocks, int64_t len)
{
    return nnki_loop_threads(blocks, len / LOSS_GRAIN > 1 ? len / LOSS_GRAIN : 1);
}

/* Validates the arguments of a loss: n, classes >= 1, n*classes within int64, scores and
 * dscores (n, classes), labels (n) each in [0, classes), loss non-NULL. Nothing is written
 * when this fails. *len receives n*classes. */
static nnk_status check_loss(const char *fn, int64_t n, int64_t classes, const void *scores,
                             int64_t scores_len, const int32_t *labels, int64_t labels_len,
                             const void *loss, const void *dscores, int64_t dscores_len,
                             int64_t *len)
{
    if (n < 1)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT, "%s: n = %" PRId64 " (must be >= 1)",
                              fn, n);
    if (classes < 1)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "%s: classes = %" PRId64 " (must be >= 1)", fn, classes);
    NNKI_TRY(nnki_checked_product(fn, "n*classes", NNKI_DIMS(n, classes), len));
    NNKI_TRY(nnki_check_tensor(fn, "scores", scores, scores_len, true, NNKI_DIMS(n, classes)));
    NNKI_TRY(nnki_check_tensor(fn, "labels", labels, labels_len, true, NNKI_DIMS(n)));
    if (loss == NULL)
        return nnki_set_error(NNK_ERROR_NULL_POINTER, "%s: loss is NULL", fn);
    NNKI_TRY(nnki_check_tensor(fn, "dscores", dscores, dscores_len, true,
                               NNKI_DIMS(n, classes)));
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                                  "%s: labels[%" PRId64 "] = %" PRId32
                                  " (must be in [0, classes) = [0, %" PRId64 "))",
                                  fn, i, labels[i], classes);
    return NNK_OK;
}

#define NNK_T float
#define NNK_SUFFIX f32
#include "loss_impl.h"
#undef NNK_T
#undef NNK_SUFFIX

#define NNK_T double
#define NNK_SUFFIX f64
#include "loss_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
