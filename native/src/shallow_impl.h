/*
 * shallow_impl.h - the forward pass and gradients of shallow convolutions, vectorised along
 * output rows, for one element type and one vector width. shallow.c includes it once per type
 * and width with NNK_T (float or double), NNK_SUFFIX (f32_v64, f64_v32, ...), SHALLOW_BYTES,
 * SHALLOW_N (the lanes of a vector: 16, 8 or 4), SHALLOW_CHANNELS (the most output channels a
 * block), SHALLOW_VECTORS(fb), SHALLOW_DATA_TAPS, SHALLOW_DATA_VECTORS, SHALLOW_FILTER_CHANNELS,
 * SHALLOW_FILTER_TAPS and SHALLOW_TARGET defined.
 *
 * Each image is first split into phase planes (sg.phases per input channel, the padded image's
 * columns of one residue mod stride_w), so that tap k = (ci, ki, kj) of one vector of output
 * columns reads a contiguous vector: plane (ci, kj mod s), row oy*stride_h + ki, column
 * ox0 + kj/s. A block of fb output channels x pv such vectors keeps its sums in registers over
 * every tap:
 *   sum[a][j] += w[f0 + a][k] * plane[toff[k] + voff[j]]
 * each weight broadcast, each vector loaded once per tap and used by all fb channels; the sums
 * start from the bias and are stored straight into y's rows, whole vectors (one that overhangs
 * its row is overwritten by the vectors after it; at a plane's end it goes through a spare).
 *
 * The input gradient runs the other way: blocks of taps x vectors of dy sum over every output
 * channel and add into the planes, which interleave back into dx; for 3x3 windows at stride 2
 * (conv_seed) each row of dx is instead gathered in registers from the rows of dy that reach
 * it (shallow_gather_image). The weight gradient keeps per-lane sums of a block of channels x
 * taps over all of an image's vectors of dy,
 *   sum[a][t] += dy[f0 + a][vector] * plane[toff[t] + the vector's position]
 * adds them into the thread's sums (vectors, [f][tap]), and at the end adds the threads' sums
 * and then each vector's lanes into dw.
 */

typedef NNK_T NNK_FN(shallow_vec) __attribute__((vector_size(SHALLOW_BYTES)));

#define SHALLOW_LANES ((int64_t)(SHALLOW_BYTES / sizeof(NNK_T)))
/* The shuffles of a pair of vectors (shuffles.h): even and odd elements, halves in turn. */
#define SHALLOW_EVEN NNK_CAT(NNKI_EVEN, SHALLOW_N)
#define SHALLOW_ODD NNK_CAT(NNKI_ODD, SHALLOW_N)
#define SHALLOW_LOW NNK_CAT(NNKI_LOW, SHALLOW_N)
#define SHALLOW_HIGH NNK_CAT(NNKI_HIGH, SHALLOW_N)
#define SHALLOW_LOW_NEXT NNK_CAT(NNKI_LOW_NEXT, SHALLOW_N)

#define NNK_VEC NNK_FN(shallow_vec)
#include "copy_run.h"
#undef NNK_VEC

/* The sums of fb channels (weights w, rows ckk apart; bias b or none) x pv vectors (at[j]: the
 * vector's first element in the planes of tap 0), vector j of channel a stored whole at
 * to[j] + a*step[j]. */
static inline __attribute__((always_inline)) void
NNK_FN(shallow_block)(int fb, int pv, int64_t ckk, const NNK_T *restrict w,
                      const NNK_T *restrict b, const int64_t *restrict toff,
                      const NNK_T *const *at, NNK_T *const *to, const int64_t *step)
{
    NNK_FN(shallow_vec) sums[SHALLOW_CHANNELS][12];
    for (int a = 0; a < fb; a++)
        for (int j = 0; j < pv; j++)
            sums[a][j] = (NNK_FN(shallow_vec)){0} + (b != NULL ? b[a] : 0);
    for (int64_t k = 0; k < ckk; k++) {
        NNK_FN(shallow_vec) v[12];
        for (int j = 0; j < pv; j++)
            memcpy(&v[j], at[j] + toff[k], sizeof v[j]);
        for (int a = 0; a < fb; a++) {
            const NNK_T weight = w[a * ckk + k];
            for (int j = 0; j < pv; j++)
                sums[a][j] += v[j] * weight;
        }
    }
    for (int a = 0; a < fb; a++)
        for (int j = 0; j < pv; j++)
            memcpy(to[j] + a * step[j], &sums[a][j], sizeof sums[a][j]);
}

/* shallow_block with fb (and so pv) a constant, so that its loops unroll into registers. */
#define SHALLOW_CASE(fb)                                                                     \
    case fb:                                                                                 \
        NNK_FN(shallow_block)(fb, SHALLOW_VECTORS(fb), ckk, w, b, toff, at, to, step);       \
        break
static inline __attribute__((always_inline)) void
NNK_FN(shallow_sums)(int fb, int64_t ckk, const NNK_T *restrict w, const NNK_T *restrict b,
                     const int64_t *restrict toff, const NNK_T *const *at, NNK_T *const *to,
                     const int64_t *step)
{
    switch (fb) {
#if SHALLOW_CHANNELS >= 6
    SHALLOW_CASE(6);
    SHALLOW_CASE(5);
#endif
    SHALLOW_CASE(4);
    SHALLOW_CASE(3);
    SHALLOW_CASE(2);
    default:
        NNK_FN(shallow_block)(1, SHALLOW_VECTORS(1), ckk, w, b, toff, at, to, step);
        break;
    }
}
#undef SHALLOW_CASE

/* The padded row in buffer (2*cols elements, zero but for x's row) into its two phase planes
 * (even and odd columns), a vector at a time: cols is whole vectors. */
static inline void NNK_FN(shallow_deinterleave)(int64_t cols, const NNK_T *restrict buffer,
                                                NNK_T *restrict even, NNK_T *restrict odd)
{
    for (int64_t j = 0; j < cols; j += SHALLOW_LANES) {
        NNK_FN(shallow_vec) low, high;
        memcpy(&low, buffer + 2 * j, sizeof low);
        memcpy(&high, buffer + 2 * j + SHALLOW_LANES, sizeof high);
        const NNK_FN(shallow_vec) e = __builtin_shufflevector(low, high, SHALLOW_EVEN);
        const NNK_FN(shallow_vec) o = __builtin_shufflevector(low, high, SHALLOW_ODD);
        memcpy(even + j, &e, sizeof e);
        memcpy(odd + j, &o, sizeof o);
    }
}

/* Lanes of a vector as bits, to mask elements to zero whatever their value. */
typedef int32_t NNK_FN(shallow_bits) __attribute__((vector_size(SHALLOW_BYTES)));

/* The lanes of the padded row's first two vectors that hold x (pad_w <= lane < pad_w + w), as
 * masks of all ones. */
static inline void NNK_FN(shallow_row_masks)(const nnki_conv_geom *g,
                                             NNK_FN(shallow_bits) mask[2])
{
    unsigned char bits[2 * SHALLOW_BYTES];
    for (int64_t l = 0; l < 2 * SHALLOW_LANES; l++)
        memset(bits + l * (int64_t)sizeof(NNK_T), l >= g->pad_w && l < g->pad_w + g->w ? 0xff : 0,
               sizeof(NNK_T));
    memcpy(mask, bits, sizeof bits);
}

/* A padded row that fits two vectors into its two phase planes, straight from registers: both
 * vectors loaded from pad_w elements before the row (reaching into the rows either side, whose
 * lanes mask to zero) and split by shuffles. Through the buffers the split took 20 % of
 * conv_seed's forward, its loads waiting on the copy's stores. */
static inline void NNK_FN(shallow_split_pair)(const NNK_T *from,
                                              const NNK_FN(shallow_bits) mask[2],
                                              NNK_T *restrict even, NNK_T *restrict odd)
{
    NNK_FN(shallow_vec) low, high;
    memcpy(&low, from, sizeof low);
    memcpy(&high, from + SHALLOW_LANES, sizeof high);
    low = (NNK_FN(shallow_vec))((NNK_FN(shallow_bits))low & mask[0]);
    high = (NNK_FN(shallow_vec))((NNK_FN(shallow_bits))high & mask[1]);
    const NNK_FN(shallow_vec) e = __builtin_shufflevector(low, high, SHALLOW_EVEN);
    const NNK_FN(shallow_vec) o = __builtin_shufflevector(low, high, SHALLOW_ODD);
    memcpy(even, &e, sizeof e);
    memcpy(odd, &o, sizeof o);
}

/* Image i of x into its phase planes, whose other elements (the padding, and the columns past
 * the last vector's reach) stay zero. With stride_w 2, a padded row that fits two vectors is
 * split from registers (shallow_split_pair) unless its loads would leave the tensor x; other
 * rows go through one of two row buffers (the padded row, split a row later: split right behind
 * the copy, the loads waited on the copy's stores at other offsets). */
static SHALLOW_TARGET void NNK_FN(shallow_split)(const nnki_conv_geom *g, const shallow_geom *sg,
                                                 const NNK_T *x, int64_t i,
                                                 NNK_T *restrict planes,
                                                 NNK_T *restrict buffers)
{
    const NNK_T *x_i = x + i * g->image;
    const int64_t last = nnki_min(g->h, sg->rows - g->pad_h);
    if (sg->phases == 1) {
        const int64_t n = nnki_min(g->w, sg->cols - g->pad_w);
        for (int64_t ci = 0; ci < g->c && n > 0; ci++)
            for (int64_t r = 0; r < last; r++)
                NNK_FN(copy_run)(planes + ci * sg->plane + (r + g->pad_h) * sg->cols + g->pad_w,
                                 x_i + (ci * g->h + r) * g->w, n);
        return;
    }
    const int64_t n = nnki_min(g->w, 2 * sg->cols - g->pad_w), rows = g->c * last;
    if (n <= 0)
        return;
    if (g->pad_w + g->w <= 2 * SHALLOW_LANES) {
        NNK_FN(shallow_bits) mask[2];
        NNK_FN(shallow_row_masks)(g, mask);
        /* The geometry in locals, rows and planes walked by adding: the stores (memcpy, so of
         * any type) would otherwise have each row load g's and sg's fields again and multiply
         * its offsets anew. */
        const int64_t w = g->w, pad = g->pad_w, cols = sg->cols, plane = sg->plane;
        const int64_t first = i * g->image, end = g->n * g->image - (2 * SHALLOW_LANES - pad);
        for (int64_t ci = 0; ci < g->c; ci++) {
            int64_t at = first + ci * g->h * w; /* the row's offset in x */
            NNK_T *even = planes + 2 * ci * plane + g->pad_h * cols;
            for (int64_t r = 0; r < last; r++, at += w, even += cols) {
                if (at >= pad && at <= end) {
                    NNK_FN(shallow_split_pair)(x + at - pad, mask, even, even + plane);
                } else {
                    NNK_FN(copy_run)(buffers + pad, x + at, n);
                    NNK_FN(shallow_deinterleave)(cols, buffers, even, even + plane);
                }
            }
        }
        return;
    }
    /* Row q = (ci, r) is copied while row q-1 = (pc, pr) is split; no divisions per row. */
    NNK_T *prev = NULL;
    for (int64_t q = 0, ci = 0, r = 0; q <= rows; q++) {
        NNK_T *buffer = buffers + (q & 1) * 2 * sg->cols;
        if (q < rows)
            NNK_FN(copy_run)(buffer + g->pad_w, x_i + (ci * g->h + r) * g->w, n);
        if (prev != NULL)
            NNK_FN(shallow_deinterleave)(sg->cols, buffers + ((q - 1) & 1) * 2 * sg->cols, prev,
                                         prev + sg->plane);
        prev = planes + 2 * ci * sg->plane + (r + g->pad_h) * sg->cols;
        if (++r == last) {
            r = 0;
            ci++;
        }
    }
}

/* Image i of x (if there is one) on its way to the cache while this image is computed: x
 * comes from memory, and the split waited on it. */
static inline void NNK_FN(shallow_prefetch)(const nnki_conv_geom *g, const NNK_T *x, int64_t i)
{
    if (i >= g->n)
        return;
    const char *from = (const char *)(x + i * g->image);
    const int64_t bytes = g->image * (int64_t)sizeof *x;
    for (int64_t k = 0; k < bytes; k += 64)
        __builtin_prefetch(from + k);
}

/* y of image i (planes: the thread's phase planes, and the row buffers after them). Vectors of
 * output columns are numbered row by row (chunks per row); a block of them that ends early
 * repeats its last vector. */
static SHALLOW_TARGET void NNK_FN(shallow_image)(const nnki_conv_geom *g,
                                                 const shallow_geom *sg, const NNK_T *x,
                                                 const NNK_T *w, const NNK_T *b,
                                                 const int64_t *toff, NNK_T *y,
                                                 NNK_T *planes, int64_t i)
{
    NNK_FN(shallow_split)(g, sg, x, i, planes, planes + sg->image);
    NNK_FN(shallow_prefetch)(g, x, i + 1);
    /* The geometry in locals, and each vector's row and column counted, not divided out: the
     * stores of a block (memcpy, so of any type) had the next block's placing load g's and
     * sg's fields again, and divide, while its multiply-adds waited. */
    const int64_t lanes = SHALLOW_LANES, chunks = sg->chunks, vectors = g->out_h * chunks;
    const int64_t row_step = g->stride_h * sg->cols, out_w = g->out_w, out_hw = g->out_hw;
    const int64_t ckk = g->ckk, blocks = (g->f + SHALLOW_CHANNELS - 1) / SHALLOW_CHANNELS;
    for (int64_t f0 = 0, bi = 0; bi < blocks; bi++) {
        /* Blocks as even as they can be: f = 25 runs as 5 x 5 channels, not 6+6+6+6+1. */
        const int fb = (int)(g->f / blocks + (bi < g->f % blocks ? 1 : 0));
        const int pv = SHALLOW_VECTORS(fb);
        NNK_T *const yf = y + (i * g->f + f0) * out_hw;
        /* Vector v0 is column c0 of output row oy0. */
        for (int64_t v0 = 0, oy0 = 0, c0 = 0; v0 < vectors; v0 += pv) {
            /* Vectors that would spill past the plane go to spare (and the part in y is then
             * copied out); so do a short block's repeats, of the last vector. */
            NNK_T spare[12 * SHALLOW_CHANNELS * SHALLOW_LANES];
            const NNK_T *at[12];
            NNK_T *to[12];
            int64_t step[12], start[12];
            bool cut = false;
            for (int j = 0; j < pv; j++) {
                const bool real = v0 + j < vectors;
                const int64_t oy = real ? oy0 : g->out_h - 1, ox = (real ? c0 : chunks - 1) * lanes;
                at[j] = planes + oy * row_step + ox;
                start[j] = oy * out_w + ox;
                const bool whole = real && start[j] + lanes <= out_hw;
                cut |= real && !whole;
                to[j] = whole ? yf + start[j] : spare + j * SHALLOW_CHANNELS * lanes;
                step[j] = whole ? out_hw : lanes;
                if (++c0 == chunks) {
                    c0 = 0;
                    oy0++;
                }
            }
            NNK_FN(shallow_sums)(fb, ckk, w + f0 * ckk, b != NULL ? b + f0 : NULL, toff, at, to,
                                 step);
            for (int j = 0; cut && j < pv && v0 + j < vectors; j++)
                if (to[j] != yf + start[j])
                    for (int a = 0; a < fb; a++)
                        memcpy(yf + a * out_hw + start[j], to[j] + a * lanes,
                               (size_t)(out_w - start[j] % out_w) * sizeof *y);
        }
        f0 += fb;
    }
}

static nnk_status NNK_FN(shallow_forward)(const nnki_conv_geom *g, const NNK_T *x,
                                          const NNK_T *w, const NNK_T *b, NNK_T *y,
                                          NNK_T *workspace, int threads)
{
    const shallow_geom sg = shallow_geometry(g, sizeof(NNK_T));
    int64_t toff[SHALLOW_MAX_DEPTH];
    for (int64_t k = 0; k < g->ckk; k++)
        toff[k] = shallow_tap_offset(g, &sg, k);
    /* The padding stays zero: each image's split only writes the interior. */
    /* The threads' shares (nnki_workspace_wanted's layout). */
    NNK_T *shares = nnki_workspace_base(workspace, sizeof *workspace);
    const int64_t stride = nnki_workspace_round(sg.share, sizeof *workspace);
    memset(shares, 0, (size_t)(threads * stride) * sizeof *shares);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t i = 0; i < g->n; i++)
        NNK_FN(shallow_image)(g, &sg, x, w, b, toff, y, shares + omp_get_thread_num() * stride,
                              i);
    return NNK_OK;
}

/* ---- The input gradient ------------------------------------------------------------------- */

/* The padded row in buffer (2*cols elements) from its two phase planes, even and odd: the
 * inverse of shallow_deinterleave. */
static inline void NNK_FN(shallow_interleave)(int64_t cols, const NNK_T *restrict even,
                                              const NNK_T *restrict odd, NNK_T *restrict buffer)
{
    for (int64_t j = 0; j < cols; j += SHALLOW_LANES) {
        NNK_FN(shallow_vec) e, o;
        memcpy(&e, even + j, sizeof e);
        memcpy(&o, odd + j, sizeof o);
        const NNK_FN(shallow_vec) low = __builtin_shufflevector(e, o, SHALLOW_LOW);
        const NNK_FN(shallow_vec) high = __builtin_shufflevector(e, o, SHALLOW_HIGH);
        memcpy(buffer + 2 * j, &low, sizeof low);
        memcpy(buffer + 2 * j + SHALLOW_LANES, &high, sizeof high);
    }
}

/* Columns [c, c + lanes) of dx's row into low and [c + lanes, c + 2*lanes) into high, from the
 * row's two phase planes (plane apart): column c is padded column c + pad, in plane
 * (c + pad) % 2 at (c + pad) / 2. The vectors loaded reach lanes - 1 elements past the last
 * column used (the next row's, or the row buffers after the planes). */
static inline void NNK_FN(shallow_columns)(const NNK_T *row, int64_t plane, int64_t pad,
                                           int64_t c, NNK_FN(shallow_vec) *low,
                                           NNK_FN(shallow_vec) *high)
{
    const int64_t a = c + pad, b = a + 1;
    NNK_FN(shallow_vec) first, second;
    memcpy(&first, row + (a & 1) * plane + (a >> 1), sizeof first);
    memcpy(&second, row + (b & 1) * plane + (b >> 1), sizeof second);
    *low = __builtin_shufflevector(first, second, SHALLOW_LOW);
    *high = __builtin_shufflevector(first, second, SHALLOW_HIGH);
}

/* Columns [0, n) of dx's row from its two phase planes, stored straight from the registers (an
 * interleave into a buffer and a copy out of it at pad's offset waited on the buffer's stores:
 * 16 % of conv_seed's dx); a last part vector is the one that ends at n, overlapping. Rows of
 * fewer than a vector go through buffer. */
static inline void NNK_FN(shallow_unsplit_row)(const nnki_conv_geom *g, const shallow_geom *sg,
                                               const NNK_T *restrict row,
                                               NNK_T *restrict buffer, NNK_T *restrict to,
                                               int64_t n)
{
    const int64_t lanes = SHALLOW_LANES;
    NNK_FN(shallow_vec) low, high;
    if (n < lanes) {
        NNK_FN(shallow_interleave)(sg->cols, row, row + sg->plane, buffer);
        NNK_FN(copy_run)(to, buffer + g->pad_w, n);
        return;
    }
    int64_t c = 0;
    for (; c + 2 * lanes <= n; c += 2 * lanes) {
        NNK_FN(shallow_columns)(row, sg->plane, g->pad_w, c, &low, &high);
        memcpy(to + c, &low, sizeof low);
        memcpy(to + c + lanes, &high, sizeof high);
    }
    if (c + lanes <= n) {
        NNK_FN(shallow_columns)(row, sg->plane, g->pad_w, c, &low, &high);
        memcpy(to + c, &low, sizeof low);
        c += lanes;
    }
    if (c < n) {
        NNK_FN(shallow_columns)(row, sg->plane, g->pad_w, n - lanes, &low, &high);
        memcpy(to + n - lanes, &low, sizeof low);
    }
}

/* dx of image i from its phase planes (the gradient of the padded image, split): each row's
 * interior, and zero where no window reaches (rows past sg->rows, columns past the planes). */
static SHALLOW_TARGET void NNK_FN(shallow_unsplit)(const nnki_conv_geom *g,
                                                   const shallow_geom *sg,
                                                   const NNK_T *restrict planes,
                                                   NNK_T *restrict buffer, NNK_T *restrict dx_i)
{
    const int64_t s = sg->phases;
    const int64_t n = nnki_max(0, nnki_min(g->w, s * sg->cols - g->pad_w));
    for (int64_t ci = 0; ci < g->c; ci++)
        for (int64_t r = 0; r < g->h; r++) {
            NNK_T *to = dx_i + (ci * g->h + r) * g->w;
            const int64_t pr = r + g->pad_h;
            int64_t done = 0;
            if (pr < sg->rows && n > 0) {
                const NNK_T *row = planes + ci * s * sg->plane + pr * sg->cols;
                if (s == 1)
                    NNK_FN(copy_run)(to, row + g->pad_w, n);
                else
                    NNK_FN(shallow_unsplit_row)(g, sg, row, buffer, to, n);
                done = n;
            }
            /* No call per row to clear nothing: memset's calls, each after a vzeroupper, cost
             * 7 % of conv_seed's dx while it took this path. */
            if (done < g->w)
                memset(to + done, 0, (size_t)(g->w - done) * sizeof *to);
        }
}

/* The sums of SHALLOW_DATA_TAPS taps x SHALLOW_DATA_VECTORS vectors over every output channel
 * (panel: the block's weights, [f][tap]; dy vector j of channel fi at dys[j] + fi*dstep[j]),
 * added into the planes at at[j] + toff[t]. */
static inline __attribute__((always_inline)) void
NNK_FN(shallow_data_block)(int64_t f, const NNK_T *restrict panel,
                           const NNK_T *const *dys, const int64_t *dstep,
                           NNK_T *const *at, const int64_t *restrict toff,
                           const NNK_T *ahead, int64_t astep)
{
    enum { KB = SHALLOW_DATA_TAPS, PV = SHALLOW_DATA_VECTORS };
    NNK_FN(shallow_vec) sums[KB][PV];
    for (int t = 0; t < KB; t++)
        for (int j = 0; j < PV; j++)
            sums[t][j] = (NNK_FN(shallow_vec)){0};
    for (int64_t fi = 0; fi < f; fi++) {
        NNK_FN(shallow_vec) d[PV];
        if (ahead != NULL)
            __builtin_prefetch(ahead + fi * astep);
        for (int j = 0; j < PV; j++)
            memcpy(&d[j], dys[j] + fi * dstep[j], sizeof d[j]);
        for (int t = 0; t < KB; t++) {
            const NNK_T weight = panel[fi * KB + t];
            for (int j = 0; j < PV; j++)
                sums[t][j] += d[j] * weight;
        }
    }
    for (int t = 0; t < KB; t++)
        for (int j = 0; j < PV; j++) {
            NNK_FN(shallow_vec) p;
            memcpy(&p, at[j] + toff[t], sizeof p);
            p += sums[t][j];
            memcpy(at[j] + toff[t], &p, sizeof p);
        }
}

/* dx of image i: the planes (the thread's share, with its row buffer) gather every window's
 * sums, vectors of output columns in blocks of SHALLOW_DATA_VECTORS (a short last block's
 * repeats read a zero vector), taps in blocks of SHALLOW_DATA_TAPS (the panel's zero columns
 * past ckk), then go to dx. dy's rows are whole vectors (nnki_shallow_applies). */
static SHALLOW_TARGET void NNK_FN(shallow_data_image)(const nnki_conv_geom *g,
                                                      const shallow_geom *sg,
                                                      const NNK_T *panel, const int64_t *toff,
                                                      const NNK_T *zero, const NNK_T *dy,
                                                      NNK_T *dx, NNK_T *planes, int64_t i)
{
    enum { KB = SHALLOW_DATA_TAPS, PV = SHALLOW_DATA_VECTORS };
    memset(planes, 0, (size_t)sg->image * sizeof *planes);
    const NNK_T *dy_i = dy + i * g->f * g->out_hw;
    const int64_t vectors = g->out_h * sg->chunks;
    for (int64_t v0 = 0; v0 < vectors; v0 += PV) {
        const NNK_T *dys[PV];
        int64_t dstep[PV];
        NNK_T *at[PV];
        for (int j = 0; j < PV; j++) {
            const int64_t v = nnki_min(v0 + j, vectors - 1);
            const int64_t oy = v / sg->chunks, ox = v % sg->chunks * SHALLOW_LANES;
            const bool real = v0 + j < vectors;
            dys[j] = real ? dy_i + v * SHALLOW_LANES : zero;
            dstep[j] = real ? g->out_hw : 0;
            at[j] = planes + oy * g->stride_h * sg->cols + ox;
        }
        for (int64_t k0 = 0, k = 0; k0 < sg->data_taps; k0 += KB, k++) {
            /* Row k of dy's next block of vectors (in the next image after the last block)
             * on its way to L1 during block of taps k, a line per output channel: the next
             * block's first pass over dy then finds its rows there instead of waiting on L3
             * (0.92-0.97x of conv_seed's dx at 1 thread). */
            const int64_t v = v0 + PV + k;
            const NNK_T *ahead = NULL;
            if (k < PV && v < vectors)
                ahead = dy_i + v * SHALLOW_LANES;
            else if (k < PV && i + 1 < g->n && v - vectors < vectors)
                ahead = dy_i + g->f * g->out_hw + (v - vectors) * SHALLOW_LANES;
            NNK_FN(shallow_data_block)(g->f, panel + k0 * g->f, dys, dstep, at, toff + k0,
                                       ahead, g->out_hw);
        }
    }
    NNK_FN(shallow_unsplit)(g, sg, planes, planes + sg->image, dx + i * g->image);
}

/* ---- The input gradient of 3x3 windows at stride 2, gathered (shallow_gathers) ----------- */

/* Padded column 2m (the even phase) takes tap kj = 0 from dy's column m and kj = 2 from m - 1;
 * column 2m + 1 (odd) takes kj = 1 from m. Padded row 2q + 1 takes ki = 1 from dy's row q, row
 * 2q + 2 takes ki = 0 from row q + 1 and ki = 2 from row q. So the rows of dx 2q .. 2q + 2p - 1
 * (padded 2q + 1 .. 2q + 2p) are sums over the output channels of dy's rows q .. q + p, each as
 * loaded (a) and one column on (s, lane m holding column m - 1), times the weights: each of a
 * window's 9 taps once per pair of rows, input channel and output channel, none of them zero,
 * into sums[channel][row][phase] that stay in registers until they are stored into dx,
 * interleaved (p = SHALLOW_GATHER_PAIRS). Against adding every tap into phase planes (three
 * taps of zeros in conv_seed's blocks, a memset, a read-modify-write of the planes per block of
 * taps, and a pass that interleaves them into dx) this takes 0.75-0.78x the time of conv_seed's
 * input gradient at 1 and 2 threads. */

/* One output channel's terms for input channels ci0 .. ci0 + cb - 1 (weights k, [ci][ki][kj]
 * from ci0; a[r], s[r]: dy's rows q + r). One multiply-add a statement: a sum of two products
 * would round them first. */
static inline __attribute__((always_inline)) void
NNK_FN(shallow_gather_step)(int cb, const NNK_T *restrict k, const NNK_FN(shallow_vec) *a,
                            const NNK_FN(shallow_vec) *s,
                            NNK_FN(shallow_vec) sums[][2 * SHALLOW_GATHER_PAIRS][2])
{
    for (int ci = 0; ci < cb; ci++, k += 9)
        for (int p = 0; p < SHALLOW_GATHER_PAIRS; p++) {
            NNK_FN(shallow_vec) *odd = sums[ci][2 * p], *even = sums[ci][2 * p + 1];
            /* dx row 2(q + p): ki = 1 from dy's row q + p. */
            odd[0] += a[p] * k[3];
            odd[0] += s[p] * k[5];
            odd[1] += a[p] * k[4];
            /* dx row 2(q + p) + 1: ki = 0 from row q + p + 1, ki = 2 from row q + p. */
            even[0] += a[p + 1] * k[0];
            even[0] += s[p + 1] * k[2];
            even[1] += a[p + 1] * k[1];
            even[0] += a[p] * k[6];
            even[0] += s[p] * k[8];
            even[1] += a[p] * k[7];
        }
}

/* dx rows 2q .. 2q + 2*SHALLOW_GATHER_PAIRS - 1 (those below h) of columns [2c - 1,
 * 2c + 2*lanes - 1) of input channels ci0 .. ci0 + cb - 1, from columns [c, c + lanes) of dy's
 * rows q .. q + SHALLOW_GATHER_PAIRS of every output channel: rows[r] + fi*step[r] (step 0: a
 * row of zeros, past out_h). head (or NULL): image 0's first row of channel 0 from an element
 * before it, for s may not load the element before the tensor. */
static inline __attribute__((always_inline)) void
NNK_FN(shallow_gather_block)(int cb, const nnki_conv_geom *g, const NNK_T *restrict w,
                             const NNK_T *const *rows, const int64_t *step, const NNK_T *head,
                             const NNK_T *const *ahead, NNK_T *restrict dx_i, int64_t ci0,
                             int64_t q, int64_t c)
{
    enum { PAIRS = SHALLOW_GATHER_PAIRS };
    const int64_t lanes = SHALLOW_LANES;
    NNK_FN(shallow_vec) sums[SHALLOW_GATHER_CHANNELS][2 * PAIRS][2];
    for (int ci = 0; ci < cb; ci++)
        for (int r = 0; r < 2 * PAIRS; r++)
            sums[ci][r][0] = sums[ci][r][1] = (NNK_FN(shallow_vec)){0};
    int64_t fi = 0;
    if (head != NULL) {
        NNK_FN(shallow_vec) a[PAIRS + 1], s[PAIRS + 1];
        for (int r = 0; r <= PAIRS; r++) {
            memcpy(&a[r], rows[r] + c, sizeof a[r]);
            memcpy(&s[r], (r == 0 ? head : rows[r]) + c - 1, sizeof s[r]);
        }
        NNK_FN(shallow_gather_step)(cb, w + ci0 * 9, a, s, sums);
        fi = 1;
    }
    for (; fi < g->f; fi++) {
        NNK_FN(shallow_vec) a[PAIRS + 1], s[PAIRS + 1];
        for (int r = 0; r < PAIRS; r++)
            if (ahead[r] != NULL)
                __builtin_prefetch(ahead[r] + fi * g->out_hw + c);
        for (int r = 0; r <= PAIRS; r++) {
            memcpy(&a[r], rows[r] + fi * step[r] + c, sizeof a[r]);
            memcpy(&s[r], rows[r] + fi * step[r] + c - 1, sizeof s[r]);
        }
        NNK_FN(shallow_gather_step)(cb, w + fi * g->ckk + ci0 * 9, a, s, sums);
    }
    /* Padded columns 2c .. 2c + 2*lanes - 1 are dx's 2c - 1 ..: the first vector from dx's
     * column 2c (one element on) where 2c - 1 is the padding, else from 2c - 1. */
    for (int ci = 0; ci < cb; ci++)
        for (int r = 0; r < 2 * PAIRS && 2 * q + r < g->h; r++) {
            NNK_T *to = dx_i + ((ci0 + ci) * g->h + 2 * q + r) * g->w + 2 * c;
            const NNK_FN(shallow_vec) e = sums[ci][r][0], o = sums[ci][r][1];
            const NNK_FN(shallow_vec) high = __builtin_shufflevector(e, o, SHALLOW_HIGH);
            if (c == 0) {
                const NNK_FN(shallow_vec) low = __builtin_shufflevector(e, o, SHALLOW_LOW_NEXT);
                memcpy(to, &low, sizeof low);
            } else {
                const NNK_FN(shallow_vec) low = __builtin_shufflevector(e, o, SHALLOW_LOW);
                memcpy(to - 1, &low, sizeof low);
            }
            memcpy(to + lanes - 1, &high, sizeof high);
        }
}

/* shallow_gather_block with cb a constant, so that its sums unroll into registers. */
#define SHALLOW_CASE(cb)                                                                     \
    case cb:                                                                                 \
        NNK_FN(shallow_gather_block)(cb, g, w, rows, step, head, ahead, dx_i, ci0, q, c);     \
        break
static inline __attribute__((always_inline)) void
NNK_FN(shallow_gather_sums)(int cb, const nnki_conv_geom *g, const NNK_T *restrict w,
                            const NNK_T *const *rows, const int64_t *step, const NNK_T *head,
                            const NNK_T *const *ahead, NNK_T *restrict dx_i, int64_t ci0,
                            int64_t q, int64_t c)
{
    switch (cb) {
#if SHALLOW_GATHER_CHANNELS >= 3
    SHALLOW_CASE(3);
    SHALLOW_CASE(2);
#endif
    default:
        NNK_FN(shallow_gather_block)(1, g, w, rows, step, head, ahead, dx_i, ci0, q, c);
        break;
    }
}
#undef SHALLOW_CASE

/* dx of image i, 2*SHALLOW_GATHER_PAIRS rows at a time (zeros: lanes + out_w zeros; head:
 * lanes + 1 elements). */
static SHALLOW_TARGET void NNK_FN(shallow_gather_image)(const nnki_conv_geom *g,
                                                        const NNK_T *w, const NNK_T *zeros,
                                                        const NNK_T *dy, NNK_T *dx,
                                                        const NNK_T *head, int64_t i)
{
    enum { PAIRS = SHALLOW_GATHER_PAIRS };
    const NNK_T *dy_i = dy + i * g->f * g->out_hw;
    NNK_T *dx_i = dx + i * g->image;
    for (int64_t q = 0; 2 * q < g->h; q += PAIRS) {
        const NNK_T *rows[PAIRS + 1];
        int64_t step[PAIRS + 1];
        for (int r = 0; r <= PAIRS; r++) {
            const bool real = q + r < g->out_h;
            rows[r] = real ? dy_i + (q + r) * g->out_w : zeros + SHALLOW_LANES;
            step[r] = real ? g->out_hw : 0;
        }
        /* The rows the next block reads first (the next image's first after the last block),
         * on their way to L1 a line per output channel: the block would wait on L3 for them. */
        const NNK_T *ahead[PAIRS];
        for (int r = 0; r < PAIRS; r++) {
            const int64_t next = q + PAIRS + 1 + r;
            ahead[r] = next < g->out_h ? dy_i + next * g->out_w
                       : q + PAIRS < g->out_h || i + 1 == g->n
                           ? NULL
                           : dy_i + g->f * g->out_hw + r * g->out_w;
        }
        for (int64_t ci0 = 0; ci0 < g->c; ci0 += SHALLOW_GATHER_CHANNELS)
            for (int64_t c = 0; c < g->out_w; c += SHALLOW_LANES)
                NNK_FN(shallow_gather_sums)(
                    (int)nnki_min(SHALLOW_GATHER_CHANNELS, g->c - ci0), g, w, rows, step,
                    i == 0 && q == 0 && c == 0 ? head + 1 : NULL, ahead, dx_i, ci0, q, c);
    }
}

static nnk_status NNK_FN(shallow_backward_data)(const nnki_conv_geom *g, const NNK_T *w,
                                                const NNK_T *dy, NNK_T *dx, NNK_T *workspace,
                                                int threads)
{
    enum { KB = SHALLOW_DATA_TAPS };
    const shallow_geom sg = shallow_geometry(g, sizeof(NNK_T));
    /* The panel, lanes + out_w zeros and a head of lanes + 1, then the threads' shares
     * (nnki_workspace_wanted's layout). */
    NNK_T *const base = nnki_workspace_base(workspace, sizeof *workspace);
    NNK_T *panel = base, *zero = base + sg.data_panel;
    memset(zero, 0, (size_t)(SHALLOW_LANES + g->out_w) * sizeof *zero);
    if (shallow_gathers(g, &sg)) {
        /* Image 0's first row of channel 0 with an element before it. */
        NNK_T *head = zero + SHALLOW_LANES + g->out_w;
        head[0] = 0;
        memcpy(head + 1, dy, (size_t)SHALLOW_LANES * sizeof *dy);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
        for (int64_t i = 0; i < g->n; i++)
            NNK_FN(shallow_gather_image)(g, w, zero, dy, dx, head, i);
        return NNK_OK;
    }
    /* Taps in the order (kj, ci, ki): the two taps of a row that one element apart add into
     * the same plane (kj = 0 and 2 with stride 2) come a block or more apart, so a block's
     * load of the sums never waits on the other's store at an offset it overlaps.
     * panel[block][fi][tap of the block] = w[fi][tap], zero past ckk; toff likewise, 0 there. */
    int64_t toff[SHALLOW_MAX_DEPTH + SHALLOW_DATA_TAPS];
    for (int64_t t = 0; t < sg.data_taps; t++) {
        int64_t k = 0;
        if (t < g->ckk) {
            const int64_t kj = t / (g->c * g->kh), ci = t / g->kh % g->c, ki = t % g->kh;
            k = (ci * g->kh + ki) * g->kw + kj;
        }
        toff[t] = shallow_tap_offset(g, &sg, k);
        for (int64_t fi = 0; fi < g->f; fi++)
            panel[(t / KB * g->f + fi) * KB + t % KB] = t < g->ckk ? w[fi * g->ckk + k] : 0;
    }
    NNK_T *shares = base + nnki_workspace_round(sg.data_fixed, sizeof *workspace);
    const int64_t stride = nnki_workspace_round(sg.share, sizeof *workspace);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t i = 0; i < g->n; i++)
        NNK_FN(shallow_data_image)(g, &sg, panel, toff, zero, dy, dx,
                                   shares + omp_get_thread_num() * stride, i);
    return NNK_OK;
}

/* ---- The weight gradient ------------------------------------------------------------------ */

/* The per-lane sums of fb channels x SHALLOW_FILTER_TAPS taps over every vector of output
 * columns of one image, added into sums (tap t of channel a at sums + (a*step + t)*lanes): dy is
 * the first channel's plane (the others out_hw apart), tap t's vector of output row oy, column
 * ox is at planes + oy*row_step + ox + toff[t]. */
static inline __attribute__((always_inline)) void
NNK_FN(shallow_filter_block)(int fb, int64_t out_h, int64_t chunks, int64_t row_step,
                             int64_t out_hw, const NNK_T *restrict dy,
                             const NNK_T *restrict planes, const int64_t *restrict toff,
                             NNK_T *restrict sums, int64_t step)
{
    enum { KB = SHALLOW_FILTER_TAPS };
    NNK_FN(shallow_vec) acc[SHALLOW_FILTER_CHANNELS][KB];
    for (int a = 0; a < fb; a++)
        for (int t = 0; t < KB; t++)
            acc[a][t] = (NNK_FN(shallow_vec)){0};
    /* Tap t's vectors and channel a's dy, walked row by row. */
    const NNK_T *xt[KB], *da[SHALLOW_FILTER_CHANNELS];
    for (int t = 0; t < KB; t++)
        xt[t] = planes + toff[t];
    for (int a = 0; a < fb; a++)
        da[a] = dy + a * out_hw;
    for (int64_t oy = 0; oy < out_h; oy++) {
        for (int64_t c = 0; c < chunks; c++) {
            NNK_FN(shallow_vec) e[SHALLOW_FILTER_CHANNELS];
            for (int a = 0; a < fb; a++) {
                memcpy(&e[a], da[a] + c * SHALLOW_LANES, sizeof e[a]);
                NNKI_IN_REGISTER(e[a]);
            }
            for (int t = 0; t < KB; t++) {
                NNK_FN(shallow_vec) v;
                memcpy(&v, xt[t] + c * SHALLOW_LANES, sizeof v);
                for (int a = 0; a < fb; a++)
                    acc[a][t] += e[a] * v;
            }
        }
        for (int t = 0; t < KB; t++)
            xt[t] += row_step;
        for (int a = 0; a < fb; a++)
            da[a] += chunks * SHALLOW_LANES;
    }
    for (int a = 0; a < fb; a++)
        for (int t = 0; t < KB; t++) {
            NNK_T *to = sums + (a * step + t) * SHALLOW_LANES;
            NNK_FN(shallow_vec) p;
            memcpy(&p, to, sizeof p);
            p += acc[a][t];
            memcpy(to, &p, sizeof p);
        }
}

/* shallow_filter_block with fb a constant, so that its loops unroll into registers. */
#define SHALLOW_CASE(fb)                                                                     \
    case fb:                                                                                 \
        NNK_FN(shallow_filter_block)(fb, out_h, chunks, row_step, out_hw, dy, planes, toff,  \
                                     sums, step);                                            \
        break
static inline __attribute__((always_inline)) void
NNK_FN(shallow_filter_sums)(int fb, int64_t out_h, int64_t chunks, int64_t row_step,
                            int64_t out_hw, const NNK_T *restrict dy,
                            const NNK_T *restrict planes, const int64_t *restrict toff,
                            NNK_T *restrict sums, int64_t step)
{
    switch (fb) {
#if SHALLOW_FILTER_CHANNELS >= 5
    SHALLOW_CASE(5);
    SHALLOW_CASE(4);
#endif
    SHALLOW_CASE(3);
    SHALLOW_CASE(2);
    default:
        NNK_FN(shallow_filter_block)(1, out_h, chunks, row_step, out_hw, dy, planes, toff, sums,
                                     step);
        break;
    }
}
#undef SHALLOW_CASE

/* The sum of a vector's lanes (in an array), added in halves: no chain of dependent adds. */
static inline NNK_T NNK_FN(shallow_lanes_total)(NNK_T lanes[SHALLOW_LANES])
{
    for (int64_t half = SHALLOW_LANES / 2; half > 0; half /= 2)
        for (int64_t l = 0; l < half; l++)
            lanes[l] += lanes[l + half];
    return lanes[0];
}

/* The sum of one of dy's planes (count elements, whole vectors): per lane over a few vectors at
 * a time (the plane is in L1, just read), then the lanes in halves (a chain of adds through them
 * took longer than the separate pass over dy it saves). */
static inline __attribute__((always_inline)) double
NNK_FN(shallow_plane_sum)(const NNK_T *restrict plane, int64_t count)
{
    enum { CHAINS = 4 };
    NNK_FN(shallow_vec) acc[CHAINS] = {{0}};
    int64_t p = 0;
    for (; p + CHAINS * SHALLOW_LANES <= count; p += CHAINS * SHALLOW_LANES)
        for (int k = 0; k < CHAINS; k++) {
            NNK_FN(shallow_vec) v;
            memcpy(&v, plane + p + k * SHALLOW_LANES, sizeof v);
            acc[k] += v;
        }
    for (int k = 0; p < count; p += SHALLOW_LANES, k++) {
        NNK_FN(shallow_vec) v;
        memcpy(&v, plane + p, sizeof v);
        acc[k] += v;
    }
    NNK_T lanes[SHALLOW_LANES];
    const NNK_FN(shallow_vec) total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    memcpy(lanes, &total, sizeof lanes);
    return (double)NNK_FN(shallow_lanes_total)(lanes);
}

/* Image i's share of dw, per lane, added into the thread's sums ([f][filter_taps] vectors):
 * the image is split into the thread's planes, then every block of channels (as even as they
 * can be) x taps runs over all of dy's vectors. dy's rows are whole vectors. With bias, the
 * sums of the image's planes of dy go to bias as doubles, the (i*f + channel)th. */
static SHALLOW_TARGET void NNK_FN(shallow_filter_image)(const nnki_conv_geom *g,
                                                        const shallow_geom *sg,
                                                        const NNK_T *x, const NNK_T *dy,
                                                        const int64_t *toff, NNK_T *planes,
                                                        NNK_T *sums, NNK_T *bias, int64_t i)
{
    enum { KB = SHALLOW_FILTER_TAPS };
    NNK_FN(shallow_split)(g, sg, x, i, planes, planes + sg->image);
    const NNK_T *dy_i = dy + i * g->f * g->out_hw;
    const int64_t blocks = (g->f + SHALLOW_FILTER_CHANNELS - 1) / SHALLOW_FILTER_CHANNELS;
    /* The next image's x at once (the split needs it first), its dy a slice before each block
     * of channels x taps. */
    NNK_FN(shallow_prefetch)(g, x, i + 1);
    shallow_ahead next_dy = shallow_ahead_of(i + 1 < g->n ? dy_i + g->f * g->out_hw : NULL,
                                             g->f * g->out_hw * (int64_t)sizeof *dy,
                                             blocks * (sg->filter_taps / KB));
    for (int64_t f0 = 0, bi = 0; bi < blocks; bi++) {
        const int fb = (int)(g->f / blocks + (bi < g->f % blocks ? 1 : 0));
        for (int64_t k0 = 0; k0 < sg->filter_taps; k0 += KB) {
            shallow_ahead_step(&next_dy);
            NNK_FN(shallow_filter_sums)(fb, g->out_h, sg->chunks, g->stride_h * sg->cols,
                                        g->out_hw, dy_i + f0 * g->out_hw, planes, toff + k0,
                                        sums + (f0 * sg->filter_taps + k0) * SHALLOW_LANES,
                                        sg->filter_taps);
        }
        /* The block's planes of dy are still in L1. */
        for (int a = 0; bias != NULL && a < fb; a++)
            nnki_bias_put(bias, g->f, i, f0 + a,
                          NNK_FN(shallow_plane_sum)(dy_i + (f0 + a) * g->out_hw, g->out_hw));
        f0 += fb;
    }
}

static nnk_status NNK_FN(shallow_backward_filter)(const nnki_conv_geom *g, const NNK_T *x,
                                                  const NNK_T *dy, NNK_T *dw, NNK_T *db,
                                                  NNK_T *workspace, int threads)
{
    const shallow_geom sg = shallow_geometry(g, sizeof(NNK_T));
    /* The taps past ckk that fill the last block read tap 0's vectors; their sums are dropped. */
    int64_t toff[SHALLOW_MAX_DEPTH + SHALLOW_FILTER_TAPS];
    for (int64_t t = 0; t < sg.filter_taps; t++)
        toff[t] = shallow_tap_offset(g, &sg, t < g->ckk ? t : 0);
    const int64_t each = nnki_workspace_round(sg.share + sg.filter_sums, sizeof *workspace);
    /* The images' bias sums (doubles, through memcpy: the workspace is only NNK_T aligned),
     * then each thread's planes, whose padding stays zero (each split only writes the
     * interior), and sums, which start at zero. */
    NNK_T *const base = nnki_workspace_base(workspace, sizeof *workspace);
    NNK_T *bias = db != NULL ? base : NULL;
    NNK_T *shares = base + nnki_workspace_round(sg.filter_bias, sizeof *workspace);
    memset(shares, 0, (size_t)(threads * each) * sizeof *shares);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t i = 0; i < g->n; i++) {
        NNK_T *share = shares + omp_get_thread_num() * each;
        NNK_FN(shallow_filter_image)(g, &sg, x, dy, toff, share, share + sg.share, bias, i);
    }
    for (int64_t fi = 0; bias != NULL && fi < g->f; fi++)
        db[fi] = (NNK_T)nnki_bias_total(bias, g->n, g->f, fi);
    /* dw: the threads' sums added, then each vector's lanes. */
    for (int64_t fi = 0; fi < g->f; fi++)
        for (int64_t k = 0; k < g->ckk; k++) {
            const int64_t at = sg.share + (fi * sg.filter_taps + k) * SHALLOW_LANES;
            NNK_T lanes[SHALLOW_LANES];
            memcpy(lanes, shares + at, sizeof lanes);
            for (int t = 1; t < threads; t++)
                for (int64_t l = 0; l < SHALLOW_LANES; l++)
                    lanes[l] += shares[t * each + at + l];
            dw[fi * g->ckk + k] = NNK_FN(shallow_lanes_total)(lanes);
        }
    return NNK_OK;
}

#undef SHALLOW_LANES
#undef SHALLOW_EVEN
#undef SHALLOW_ODD
#undef SHALLOW_LOW
#undef SHALLOW_HIGH
#undef SHALLOW_LOW_NEXT
