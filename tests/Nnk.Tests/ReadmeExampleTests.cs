using Nnk;

namespace Nnk.Tests;

/// <summary>The public API's first shape, exactly as the README shows it, compiles and runs.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void ReadmeConvExample_ProducesDocumentedShapes()
    {
        var x = Nnk.Tensor<float>.RandN(new[] { 2, 3, 8, 8 }, seed: 1);
        var w = Nnk.Tensor<float>.RandN(new[] { 4, 3, 3, 3 }, seed: 2);
        var b = Nnk.Tensor<float>.Zeros(new[] { 4 });
        var (y, cache) = Nnk.Conv2d.Forward(x, w, b, new Nnk.ConvParam(stride: 1, pad: 1));
        var (dx, dw, db) = Nnk.Conv2d.Backward(Nnk.Tensor<float>.Ones(y.Shape), cache);

        Assert.Equal("2,4,8,8", string.Join(",", y.Shape));
        Assert.Equal(x.Shape, dx.Shape);
        Assert.Equal(w.Shape, dw.Shape);
        // With dout all ones, db[f] counts the outputs of filter f: N * OutH * OutW.
        Assert.All(db.Span.ToArray(), v => Assert.Equal(2 * 8 * 8, v));
    }

    [Fact]
    public void ReadmePoolingAndNormExample_RunsAndSwitchesToTestMode()
    {
        var x = Nnk.Tensor<float>.RandN(new[] { 2, 3, 8, 8 }, seed: 1);
        var w = Nnk.Tensor<float>.RandN(new[] { 4, 3, 3, 3 }, seed: 2);
        var (y, _) = Nnk.Conv2d.Forward(x, w, null, new Nnk.ConvParam(stride: 1, pad: 1));

        var (p, poolCache) = Nnk.MaxPool2d.Forward(y, new Nnk.PoolParam(poolHeight: 2, poolWidth: 2, stride: 2));
        var dy = Nnk.MaxPool2d.Backward(Nnk.Tensor<float>.Ones(p.Shape), poolCache);

        var bnParam = new Nnk.BatchNormParam<float>();
        var gamma = Nnk.Tensor<float>.Ones(new[] { 4 });
        var beta = Nnk.Tensor<float>.Zeros(new[] { 4 });
        var (z, bnCache) = Nnk.SpatialBatchNorm.Forward(y, gamma, beta, bnParam);
        var (dz, dgamma, dbeta) = Nnk.SpatialBatchNorm.Backward(Nnk.Tensor<float>.Ones(z.Shape), bnCache);
        bnParam.Mode = Nnk.NormMode.Test;
        var (zTest, _) = Nnk.SpatialBatchNorm.Forward(y, gamma, beta, bnParam);

        Assert.Equal("2,4,4,4", string.Join(",", p.Shape));
        Assert.Equal(y.Shape, dy.Shape);
        Assert.Equal(y.Shape, dz.Shape);
        Assert.Equal(4, dgamma.Length);
        Assert.Equal(4, dbeta.Length);
        Assert.NotNull(bnParam.RunningMean);
        // Test mode uses running statistics (0.1 of one batch's), so it differs from training mode.
        Assert.False(z.Span.SequenceEqual(zTest.Span));
    }
}
