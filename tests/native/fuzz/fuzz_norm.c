/*
 * fuzz_norm.c - libFuzzer target for normalisation: batch norm forward (train, test, and an
 * invalid mode) and backward, group norm forward and backward, in float and double.
 *
 * Input: an op byte (bit 0: double; bits 1-2: the call; bits 3-4: the batch norm mode, 2 and 3
 * invalid; bits 5-7 all set: a NULL descriptor), n, c, spatial and groups, eps and momentum,
 * then each buffer's length choice and values (fuzz.h).
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

/* eps or momentum: the usual values, the edges of their ranges, non-finite ones, or raw bits. */
static double fuzz_parameter(fuzz_input *in)
{
    static const double values[] = {1e-5, 0.9, 0, -0.0, 1, -1e-5, 1.0000001, DBL_TRUE_MIN,
                                    DBL_MAX, NAN, INFINITY, -INFINITY, 0.5, 1e300};
    uint8_t b = fuzz_byte(in);
    if (b < 16 * sizeof values / sizeof values[0])
        return values[b / 16];
    uint64_t bits = fuzz_bits(in, 8);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static bool eps_valid(double eps) { return eps > 0 && isfinite(eps); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {.data = data, .size = size};
    const uint8_t op = fuzz_byte(&in);
    const bool f64 = op & 1;
    const enum fuzz_type type = f64 ? FUZZ_F64 : FUZZ_F32;
    nnk_norm_desc d;
    d.n = fuzz_size(&in);
    d.c = fuzz_size(&in);
    d.spatial = fuzz_size(&in);
    d.groups = fuzz_size(&in);
    d.eps = fuzz_parameter(&in);
    d.momentum = fuzz_parameter(&in);
    const nnk_norm_desc *desc = (op & 0xE0) == 0xE0 ? NULL : &d;

    const int64_t x_want = FUZZ_PRODUCT(d.n, d.c, d.spatial);
    const int64_t stats_want = FUZZ_PRODUCT(d.n, d.groups);
    const bool groups_valid = d.groups >= 1 && d.c >= 1 && d.c % d.groups == 0;
    nnk_status s;
    switch ((op >> 1) & 3) {
    case 0: {
        const nnk_norm_mode mode = (nnk_norm_mode)((op >> 3) & 3);
        const bool train = mode == NNK_NORM_TRAIN;
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer gamma = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer beta = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer running_mean = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer running_var = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer y = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer save_mean = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer save_invstd = fuzz_tensor(&in, d.c, type, 0);
        s = FUZZ_CALL("batchnorm_forward",
                      f64 ? nnk_batchnorm_forward_f64(
                                desc, mode, x.p, x.len, gamma.p, gamma.len, beta.p, beta.len,
                                running_mean.p, running_mean.len, running_var.p,
                                running_var.len, y.p, y.len, save_mean.p, save_mean.len,
                                save_invstd.p, save_invstd.len)
                          : nnk_batchnorm_forward_f32(
                                desc, mode, x.p, x.len, gamma.p, gamma.len, beta.p, beta.len,
                                running_mean.p, running_mean.len, running_var.p,
                                running_var.len, y.p, y.len, save_mean.p, save_mean.len,
                                save_invstd.p, save_invstd.len));
        if (s != NNK_OK)
            break;
        if (mode > NNK_NORM_TEST || !eps_valid(d.eps) || !(d.momentum >= 0 && d.momentum <= 1))
            FUZZ_FAIL("batchnorm_forward accepted mode %d, eps %g, momentum %g", (int)mode,
                      d.eps, d.momentum);
        FUZZ_EXPECT_LEN("batchnorm_forward", "x", x, x_want);
        FUZZ_EXPECT_LEN("batchnorm_forward", "y", y, x_want);
        FUZZ_EXPECT_LEN("batchnorm_forward", "gamma", gamma, d.c);
        FUZZ_EXPECT_LEN("batchnorm_forward", "running_var", running_var, d.c);
        if (train || save_mean.p != NULL)
            FUZZ_EXPECT_LEN("batchnorm_forward", "save_mean", save_mean, d.c);
        break;
    }
    case 1: {
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer gamma = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer mean = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer invstd = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer dy = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer dx = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer dgamma = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer dbeta = fuzz_tensor(&in, d.c, type, 0);
        s = FUZZ_CALL("batchnorm_backward",
                      f64 ? nnk_batchnorm_backward_f64(desc, x.p, x.len, gamma.p, gamma.len,
                                                       mean.p, mean.len, invstd.p, invstd.len,
                                                       dy.p, dy.len, dx.p, dx.len, dgamma.p,
                                                       dgamma.len, dbeta.p, dbeta.len)
                          : nnk_batchnorm_backward_f32(desc, x.p, x.len, gamma.p, gamma.len,
                                                       mean.p, mean.len, invstd.p, invstd.len,
                                                       dy.p, dy.len, dx.p, dx.len, dgamma.p,
                                                       dgamma.len, dbeta.p, dbeta.len));
        if (s == NNK_OK) {
            FUZZ_EXPECT_LEN("batchnorm_backward", "x", x, x_want);
            FUZZ_EXPECT_LEN("batchnorm_backward", "dy", dy, x_want);
            FUZZ_EXPECT_LEN("batchnorm_backward", "save_invstd", invstd, d.c);
            if (dx.p != NULL)
                FUZZ_EXPECT_LEN("batchnorm_backward", "dx", dx, x_want);
        }
        break;
    }
    case 2: {
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer gamma = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer beta = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer y = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer mean = fuzz_tensor(&in, stats_want, type, 0);
        fuzz_buffer invstd = fuzz_tensor(&in, stats_want, type, 0);
        s = FUZZ_CALL("groupnorm_forward",
                      f64 ? nnk_groupnorm_forward_f64(desc, x.p, x.len, gamma.p, gamma.len,
                                                      beta.p, beta.len, y.p, y.len, mean.p,
                                                      mean.len, invstd.p, invstd.len)
                          : nnk_groupnorm_forward_f32(desc, x.p, x.len, gamma.p, gamma.len,
                                                      beta.p, beta.len, y.p, y.len, mean.p,
                                                      mean.len, invstd.p, invstd.len));
        if (s != NNK_OK)
            break;
        if (!groups_valid || !eps_valid(d.eps))
            FUZZ_FAIL("groupnorm_forward accepted c %lld, groups %lld, eps %g", (long long)d.c,
                      (long long)d.groups, d.eps);
        FUZZ_EXPECT_LEN("groupnorm_forward", "x", x, x_want);
        FUZZ_EXPECT_LEN("groupnorm_forward", "y", y, x_want);
        FUZZ_EXPECT_LEN("groupnorm_forward", "beta", beta, d.c);
        FUZZ_EXPECT_LEN("groupnorm_forward", "save_mean", mean, stats_want);
        FUZZ_EXPECT_LEN("groupnorm_forward", "save_invstd", invstd, stats_want);
        break;
    }
    default: {
        fuzz_buffer x = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer gamma = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer mean = fuzz_tensor(&in, stats_want, type, 0);
        fuzz_buffer invstd = fuzz_tensor(&in, stats_want, type, 0);
        fuzz_buffer dy = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer dx = fuzz_tensor(&in, x_want, type, 0);
        fuzz_buffer dgamma = fuzz_tensor(&in, d.c, type, 0);
        fuzz_buffer dbeta = fuzz_tensor(&in, d.c, type, 0);
        s = FUZZ_CALL("groupnorm_backward",
                      f64 ? nnk_groupnorm_backward_f64(desc, x.p, x.len, gamma.p, gamma.len,
                                                       mean.p, mean.len, invstd.p, invstd.len,
                                                       dy.p, dy.len, dx.p, dx.len, dgamma.p,
                                                       dgamma.len, dbeta.p, dbeta.len)
                          : nnk_groupnorm_backward_f32(desc, x.p, x.len, gamma.p, gamma.len,
                                                       mean.p, mean.len, invstd.p, invstd.len,
                                                       dy.p, dy.len, dx.p, dx.len, dgamma.p,
                                                       dgamma.len, dbeta.p, dbeta.len));
        if (s != NNK_OK)
            break;
        if (!groups_valid)
            FUZZ_FAIL("groupnorm_backward accepted c %lld, groups %lld", (long long)d.c,
                      (long long)d.groups);
        FUZZ_EXPECT_LEN("groupnorm_backward", "x", x, x_want);
        FUZZ_EXPECT_LEN("groupnorm_backward", "save_mean", mean, stats_want);
        if (dgamma.p != NULL)
            FUZZ_EXPECT_LEN("groupnorm_backward", "dgamma", dgamma, d.c);
        break;
    }
    }
    fuzz_free_all(&in);
    return 0;
}
