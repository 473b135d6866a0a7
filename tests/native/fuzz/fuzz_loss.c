/*
 * fuzz_loss.c - libFuzzer target for the losses: softmax cross-entropy and multiclass SVM, in
 * float and double, with labels mostly in range and sometimes not.
 *
 * Input: an op byte (bit 0: double; bit 1: SVM; bit 2: a NULL loss pointer), n, classes, then
 * each buffer's length choice and values (fuzz.h).
 *
 * Besides the checks of fuzz.h: a loss that succeeds was given labels all in [0, classes), and
 * a loss of scores that are all finite is not NaN (the softmax loss may still be +inf when a
 * label's probability underflows).
 */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_initialize();
    return 0;
}

static bool all_finite(fuzz_buffer b, bool f64)
{
    for (int64_t k = 0; k < b.len; k++)
        if (!isfinite(f64 ? ((const double *)b.p)[k] : ((const float *)b.p)[k]))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {.data = data, .size = size};
    const uint8_t op = fuzz_byte(&in);
    const bool f64 = op & 1, svm = (op >> 1) & 1, null_loss = (op >> 2) & 1;
    const enum fuzz_type type = f64 ? FUZZ_F64 : FUZZ_F32;
    const int64_t n = fuzz_size(&in), classes = fuzz_size(&in);
    const int64_t len_want = FUZZ_PRODUCT(n, classes);
    fuzz_buffer scores = fuzz_tensor(&in, len_want, type, 0);
    fuzz_buffer labels = fuzz_tensor(&in, n, FUZZ_I32, classes);
    fuzz_buffer dscores = fuzz_tensor(&in, len_want, type, 0);
    double loss64 = 0;
    float loss32 = 0;
    nnk_status s;
    if (svm)
        s = FUZZ_CALL("svm_loss",
                      f64 ? nnk_svm_loss_f64(n, classes, scores.p, scores.len, labels.p,
                                             labels.len, null_loss ? NULL : &loss64, dscores.p,
                                             dscores.len)
                          : nnk_svm_loss_f32(n, classes, scores.p, scores.len, labels.p,
                                             labels.len, null_loss ? NULL : &loss32, dscores.p,
                                             dscores.len));
    else
        s = FUZZ_CALL("softmax_loss",
                      f64 ? nnk_softmax_loss_f64(n, classes, scores.p, scores.len, labels.p,
                                                 labels.len, null_loss ? NULL : &loss64,
                                                 dscores.p, dscores.len)
                          : nnk_softmax_loss_f32(n, classes, scores.p, scores.len, labels.p,
                                                 labels.len, null_loss ? NULL : &loss32,
                                                 dscores.p, dscores.len));
    if (s == NNK_OK) {
        FUZZ_EXPECT_LEN("loss", "scores", scores, len_want);
        FUZZ_EXPECT_LEN("loss", "dscores", dscores, len_want);
        FUZZ_EXPECT_LEN("loss", "labels", labels, n);
        const int32_t *l = labels.p;
        for (int64_t i = 0; i < n; i++)
            if (l[i] < 0 || l[i] >= classes)
                FUZZ_FAIL("loss succeeded with labels[%lld] = %d, classes %lld", (long long)i,
                          l[i], (long long)classes);
        const double loss = f64 ? loss64 : loss32;
        if (isnan(loss) && all_finite(scores, f64))
            FUZZ_FAIL("%s loss of finite scores is NaN", svm ? "svm" : "softmax");
    }
    fuzz_free_all(&in);
    return 0;
}
