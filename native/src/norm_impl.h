/*
 * norm_impl.h - batch norm and group norm forward and backward for one element type. norm.c
 * includes it once per type with NNK_T (float or double) and NNK_SUFFIX (f32 or f64) defined.
 *
 * Sums are taken in double whatever NNK_T is; the element-wise passes run in NNK_T with
 * per-channel coefficients worked out in double:
 *   forward   y  = (x - centre)*scale + shift      centre = mean rounded to NNK_T,
 *                                                  scale = gamma*invstd,
 *                                                  shift = beta - (mean - centre)*scale
 *   backward  dx = invstd*(gamma*dy + b*(x - mean) + c)     (dx_coefficients in norm.c)
 * Centring before scaling costs a subtraction per element but keeps float results accurate
 * however large the mean: x - centre is exact for x near the mean, whereas x*scale and
 * mean*scale would each round at the size of the mean and then cancel.
 */

/* ---- Loops over a contiguous run ---------------------------------------------------------- */

enum {
    NNK_FN(norm_wide) = NNK_FN(NORM_WIDE),
    NNK_FN(norm_lanes) = sizeof(NNK_FN(norm_v)) / sizeof(NNK_T),
};

/* The partial sums of one run of 2*steps vectors from p (steps a constant where this is
 * inlined): sum gets d, squares d*d, with d = p - shift or, with grad, sum gets w*dy (p = dy;
 * w = weight or 1) and squares w*dy*(x - shift). Two chains per sum in NNK_T, added together
 * and widened once per run. */
NORM_LOOP void NNK_FN(run_sums)(bool grad, const NNK_T *p, const NNK_T *x, const NNK_T *weight,
                                int steps, NNK_T shift, norm_v4d *sum, norm_v4d *squares)
{
    enum { LANES = NNK_FN(norm_lanes) };
    NNK_FN(norm_v) s[2] = {{0}}, q[2] = {{0}}, d, v, w;
#pragma GCC unroll 8
    for (int h = 0; h < 2 * steps; h++) {
        memcpy(&d, p + h * LANES, sizeof d);
        if (grad) {
            memcpy(&v, x + h * LANES, sizeof v);
            if (weight != NULL) {
                memcpy(&w, weight + h * LANES, sizeof w);
                d *= w;
            }
            v -= shift;
        } else {
            d -= shift;
            v = d;
        }
        s[h % 2] += d;
        q[h % 2] += d * v;
    }
    s[0] += s[1];
    q[0] += q[1];
    NNK_FN(widen_add)(&s[0], sum);
    NNK_FN(widen_add)(&q[0], squares);
}

NORM_LOOP void NNK_FN(affine)(const NNK_T *x, NNK_T *y, int64_t len, NNK_T centre,
                              NNK_T scale, NNK_T shift)
{
    for (int64_t k = 0; k < len; k++)
        y[k] = (x[k] - centre) * scale + shift;
}

NORM_LOOP void NNK_FN(grad_affine)(const NNK_T *x, const NNK_T *dy, NNK_T *dx, int64_t len,
                                   NNK_T mean, NNK_T invstd, NNK_T gamma, NNK_T b, NNK_T c)
{
    for (int64_t k = 0; k < len; k++)
        dx[k] = invstd * (gamma * dy[k] + b * (x[k] - mean) + c);
}

/* The element-wise pass of one set, run inside the sums of the next (see set_sums):
 * out = affine of x (dy NULL) or grad_affine of x and dy, both at the sums' indices. Reading
 * the next set from L3 while this one's values are written keeps both directions busy; one
 * pass after the other leaves each waiting in turn (0.85-0.95x the time of the two apart on
 * the standard shapes, batch norm and group norm forward and backward). */
typedef struct NNK_FN(rider) {
    const NNK_T *x, *dy;
    NNK_T *out;
    NNK_T centre, scale, shift; /* affine; centre is also grad_affine's mean */
    NNK_T invstd, gamma, b, c;  /* grad_affine */
} NNK_FN(rider);

/* The same pass, offset elements further on (the next plane of a channel, the next channel
 * of a pair). */
NORM_LOOP NNK_FN(rider) NNK_FN(rider_at)(const NNK_FN(rider) *r, int64_t offset)
{
    NNK_FN(rider) at = *r;
    at.x += offset;
    at.out += offset;
    if (at.dy != NULL)
        at.dy += offset;
    return at;
}

NORM_LOOP void NNK_FN(ride)(const NNK_FN(rider) *r, int64_t k, int64_t len)
{
    if (r->dy == NULL)
        NNK_FN(affine)(r->x + k, r->out + k, len, r->centre, r->scale, r->shift);
    else
        NNK_FN(grad_affine)(r->x + k, r->dy + k, r->out + k, len, r->centre, r->invstd,
                            r->gamma, r->b, r->c);
}

/* The lines of a run (2*NORM_RUN_STEPS vectors) further on, x's and p's (unless NULL) on their
 * way to the cache and out's (unless NULL) to be written. A channel's planes are short runs
 * (sbn_3l's 4 KB) far apart, each a cold start for the hardware's prefetchers: the next plane's
 * lines fetched a run at a time while this plane is summed took sbn_3l's forward in 0.86x the
 * time at 1 and 2 threads and its backward in 0.80-0.90x at 1 thread, 0.92-1.0x at 2 (x and
 * dy alone, without dx's lines: 0.93-0.97x); sbn_mnist's forward 0.81-0.86x, backward 0.98x.
 * Group norm's planes follow each other, yet its forward also gains from fetching the next
 * plane (gn 0.85-0.94x at 1 thread, 0.96x at 2). Its backward did not on the Intel machine
 * (0.92-0.94x at 1 thread, 1.03-1.05x at 2) but did on the AMD EPYC (Zen 4) one, fetching
 * across to the next sample's pair too: 0.78-0.86x at 1 thread, 0.97-0.99x at 2. */
NORM_LOOP void NNK_FN(run_ahead)(const NNK_T *x, const NNK_T *p, NNK_T *out)
{
    enum { LINE = 64 / sizeof(NNK_T), RUN = 2 * NORM_RUN_STEPS * NNK_FN(norm_lanes) };
    for (int l = 0; l < RUN; l += LINE) {
        if (x != NULL)
            __builtin_prefetch(x + l);
        if (p != NULL)
            __builtin_prefetch(p + l);
        if (out != NULL)
            __builtin_prefetch(out + l, 1);
    }
}

/* The sums of moments (grad false) and grad_moments over len elements: runs of NORM_RUN_STEPS
 * steps, then single steps, then the last few elements in double. A rider (or NULL) takes its
 * pass run by run alongside; it does not change the sums. With ahead (not 0), the run ahead
 * elements on, in p, x and the rider's out, is prefetched with each run (run_ahead). */
NORM_LOOP void NNK_FN(set_sums)(bool grad, const NNK_T *p, const NNK_T *x, const NNK_T *weight,
                                int64_t len, NNK_T shift, double acc[2],
                                const NNK_FN(rider) *rider, int64_t ahead)
{
    enum { WIDE = NNK_FN(norm_wide), LANES = NNK_FN(norm_lanes) };
    norm_v4d sum[WIDE] = {{0}}, squares[WIDE] = {{0}};
    int64_t k = 0;
    for (; k + 2 * NORM_RUN_STEPS * LANES <= len; k += 2 * NORM_RUN_STEPS * LANES) {
        NNK_FN(run_sums)(grad, p + k, grad ? x + k : NULL, weight == NULL ? NULL : weight + k,
                         NORM_RUN_STEPS, shift, sum, squares);
        if (ahead != 0)
            NNK_FN(run_ahead)(grad ? x + k + ahead : NULL, p + k + ahead,
                              rider != NULL ? rider->out + k + ahead : NULL);
        if (rider != NULL)
            NNK_FN(ride)(rider, k, 2 * NORM_RUN_STEPS * LANES);
    }
    if (rider != NULL)
        NNK_FN(ride)(rider, k, len - k);
    for (; k + 2 * LANES <= len; k += 2 * LANES)
        NNK_FN(run_sums)(grad, p + k, grad ? x + k : NULL, weight == NULL ? NULL : weight + k, 1,
                         shift, sum, squares);
    double tail[2] = {0, 0};
    for (; k < len; k++) {
        double e = weight != NULL ? (double)weight[k] * p[k] : p[k];
        if (!grad)
            e -= shift;
        tail[0] += e;
        tail[1] += e * (grad ? (double)x[k] - shift : e);
    }
    acc[0] += norm_lanes_sum(sum, WIDE) + tail[0];
    acc[1] += norm_lanes_sum(squares, WIDE) + tail[1];
}

/* acc[0] += sum of d, acc[1] += sum of d*d, d = p - shift; shift is a value of NNK_T. */
NORM_LOOP void NNK_FN(moments)(const NNK_T *p, int64_t len, double shift, double acc[2],
                               const NNK_FN(rider) *rider, int64_t ahead)
{
    NNK_FN(set_sums)(false, p, NULL, NULL, len, (NNK_T)shift, acc, rider, ahead);
}

/* acc[0] += sum of w*dy, acc[1] += sum of w*dy*(x - mean), with w = weight[k] or, for a NULL
 * weight, 1; mean is a value of NNK_T. */
NORM_LOOP void NNK_FN(grad_moments)(const NNK_T *x, const NNK_T *dy, const NNK_T *weight,
                                    int64_t len, double mean, double acc[2],
                                    const NNK_FN(rider) *rider, int64_t ahead)
{
    NNK_FN(set_sums)(true, dy, x, weight, len, (NNK_T)mean, acc, rider, ahead);
}

/* ---- Batch norm forward ------------------------------------------------------------------- */

typedef struct NNK_FN(bn_forward_args) {
    const norm_geom *g;
    bool train;
    double eps, momentum;
    const NNK_T *x, *gamma, *beta;
    NNK_T *running_mean, *running_var, *y, *save_mean, *save_invstd;
} NNK_FN(bn_forward_args);

/* Statistics of channel ch: from its moments (train; the running statistics are updated) or
 * the running statistics (test). Saves them and returns the coefficients of y. */
static inline void NNK_FN(bn_coefficients)(const NNK_FN(bn_forward_args) *a, int64_t ch,
                                           double shift0, double sum, double squares,
                                           NNK_T *centre, NNK_T *scale, NNK_T *shift)
{
    double mean, var;
    if (a->train) {
        moments_to_stats(shift0, sum, squares, (double)(a->g->n * a->g->spatial), &mean, &var);
        a->running_mean[ch] =
            (NNK_T)(a->momentum * a->running_mean[ch] + (1 - a->momentum) * mean);
        a->running_var[ch] = (NNK_T)(a->momentum * a->running_var[ch] + (1 - a->momentum) * var);
    } else {
        mean = a->running_mean[ch];
        var = a->running_var[ch];
    }
    double invstd = 1 / sqrt(var + a->eps), s = a->gamma[ch] * invstd;
    *centre = (NNK_T)mean;
    *scale = (NNK_T)s;
    *shift = (NNK_T)(a->beta[ch] - (mean - *centre) * s);
    if (a->save_mean != NULL)
        a->save_mean[ch] = *centre;
    if (a->save_invstd != NULL)
        a->save_invstd[ch] = (NNK_T)invstd;
}

/* Channel ch's sums of x - shift over its planes (spatial > 1). With prev (not NULL), y of
 * the channel before, at plane 0, rides along plane by plane. */
NORM_LOOP void NNK_FN(bn_sums)(const NNK_FN(bn_forward_args) *a, int64_t ch, double shift,
                               double acc[2], const NNK_FN(rider) *prev)
{
    const norm_geom *g = a->g;
    const int64_t stride = g->c * g->spatial;
    const NNK_T *x = a->x + ch * g->spatial;
    for (int64_t i = 0; i < g->n; i++) {
        NNK_FN(rider) r;
        if (prev != NULL)
            r = NNK_FN(rider_at)(prev, i * stride);
        NNK_FN(moments)(x + i * stride, g->spatial, shift, acc, prev != NULL ? &r : NULL,
                        i + 1 < g->n ? stride : 0);
    }
}

/* Channels [c0, c1) (spatial > 1), one thread's share. A channel of a typical network
 * (n*spatial*sizeof(NNK_T) ~ 200 KB) is still in L2 when its y is written, riding along the
 * next channel's sums (train); a channel whose first value lies far from its mean is summed
 * again about the mean first. */
static NORM_CLONES void NNK_FN(bn_forward_channels)(const NNK_FN(bn_forward_args) *a,
                                                    int64_t c0, int64_t c1)
{
    const norm_geom *g = a->g;
    const int64_t stride = g->c * g->spatial;
    const double count = (double)(g->n * g->spatial);
    double acc[2] = {0, 0};
    if (a->train && c0 < c1)
        NNK_FN(bn_sums)(a, c0, a->x[c0 * g->spatial], acc, NULL);
    for (int64_t ch = c0; ch < c1; ch++) {
        const NNK_T *x = a->x + ch * g->spatial;
        double shift0 = x[0], mean, next[2] = {0, 0};
        if (a->train && far_shift(shift0, acc[0], acc[1], count, &mean)) {
            shift0 = (NNK_T)mean;
            acc[0] = acc[1] = 0;
            NNK_FN(bn_sums)(a, ch, shift0, acc, NULL);
        }
        NNK_T centre, scale, shift;
        NNK_FN(bn_coefficients)(a, ch, shift0, acc[0], acc[1], &centre, &scale, &shift);
        const NNK_FN(rider) r = {
            .x = x, .out = a->y + ch * g->spatial, .centre = centre, .scale = scale,
            .shift = shift,
        };
        if (a->train && ch + 1 < c1)
            NNK_FN(bn_sums)(a, ch + 1, a->x[(ch + 1) * g->spatial], next, &r);
        else
            for (int64_t i = 0; i < g->n; i++)
                NNK_FN(affine)(r.x + i * stride, r.out + i * stride, g->spatial, centre, scale,
                               shift);
        acc[0] = next[0];
        acc[1] = next[1];
    }
}

/* Sums over the rows of an (n, c) tensor for channels [0, width) of a block (pointers from its
 * first channel), as run_sums takes them: sum gets d and squares d*d, d = p - shift[j], or with
 * grad (p = dy) sum gets dy and squares dy*(x - shift[j]). Per vector of channels in NNK_T over
 * runs of NORM_ROWS_RUN rows, widened once per run (the sums in double on the stack per element
 * had taken ~2 cycles an element); the channels past the last whole vector in double. */
NORM_LOOP void NNK_FN(bn_block_sums)(bool grad, const NNK_T *p, const NNK_T *x, int64_t n,
                                     int64_t c, int64_t width, const NNK_T *shift, double *sum,
                                     double *squares)
{
    enum { LANES = NNK_FN(norm_lanes), WIDE = NNK_FN(norm_wide) };
    int64_t j = 0;
    for (; j + LANES <= width; j += LANES) {
        NNK_FN(norm_v) centre;
        memcpy(&centre, shift + j, sizeof centre);
        norm_v4d s_wide[WIDE] = {{0}}, q_wide[WIDE] = {{0}};
        for (int64_t i0 = 0; i0 < n; i0 += NORM_ROWS_RUN) {
            NNK_FN(norm_v) s = {0}, q = {0};
            for (int64_t i = i0; i < nnki_min(n, i0 + NORM_ROWS_RUN); i++) {
                NNK_FN(norm_v) d, v;
                memcpy(&d, p + i * c + j, sizeof d);
                if (grad) {
                    memcpy(&v, x + i * c + j, sizeof v);
                    v -= centre;
                } else {
                    d -= centre;
                    v = d;
                }
                s += d;
                q += d * v;
            }
            NNK_FN(widen_add)(&s, s_wide);
            NNK_FN(widen_add)(&q, q_wide);
        }
        memcpy(sum + j, s_wide, sizeof s_wide);
        memcpy(squares + j, q_wide, sizeof q_wide);
    }
    for (; j < width; j++)
        for (int64_t i = 0; i < n; i++) {
            double e = p[i * c + j];
            if (!grad)
                e -= shift[j];
            sum[j] += e;
            squares[j] += e * (grad ? (double)x[i * c + j] - shift[j] : e);
        }
}

/* The coefficients of channels [c0, c0 + NORM_BLOCK) of x (n, c) into centre, scale and shift
 * (indexed from c0), from sums about each channel's first value (train; a channel whose first
 * value lies far from its mean is summed again about the mean, see NORM_FAR_SHIFT) or the
 * running statistics (test). */
NORM_LOOP void NNK_FN(bn_forward_coefficients)(const NNK_FN(bn_forward_args) *a, int64_t c0,
                                               NNK_T *centre, NNK_T *scale, NNK_T *shift)
{
    const norm_geom *g = a->g;
    const int64_t width = nnki_min(NORM_BLOCK, g->c - c0);
    const NNK_T *x = a->x + c0;
    NNK_T shift0[NORM_BLOCK];
    double sum[NORM_BLOCK] = {0}, squares[NORM_BLOCK] = {0};
    for (int64_t j = 0; j < width; j++)
        shift0[j] = x[j];
    if (a->train) {
        NNK_FN(bn_block_sums)(false, x, NULL, g->n, g->c, width, shift0, sum, squares);
        for (int64_t j = 0; j < width; j++) {
            double mean;
            if (!far_shift(shift0[j], sum[j], squares[j], (double)g->n, &mean))
                continue;
            shift0[j] = (NNK_T)mean;
            sum[j] = squares[j] = 0;
            NNK_FN(bn_block_sums)(false, x + j, NULL, g->n, g->c, 1, shift0 + j, sum + j,
                                  squares + j);
        }
    }
    for (int64_t j = 0; j < width; j++)
        NNK_FN(bn_coefficients)(a, c0 + j, shift0[j], sum[j], squares[j], &centre[j], &scale[j],
                                &shift[j]);
}

/* y of rows [r0, r1), channels [c0, c0 + width) of x (n, c), the coefficients indexed from c0. */
NORM_LOOP void NNK_FN(bn_forward_rows)(const NNK_FN(bn_forward_args) *a, int64_t r0, int64_t r1,
                                       int64_t c0, int64_t width, const NNK_T *centre,
                                       const NNK_T *scale, const NNK_T *shift)
{
    const int64_t c = a->g->c;
    for (int64_t i = r0; i < r1; i++) {
        const NNK_T *row = a->x + i * c + c0;
        NNK_T *out = a->y + i * c + c0;
        for (int64_t j = 0; j < width; j++)
            out[j] = (row[j] - centre[j]) * scale[j] + shift[j];
    }
}

/* Channels [c0, c0 + NORM_BLOCK) of x (n, c): coefficients, then y row by row (the block's
 * columns of x still in the cache). */
static NORM_CLONES void NNK_FN(bn_forward_block)(const NNK_FN(bn_forward_args) *a, int64_t c0)
{
    NNK_T centre[NORM_BLOCK], scale[NORM_BLOCK], shift[NORM_BLOCK];
    NNK_FN(bn_forward_coefficients)(a, c0, centre, scale, shift);
    NNK_FN(bn_forward_rows)(a, 0, a->g->n, c0, nnki_min(NORM_BLOCK, a->g->c - c0), centre, scale,
                            shift);
}

static NORM_CLONES void NNK_FN(bn_forward_block_coefficients)(const NNK_FN(bn_forward_args) *a,
                                                              int64_t c0, NNK_T *centre,
                                                              NNK_T *scale, NNK_T *shift)
{
    NNK_FN(bn_forward_coefficients)(a, c0, centre + c0, scale + c0, shift + c0);
}

static NORM_CLONES void NNK_FN(bn_forward_row_range)(const NNK_FN(bn_forward_args) *a,
                                                     int64_t r0, int64_t r1,
                                                     const NNK_T *centre, const NNK_T *scale,
                                                     const NNK_T *shift)
{
    NNK_FN(bn_forward_rows)(a, r0, r1, 0, a->g->c, centre, scale, shift);
}

nnk_status NNK_FN(nnk_batchnorm_forward)(const nnk_norm_desc *desc, nnk_norm_mode mode,
                                         const NNK_T *x, int64_t x_len, const NNK_T *gamma,
                                         int64_t gamma_len, const NNK_T *beta, int64_t beta_len,
                                         NNK_T *running_mean, int64_t running_mean_len,
                                         NNK_T *running_var, int64_t running_var_len, NNK_T *y,
                                         int64_t y_len, NNK_T *save_mean, int64_t save_mean_len,
                                         NNK_T *save_invstd, int64_t save_invstd_len)
{
    static const char fn[] = "batchnorm_forward";
    norm_geom g;
    NNKI_TRY(norm_geometry(fn, desc, false, &g));
    NNKI_TRY(check_mode(fn, mode));
    NNKI_TRY(check_eps(fn, desc->eps));
    NNKI_TRY(check_momentum(fn, desc->momentum));
    const bool train = mode == NNK_NORM_TRAIN;
    NNKI_TRY(nnki_check_tensor(fn, "x", x, x_len, true, NNKI_DIMS(g.n, g.c, g.spatial)));
    NNKI_TRY(nnki_check_tensor(fn, "gamma", gamma, gamma_len, true, NNKI_DIMS(g.c)));
    NNKI_TRY(nnki_check_tensor(fn, "beta", beta, beta_len, true, NNKI_DIMS(g.c)));
    NNKI_TRY(nnki_check_tensor(fn, "running_mean", running_mean, running_mean_len, true,
                               NNKI_DIMS(g.c)));
    NNKI_TRY(nnki_check_tensor(fn, "running_var", running_var, running_var_len, true,
                               NNKI_DIMS(g.c)));
    NNKI_TRY(nnki_check_tensor(fn, "y", y, y_len, true, NNKI_DIMS(g.n, g.c, g.spatial)));
    NNKI_TRY(nnki_check_tensor(fn, "save_mean", save_mean, save_mean_len, train, NNKI_DIMS(g.c)));
    NNKI_TRY(nnki_check_tensor(fn, "save_invstd", save_invstd, save_invstd_len, train,
                               NNKI_DIMS(g.c)));

    const NNK_FN(bn_forward_args) a = {
        .g = &g, .train = train, .eps = desc->eps, .momentum = desc->momentum,
        .x = x, .gamma = gamma, .beta = beta, .running_mean = running_mean,
        .running_var = running_var, .y = y, .save_mean = save_mean, .save_invstd = save_invstd,
    };
    if (g.spatial == 1) {
        const int64_t blocks = norm_blocks(g.c);
        const int threads = norm_threads(blocks, g.len);
        if (norm_by_rows(&g, threads)) {
            NNK_T centre[NORM_ROWS_MAX_C], scale[NORM_ROWS_MAX_C], shift[NORM_ROWS_MAX_C];
#pragma omp parallel num_threads(threads)
            {
#pragma omp for schedule(static)
                for (int64_t u = 0; u < blocks; u++)
                    NNK_FN(bn_forward_block_coefficients)(&a, u * NORM_BLOCK, centre, scale,
                                                          shift);
                const int t = omp_get_thread_num(), team = omp_get_num_threads();
                NNK_FN(bn_forward_row_range)(&a, norm_share(g.n, t, team),
                                             norm_share(g.n, t + 1, team), centre, scale, shift);
            }
        } else {
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
            for (int64_t u = 0; u < blocks; u++)
                NNK_FN(bn_forward_block)(&a, u * NORM_BLOCK);
        }
    } else {
        const int threads = norm_threads(g.c, g.len);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
        for (int t = 0; t < threads; t++)
            NNK_FN(bn_forward_channels)(&a, norm_share(g.c, t, threads),
                                        norm_share(g.c, t + 1, threads));
    }
    return NNK_OK;
}

/* ---- Batch norm backward ------------------------------------------------------------------ */

typedef struct NNK_FN(norm_backward_args) {
    const norm_geom *g;
    const NNK_T *x, *gamma, *mean, *invstd, *dy;
    NNK_T *dx, *dgamma, *dbeta;
} NNK_FN(norm_backward_args);

/* Channel ch's sums of dy and dy*(x - mean) over its planes (spatial > 1). With prev (not
 * NULL), the dx of the channel before, at plane 0, rides along plane by plane. */
NORM_LOOP void NNK_FN(bn_grad_sums)(const NNK_FN(norm_backward_args) *a, int64_t ch,
                                    double acc[2], const NNK_FN(rider) *prev)
{
    const norm_geom *g = a->g;
    const int64_t stride = g->c * g->spatial;
    const NNK_T *x = a->x + ch * g->spatial, *dy = a->dy + ch * g->spatial;
    for (int64_t i = 0; i < g->n; i++) {
        NNK_FN(rider) r;
        if (prev != NULL)
            r = NNK_FN(rider_at)(prev, i * stride);
        NNK_FN(grad_moments)(x + i * stride, dy + i * stride, NULL, g->spatial, a->mean[ch], acc,
                             prev != NULL ? &r : NULL, i + 1 < g->n ? stride : 0);
    }
}

/* Channels [c0, c1) (spatial > 1), one thread's share: each channel's sums, then its dx,
 * which rides along the next channel's sums. */
static NORM_CLONES void NNK_FN(bn_backward_channels)(const NNK_FN(norm_backward_args) *a,
                                                     int64_t c0, int64_t c1)
{
    const norm_geom *g = a->g;
    const int64_t stride = g->c * g->spatial;
    double acc[2] = {0, 0};
    if (c0 < c1)
        NNK_FN(bn_grad_sums)(a, c0, acc, NULL);
    for (int64_t ch = c0; ch < c1; ch++) {
        const NNK_T invstd = a->invstd[ch], gamma = a->gamma[ch];
        if (a->dbeta != NULL)
            a->dbeta[ch] = (NNK_T)acc[0];
        if (a->dgamma != NULL)
            a->dgamma[ch] = (NNK_T)(acc[1] * invstd);
        double b, c, next[2] = {0, 0};
        dx_coefficients(invstd, gamma * acc[0], gamma * acc[1], (double)(g->n * g->spatial), &b,
                        &c);
        const bool dx = a->dx != NULL;
        const NNK_FN(rider) r = {
            .x = a->x + ch * g->spatial, .dy = a->dy + ch * g->spatial,
            .out = dx ? a->dx + ch * g->spatial : NULL, .centre = a->mean[ch], .invstd = invstd,
            .gamma = gamma, .b = (NNK_T)b, .c = (NNK_T)c,
        };
        if (ch + 1 < c1)
            NNK_FN(bn_grad_sums)(a, ch + 1, next, dx ? &r : NULL);
        else if (dx)
            for (int64_t i = 0; i < g->n; i++)
                NNK_FN(grad_affine)(r.x + i * stride, r.dy + i * stride, r.out + i * stride,
                                    g->spatial, r.centre, invstd, gamma, r.b, r.c);
        acc[0] = next[0];
        acc[1] = next[1];
    }
}

/* dgamma and dbeta (unless NULL) of channels [c0, c0 + NORM_BLOCK) of x (n, c), from sums taken
 * row by row, and dx's coefficients b and c (indexed from c0). */
NORM_LOOP void NNK_FN(bn_backward_coefficients)(const NNK_FN(norm_backward_args) *a, int64_t c0,
                                                NNK_T *cb, NNK_T *cc)
{
    const norm_geom *g = a->g;
    const int64_t width = nnki_min(NORM_BLOCK, g->c - c0);
    const NNK_T *x = a->x + c0, *dy = a->dy + c0;
    double sum[NORM_BLOCK] = {0}, products[NORM_BLOCK] = {0};
    const NNK_T *gamma = a->gamma + c0, *invstd = a->invstd + c0;
    NNK_FN(bn_block_sums)(true, dy, x, g->n, g->c, width, a->mean + c0, sum, products);
    for (int64_t j = 0; j < width; j++) {
        double b, c;
        if (a->dbeta != NULL)
            a->dbeta[c0 + j] = (NNK_T)sum[j];
        if (a->dgamma != NULL)
            a->dgamma[c0 + j] = (NNK_T)(products[j] * invstd[j]);
        dx_coefficients(invstd[j], gamma[j] * sum[j], gamma[j] * products[j], (double)g->n, &b,
                        &c);
        cb[j] = (NNK_T)b;
        cc[j] = (NNK_T)c;
    }
}

/* dx of rows [r0, r1), channels [c0, c0 + width) of x (n, c), cb and cc indexed from c0. */
NORM_LOOP void NNK_FN(bn_backward_rows)(const NNK_FN(norm_backward_args) *a, int64_t r0,
                                        int64_t r1, int64_t c0, int64_t width, const NNK_T *cb,
                                        const NNK_T *cc)
{
    const int64_t c = a->g->c;
    const NNK_T *gamma = a->gamma + c0, *invstd = a->invstd + c0, *mean = a->mean + c0;
    for (int64_t i = r0; i < r1; i++) {
        const NNK_T *xr = a->x + i * c + c0, *dyr = a->dy + i * c + c0;
        NNK_T *dxr = a->dx + i * c + c0;
        for (int64_t j = 0; j < width; j++)
            dxr[j] = invstd[j] * (gamma[j] * dyr[j] + cb[j] * (xr[j] - mean[j]) + cc[j]);
    }
}

/* Channels [c0, c0 + NORM_BLOCK) of x (n, c): sums, then dx row by row. */
static NORM_CLONES void NNK_FN(bn_backward_block)(const NNK_FN(norm_backward_args) *a,
                                                  int64_t c0)
{
    NNK_T cb[NORM_BLOCK], cc[NORM_BLOCK];
    NNK_FN(bn_backward_coefficients)(a, c0, cb, cc);
    if (a->dx != NULL)
        NNK_FN(bn_backward_rows)(a, 0, a->g->n, c0, nnki_min(NORM_BLOCK, a->g->c - c0), cb, cc);
}

static NORM_CLONES void NNK_FN(bn_backward_block_coefficients)(
    const NNK_FN(norm_backward_args) *a, int64_t c0, NNK_T *cb, NNK_T *cc)
{
    NNK_FN(bn_backward_coefficients)(a, c0, cb + c0, cc + c0);
}

static NORM_CLONES void NNK_FN(bn_backward_row_range)(const NNK_FN(norm_backward_args) *a,
                                                      int64_t r0, int64_t r1, const NNK_T *cb,
                                                      const NNK_T *cc)
{
    NNK_FN(bn_backward_rows)(a, r0, r1, 0, a->g->c, cb, cc);
}

/* The argument checks batch norm and group norm backward share; save_mean and save_invstd
 * hold c statistics for batch norm, n*groups for group norm (grouped). */
static nnk_status NNK_FN(check_backward)(const char *fn, const norm_geom *g, bool grouped,
                                         const NNK_FN(norm_backward_args) *a, int64_t x_len,
                                         int64_t gamma_len, int64_t mean_len, int64_t invstd_len,
                                         int64_t dy_len, int64_t dx_len, int64_t dgamma_len,
                                         int64_t dbeta_len)
{
    NNKI_TRY(nnki_check_tensor(fn, "x", a->x, x_len, true, NNKI_DIMS(g->n, g->c, g->spatial)));
    NNKI_TRY(nnki_check_tensor(fn, "gamma", a->gamma, gamma_len, true, NNKI_DIMS(g->c)));
    if (grouped) {
        NNKI_TRY(nnki_check_tensor(fn, "save_mean", a->mean, mean_len, true,
                                   NNKI_DIMS(g->n, g->groups)));
        NNKI_TRY(nnki_check_tensor(fn, "save_invstd", a->invstd, invstd_len, true,
                                   NNKI_DIMS(g->n, g->groups)));
    } else {
        NNKI_TRY(nnki_check_tensor(fn, "save_mean", a->mean, mean_len, true, NNKI_DIMS(g->c)));
        NNKI_TRY(
            nnki_check_tensor(fn, "save_invstd", a->invstd, invstd_len, true, NNKI_DIMS(g->c)));
    }
    NNKI_TRY(nnki_check_tensor(fn, "dy", a->dy, dy_len, true, NNKI_DIMS(g->n, g->c, g->spatial)));
    NNKI_TRY(nnki_check_tensor(fn, "dx", a->dx, dx_len, false, NNKI_DIMS(g->n, g->c, g->spatial)));
    NNKI_TRY(nnki_check_tensor(fn, "dgamma", a->dgamma, dgamma_len, false, NNKI_DIMS(g->c)));
    NNKI_TRY(nnki_check_tensor(fn, "dbeta", a->dbeta, dbeta_len, false, NNKI_DIMS(g->c)));
    return NNK_OK;
}

nnk_status NNK_FN(nnk_batchnorm_backward)(const nnk_norm_desc *desc, const NNK_T *x,
                                          int64_t x_len, const NNK_T *gamma, int64_t gamma_len,
                                          const NNK_T *save_mean, int64_t save_mean_len,
                                          const NNK_T *save_invstd, int64_t save_invstd_len,
                                          const NNK_T *dy, int64_t dy_len, NNK_T *dx,
                                          int64_t dx_len, NNK_T *dgamma, int64_t dgamma_len,
                                          NNK_T *dbeta, int64_t dbeta_len)
{
    static const char fn[] = "batchnorm_backward";
    norm_geom g;
    NNKI_TRY(norm_geometry(fn, desc, false, &g));
    const NNK_FN(norm_backward_args) a = {
        .g = &g, .x = x, .gamma = gamma, .mean = save_mean, .invstd = save_invstd, .dy = dy,
        .dx = dx, .dgamma = dgamma, .dbeta = dbeta,
    };
    NNKI_TRY(NNK_FN(check_backward)(fn, &g, false, &a, x_len, gamma_len, save_mean_len,
                                    save_invstd_len, dy_len, dx_len, dgamma_len, dbeta_len));
    if (dx == NULL && dgamma == NULL && dbeta == NULL)
        return NNK_OK;

    if (g.spatial == 1) {
        const int64_t blocks = norm_blocks(g.c);
        const int threads = norm_threads(blocks, g.len);
        if (dx != NULL && norm_by_rows(&g, threads)) {
            NNK_T cb[NORM_ROWS_MAX_C], cc[NORM_ROWS_MAX_C];
#pragma omp parallel num_threads(threads)
            {
#pragma omp for schedule(static)
                for (int64_t u = 0; u < blocks; u++)
                    NNK_FN(bn_backward_block_coefficients)(&a, u * NORM_BLOCK, cb, cc);
                const int t = omp_get_thread_num(), team = omp_get_num_threads();
                NNK_FN(bn_backward_row_range)(&a, norm_share(g.n, t, team),
                                              norm_share(g.n, t + 1, team), cb, cc);
            }
        } else {
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
            for (int64_t u = 0; u < blocks; u++)
                NNK_FN(bn_backward_block)(&a, u * NORM_BLOCK);
        }
    } else {
        const int threads = norm_threads(g.c, g.len);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
        for (int t = 0; t < threads; t++)
            NNK_FN(bn_backward_channels)(&a, norm_share(g.c, t, threads),
                                         norm_share(g.c, t + 1, threads));
    }
    return NNK_OK;
}

/* ---- Group norm forward ------------------------------------------------------------------- */

typedef struct NNK_FN(gn_forward_args) {
    const norm_geom *g;
    double eps;
    const NNK_T *x, *gamma, *beta;
    NNK_T *y, *save_mean, *save_invstd;
} NNK_FN(gn_forward_args);

/* Pair u = sample*groups + group: its channels are contiguous, (c/groups)*spatial values from
 * x + u*(c/groups)*spatial. */
static inline const NNK_T *NNK_FN(gn_pair_x)(const NNK_FN(gn_forward_args) *a, int64_t u)
{
    return a->x + u * a->g->group_channels * a->g->spatial;
}

/* The sums of pair u's values less shift, channel by channel (all at once for spatial = 1,
 * where a channel is one value). */
NORM_LOOP void NNK_FN(gn_sums)(const NNK_FN(gn_forward_args) *a, int64_t u, double shift,
                                   double acc[2])
{
    const int64_t cg = a->g->group_channels, sp = a->g->spatial;
    const NNK_T *x = NNK_FN(gn_pair_x)(a, u);
    if (sp == 1)
        NNK_FN(moments)(x, cg, shift, acc, NULL, 0);
    else
        for (int64_t j = 0; j < cg; j++)
            NNK_FN(moments)(x + j * sp, sp, shift, acc, NULL, 0);
}

/* y of pair u, whose sums about its first value are acc; with another pair after it
 * (spatial > 1), that pair's sums are taken with y riding along, into next. A pair whose
 * first value lies far from its mean is summed again about the mean first. */
NORM_LOOP void NNK_FN(gn_forward_pair)(const NNK_FN(gn_forward_args) *a, int64_t u,
                                           bool last, const double acc[2], double next[2])
{
    const norm_geom *g = a->g;
    const int64_t cg = g->group_channels, sp = g->spatial, count = cg * sp;
    const NNK_T *x = NNK_FN(gn_pair_x)(a, u), *gamma = a->gamma + (u % g->groups) * cg;
    const NNK_T *beta = a->beta + (u % g->groups) * cg;
    NNK_T *y = a->y + u * count;
    double shift0 = x[0], sums[2] = {acc[0], acc[1]}, mean, var;
    if (far_shift(shift0, sums[0], sums[1], (double)count, &mean)) {
        shift0 = (NNK_T)mean;
        sums[0] = sums[1] = 0;
        NNK_FN(gn_sums)(a, u, shift0, sums);
    }
    moments_to_stats(shift0, sums[0], sums[1], (double)count, &mean, &var);
    const double invstd = 1 / sqrt(var + a->eps);
    const NNK_T centre = (NNK_T)mean;
    const double rest = mean - centre;
    a->save_mean[u] = centre;
    a->save_invstd[u] = (NNK_T)invstd;
    /* Layer norm over (n, d) is the spatial = 1 case: the loop runs over the channels. */
    if (sp == 1) {
        for (int64_t j = 0; j < cg; j++) {
            double s = gamma[j] * invstd;
            y[j] = (x[j] - centre) * (NNK_T)s + (NNK_T)(beta[j] - rest * s);
        }
        if (!last)
            NNK_FN(gn_sums)(a, u + 1, NNK_FN(gn_pair_x)(a, u + 1)[0], next);
        return;
    }
    const NNK_T *x_next = last ? NULL : NNK_FN(gn_pair_x)(a, u + 1);
    for (int64_t j = 0; j < cg; j++) {
        double s = gamma[j] * invstd;
        const NNK_FN(rider) r = {
            .x = x + j * sp, .out = y + j * sp, .centre = centre, .scale = (NNK_T)s,
            .shift = (NNK_T)(beta[j] - rest * s),
        };
        if (last)
            NNK_FN(ride)(&r, 0, sp);
        else
            NNK_FN(moments)(x_next + j * sp, sp, x_next[0], next, &r, j + 1 < cg ? sp : 0);
    }
}

/* Pairs [u0, u1), one thread's share. Its AVX-512 clone writes y in 512-bit vectors
 * (0.86-0.98x the time of the AVX2 clone on gn, 1 and 2 threads, Sapphire Rapids). */
static NORM_CLONES void NNK_FN(gn_forward_pairs)(const NNK_FN(gn_forward_args) *a,
                                                 int64_t u0, int64_t u1)
{
    double acc[2] = {0, 0};
    if (u0 < u1)
        NNK_FN(gn_sums)(a, u0, NNK_FN(gn_pair_x)(a, u0)[0], acc);
    for (int64_t u = u0; u < u1; u++) {
        double next[2] = {0, 0};
        NNK_FN(gn_forward_pair)(a, u, u + 1 == u1, acc, next);
        acc[0] = next[0];
        acc[1] = next[1];
    }
}

nnk_status NNK_FN(nnk_groupnorm_forward)(const nnk_norm_desc *desc, const NNK_T *x,
                                         int64_t x_len, const NNK_T *gamma, int64_t gamma_len,
                                         const NNK_T *beta, int64_t beta_len, NNK_T *y,
                                         int64_t y_len, NNK_T *save_mean, int64_t save_mean_len,
                                         NNK_T *save_invstd, int64_t save_invstd_len)
{
    static const char fn[] = "groupnorm_forward";
    norm_geom g;
    NNKI_TRY(norm_geometry(fn, desc, true, &g));
    NNKI_TRY(check_eps(fn, desc->eps));
    NNKI_TRY(nnki_check_tensor(fn, "x", x, x_len, true, NNKI_DIMS(g.n, g.c, g.spatial)));
    NNKI_TRY(nnki_check_tensor(fn, "gamma", gamma, gamma_len, true, NNKI_DIMS(g.c)));
    NNKI_TRY(nnki_check_tensor(fn, "beta", beta, beta_len, true, NNKI_DIMS(g.c)));
    NNKI_TRY(nnki_check_tensor(fn, "y", y, y_len, true, NNKI_DIMS(g.n, g.c, g.spatial)));
    NNKI_TRY(nnki_check_tensor(fn, "save_mean", save_mean, save_mean_len, true,
                               NNKI_DIMS(g.n, g.groups)));
    NNKI_TRY(nnki_check_tensor(fn, "save_invstd", save_invstd, save_invstd_len, true,
                               NNKI_DIMS(g.n, g.groups)));

    const NNK_FN(gn_forward_args) a = {
        .g = &g, .eps = desc->eps, .x = x, .gamma = gamma, .beta = beta, .y = y,
        .save_mean = save_mean, .save_invstd = save_invstd,
    };
    const int64_t pairs = g.n * g.groups;
    const int threads = norm_threads(pairs, g.len);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int t = 0; t < threads; t++)
        NNK_FN(gn_forward_pairs)(&a, norm_share(pairs, t, threads),
                                 norm_share(pairs, t + 1, threads));
    return NNK_OK;
}

/* ---- Group norm backward ------------------------------------------------------------------ */

/* The per-channel sums of sample i's pair of group gr (spatial > 1) into s (gamma-weighted, for
 * dx) and, unless NULL, dbeta and dgamma. With prev (not NULL), the dx of the pair before, at
 * channel 0, rides along channel by channel (prev_gamma: its group's gamma). next (not 0): how
 * far on the pair summed after this one starts. Every backward path takes its sums here, so
 * they give the same bits. */
NORM_LOOP void NNK_FN(gn_group_sums)(const NNK_FN(norm_backward_args) *a, int64_t gr, int64_t i,
                                     double s[2], double *dbeta, double *dgamma,
                                     const NNK_FN(rider) *prev, const NNK_T *prev_gamma,
                                     int64_t next)
{
    const norm_geom *g = a->g;
    const int64_t cg = g->group_channels, sp = g->spatial, u = i * g->groups + gr;
    const NNK_T *x = a->x + u * cg * sp, *dy = a->dy + u * cg * sp, *gamma = a->gamma + gr * cg;
    for (int64_t j = 0; j < cg; j++) {
        double acc[2] = {0, 0};
        NNK_FN(rider) r;
        if (prev != NULL) {
            r = NNK_FN(rider_at)(prev, j * sp);
            r.gamma = prev_gamma[j];
        }
        /* The next plane: of this pair, else the first of the next pair (run_ahead). */
        int64_t ahead = 0;
        if (j + 1 < cg)
            ahead = sp;
        else if (next != 0)
            ahead = next - j * sp;
        NNK_FN(grad_moments)(x + j * sp, dy + j * sp, NULL, sp, a->mean[u], acc,
                             prev != NULL ? &r : NULL, ahead);
        s[0] += gamma[j] * acc[0];
        s[1] += gamma[j] * acc[1];
        if (dbeta != NULL) {
            dbeta[j] += acc[0];
            dgamma[j] += a->invstd[u] * acc[1];
        }
    }
}

/* dx of pair u: the group's sums of dxhat = gamma*dy and dxhat*(x - mean), then dx. */
static NORM_CLONES void NNK_FN(gn_backward_pair)(const NNK_FN(norm_backward_args) *a, int64_t u)
{
    const norm_geom *g = a->g;
    const int64_t cg = g->group_channels, count = cg * g->spatial, sp = g->spatial;
    const NNK_T *x = a->x + u * count, *dy = a->dy + u * count;
    const NNK_T *gamma = a->gamma + (u % g->groups) * cg;
    NNK_T *dx = a->dx + u * count;
    const NNK_T mean = a->mean[u], invstd = a->invstd[u];
    double s1 = 0, s2 = 0, b, c;
    if (sp == 1) {
        double acc[2] = {0, 0};
        NNK_FN(grad_moments)(x, dy, gamma, cg, mean, acc, NULL, 0);
        s1 = acc[0];
        s2 = acc[1];
    } else {
        double sums[2] = {0, 0};
        NNK_FN(gn_group_sums)(a, u % g->groups, u / g->groups, sums, NULL, NULL, NULL, NULL,
                              u + 1 < g->n * g->groups ? count : 0);
        s1 = sums[0];
        s2 = sums[1];
    }
    dx_coefficients(invstd, s1, s2, (double)count, &b, &c);
    const NNK_T bt = (NNK_T)b, ct = (NNK_T)c;
    if (sp == 1)
        for (int64_t j = 0; j < cg; j++)
            dx[j] = invstd * (gamma[j] * dy[j] + bt * (x[j] - mean) + ct);
    else
        for (int64_t j = 0; j < cg; j++)
            NNK_FN(grad_affine)(x + j * sp, dy + j * sp, dx + j * sp, sp, mean, invstd, gamma[j],
                                bt, ct);
}

/* dgamma and dbeta of channel ch (spatial > 1): sums over its n planes, each centred and
 * scaled by the statistics of its own (sample, group). */
static NORM_CLONES void NNK_FN(gn_params_channel)(const NNK_FN(norm_backward_args) *a,
                                                  int64_t ch)
{
    const norm_geom *g = a->g;
    const int64_t stride = g->c * g->spatial, group = ch / g->group_channels;
    const NNK_T *x = a->x + ch * g->spatial, *dy = a->dy + ch * g->spatial;
    double dbeta = 0, dgamma = 0;
    for (int64_t i = 0; i < g->n; i++) {
        const int64_t u = i * g->groups + group;
        double acc[2] = {0, 0};
        NNK_FN(grad_moments)(x + i * stride, dy + i * stride, NULL, g->spatial, a->mean[u], acc,
                                 NULL, 0);
        dbeta += acc[0];
        dgamma += a->invstd[u] * acc[1];
    }
    if (a->dbeta != NULL)
        a->dbeta[ch] = (NNK_T)dbeta;
    if (a->dgamma != NULL)
        a->dgamma[ch] = (NNK_T)dgamma;
}

/* dgamma and dbeta of channels [c0, c0 + NORM_BLOCK) of x (n, c), row by row; within a row
 * the block is cut where the group changes, so each run shares one mean and invstd. */
static NORM_CLONES void NNK_FN(gn_params_block)(const NNK_FN(norm_backward_args) *a, int64_t c0)
{
    const norm_geom *g = a->g;
    const int64_t width = nnki_min(NORM_BLOCK, g->c - c0), cg = g->group_channels;
    double dbeta[NORM_BLOCK] = {0}, dgamma[NORM_BLOCK] = {0};
    for (int64_t i = 0; i < g->n; i++) {
        const NNK_T *x = a->x + i * g->c + c0, *dy = a->dy + i * g->c + c0;
        for (int64_t j = 0; j < width;) {
            const int64_t group = (c0 + j) / cg, end = nnki_min(width, (group + 1) * cg - c0);
            const double mean = a->mean[i * g->groups + group];
            const double invstd = a->invstd[i * g->groups + group];
            for (; j < end; j++) {
                dbeta[j] += dy[j];
                dgamma[j] += invstd * ((double)dy[j] * ((double)x[j] - mean));
            }
        }
    }
    for (int64_t j = 0; j < width; j++) {
        if (a->dbeta != NULL)
            a->dbeta[c0 + j] = (NNK_T)dbeta[j];
        if (a->dgamma != NULL)
            a->dgamma[c0 + j] = (NNK_T)dgamma[j];
    }
}

/* dx of pairs first, first + step, ... (count of them; spatial > 1), each pair read from
 * memory once: its per-channel sums give both dx's coefficients and the channels' dgamma and
 * dbeta (added into dbeta and dgamma at its group's first channel less base), and its dx is
 * written while it is still in L1/L2, riding along the next pair's sums. The sums are those
 * gn_backward_pair and gn_params_channel take, added in the same order, so every path gives
 * the same bits. */
NORM_LOOP void NNK_FN(gn_backward_walk)(const NNK_FN(norm_backward_args) *a, int64_t first,
                                        int64_t step, int64_t count, double *dbeta,
                                        double *dgamma, int64_t base)
{
    const norm_geom *g = a->g;
    const int64_t cg = g->group_channels, size = cg * g->spatial, sp = g->spatial;
    double s[2] = {0, 0};
    int64_t at = first % g->groups * cg - base;
    NNK_FN(gn_group_sums)(a, first % g->groups, first / g->groups, s, dbeta + at, dgamma + at,
                          NULL, NULL, count > 1 ? step * size : 0);
    for (int64_t k = 0; k < count; k++) {
        const int64_t u = first + k * step, v = u + step;
        const NNK_T invstd = a->invstd[u], *gamma = a->gamma + u % g->groups * cg;
        double b, c, next[2] = {0, 0};
        dx_coefficients(invstd, s[0], s[1], (double)size, &b, &c);
        const NNK_FN(rider) r = {
            .x = a->x + u * size, .dy = a->dy + u * size, .out = a->dx + u * size,
            .centre = a->mean[u], .invstd = invstd, .b = (NNK_T)b, .c = (NNK_T)c,
        };
        if (k + 1 < count) {
            at = v % g->groups * cg - base;
            NNK_FN(gn_group_sums)(a, v % g->groups, v / g->groups, next, dbeta + at,
                                  dgamma + at, &r, gamma, k + 2 < count ? step * size : 0);
        } else {
            for (int64_t j = 0; j < cg; j++)
                NNK_FN(grad_affine)(r.x + j * sp, r.dy + j * sp, r.out + j * sp, sp, r.centre,
                                    invstd, gamma[j], r.b, r.c);
        }
        s[0] = next[0];
        s[1] = next[1];
    }
}

/* dgamma and dbeta (unless NULL) of channels [c0, c1) from their sums, sums[0] being c0's. */
static void NNK_FN(gn_put_params)(const NNK_FN(norm_backward_args) *a, int64_t c0, int64_t c1,
                                  const double *dbeta, const double *dgamma)
{
    for (int64_t ch = c0; ch < c1; ch++) {
        if (a->dbeta != NULL)
            a->dbeta[ch] = (NNK_T)dbeta[ch - c0];
        if (a->dgamma != NULL)
            a->dgamma[ch] = (NNK_T)dgamma[ch - c0];
    }
}

/* Group gr of every sample, in sample order, when the group has at most NORM_BLOCK channels:
 * one thread's share when threads share out whole groups. */
static NORM_CLONES void NNK_FN(gn_backward_group)(const NNK_FN(norm_backward_args) *a, int64_t gr)
{
    const int64_t cg = a->g->group_channels;
    double dbeta[NORM_BLOCK] = {0}, dgamma[NORM_BLOCK] = {0};
    NNK_FN(gn_backward_walk)(a, gr, a->g->groups, a->g->n, dbeta, dgamma, gr * cg);
    NNK_FN(gn_put_params)(a, gr * cg, (gr + 1) * cg, dbeta, dgamma);
}

/* Every pair in memory order, on one thread, when there are at most NORM_IN_ORDER channels:
 * x, dy and dx each stream straight through memory instead of a group's pairs a sample apart
 * (each channel's dgamma and dbeta still summed in sample order). */
static NORM_CLONES void NNK_FN(gn_backward_in_order)(const NNK_FN(norm_backward_args) *a)
{
    double dbeta[NORM_IN_ORDER] = {0}, dgamma[NORM_IN_ORDER] = {0};
    NNK_FN(gn_backward_walk)(a, 0, 1, a->g->n * a->g->groups, dbeta, dgamma, 0);
    NNK_FN(gn_put_params)(a, 0, a->g->c, dbeta, dgamma);
}

nnk_status NNK_FN(nnk_groupnorm_backward)(const nnk_norm_desc *desc, const NNK_T *x,
                                          int64_t x_len, const NNK_T *gamma, int64_t gamma_len,
                                          const NNK_T *save_mean, int64_t save_mean_len,
                                          const NNK_T *save_invstd, int64_t save_invstd_len,
                                          const NNK_T *dy, int64_t dy_len, NNK_T *dx,
                                          int64_t dx_len, NNK_T *dgamma, int64_t dgamma_len,
                                          NNK_T *dbeta, int64_t dbeta_len)
{
    static const char fn[] = "groupnorm_backward";
    norm_geom g;
    NNKI_TRY(norm_geometry(fn, desc, true, &g));
    const NNK_FN(norm_backward_args) a = {
        .g = &g, .x = x, .gamma = gamma, .mean = save_mean, .invstd = save_invstd, .dy = dy,
        .dx = dx, .dgamma = dgamma, .dbeta = dbeta,
    };
    NNKI_TRY(NNK_FN(check_backward)(fn, &g, true, &a, x_len, gamma_len, save_mean_len,
                                    save_invstd_len, dy_len, dx_len, dgamma_len, dbeta_len));

    /* dx needs sums over each (sample, group), dgamma and dbeta sums over each channel across
     * samples. One thread serves both in one pass over x and dy in memory order; more threads
     * share out whole groups for that pass, when there are enough groups to keep them evenly
     * busy; otherwise two loops, each sharing out its own sums. Either way no sum is split
     * between threads. */
    const int64_t pairs = g.n * g.groups;
    const int threads = norm_threads(pairs, g.len);
    const bool whole = dx != NULL && (dgamma != NULL || dbeta != NULL) && g.spatial > 1 &&
                       g.group_channels <= NORM_BLOCK;
    if (whole && threads == 1 && g.c <= NORM_IN_ORDER) {
        NNK_FN(gn_backward_in_order)(&a);
        return NNK_OK;
    }
    if (whole && (g.groups % threads == 0 || g.groups >= 4 * threads)) {
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
        for (int64_t gr = 0; gr < g.groups; gr++)
            NNK_FN(gn_backward_group)(&a, gr);
        return NNK_OK;
    }
    if (dx != NULL) {
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
        for (int64_t u = 0; u < pairs; u++)
            NNK_FN(gn_backward_pair)(&a, u);
    }
    if (dgamma != NULL || dbeta != NULL) {
        const bool rows = g.spatial == 1;
        const int64_t units = rows ? norm_blocks(g.c) : g.c;
        const int params_threads = norm_threads(units, g.len);
#pragma omp parallel for num_threads(params_threads) if (params_threads > 1) schedule(static)
        for (int64_t u = 0; u < units; u++) {
            if (rows)
                NNK_FN(gn_params_block)(&a, u * NORM_BLOCK);
            else
                NNK_FN(gn_params_channel)(&a, u);
        }
    }
    return NNK_OK;
}
