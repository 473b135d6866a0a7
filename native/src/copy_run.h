/*
 * copy_run.h - copy_run, the copy of a short run of a row, for one element type and one vector
 * type. im2col_impl.h and shallow_impl.h include it with NNK_T, NNK_SUFFIX (its name's suffix)
 * and NNK_VEC (a vector of NNK_T) defined.
 *
 * Rows of convolutions are often short (conv_mnist2's im2col: 9 elements; conv_seed's input and
 * dx rows: 31), where a memcpy call costs more than the copy: a run of one to two vectors is
 * copied as two vectors, the second overlapping the first; other runs go to memcpy, which uses
 * the widest vectors the CPU has.
 */

static inline void NNK_FN(copy_run)(NNK_T *restrict to, const NNK_T *restrict from, int64_t n)
{
    const int64_t lanes = (int64_t)(sizeof(NNK_VEC) / sizeof(NNK_T));
    if (n < lanes || n > 2 * lanes) {
        memcpy(to, from, (size_t)n * sizeof *to);
        return;
    }
    NNK_VEC head, tail;
    memcpy(&head, from, sizeof head);
    memcpy(&tail, from + n - lanes, sizeof tail);
    memcpy(to, &head, sizeof head);
    memcpy(to + n - lanes, &tail, sizeof tail);
}
