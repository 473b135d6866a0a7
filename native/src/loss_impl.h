/*
 * loss_impl.h - softmax cross-entropy and multiclass SVM losses for one element type. loss.c
 * includes it once per type with NNK_T (float or double) and NNK_SUFFIX (f32 or f64) defined.
 *
 * For row i with scores s (classes values) and label y, as the seeds' softmax_loss and
 * svm_loss:
 *   softmax  d_j = s_j - max(s),  Z = sum_j exp(d_j),  loss_i = log Z - d_y,
 *            dscores_ij = (exp(d_j)/Z - [j == y]) / n
 *   svm      m_j = s_j - s_y + 1 (j != y),  loss_i = sum_j max(0, m_j),
 *            dscores_ij = [m_j > 0]/n (j != y),  dscores_iy = -#{j : m_j > 0}/n
 * and *loss = sum_i loss_i / n. A NaN score makes the loss NaN. Every value of a row is read
 * before any of it is written, and each dscores_ij only from s_ij, so dscores may even be
 * scores; that is not part of the contract.
 */

/* One row of the softmax loss: writes its dscores, returns its loss. exp is taken twice per
 * element, in double both times, rather than stored in dscores as NNK_T: for float that would
 * round the probabilities before p - 1, which cancels when p is near 1. */
static double NNK_FN(softmax_row)(const NNK_T *s, int64_t classes, int32_t y, double inv_n,
                                  NNK_T *ds)
{
    NNK_T max = s[0];
    for (int64_t j = 1; j < classes; j++)
        max = s[j] > max ? s[j] : max;
    double z = 0;
    for (int64_t j = 0; j < classes; j++)
        z += exp((double)s[j] - (double)max);
    const double shifted_y = (double)s[y] - (double)max;
    const double inv_z = 1 / z;
    for (int64_t j = 0; j < classes; j++) {
        double p = exp((double)s[j] - (double)max) * inv_z;
        ds[j] = (NNK_T)((p - (j == y)) * inv_n);
    }
    return log(z) - shifted_y;
}

/* One row of the SVM loss: writes its dscores, returns its loss. */
static double NNK_FN(svm_row)(const NNK_T *s, int64_t classes, int32_t y, double inv_n,
                              NNK_T *ds)
{
    const double sy = s[y];
    double sum = 0;
    int64_t positive = 0;
    for (int64_t j = 0; j < classes; j++) {
        double m = (double)s[j] - sy + 1;
        bool counted = j != y && m > 0;
        /* !(m <= 0) rather than m > 0 so that a NaN margin reaches the loss. */
        if (j != y && !(m <= 0))
            sum += m;
        positive += counted;
        ds[j] = counted ? (NNK_T)inv_n : (NNK_T)0;
    }
    ds[y] = (NNK_T)(-(double)positive * inv_n);
    return sum;
}

/* The loss of rows [b*rows, min((b + 1)*rows, n)) for every block b, blocks in parallel;
 * see loss.c for why the result does not depend on the thread count. */
static void NNK_FN(loss_rows)(double (*row)(const NNK_T *, int64_t, int32_t, double, NNK_T *),
                              int64_t n, int64_t classes, int64_t len, const NNK_T *scores,
                              const int32_t *labels, NNK_T *loss, NNK_T *dscores)
{
    const int64_t rows = loss_block_rows(n);
    const int64_t blocks = n / rows + (n % rows != 0);
    const double inv_n = 1 / (double)n;
    double block_loss[LOSS_BLOCKS];
    const int threads = loss_threads(blocks, len);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        /* b*rows <= n, whereas (b + 1)*rows may pass INT64_MAX for n near it. */
        const int64_t end = b * rows + nnki_min(rows, n - b * rows);
        double sum = 0;
        for (int64_t i = b * rows; i < end; i++)
            sum += row(scores + i * classes, classes, labels[i], inv_n, dscores + i * classes);
        block_loss[b] = sum;
    }
    double total = 0;
    for (int64_t b = 0; b < blocks; b++)
        total += block_loss[b];
    *loss = (NNK_T)(total / (double)n);
}

nnk_status NNK_FN(nnk_softmax_loss)(int64_t n, int64_t classes, const NNK_T *scores,
                                    int64_t scores_len, const int32_t *labels,
                                    int64_t labels_len, NNK_T *loss, NNK_T *dscores,
                                    int64_t dscores_len)
{
    static const char fn[] = "softmax_loss";
    int64_t len;
    NNKI_TRY(check_loss(fn, n, classes, scores, scores_len, labels, labels_len, loss, dscores,
                        dscores_len, &len));
    NNK_FN(loss_rows)(NNK_FN(softmax_row), n, classes, len, scores, labels, loss, dscores);
    return NNK_OK;
}

nnk_status NNK_FN(nnk_svm_loss)(int64_t n, int64_t classes, const NNK_T *scores,
                                int64_t scores_len, const int32_t *labels, int64_t labels_len,
                                NNK_T *loss, NNK_T *dscores, int64_t dscores_len)
{
    static const char fn[] = "svm_loss";
    int64_t len;
    NNKI_TRY(check_loss(fn, n, classes, scores, scores_len, labels, labels_len, loss, dscores,
                        dscores_len, &len));
    NNK_FN(loss_rows)(NNK_FN(svm_row), n, classes, len, scores, labels, loss, dscores);
    return NNK_OK;
}
