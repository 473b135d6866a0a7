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
}
