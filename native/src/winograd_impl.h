/*
 * winograd_impl.h - Winograd F(2x2, 3x3) convolution for one element type. winograd.c includes
 * it once per type with NNK_T (float or double) and NNK_SUFFIX (f32 or f64) defined.
 *
 * Every 2x2 block of outputs (a tile) is y = A^T [ sum over ci of (G g G^T) .* (B^T d B) ] A,
 * with d the tile's 4x4 input patch and g a 3x3 filter: 16 multiplications where the direct
 * convolution makes 36. Written as matrices, for each of the 16 positions xi of the 4x4
 * transformed tile:  M[xi] (cout x tiles) = U[xi] (cout x cin) * V[xi] (cin x tiles),  one
 * gemm per position, with U the transformed filters and V the transformed patches.
 *
 * The weight gradient follows from y being linear in U: dU[xi] = sum over tiles of
 * (A dY A^T)[xi] * V[xi], that is dU[xi] (cout x cin) = dM[xi] (cout x tiles) * V[xi]^T with dM
 * the transformed 2x2 tiles of dy, and dw = G^T dU G.
 *
 * Tiles run in blocks of wino->block (counting across images, row-major within an image); a
 * thread transforms its block's patches into V, runs the 16 gemms into M and transforms M
 * back into the block's outputs, so V and M stay in its L2.
 */

/* U[xi][co][ci] = G g G^T, g the 3x3 filter from input channel ci to output channel co. For
 * the forward pass g = w[co][ci]; for the input gradient (flipped) g = w[ci][co] rotated by
 * 180 degrees, w being (cin x cout x 3 x 3) then. */
static void NNK_FN(filter_transform)(const wino_geom *wg, const NNK_T *restrict w, bool flipped,
                                     NNK_T *restrict u)
{
    const int64_t plane = wg->cout * wg->cin;
    for (int64_t co = 0; co < wg->cout; co++)
        for (int64_t ci = 0; ci < wg->cin; ci++) {
            NNK_T g[3][3];
            for (int r = 0; r < 3; r++)
                for (int s = 0; s < 3; s++)
                    g[r][s] = flipped ? w[(ci * wg->cout + co) * 9 + (2 - r) * 3 + (2 - s)]
                                      : w[(co * wg->cin + ci) * 9 + r * 3 + s];
            NNK_T t[4][3];
            for (int s = 0; s < 3; s++) {
                t[0][s] = g[0][s];
                t[1][s] = (NNK_T)0.5 * (g[0][s] + g[1][s] + g[2][s]);
                t[2][s] = (NNK_T)0.5 * (g[0][s] - g[1][s] + g[2][s]);
                t[3][s] = g[2][s];
            }
            NNK_T *to = u + co * wg->cin + ci;
            for (int r = 0; r < 4; r++) {
                to[(r * 4 + 0) * plane] = t[r][0];
                to[(r * 4 + 1) * plane] = (NNK_T)0.5 * (t[r][0] + t[r][1] + t[r][2]);
                to[(r * 4 + 2) * plane] = (NNK_T)0.5 * (t[r][0] - t[r][1] + t[r][2]);
                to[(r * 4 + 3) * plane] = t[r][2];
            }
        }
}

/* One vector of the transforms: a strip of up to WINO_LANES tiles, one tile a lane. GCC's
 * generic vectors, which the x86-64-v4 clone compiles to zmm instructions; shuffles name
 * their lanes as constants (__builtin_shufflevector), so that clang builds them too. Vectors
 * are passed by pointer: by value their ABI differs between the clones (GCC's -Wpsabi). */
typedef NNK_T NNK_FN(wvec) __attribute__((vector_size(WINO_LANES * sizeof(NNK_T))));
/* Lanes of NNK_INT, as wide as NNK_T: comparison masks (0 or -1). */
typedef NNK_INT NNK_FN(wmask) __attribute__((vector_size(WINO_LANES * sizeof(NNK_INT))));

/* The first count lanes of *vec to memory; a whole vector is one move. */
static inline __attribute__((always_inline)) void
NNK_FN(store_lanes)(NNK_T *restrict to, const NNK_FN(wvec) *vec, int64_t count)
{
    if (count == WINO_LANES)
        memcpy(to, vec, sizeof *vec);
    else if (count > 0)
        memcpy(to, vec, (size_t)count * sizeof(NNK_T));
}

/* Zeroes lanes `inside` and on of the pair (*a, *b): 2*WINO_LANES elements of a row that were
 * read on past its end. */
static inline __attribute__((always_inline)) void
NNK_FN(zero_past)(NNK_FN(wvec) *a, NNK_FN(wvec) *b, int64_t inside)
{
    const NNK_FN(wmask) lanes = {WINO_LANE_ORDER};
    *a = (NNK_FN(wvec))((NNK_FN(wmask))*a & (lanes < (NNK_INT)inside));
    *b = (NNK_FN(wvec))((NNK_FN(wmask))*b & (lanes < (NNK_INT)(inside - WINO_LANES)));
}

/* Whether a whole vector at offset `at` of one of V's, M's or dM's 16 planes (each `plane`
 * long) stays within it: then the transforms store (or read) whole vectors there, past a
 * strip's last tile, where a later strip overwrites them (or nothing uses them). */
static inline bool NNK_FN(whole_vector)(int64_t at, int64_t plane)
{
    return at + WINO_LANES <= plane;
}

/* Columns x0 + [0, 2*WINO_LANES + 2) of input row iy of image plane p, zero outside the
 * image: the first 2*WINO_LANES in *a and *b, the last two in (*c)[0] and (*c)[1]. A row
 * that starts at most 2 columns left of the image loads straight into registers: the left
 * padding shifts in, and columns past the image's right edge, read from the rows after it
 * (up to x_end, the end of x), are masked to zero. Others go through a zeroed buffer. */
static inline __attribute__((always_inline)) void
NNK_FN(patch_row)(const wino_geom *wg, const NNK_T *restrict p, const NNK_T *x_end, int64_t iy,
                  int64_t x0, NNK_FN(wvec) *a, NNK_FN(wvec) *b, NNK_FN(wvec) *c)
{
    const NNK_FN(wvec) zero = {0};
    if ((uint64_t)iy >= (uint64_t)wg->in_h) {
        *a = *b = *c = zero;
        return;
    }
    const NNK_T *row = p + iy * wg->in_w + x0;
    const int64_t end = x0 + 2 * WINO_LANES;
    if (x0 >= -2 && x_end - row >= 2 * WINO_LANES) {
        NNK_FN(wvec) first;
        memcpy(&first, row - nnki_min(x0, 0), sizeof first);
        *a = x0 >= 0    ? first
             : x0 == -1 ? __builtin_shufflevector(zero, first, WINO_SHIFT_1)
                        : __builtin_shufflevector(zero, first, WINO_SHIFT_2);
        memcpy(b, row + WINO_LANES, sizeof *b);
        if (end > wg->in_w)
            NNK_FN(zero_past)(a, b, wg->in_w - x0);
        *c = (NNK_FN(wvec)){end < wg->in_w ? row[2 * WINO_LANES] : 0,
                            end + 1 < wg->in_w ? row[2 * WINO_LANES + 1] : 0};
        return;
    }
    const int64_t width = 2 * WINO_LANES + 2;
    NNK_T buffer[3 * WINO_LANES] = {0};
    const int64_t lo = nnki_min(width, nnki_max(0, -x0));
    const int64_t hi = nnki_max(lo, nnki_min(width, wg->in_w - x0));
    for (int64_t j = lo; j < hi; j++)
        buffer[j] = row[j];
    memcpy(a, buffer, sizeof *a);
    memcpy(b, buffer + WINO_LANES, sizeof *b);
    memcpy(c, buffer + 2 * WINO_LANES, sizeof *c);
}

/* Asks for the cache lines of patch_row's rows of a strip ahead of their use. The planes of x
 * lie a page or more apart, where the hardware's prefetcher starts cold, and the strip's
 * rows are too short for it to get going. */
static inline __attribute__((always_inline)) void
NNK_FN(prefetch_patch)(const wino_geom *wg, const NNK_T *p, int64_t ty, int64_t x0)
{
    const int64_t lo = nnki_max(x0, 0), hi = nnki_min(x0 + 2 * WINO_LANES + 2, wg->in_w);
    const int64_t step = 64 / (int64_t)sizeof(NNK_T);
    for (int r = 0; r < 4; r++) {
        const int64_t iy = 2 * ty - wg->pad_h + r;
        if ((uint64_t)iy >= (uint64_t)wg->in_h)
            continue;
        for (int64_t j = lo; j < hi; j += step)
            __builtin_prefetch(p + iy * wg->in_w + j);
        if (lo < hi)
            __builtin_prefetch(p + iy * wg->in_w + hi - 1);
    }
}

/* B^T d's rows from d's: applied to whole vectors of tiles. */
static inline __attribute__((always_inline)) void NNK_FN(input_rows)(NNK_FN(wvec) d[4])
{
    const NNK_FN(wvec) d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3];
    d[0] = d0 - d2;
    d[1] = d1 + d2;
    d[2] = d2 - d1;
    d[3] = d1 - d3;
}

/* V[xi][k + j] = B^T d B for the tiles (ty, tx0 + j), j < count <= WINO_LANES, of one image
 * plane p, xi's rows plane apart. Tile j's 4x4 patch starts at column 2j: the patch rows
 * split into even and odd columns (e, o) and the same shifted by one tile (e1, o1), all in
 * registers; then B^T's row combinations and B's column ones, lane by lane. With spill, the
 * lanes past count are stored too, garbage that a later strip overwrites. */
static inline __attribute__((always_inline)) void
NNK_FN(input_strip)(const wino_geom *wg, const NNK_T *restrict p, const NNK_T *x_end,
                    wino_strip st, bool spill, NNK_T *restrict v, int64_t plane)
{
    NNK_FN(wvec) e[4], o[4], e1[4], o1[4];
    for (int r = 0; r < 4; r++) {
        NNK_FN(wvec) a, b, c;
        NNK_FN(patch_row)(wg, p, x_end, 2 * st.ty - wg->pad_h + r, 2 * st.tx0 - wg->pad_w, &a,
                          &b, &c);
        e[r] = __builtin_shufflevector(a, b, WINO_EVEN);
        o[r] = __builtin_shufflevector(a, b, WINO_ODD);
        e1[r] = __builtin_shufflevector(e[r], c, WINO_NEXT_EVEN);
        o1[r] = __builtin_shufflevector(o[r], c, WINO_NEXT_ODD);
    }
    NNK_FN(input_rows)(e);
    NNK_FN(input_rows)(o);
    NNK_FN(input_rows)(e1);
    NNK_FN(input_rows)(o1);
    const int64_t stored = spill ? WINO_LANES : st.count;
    for (int r = 0; r < 4; r++) {
        const NNK_FN(wvec) out[4] = {e[r] - e1[r], o[r] + e1[r], e1[r] - o[r], o[r] - o1[r]};
        for (int s = 0; s < 4; s++)
            NNK_FN(store_lanes)(v + (r * 4 + s) * plane, &out[s], stored);
    }
}

/* V[xi][ci][k] = B^T d B for the tiles [t0, t0 + count) and every input channel, d the tile's
 * 4x4 patch of x with zeros outside the image. Channel by channel, so that each plane of x is
 * read in order; strips in order, so that a whole vector stored past a strip's last tile is
 * overwritten by the next strip or the next channel's row. Only where that would cross into
 * the next xi (the plane's last row) are partial strips stored lane by lane. */
static WINO_CLONES void NNK_FN(input_transform)(const wino_geom *wg, const NNK_T *restrict x,
                                                int64_t t0, int64_t count, NNK_T *restrict v)
{
    const int64_t plane = wg->cin * count, in_hw = wg->in_h * wg->in_w;
    const NNK_T *x_end = x + wg->n * wg->cin * in_hw;
    for (int64_t ci = 0; ci < wg->cin; ci++) {
        wino_strip st;
        for (int64_t k = 0; k < count; k += st.count) {
            st = wino_strip_at(wg, t0 + k, count - k, WINO_LANES);
            const NNK_T *p = x + (st.i * wg->cin + ci) * in_hw;
            if (ci + 1 < wg->cin)
                NNK_FN(prefetch_patch)(wg, p + in_hw, st.ty, 2 * st.tx0 - wg->pad_w);
            if (NNK_FN(whole_vector)(ci * count + k, plane))
                NNK_FN(input_strip)(wg, p, x_end, st, true, v + ci * count + k, plane);
            else
                NNK_FN(input_strip)(wg, p, x_end, st, false, v + ci * count + k, plane);
        }
    }
}

/* One output channel's part of a strip of y = A^T M A (+ b): the 16 rows of M (plane apart)
 * combine into two output rows of 2*count columns, each a vector of even and one of odd
 * columns, interleaved into `to`; rows and cols crop them where out_h or out_w is odd. With
 * overread, M is read a whole vector at a time, past the strip's last tile (the lanes there
 * are not stored). */
static inline __attribute__((always_inline)) void
NNK_FN(output_strip)(const wino_geom *wg, const NNK_T *restrict m, int64_t plane, int64_t count,
                     bool overread, NNK_T b, int64_t rows, int64_t cols, NNK_T *restrict to)
{
    NNK_FN(wvec) e[16];
    for (int xi = 0; xi < 16; xi++) {
        if (overread) {
            memcpy(&e[xi], m + xi * plane, sizeof e[xi]);
        } else {
            NNK_T buffer[WINO_LANES] = {0};
            memcpy(buffer, m + xi * plane, (size_t)count * sizeof(NNK_T));
            memcpy(&e[xi], buffer, sizeof e[xi]);
        }
    }
    /* A^T M: two rows of 4 per tile; then A: even and odd output columns. */
    NNK_FN(wvec) t[2][4];
    for (int s = 0; s < 4; s++) {
        t[0][s] = e[s] + e[4 + s] + e[8 + s];
        t[1][s] = e[4 + s] - e[8 + s] - e[12 + s];
    }
    for (int64_t r = 0; r < rows; r++) {
        const NNK_FN(wvec) even = t[r][0] + t[r][1] + t[r][2] + b;
        const NNK_FN(wvec) odd = t[r][1] - t[r][2] - t[r][3] + b;
        const NNK_FN(wvec) low = __builtin_shufflevector(even, odd, WINO_LOW_PAIRS);
        const NNK_FN(wvec) high = __builtin_shufflevector(even, odd, WINO_HIGH_PAIRS);
        /* Exactly cols columns: y's next row may be another block's. An odd out_w leaves the
         * last tile's odd column out. */
        NNK_T *row = to + r * wg->out_w;
        NNK_FN(store_lanes)(row, &low, nnki_min(cols, WINO_LANES));
        NNK_FN(store_lanes)(row + WINO_LANES, &high, nnki_max(cols - WINO_LANES, 0));
    }
}

/* y's tiles [t0, t0 + count) = A^T M A (+ bias), channel by channel, so that each plane of y
 * is written in order; M is read a whole vector at a time except past its end. */
static WINO_CLONES void NNK_FN(output_transform)(const wino_geom *wg, const NNK_T *restrict m,
                                                 int64_t t0, int64_t count,
                                                 const NNK_T *restrict bias, NNK_T *restrict y)
{
    const int64_t plane = wg->cout * count, out_hw = wg->out_h * wg->out_w;
    for (int64_t co = 0; co < wg->cout; co++) {
        const NNK_T b = bias != NULL ? bias[co] : 0;
        wino_strip st;
        for (int64_t k = 0; k < count; k += st.count) {
            st = wino_strip_at(wg, t0 + k, count - k, WINO_LANES);
            const int64_t oy = 2 * st.ty, ox = 2 * st.tx0;
            const int64_t rows = nnki_min(2, wg->out_h - oy);
            const int64_t cols = nnki_min(2 * st.count, wg->out_w - ox);
            NNK_T *to = y + (st.i * wg->cout + co) * out_hw + oy * wg->out_w + ox;
            if (NNK_FN(whole_vector)(co * count + k, plane))
                NNK_FN(output_strip)(wg, m + co * count + k, plane, st.count, true, b, rows,
                                     cols, to);
            else
                NNK_FN(output_strip)(wg, m + co * count + k, plane, st.count, false, b, rows,
                                     cols, to);
        }
    }
}

/* y (n, cout, out_h, out_w) = the convolution of x (n, cin, in_h, in_w) by the filters whose
 * transforms are in workspace[0, 16*cout*cin) (wino_prepare), plus bias when not NULL. The
 * rest of the workspace holds each thread's V and M. */
static int NNK_FN(wino_run)(const wino_geom *wg, const NNK_T *x, const NNK_T *bias, NNK_T *y,
                            NNK_T *workspace, int threads)
{
    const NNK_T *u = workspace;
    const int64_t blocks = (wg->tiles + wg->block - 1) / wg->block;
    int status = NNK_OK;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static) \
    reduction(max : status)
    for (int64_t bi = 0; bi < blocks; bi++) {
        NNK_T *v = workspace + wg->filters + omp_get_thread_num() * wg->share;
        NNK_T *m = v + 16 * wg->cin * wg->block;
        const int64_t t0 = bi * wg->block, count = nnki_min(wg->block, wg->tiles - t0);
        NNK_FN(input_transform)(wg, x, t0, count, v);
        for (int xi = 0; xi < 16; xi++) {
            int s = NNK_FN(nnki_gemm)(false, false, wg->cout, count, wg->cin, 1,
                                      u + xi * wg->cout * wg->cin, wg->cin,
                                      v + xi * wg->cin * count, count, 0,
                                      m + xi * wg->cout * count, count);
            status = s > status ? s : status;
        }
        NNK_FN(output_transform)(wg, m, t0, count, bias, y);
    }
    return status;
}

nnk_status NNK_FN(nnki_winograd_forward)(const nnki_conv_geom *g, const NNK_T *x,
                                         const NNK_T *w, const NNK_T *b, NNK_T *y,
                                         NNK_T *workspace, int threads)
{
    wino_geom wg = wino_geometry(g, NNKI_WINO_FORWARD);
    NNK_FN(filter_transform)(&wg, w, false, workspace);
    return (nnk_status)NNK_FN(wino_run)(&wg, x, b, y, workspace, threads);
}

nnk_status NNK_FN(nnki_winograd_backward_data)(const nnki_conv_geom *g, const NNK_T *w,
                                               const NNK_T *dy, NNK_T *dx, NNK_T *workspace,
                                               int threads)
{
    wino_geom wg = wino_geometry(g, NNKI_WINO_INPUT_GRADIENT);
    NNK_FN(filter_transform)(&wg, w, true, workspace);
    return (nnk_status)NNK_FN(wino_run)(&wg, dy, NULL, dx, workspace, threads);
}

/* Columns x0 + [0, 2*WINO_LANES) of row oy of dy's plane p (shaped as y), zero past out_w
 * or out_h, split into even (*e) and odd (*o) columns: read whole, the columns past the
 * image masked, unless that read would pass end (the end of dy). */
static inline __attribute__((always_inline)) void
NNK_FN(gradient_row)(const wino_geom *wg, const NNK_T *restrict p, const NNK_T *end, int64_t oy,
                     int64_t x0, NNK_FN(wvec) *e, NNK_FN(wvec) *o)
{
    if (oy >= wg->out_h) {
        *e = *o = (NNK_FN(wvec)){0};
        return;
    }
    const NNK_T *row = p + oy * wg->out_w + x0;
    const int64_t inside = wg->out_w - x0;
    NNK_FN(wvec) a, b;
    if (end - row >= 2 * WINO_LANES) {
        memcpy(&a, row, sizeof a);
        memcpy(&b, row + WINO_LANES, sizeof b);
        if (inside < 2 * WINO_LANES)
            NNK_FN(zero_past)(&a, &b, inside);
    } else {
        NNK_T buffer[2 * WINO_LANES] = {0};
        for (int64_t j = 0; j < nnki_min(inside, 2 * WINO_LANES); j++)
            buffer[j] = row[j];
        memcpy(&a, buffer, sizeof a);
        memcpy(&b, buffer + WINO_LANES, sizeof b);
    }
    *e = __builtin_shufflevector(a, b, WINO_EVEN);
    *o = __builtin_shufflevector(a, b, WINO_ODD);
}

/* dM[xi][co][k] = A dY A^T for the tiles [t0, t0 + count) of dy (shaped as the forward pass's
 * y) and every output channel, dY the tile's 2x2 gradient, zero where the tile overhangs an odd
 * out_h or out_w: a vector of tiles at a time, the tiles' even and odd columns, then the row
 * combinations (dY0, dY0 + dY1, dY0 - dY1, -dY1) and the column ones. Channel by channel and
 * strips in order, storing whole vectors where input_transform does. */
static WINO_CLONES void NNK_FN(gradient_transform)(const wino_geom *wg, const NNK_T *restrict dy,
                                                   int64_t t0, int64_t count,
                                                   NNK_T *restrict dm)
{
    const int64_t plane = wg->cout * count, out_hw = wg->out_h * wg->out_w;
    const NNK_T *dy_end = dy + wg->n * wg->cout * out_hw;
    for (int64_t co = 0; co < wg->cout; co++) {
        wino_strip st;
        for (int64_t k = 0; k < count; k += st.count) {
            st = wino_strip_at(wg, t0 + k, count - k, WINO_LANES);
            const NNK_T *p = dy + (st.i * wg->cout + co) * out_hw;
            NNK_FN(wvec) e0, o0, e1, o1;
            NNK_FN(gradient_row)(wg, p, dy_end, 2 * st.ty, 2 * st.tx0, &e0, &o0);
            NNK_FN(gradient_row)(wg, p, dy_end, 2 * st.ty + 1, 2 * st.tx0, &e1, &o1);
            const NNK_FN(wvec) e[4] = {e0, e0 + e1, e0 - e1, -e1};
            const NNK_FN(wvec) o[4] = {o0, o0 + o1, o0 - o1, -o1};
            const int64_t stored =
                NNK_FN(whole_vector)(co * count + k, plane) ? WINO_LANES : st.count;
            NNK_T *to = dm + co * count + k;
            for (int r = 0; r < 4; r++) {
                const NNK_FN(wvec) out[4] = {e[r], e[r] + o[r], e[r] - o[r], -o[r]};
                for (int s = 0; s < 4; s++)
                    NNK_FN(store_lanes)(to + (r * 4 + s) * plane, &out[s], stored);
            }
        }
    }
}

/* dw[co][ci] = G^T dU G, dU[xi][co][ci] the summed transformed gradient. */
static void NNK_FN(filter_gradient_transform)(const wino_geom *wg, const NNK_T *restrict du,
                                              NNK_T *restrict dw)
{
    const int64_t plane = wg->cout * wg->cin;
    for (int64_t co = 0; co < wg->cout; co++)
        for (int64_t ci = 0; ci < wg->cin; ci++) {
            const NNK_T *from = du + co * wg->cin + ci;
            NNK_T u[4][4], t[3][4];
            for (int xi = 0; xi < 16; xi++)
                u[xi / 4][xi % 4] = from[xi * plane];
            for (int s = 0; s < 4; s++) {
                t[0][s] = u[0][s] + (NNK_T)0.5 * (u[1][s] + u[2][s]);
                t[1][s] = (NNK_T)0.5 * (u[1][s] - u[2][s]);
                t[2][s] = (NNK_T)0.5 * (u[1][s] + u[2][s]) + u[3][s];
            }
            NNK_T *to = dw + (co * wg->cin + ci) * 9;
            for (int r = 0; r < 3; r++) {
                to[r * 3 + 0] = t[r][0] + (NNK_T)0.5 * (t[r][1] + t[r][2]);
                to[r * 3 + 1] = (NNK_T)0.5 * (t[r][1] - t[r][2]);
                to[r * 3 + 2] = (NNK_T)0.5 * (t[r][1] + t[r][2]) + t[r][3];
            }
        }
}

/* dw (f, c, 3, 3) = the weight gradient of dy for input x. Thread t sums its blocks' dU in its
 * own slice of the workspace (dU, then V and dM); the slices are added in thread order at the
 * end, so the result is the same for a given thread count. */
nnk_status NNK_FN(nnki_winograd_backward_filter)(const nnki_conv_geom *g, const NNK_T *x,
                                                 const NNK_T *dy, NNK_T *dw, NNK_T *workspace,
                                                 int threads)
{
    wino_geom wg = wino_geometry(g, NNKI_WINO_WEIGHT_GRADIENT);
    const int64_t each = wg.filters + wg.share;
    const int64_t blocks = (wg.tiles + wg.block - 1) / wg.block;
    for (int t = 0; t < threads; t++)
        memset(workspace + t * each, 0, (size_t)wg.filters * sizeof *workspace);
    int status = NNK_OK;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static) \
    reduction(max : status)
    for (int64_t bi = 0; bi < blocks; bi++) {
        NNK_T *du = workspace + omp_get_thread_num() * each, *v = du + wg.filters;
        NNK_T *dm = v + 16 * wg.cin * wg.block;
        const int64_t t0 = bi * wg.block, count = nnki_min(wg.block, wg.tiles - t0);
        NNK_FN(input_transform)(&wg, x, t0, count, v);
        NNK_FN(gradient_transform)(&wg, dy, t0, count, dm);
        for (int xi = 0; xi < 16; xi++) {
            int s = NNK_FN(nnki_gemm)(false, true, wg.cout, wg.cin, count, 1,
                                      dm + xi * wg.cout * count, count,
                                      v + xi * wg.cin * count, count, 1,
                                      du + xi * wg.cout * wg.cin, wg.cin);
            status = s > status ? s : status;
        }
    }
    for (int t = 1; t < threads; t++)
        for (int64_t j = 0; j < wg.filters; j++)
            workspace[j] += workspace[t * each + j];
    NNK_FN(filter_gradient_transform)(&wg, workspace, dw);
    return (nnk_status)status;
}
