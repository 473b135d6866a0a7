/*
 * elementwise.c - ReLU forward and backward (instantiated from elementwise_impl.h for float
 * and double).
 *
 *   forward   y  = x <= 0 ? 0 : x     so NaN propagates (NaN <= 0 is false) and -0 gives +0
 *   backward  dx = x > 0 ? dy : 0     so a NaN x gives 0, and a NaN dy only where x > 0
 *
 * Both may run in place (y == x, dx == dy): each element is read before it is written and no
 * other element depends on it. Other partial overlaps are not supported.
 *
 * Threads: the array is cut into blocks of ELEMENTWISE_GRAIN elements, shared out by OpenMP
 * once there are two or more; each element's result depends only on its inputs, so results
 * do not depend on the thread count.
 */
#include "internal.h"

#include <inttypes.h>

enum {
    /* Elements per block: a thread must have at least one block before another is started. */
    ELEMENTWISE_GRAIN = 1 << 15,
};

/* Threads for a loop over blocks: at most one per block. */
static int elementwise_threads(int64_t blocks) { return nnki_loop_threads(blocks, blocks); }

static int64_t elementwise_blocks(int64_t len)
{
    return len / ELEMENTWISE_GRAIN + (len % ELEMENTWISE_GRAIN != 0);
}

/* x must be non-NULL with x_len >= 1. */
static nnk_status check_first(const char *fn, const char *name, const void *x, int64_t x_len)
{
    NNKI_TRY(nnki_check_tensor(fn, name, x, x_len, true, NNKI_DIMS(x_len)));
    if (x_len < 1)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT, "%s: %s_len = %" PRId64
                              " (must be >= 1)", fn, name, x_len);
    return NNK_OK;
}

#define NNK_T float
#define NNK_SUFFIX f32
#include "elementwise_impl.h"
#undef NNK_T
#undef NNK_SUFFIX

#define NNK_T double
#define NNK_SUFFIX f64
#include "elementwise_impl.h"
#undef NNK_T
#undef NNK_SUFFIX
