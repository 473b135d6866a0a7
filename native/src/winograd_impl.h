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

/* The 4 input rows under tile row ty of image plane p, columns x0 + [0, 2*half), zero outside
 * the image, split into even and odd columns: even[r][j] = p[iy][x0 + 2j], odd[r][j] =
 * p[iy][x0 + 2j + 1] with iy = 2*ty - pad_h + r. */
static inline __attribute__((always_inline)) void
NNK_FN(patch_rows)(const wino_geom *wg, const NNK_T *restrict p, int64_t ty, int64_t x0,
                   int64_t half, NNK_T even[4][WINO_HALF], NNK_T odd[4][WINO_HALF])
{
    /* Columns x0 + [lo, hi) are inside the image; even j is inside for 2j in [lo, hi), odd j
     * for 2j + 1 in [lo, hi). */
    const int64_t width = 2 * half;
    const int64_t lo = nnki_min(width, nnki_max(0, -x0));
    const int64_t hi = nnki_max(lo, nnki_min(width, wg->in_w - x0));
    const int64_t even_lo = (lo + 1) / 2, even_hi = (hi + 1) / 2;
    const int64_t odd_lo = lo / 2, odd_hi = hi / 2;
    for (int r = 0; r < 4; r++) {
        const int64_t iy = 2 * ty - wg->pad_h + r;
        if ((uint64_t)iy >= (uint64_t)wg->in_h || lo == hi) {
            for (int64_t j = 0; j < half; j++)
                even[r][j] = odd[r][j] = 0;
            continue;
        }
        const NNK_T *row = p + iy * wg->in_w + x0;
        if (lo == 0 && hi == width) {
            for (int64_t j = 0; j < half; j++) {
                even[r][j] = row[2 * j];
                odd[r][j] = row[2 * j + 1];
            }
            continue;
        }
        /* Only the few columns past the image's edges are zeroed. */
        for (int64_t j = 0; j < even_lo; j++)
            even[r][j] = 0;
        for (int64_t j = even_lo; j < even_hi; j++)
            even[r][j] = row[2 * j];
        for (int64_t j = even_hi; j < half; j++)
            even[r][j] = 0;
        for (int64_t j = 0; j < odd_lo; j++)
            odd[r][j] = 0;
        for (int64_t j = odd_lo; j < odd_hi; j++)
            odd[r][j] = row[2 * j + 1];
        for (int64_t j = odd_hi; j < half; j++)
            odd[r][j] = 0;
    }
}

/* V[xi][ci][k0 + j] = B^T d B for the tiles (ty, tx0 + j), j < count <= WINO_CHUNK, of one
 * image plane. Each step is a simple loop over the strip that the compiler vectorises: the
 * 4 rows split into even and odd columns (tile j starts at even column 2j), their row
 * combinations B^T d, then the column combinations, unit-stride over the tiles. */
static inline __attribute__((always_inline)) void
NNK_FN(input_strip)(const wino_geom *wg, const NNK_T *restrict p, int64_t ty, int64_t tx0,
                    int64_t count, NNK_T *restrict v, int64_t plane)
{
    NNK_T even[4][WINO_HALF], odd[4][WINO_HALF], te[4][WINO_HALF], to[4][WINO_HALF];
    const int64_t half = count + 1;
    NNK_FN(patch_rows)(wg, p, ty, 2 * tx0 - wg->pad_w, half, even, odd);
    for (int64_t j = 0; j < half; j++) {
        te[0][j] = even[0][j] - even[2][j];
        te[1][j] = even[1][j] + even[2][j];
        te[2][j] = even[2][j] - even[1][j];
        te[3][j] = even[1][j] - even[3][j];
        to[0][j] = odd[0][j] - odd[2][j];
        to[1][j] = odd[1][j] + odd[2][j];
        to[2][j] = odd[2][j] - odd[1][j];
        to[3][j] = odd[1][j] - odd[3][j];
    }
    for (int r = 0; r < 4; r++) {
        NNK_T *restrict v0 = v + (r * 4) * plane, *restrict v1 = v0 + plane;
        NNK_T *restrict v2 = v1 + plane, *restrict v3 = v2 + plane;
        const NNK_T *e = te[r], *o = to[r];
        for (int64_t j = 0; j < count; j++) {
            v0[j] = e[j] - e[j + 1];
            v1[j] = o[j] + e[j + 1];
            v2[j] = e[j + 1] - o[j];
            v3[j] = o[j] - o[j + 1];
        }
    }
}

/* V[xi][ci][k] = B^T d B for the tiles [t0, t0 + count) and every input channel, d the tile's
 * 4x4 patch of x with zeros outside the image. */
static WINO_CLONES void NNK_FN(input_transform)(const wino_geom *wg, const NNK_T *restrict x,
                                                int64_t t0, int64_t count, NNK_T *restrict v)
{
    const int64_t plane = wg->cin * count, in_hw = wg->in_h * wg->in_w;
    wino_strip st;
    for (int64_t k = 0; k < count; k += st.count) {
        st = wino_strip_at(wg, t0 + k, count - k);
        for (int64_t ci = 0; ci < wg->cin; ci++)
            NNK_FN(input_strip)(wg, x + (st.i * wg->cin + ci) * in_hw, st.ty, st.tx0, st.count,
                                v + ci * count + k, plane);
    }
}

/* y's tiles [t0, t0 + count) = A^T M A (+ bias), cropped where out_h or out_w is odd: per
 * strip of tiles and output channel, the 16 rows of M combine into two output rows as vector
 * operations over the tiles. */
static WINO_CLONES void NNK_FN(output_transform)(const wino_geom *wg, const NNK_T *restrict m,
                                                 int64_t t0, int64_t count,
                                                 const NNK_T *restrict bias, NNK_T *restrict y)
{
    const int64_t plane = wg->cout * count, out_hw = wg->out_h * wg->out_w;
    wino_strip st;
    for (int64_t k = 0; k < count; k += st.count) {
        st = wino_strip_at(wg, t0 + k, count - k);
        const int64_t oy = 2 * st.ty, ox = 2 * st.tx0;
        const int64_t rows = nnki_min(2, wg->out_h - oy);
        const int64_t cols = nnki_min(2 * st.count, wg->out_w - ox);
        for (int64_t co = 0; co < wg->cout; co++) {
            const NNK_T *e = m + co * count + k;
            const NNK_T b = bias != NULL ? bias[co] : 0;
            /* A^T M: two rows of 4 per tile; then A: even and odd output columns. */
            NNK_T t2[2][4][WINO_CHUNK], oe[2][WINO_CHUNK], oo[2][WINO_CHUNK];
            for (int s = 0; s < 4; s++) {
                const NNK_T *e0 = e + s * plane, *e1 = e + (4 + s) * plane;
                const NNK_T *e2 = e + (8 + s) * plane, *e3 = e + (12 + s) * plane;
                for (int64_t j = 0; j < st.count; j++) {
                    t2[0][s][j] = e0[j] + e1[j] + e2[j];
                    t2[1][s][j] = e1[j] - e2[j] - e3[j];
                }
            }
            for (int r = 0; r < 2; r++)
                for (int64_t j = 0; j < st.count; j++) {
                    oe[r][j] = t2[r][0][j] + t2[r][1][j] + t2[r][2][j] + b;
                    oo[r][j] = t2[r][1][j] - t2[r][2][j] - t2[r][3][j] + b;
                }
            /* Interleaved into y; an odd out_w leaves the last tile's odd column out. */
            NNK_T *to = y + (st.i * wg->cout + co) * out_hw + oy * wg->out_w + ox;
            const int64_t pairs = cols / 2;
            for (int64_t r = 0; r < rows; r++) {
                NNK_T *restrict row = to + r * wg->out_w;
                for (int64_t j = 0; j < pairs; j++) {
                    row[2 * j] = oe[r][j];
                    row[2 * j + 1] = oo[r][j];
                }
                if (cols % 2 != 0)
                    row[cols - 1] = oe[r][pairs];
            }
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

/* dM[xi][co][k] = A dY A^T for the tiles [t0, t0 + count) of dy (shaped as the forward pass's
 * y) and every output channel, dY the tile's 2x2 gradient, zero where the tile overhangs an odd
 * out_h or out_w. Per strip: the tile's even and odd columns, then the row combinations
 * (dY0, dY0 + dY1, dY0 - dY1, -dY1) and the column ones, as vector operations over the tiles. */
static WINO_CLONES void NNK_FN(gradient_transform)(const wino_geom *wg, const NNK_T *restrict dy,
                                                   int64_t t0, int64_t count,
                                                   NNK_T *restrict dm)
{
    const int64_t plane = wg->cout * count, out_hw = wg->out_h * wg->out_w;
    wino_strip st;
    for (int64_t k = 0; k < count; k += st.count) {
        st = wino_strip_at(wg, t0 + k, count - k);
        const int64_t oy = 2 * st.ty, ox = 2 * st.tx0;
        const int64_t rows = nnki_min(2, wg->out_h - oy);
        const int64_t cols = nnki_min(2 * st.count, wg->out_w - ox), pairs = cols / 2;
        for (int64_t co = 0; co < wg->cout; co++) {
            const NNK_T *from = dy + (st.i * wg->cout + co) * out_hw + oy * wg->out_w + ox;
            NNK_T ge[2][WINO_CHUNK], go[2][WINO_CHUNK];
            for (int64_t r = 0; r < 2; r++) {
                const NNK_T *row = from + r * wg->out_w;
                int64_t j = 0;
                if (r < rows) {
                    for (; j < pairs; j++) {
                        ge[r][j] = row[2 * j];
                        go[r][j] = row[2 * j + 1];
                    }
                    if (cols % 2 != 0) {
                        ge[r][j] = row[cols - 1];
                        go[r][j++] = 0;
                    }
                }
                for (; j < st.count; j++)
                    ge[r][j] = go[r][j] = 0;
            }
            NNK_T *to = dm + co * count + k;
            for (int r = 0; r < 4; r++) {
                NNK_T *restrict d0 = to + (r * 4) * plane, *restrict d1 = d0 + plane;
                NNK_T *restrict d2 = d1 + plane, *restrict d3 = d2 + plane;
                for (int64_t j = 0; j < st.count; j++) {
                    const NNK_T e = r == 0   ? ge[0][j]
                                    : r == 1 ? ge[0][j] + ge[1][j]
                                    : r == 2 ? ge[0][j] - ge[1][j]
                                             : -ge[1][j];
                    const NNK_T o = r == 0   ? go[0][j]
                                    : r == 1 ? go[0][j] + go[1][j]
                                    : r == 2 ? go[0][j] - go[1][j]
                                             : -go[1][j];
                    d0[j] = e;
                    d1[j] = e + o;
                    d2[j] = e - o;
                    d3[j] = -o;
                }
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
