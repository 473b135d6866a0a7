/*
 * pool_impl.h - max and average pooling for one element type. pool.c includes it once per
 * type with NNK_T (float or double), NNK_SUFFIX (f32 or f64) and the vector parameters listed
 * there defined.
 *
 * A plane is processed by output rows. Any output may take the generic path: its window
 * clipped to the input, walked in window order. For 2x2 and 3x3 windows with stride 2, the
 * outputs whose windows lie within the input's columns take a vector loop along the row
 * (window rows outside the input are left out), and max pooling gathers the outputs left and
 * right of that band a column at a time, several rows per vector; max pooling does the same
 * for every column of other geometries. Max pooling's 3x3 windows whose rows all lie in the
 * input go down the rows instead, reducing the row two windows share once. Every path gives
 * the same bits: sums are made in the same order, and the maximum is the same element (see
 * replaces).
 */

/* A later element replaces the best so far when it is larger, or NaN while the best is not:
 * the first maximum in window order under an order that puts NaN above every number. That
 * choice is associative, so the vector loops may reduce each window row first and then
 * combine the rows, and still pick the element a walk in window order picks. */
POOL_INLINE bool NNK_FN(replaces)(NNK_T best, NNK_T later)
{
    return !(later <= best) & (best == best);
}

/* ---- Max pooling -------------------------------------------------------------------------- */

/* Lets later (at plane index later_at) replace the best so far. Written with bit masks:
 * GCC compiles a select on a float comparison to a branch, and which element wins is data,
 * so that branch mispredicts about once a window and costs more than the window's loads. */
POOL_INLINE void NNK_FN(offer)(NNK_T *best, int64_t *best_at, NNK_T later, int64_t later_at)
{
    NNK_INT take = -(NNK_INT)NNK_FN(replaces)(*best, later), best_bits, later_bits;
    memcpy(&best_bits, best, sizeof best_bits);
    memcpy(&later_bits, &later, sizeof later_bits);
    best_bits = (later_bits & take) | (best_bits & ~take);
    memcpy(best, &best_bits, sizeof best_bits);
    *best_at = (later_at & (int64_t)take) | (*best_at & ~(int64_t)take);
}

/* Outputs [lo, hi) of output row oy, one at a time; y and at point at the start of the row. */
POOL_INLINE void NNK_FN(max_clipped)(const pool_geom *g, const NNK_T *restrict x, int64_t oy,
                                     int64_t lo, int64_t hi, NNK_T *restrict y,
                                     int32_t *restrict at)
{
    int64_t y0, y1;
    clip_window(oy, g->stride_h, g->pad_h, g->pool_h, g->h, &y0, &y1);
    for (int64_t ox = lo; ox < hi; ox++) {
        int64_t x0, x1;
        clip_window(ox, g->stride_w, g->pad_w, g->pool_w, g->w, &x0, &x1);
        int64_t best_at = y0 * g->w + x0;
        NNK_T best = x[best_at];
        for (int64_t iy = y0; iy < y1; iy++)
            for (int64_t ix = x0; ix < x1; ix++)
                NNK_FN(offer)(&best, &best_at, x[iy * g->w + ix], iy * g->w + ix);
        y[ox] = best;
        at[ox] = (int32_t)best_at;
    }
}

/* The vector loops: one AVX2 vector of outputs at a time (8 float or 4 double), written with
 * GCC's generic vectors, which the avx2 clone compiles to ymm instructions and the default
 * clone to pairs of SSE2 ones. They are not left to the auto-vectoriser: depending on how
 * the NaN rule was phrased it gave up, the 3x3 window's shared column made it keep a scalar
 * tail (peeling for gaps), and that tail's branches mispredicted on random data, so that a
 * 3x3 plane cost several times its memory traffic. Here the last vector of a row or column
 * overlaps the one before instead, recomputing a few outputs identically.
 *
 * Vectors are passed by pointer: a 32-byte vector by value has a different ABI in the AVX2
 * and the baseline build (GCC's -Wpsabi). Inlined, they live in registers. Shuffles name their
 * lanes as constants (__builtin_shufflevector, which GCC and clang both have), so that these
 * loops also build with clang, as the fuzz targets need. */
typedef NNK_T NNK_FN(vec) __attribute__((vector_size(32)));
/* Lanes of NNK_INT, as wide as NNK_T: comparison masks (0 or -1) and window offsets. */
typedef NNK_INT NNK_FN(mask) __attribute__((vector_size(32)));
typedef int32_t NNK_FN(index) __attribute__((vector_size(NNK_LANES * sizeof(int32_t))));

static const NNK_FN(mask) NNK_FN(lanes) = {NNK_LANE_ORDER};

/* p[0], p[2], ... and p[1], p[3], ... of the 2*NNK_LANES elements from p, each in the lane
 * order NNK_WINDOW_ORDER: the order one in-lane shuffle per vector gives (vshufps or
 * vunpcklpd), where natural order takes three. The lanes keep that order through a window's
 * reduction, and one permutation per vector restores natural order at the end. */
POOL_INLINE void NNK_FN(deinterleave)(const NNK_T *p, NNK_FN(vec) *even, NNK_FN(vec) *odd)
{
    NNK_FN(vec) low, high;
    memcpy(&low, p, sizeof low);
    memcpy(&high, p + NNK_LANES, sizeof high);
    *even = __builtin_shufflevector(low, high, NNK_EVEN_ORDER);
    *odd = __builtin_shufflevector(low, high, NNK_ODD_ORDER);
}

/* The best of each lane's window (or window row) so far, and where it is: along a row, its
 * offset from the first element of the window's first real row; along a column, its plane
 * index. */
typedef struct NNK_FN(best) {
    NNK_FN(vec) value;
    NNK_FN(mask) offset;
} NNK_FN(best);

/* replaces(), lane by lane, for a later candidate that may itself be the best of several
 * elements. */
POOL_INLINE void NNK_FN(combine)(NNK_FN(best) *best, const NNK_FN(vec) *later,
                                 const NNK_FN(mask) *later_offset)
{
    NNK_FN(mask) take = ~(*later <= best->value) & (best->value == best->value);
    best->value = (NNK_FN(vec))((take & (NNK_FN(mask))*later) |
                                (~take & (NNK_FN(mask))best->value));
    best->offset = (take & *later_offset) | (~take & best->offset);
}

/* The best of the 2 (or 3) columns of one window row, for NNK_LANES windows from p on;
 * offsets holds the offsets of the row's elements. The third column is the odd elements
 * from p + 1, which reads no further than the last window does. */
POOL_INLINE void NNK_FN(row_best)(NNK_FN(best) *best, const NNK_T *p,
                                  const NNK_FN(mask) *offsets, bool three)
{
    NNK_FN(vec) left, middle, skipped, right;
    NNK_FN(deinterleave)(p, &left, &middle);
    *best = (NNK_FN(best)){left, offsets[0]};
    NNK_FN(combine)(best, &middle, &offsets[1]);
    if (three) {
        NNK_FN(deinterleave)(p + 1, &skipped, &right);
        NNK_FN(combine)(best, &right, &offsets[2]);
    }
}

/* NNK_LANES windows' best, in the lane order NNK_WINDOW_ORDER, into y and at in natural order:
 * lane k's window starts at plane index first + 2*k, and its best lies offset further. */
POOL_INLINE void NNK_FN(store_best)(const NNK_FN(best) *best, int32_t first, NNK_T *restrict y,
                                    int32_t *restrict at)
{
    NNK_FN(vec) value = __builtin_shufflevector(best->value, best->value, NNK_WINDOW_ORDER);
    NNK_FN(mask) offset = __builtin_shufflevector(best->offset, best->offset, NNK_WINDOW_ORDER);
    NNK_FN(index) index =
        __builtin_convertvector(offset + NNK_FN(lanes) * 2 + first, NNK_FN(index));
    memcpy(y, &value, sizeof value);
    memcpy(at, &index, sizeof index);
}

/* count >= NNK_LANES outputs of 2x2 (or 3x3) windows with stride 2 that have rows real
 * rows; row points at the first window's first real element, whose index in the plane is
 * corner. offsets[r][c] holds r*w + c in every lane. */
POOL_INLINE void NNK_FN(max_s2_row)(const NNK_T *restrict row, int32_t corner, int32_t w,
                                    const NNK_FN(mask) (*offsets)[3], bool three, int64_t rows,
                                    int32_t count, NNK_T *restrict y, int32_t *restrict at)
{
    for (int32_t i = 0;; i += NNK_LANES) {
        if (i > count - NNK_LANES)
            i = count - NNK_LANES;
        const NNK_T *first = row + 2 * i;
        NNK_FN(best) best, later;
        NNK_FN(row_best)(&best, first, offsets[0], three);
        for (int64_t r = 1; r < rows; r++) {
            NNK_FN(row_best)(&later, first + r * w, offsets[r], three);
            NNK_FN(combine)(&best, &later.value, &later.offset);
        }
        NNK_FN(store_best)(&best, corner + 2 * i, y + i, at + i);
        if (i == count - NNK_LANES)
            break;
    }
}

/* count >= NNK_LANES outputs of 3x3 windows with stride 2 in each of rows output rows whose
 * windows have all three rows in the input; x + corner is the first window's first element in
 * the first of those rows, and y and at point at that output. A vector of outputs at a time
 * down the rows: the bottom window row of one output row is the top of the next, so each
 * input row is reduced once where max_s2_row reduces every other row twice. The rows are
 * combined in the same order, so the result has the same bits. */
POOL_INLINE void NNK_FN(max_3x3_s2_rows)(const NNK_T *restrict x, int32_t corner, int32_t w,
                                         int64_t out_w, const NNK_FN(mask) (*offsets)[3],
                                         int64_t rows, int32_t count, NNK_T *restrict y,
                                         int32_t *restrict at)
{
    for (int32_t i = 0;; i += NNK_LANES) {
        if (i > count - NNK_LANES)
            i = count - NNK_LANES;
        int32_t first = corner + 2 * i;
        NNK_FN(best) top, middle, bottom;
        NNK_FN(row_best)(&top, x + first, offsets[0], true);
        for (int64_t r = 0; r < rows; r++, first += 2 * w) {
            NNK_FN(row_best)(&middle, x + first + w, offsets[1], true);
            NNK_FN(row_best)(&bottom, x + first + 2 * w, offsets[2], true);
            NNK_FN(best) best = top;
            NNK_FN(combine)(&best, &middle.value, &middle.offset);
            NNK_FN(combine)(&best, &bottom.value, &bottom.offset);
            NNK_FN(store_best)(&best, first, y + r * out_w + i, at + r * out_w + i);
            /* The bottom row becomes the next output row's top: its offsets lose 2*w. */
            top = bottom;
            top.offset -= offsets[2][0];
        }
        if (i == count - NNK_LANES)
            break;
    }
}

/* Window element (r, c) of NNK_LANES outputs in one column, from output row oy on: their
 * values and plane indices, gathered by scalar loads. */
POOL_INLINE NNK_FN(best) NNK_FN(gather)(const pool_geom *g, const NNK_T *restrict x,
                                        int64_t oy, int64_t r, int64_t c)
{
    const int64_t first = (oy * g->stride_h - g->pad_h + r) * g->w + c, step = g->stride_h * g->w;
    NNK_T values[NNK_LANES];
    NNK_INT indices[NNK_LANES];
    for (int k = 0; k < NNK_LANES; k++) {
        indices[k] = (NNK_INT)(first + k * step);
        values[k] = x[first + k * step];
    }
    NNK_FN(best) element;
    memcpy(&element.value, values, sizeof values);
    memcpy(&element.offset, indices, sizeof indices);
    return element;
}

/* Output column ox for output rows [oy0, oy1), oy1 - oy0 >= NNK_LANES, whose windows have
 * all their rows in the input: NNK_LANES output rows at a time, each window element gathered
 * from its rows. One at a time, each window would be a chain of dependent selects. */
POOL_INLINE void NNK_FN(max_column)(const pool_geom *g, const NNK_T *restrict x, int64_t ox,
                                    int64_t oy0, int64_t oy1, NNK_T *restrict y,
                                    int32_t *restrict at)
{
    int64_t x0, x1;
    clip_window(ox, g->stride_w, g->pad_w, g->pool_w, g->w, &x0, &x1);
    for (int64_t oy = oy0;; oy += NNK_LANES) {
        if (oy > oy1 - NNK_LANES)
            oy = oy1 - NNK_LANES;
        NNK_FN(best) best = NNK_FN(gather)(g, x, oy, 0, x0);
        for (int64_t r = 0; r < g->pool_h; r++)
            for (int64_t c = r == 0 ? x0 + 1 : x0; c < x1; c++) {
                NNK_FN(best) later = NNK_FN(gather)(g, x, oy, r, c);
                NNK_FN(combine)(&best, &later.value, &later.offset);
            }
        for (int k = 0; k < NNK_LANES; k++) {
            y[(oy + k) * g->out_w + ox] = best.value[k];
            at[(oy + k) * g->out_w + ox] = (int32_t)best.offset[k];
        }
        if (oy == oy1 - NNK_LANES)
            break;
    }
}

/* Outputs in columns [lo, hi) of every row: by column where enough rows have all their
 * window rows in the input, the rest one at a time. */
POOL_INLINE void NNK_FN(max_columns)(const pool_geom *g, const NNK_T *restrict x, int64_t lo,
                                     int64_t hi, NNK_T *restrict y, int32_t *restrict at)
{
    const int64_t y0 = g->inside_y0, y1 = g->inside_y1, out_w = g->out_w;
    bool by_column = y1 - y0 >= NNK_LANES;
    for (int64_t ox = lo; ox < hi; ox++) {
        if (by_column)
            NNK_FN(max_column)(g, x, ox, y0, y1, y, at);
        for (int64_t oy = 0; oy < g->out_h; oy++)
            if (!by_column || oy < y0 || oy >= y1)
                NNK_FN(max_clipped)(g, x, oy, ox, ox + 1, y + oy * out_w, at + oy * out_w);
    }
}

NNKI_CLONES static void NNK_FN(max_forward_plane)(const pool_geom *g, const NNK_T *restrict x,
                                                  NNK_T *restrict y, int32_t *restrict at)
{
    const int64_t lo = g->inside_x0, hi = g->inside_x1, w = g->w, out_w = g->out_w;
    /* Other windows, and rows with too few outputs for a vector, go by column. */
    if (g->kernel == POOL_GENERIC || hi - lo < NNK_LANES) {
        NNK_FN(max_columns)(g, x, 0, out_w, y, at);
        return;
    }
    NNK_FN(mask) offsets[3][3]; /* r*w + c, for the row loop */
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            NNK_INT broadcast[NNK_LANES];
            for (int k = 0; k < NNK_LANES; k++)
                broadcast[k] = (NNK_INT)r * w + c;
            memcpy(&offsets[r][c], broadcast, sizeof broadcast);
        }
    /* 3x3 windows take the rows with all their window rows in the input down the columns. */
    const int64_t down_y0 = g->kernel == POOL_3X3_S2 ? g->inside_y0 : 0;
    const int64_t down_y1 = g->kernel == POOL_3X3_S2 ? g->inside_y1 : 0;
    if (down_y1 > down_y0) {
        int64_t corner = (down_y0 * 2 - g->pad_h) * w + 2 * lo - g->pad_w;
        NNK_FN(max_3x3_s2_rows)(x, (int32_t)corner, (int32_t)w, out_w, offsets, down_y1 - down_y0,
                                (int32_t)(hi - lo), y + down_y0 * out_w + lo,
                                at + down_y0 * out_w + lo);
    }
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        if (oy >= down_y0 && oy < down_y1)
            continue;
        int64_t y0, y1;
        clip_window(oy, g->stride_h, g->pad_h, g->pool_h, g->h, &y0, &y1);
        /* maxpool_geometry keeps every index of the plane within int32. */
        int64_t corner = y0 * w + 2 * lo - g->pad_w;
        NNK_T *y_row = y + oy * out_w + lo;
        int32_t *at_row = at + oy * out_w + lo;
        /* Separate calls with a constant window, so that each is compiled for its own. */
        if (g->kernel == POOL_2X2_S2)
            NNK_FN(max_s2_row)(x + corner, (int32_t)corner, (int32_t)w, offsets, false, y1 - y0,
                               (int32_t)(hi - lo), y_row, at_row);
        else
            NNK_FN(max_s2_row)(x + corner, (int32_t)corner, (int32_t)w, offsets, true, y1 - y0,
                               (int32_t)(hi - lo), y_row, at_row);
    }
    NNK_FN(max_columns)(g, x, 0, lo, y, at);
    NNK_FN(max_columns)(g, x, hi, out_w, y, at);
}

nnk_status NNK_FN(nnk_maxpool2d_forward)(const nnk_pool2d_desc *desc, const NNK_T *x,
                                         int64_t x_len, NNK_T *y, int64_t y_len,
                                         int32_t *argmax, int64_t argmax_len)
{
    static const char fn[] = "maxpool2d_forward";
    pool_geom g;
    NNKI_TRY(maxpool_geometry(fn, desc, &g));
    NNKI_TRY(nnki_check_tensor(fn, "x", x, x_len, true, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    NNKI_TRY(nnki_check_tensor(fn, "y", y, y_len, true, NNKI_DIMS(g.n, g.c, g.out_h, g.out_w)));
    NNKI_TRY(nnki_check_tensor(fn, "argmax", argmax, argmax_len, true,
                               NNKI_DIMS(g.n, g.c, g.out_h, g.out_w)));
    int threads = plane_threads(&g);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t p = 0; p < g.planes; p++)
        NNK_FN(max_forward_plane)(&g, x + p * g.plane, y + p * g.out_plane,
                                  argmax + p * g.out_plane);
    return NNK_OK;
}

/* dx of a plane that unpadded 2x2 stride-2 windows tile (h = 2*out_h, w = 2*out_w, out_w >=
 * NNK_LANES), each element stored once: its window's dy where it is the window's argmax, 0
 * elsewhere. No zeroing first and no read of dx: zeroing and then adding each dy at its argmax
 * waited on the zeroes' stores, twice the time. Stores 0 + dy, what the zeroed plane plus dy
 * gives (+0 for -0), so the last vector may overlap the one before. Returns false, having
 * written only inside the plane, when an argmax lies outside its own window (argmax comes from
 * the caller): the plane then takes the generic path. */
POOL_INLINE bool NNK_FN(max_backward_tiles)(const pool_geom *g, const NNK_T *restrict dy,
                                            const int32_t *restrict at, NNK_T *restrict dx)
{
    const int64_t w = g->w, ow = g->out_w;
    NNK_FN(mask) missed = {0};
    for (int64_t oy = 0; oy < g->out_h; oy++) {
        NNK_T *top = dx + 2 * oy * w, *bottom = top + w;
        for (int64_t i = 0;; i += NNK_LANES) {
            if (i > ow - NNK_LANES)
                i = ow - NNK_LANES;
            NNK_FN(index) where;
            NNK_FN(vec) v, zero = {0};
            memcpy(&where, at + oy * ow + i, sizeof where);
            memcpy(&v, dy + oy * ow + i, sizeof v);
            v = zero + v;
            /* Each lane's argmax less its window's first element: 0, 1, w or w + 1. */
            const NNK_FN(mask) rel = __builtin_convertvector(where, NNK_FN(mask)) -
                                     (NNK_INT)(2 * oy * w + 2 * i) - 2 * NNK_FN(lanes);
            const NNK_FN(mask) bits = (NNK_FN(mask))v, m00 = rel == 0, m01 = rel == 1,
                               m10 = rel == (NNK_INT)w, m11 = rel == (NNK_INT)(w + 1);
            missed |= ~(m00 | m01 | m10 | m11);
            const NNK_FN(vec) e0 = (NNK_FN(vec))(bits & m00), o0 = (NNK_FN(vec))(bits & m01);
            const NNK_FN(vec) e1 = (NNK_FN(vec))(bits & m10), o1 = (NNK_FN(vec))(bits & m11);
            /* Even and odd columns interleaved into two vectors of each row. */
            const NNK_FN(vec) t0 = __builtin_shufflevector(e0, o0, NNK_ZIP_LOW);
            const NNK_FN(vec) t1 = __builtin_shufflevector(e0, o0, NNK_ZIP_HIGH);
            const NNK_FN(vec) b0 = __builtin_shufflevector(e1, o1, NNK_ZIP_LOW);
            const NNK_FN(vec) b1 = __builtin_shufflevector(e1, o1, NNK_ZIP_HIGH);
            memcpy(top + 2 * i, &t0, sizeof t0);
            memcpy(top + 2 * i + NNK_LANES, &t1, sizeof t1);
            memcpy(bottom + 2 * i, &b0, sizeof b0);
            memcpy(bottom + 2 * i + NNK_LANES, &b1, sizeof b1);
            if (i == ow - NNK_LANES)
                break;
        }
    }
    NNK_INT any = 0;
    for (int k = 0; k < NNK_LANES; k++)
        any |= missed[k];
    return any == 0;
}

/* Zeroes dx and adds each dy at its argmax, checking each entry just before its write.
 * Returns the position in the plane of the first entry outside [0, h*w), which ends the
 * plane, or -1. Planes that 2x2 windows tile go through max_backward_tiles first. The scatter
 * is most of the time of overlapping windows (pool_overlap: 0.27 of 0.33 ms), about two cycles
 * an output rolled; unrolled by 4, 0.87-0.91x (8: the same). */
NNKI_CLONES static int64_t NNK_FN(max_backward_plane)(const pool_geom *g,
                                                      const NNK_T *restrict dy,
                                                      const int32_t *restrict at,
                                                      NNK_T *restrict dx)
{
    const bool tiles = g->kernel == POOL_2X2_S2 && g->pad_h == 0 && g->pad_w == 0 &&
                       g->h == 2 * g->out_h && g->w == 2 * g->out_w && g->out_w >= NNK_LANES;
    if (tiles && NNK_FN(max_backward_tiles)(g, dy, at, dx))
        return -1;
    memset(dx, 0, (size_t)g->plane * sizeof *dx);
    const uint32_t plane = (uint32_t)g->plane;
#pragma GCC unroll 4
    for (int64_t o = 0; o < g->out_plane; o++) {
        /* A negative entry wraps to a huge unsigned value. */
        if ((uint32_t)at[o] >= plane)
            return o;
        dx[at[o]] += dy[o];
    }
    return -1;
}

/* On an out-of-range argmax entry the call fails having written only inside dx, but dx is
 * then partly written: the planes before the bad entry's, and others that other threads
 * finished. The message names the first bad entry, whatever the thread count. */
nnk_status NNK_FN(nnk_maxpool2d_backward)(const nnk_pool2d_desc *desc, const NNK_T *dy,
                                          int64_t dy_len, const int32_t *argmax,
                                          int64_t argmax_len, NNK_T *dx, int64_t dx_len)
{
    static const char fn[] = "maxpool2d_backward";
    pool_geom g;
    NNKI_TRY(maxpool_geometry(fn, desc, &g));
    NNKI_TRY(nnki_check_tensor(fn, "dy", dy, dy_len, true, NNKI_DIMS(g.n, g.c, g.out_h, g.out_w)));
    NNKI_TRY(nnki_check_tensor(fn, "argmax", argmax, argmax_len, true,
                               NNKI_DIMS(g.n, g.c, g.out_h, g.out_w)));
    NNKI_TRY(nnki_check_tensor(fn, "dx", dx, dx_len, true, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    int threads = plane_threads(&g);
    int64_t bad = g.y_len;
    /* The message is set after the loop: it is thread-local, and a worker's would be lost. */
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static) \
    reduction(min : bad)
    for (int64_t p = 0; p < g.planes; p++) {
        int64_t o = NNK_FN(max_backward_plane)(&g, dy + p * g.out_plane,
                                               argmax + p * g.out_plane, dx + p * g.plane);
        if (o >= 0)
            bad = nnki_min(bad, p * g.out_plane + o);
    }
    if (bad < g.y_len)
        return nnki_set_error(NNK_ERROR_INVALID_ARGUMENT,
                              "%s: argmax[%" PRId64 "] = %" PRId32
                              " is outside its input plane of %" PRId64 " elements (h*w = %" PRId64
                              "*%" PRId64 ")",
                              fn, bad, argmax[bad], g.plane, g.h, g.w);
    return NNK_OK;
}

/* ---- Average pooling ---------------------------------------------------------------------- */

/* Outputs [lo, hi) of output row oy, summed from zero in window order. */
POOL_INLINE void NNK_FN(avg_clipped)(const pool_geom *g, const NNK_T *restrict x, int64_t oy,
                                     int64_t lo, int64_t hi, NNK_T *restrict y)
{
    const NNK_T area = (NNK_T)g->area;
    int64_t y0, y1;
    clip_window(oy, g->stride_h, g->pad_h, g->pool_h, g->h, &y0, &y1);
    for (int64_t ox = lo; ox < hi; ox++) {
        int64_t x0, x1;
        clip_window(ox, g->stride_w, g->pad_w, g->pool_w, g->w, &x0, &x1);
        NNK_T sum = 0;
        for (int64_t iy = y0; iy < y1; iy++)
            for (int64_t ix = x0; ix < x1; ix++)
                sum += x[iy * g->w + ix];
        y[ox] = sum / area;
    }
}

/* count >= NNK_LANES outputs of 2x2 stride-2 windows with rows (1 or 2) real rows, from top
 * on; like max_s2_row, with the sum from zero in window order. */
POOL_INLINE void NNK_FN(avg_2x2_row)(const NNK_T *restrict top, int64_t w, int64_t rows,
                                     int64_t count, NNK_T *restrict y)
{
    for (int64_t i = 0;; i += NNK_LANES) {
        if (i > count - NNK_LANES)
            i = count - NNK_LANES;
        NNK_FN(vec) sum = {0}, left, right;
        for (int64_t r = 0; r < rows; r++) {
            NNK_FN(deinterleave)(top + r * w + 2 * i, &left, &right);
            sum = sum + left + right;
        }
        NNK_FN(vec) mean = sum / (NNK_T)4;
        mean = __builtin_shufflevector(mean, mean, NNK_WINDOW_ORDER);
        memcpy(y + i, &mean, sizeof mean);
        if (i == count - NNK_LANES)
            break;
    }
}

NNKI_CLONES static void NNK_FN(avg_forward_plane)(const pool_geom *g, const NNK_T *restrict x,
                                                  NNK_T *restrict y)
{
    const int64_t lo = g->inside_x0, hi = g->inside_x1, w = g->w;
    const bool vector = g->kernel == POOL_2X2_S2 && hi - lo >= NNK_LANES;
    for (int64_t oy = 0; oy < g->out_h; oy++, y += g->out_w) {
        if (!vector) {
            NNK_FN(avg_clipped)(g, x, oy, 0, g->out_w, y);
            continue;
        }
        int64_t y0, y1;
        clip_window(oy, g->stride_h, g->pad_h, g->pool_h, g->h, &y0, &y1);
        NNK_FN(avg_clipped)(g, x, oy, 0, lo, y);
        NNK_FN(avg_2x2_row)(x + y0 * w + 2 * lo - g->pad_w, w, y1 - y0, hi - lo, y + lo);
        NNK_FN(avg_clipped)(g, x, oy, hi, g->out_w, y);
    }
}

nnk_status NNK_FN(nnk_avgpool2d_forward)(const nnk_pool2d_desc *desc, const NNK_T *x,
                                         int64_t x_len, NNK_T *y, int64_t y_len)
{
    static const char fn[] = "avgpool2d_forward";
    pool_geom g;
    NNKI_TRY(pool_geometry(fn, desc, &g));
    NNKI_TRY(nnki_check_tensor(fn, "x", x, x_len, true, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    NNKI_TRY(nnki_check_tensor(fn, "y", y, y_len, true, NNKI_DIMS(g.n, g.c, g.out_h, g.out_w)));
    int threads = plane_threads(&g);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t p = 0; p < g.planes; p++)
        NNK_FN(avg_forward_plane)(&g, x + p * g.plane, y + p * g.out_plane);
    return NNK_OK;
}

/* Outputs [lo, hi) of output row oy: each share is added to the window clipped to the input.
 * dy points at the start of the row. */
POOL_INLINE void NNK_FN(avg_spread_clipped)(const pool_geom *g, const NNK_T *restrict dy,
                                            int64_t oy, int64_t lo, int64_t hi,
                                            NNK_T *restrict dx)
{
    const NNK_T area = (NNK_T)g->area;
    int64_t y0, y1;
    clip_window(oy, g->stride_h, g->pad_h, g->pool_h, g->h, &y0, &y1);
    for (int64_t ox = lo; ox < hi; ox++) {
        int64_t x0, x1;
        clip_window(ox, g->stride_w, g->pad_w, g->pool_w, g->w, &x0, &x1);
        NNK_T share = dy[ox] / area;
        for (int64_t iy = y0; iy < y1; iy++)
            for (int64_t ix = x0; ix < x1; ix++)
                dx[iy * g->w + ix] += share;
    }
}

/* count >= NNK_LANES outputs of 2x2 stride-2 windows with rows (1 or 2) real rows, from top
 * on. These windows overlap no other, so each element receives one share, stored rather than
 * added; it is stored as 0 + share, what the generic path's zeroed dx plus share gives (+0
 * for a share of -0), so that the last vector may overlap the one before. */
POOL_INLINE void NNK_FN(avg_spread_2x2_row)(const NNK_T *restrict dy, int64_t count, int64_t w,
                                            int64_t rows, NNK_T *restrict top)
{
    for (int64_t i = 0;; i += NNK_LANES) {
        if (i > count - NNK_LANES)
            i = count - NNK_LANES;
        NNK_FN(vec) share, zero = {0};
        memcpy(&share, dy + i, sizeof share);
        share = zero + share / (NNK_T)4;
        /* Each share twice in a row: lanes 0 0 1 1 ... of share, then the upper half's. */
        NNK_FN(vec) low = __builtin_shufflevector(share, share, NNK_LOW_PAIRS);
        NNK_FN(vec) high = __builtin_shufflevector(share, share, NNK_HIGH_PAIRS);
        for (int64_t r = 0; r < rows; r++) {
            memcpy(top + r * w + 2 * i, &low, sizeof low);
            memcpy(top + r * w + 2 * i + NNK_LANES, &high, sizeof high);
        }
        if (i == count - NNK_LANES)
            break;
    }
}

NNKI_CLONES static void NNK_FN(avg_backward_plane)(const pool_geom *g, const NNK_T *restrict dy,
                                                   NNK_T *restrict dx)
{
    const int64_t lo = g->inside_x0, hi = g->inside_x1, w = g->w;
    const bool vector = g->kernel == POOL_2X2_S2 && hi - lo >= NNK_LANES;
    /* Unpadded 2x2 windows tiling an even plane store every element of dx once: no zeroing. */
    const bool tiles_plane = vector && lo == 0 && hi == g->out_w && g->pad_h == 0 &&
                             g->pad_w == 0 && g->h == 2 * g->out_h && g->w == 2 * g->out_w;
    if (!tiles_plane)
        memset(dx, 0, (size_t)g->plane * sizeof *dx);
    for (int64_t oy = 0; oy < g->out_h; oy++, dy += g->out_w) {
        if (!vector) {
            NNK_FN(avg_spread_clipped)(g, dy, oy, 0, g->out_w, dx);
            continue;
        }
        int64_t y0, y1;
        clip_window(oy, g->stride_h, g->pad_h, g->pool_h, g->h, &y0, &y1);
        NNK_FN(avg_spread_clipped)(g, dy, oy, 0, lo, dx);
        NNK_FN(avg_spread_2x2_row)(dy + lo, hi - lo, w, y1 - y0, dx + y0 * w + 2 * lo - g->pad_w);
        NNK_FN(avg_spread_clipped)(g, dy, oy, hi, g->out_w, dx);
    }
}

nnk_status NNK_FN(nnk_avgpool2d_backward)(const nnk_pool2d_desc *desc, const NNK_T *dy,
                                          int64_t dy_len, NNK_T *dx, int64_t dx_len)
{
    static const char fn[] = "avgpool2d_backward";
    pool_geom g;
    NNKI_TRY(pool_geometry(fn, desc, &g));
    NNKI_TRY(nnki_check_tensor(fn, "dy", dy, dy_len, true, NNKI_DIMS(g.n, g.c, g.out_h, g.out_w)));
    NNKI_TRY(nnki_check_tensor(fn, "dx", dx, dx_len, true, NNKI_DIMS(g.n, g.c, g.h, g.w)));
    int threads = plane_threads(&g);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t p = 0; p < g.planes; p++)
        NNK_FN(avg_backward_plane)(&g, dy + p * g.out_plane, dx + p * g.plane);
    return NNK_OK;
}
