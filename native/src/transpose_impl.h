/*
 * transpose_impl.h - square tiles of NNK_T transposed in registers, for one element type and one
 * vector width. The includer (batched_impl.h, direct_impl.h) defines NNK_T and NNK_SUFFIX,
 * TRANSPOSE_VEC (a vector type of TRANSPOSE_N lanes of NNK_T) and TRANSPOSE_N, and includes
 * shuffles.h first.
 */

#define TRANSPOSE_LOW NNK_CAT(NNKI_LOW, TRANSPOSE_N)
#define TRANSPOSE_HIGH NNK_CAT(NNKI_HIGH, TRANSPOSE_N)

/* rows (TRANSPOSE_N vectors of TRANSPOSE_N lanes) transposed: each round interleaves row k with
 * row k + N/2 (low halves into row 2k, high into 2k + 1), and log2(N) rounds move the row index
 * into the lanes. */
static inline __attribute__((always_inline)) void
NNK_FN(transpose)(TRANSPOSE_VEC rows[TRANSPOSE_N])
{
    enum { N = TRANSPOSE_N, HALF = TRANSPOSE_N / 2 };
    for (int width = 1; width < N; width *= 2) {
        TRANSPOSE_VEC next[N];
        for (int k = 0; k < HALF; k++) {
            next[2 * k] = __builtin_shufflevector(rows[k], rows[k + HALF], TRANSPOSE_LOW);
            next[2 * k + 1] = __builtin_shufflevector(rows[k], rows[k + HALF], TRANSPOSE_HIGH);
        }
        memcpy(rows, next, sizeof next);
    }
}

/* Rows [0, count) of a tile from from + r*from_step (the others zero), transposed, each row
 * to to + r*to_step (rows [0, keep) of the result stored): count x N elements in, N x keep
 * out. */
static inline __attribute__((always_inline)) void
NNK_FN(transpose_tile)(const NNK_T *restrict from, int64_t from_step, int64_t count,
                       NNK_T *restrict to, int64_t to_step, int64_t keep)
{
    TRANSPOSE_VEC rows[TRANSPOSE_N];
    for (int64_t r = 0; r < TRANSPOSE_N; r++) {
        rows[r] = (TRANSPOSE_VEC){0};
        if (r < count)
            memcpy(&rows[r], from + r * from_step, sizeof rows[r]);
    }
    NNK_FN(transpose)(rows);
    for (int64_t r = 0; r < keep; r++)
        memcpy(to + r * to_step, &rows[r], sizeof rows[r]);
}

#undef TRANSPOSE_LOW
#undef TRANSPOSE_HIGH
