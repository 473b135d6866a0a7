using System.Numerics;
using Nnk;

namespace Nnk.Tests.Conv;

/// <summary>
/// The managed im2col and col2im against their definition, element by element with every bound
/// tested, bit for bit: the valid-column ranges, the span copies and vector adds of stride 1 and
/// col2im's taps-outermost order must change nothing.
/// </summary>
public class ManagedIm2ColTests
{
    // (c, h, w, kh, kw, strideH, strideW, padH, padW): square and rectangular windows, strides 1-3
    // differing by axis, pads from 0 to the window's size (whole padded rows and columns), a 1x1,
    // conv_seed's and conv_mnist2's geometries, and stride-2 rows of 34-35 elements (two or more
    // vectors of float at 256 and at 512 bits).
    public static TheoryData<int, int, int, int, int, int, int, int, int> Geometries => new()
    {
        { 2, 5, 7, 3, 3, 1, 1, 1, 1 },
        { 1, 6, 5, 2, 3, 2, 3, 0, 2 },
        { 3, 13, 13, 5, 5, 1, 1, 0, 0 },
        { 2, 7, 8, 3, 3, 2, 2, 3, 3 },
        { 1, 4, 4, 1, 1, 1, 1, 0, 0 },
        { 3, 31, 31, 3, 3, 2, 2, 1, 1 },
        { 1, 3, 10, 4, 4, 3, 3, 2, 4 },
        { 2, 9, 20, 3, 7, 1, 1, 2, 6 },
        { 1, 3, 70, 3, 3, 2, 2, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Im2ColAndCol2Im_MatchTheDefinition_Float(int c, int h, int w, int kh, int kw, int sh, int sw, int ph,
        int pw) => Check<float>(Geometry(c, h, w, kh, kw, sh, sw, ph, pw));

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Im2ColAndCol2Im_MatchTheDefinition_Double(int c, int h, int w, int kh, int kw, int sh, int sw, int ph,
        int pw) => Check<double>(Geometry(c, h, w, kh, kw, sh, sw, ph, pw));

    private static ConvGeometry Geometry(int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw) =>
        ConvGeometry.Create(new TensorShape([1, c, h, w]), new TensorShape([1, c, kh, kw]), new ConvParam(sh, sw, ph, pw));

    private static void Check<T>(ConvGeometry g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(g.H * 31 + g.W);
        int imageLength = g.C * g.H * g.W, colsLength = g.C * g.KH * g.KW * g.OutH * g.OutW;
        T[] image = Values<T>(random, imageLength), cols = Values<T>(random, colsLength);

        // Garbage in the outputs: both functions overwrite every element.
        T[] gotCols = Enumerable.Repeat(T.NaN, colsLength).ToArray();
        ManagedIm2Col<T>.Im2Col(g, image, gotCols);
        Assert.Equal(ReferenceIm2Col(g, image), gotCols);

        T[] gotImage = Enumerable.Repeat(T.NaN, imageLength).ToArray();
        ManagedIm2Col<T>.Col2Im(g, cols, gotImage);
        Assert.Equal(ReferenceCol2Im(g, cols), gotImage);
    }

    private static T[] Values<T>(Random random, int length) where T : unmanaged, IFloatingPointIeee754<T> =>
        Enumerable.Range(0, length).Select(_ => T.CreateChecked(random.NextDouble() * 2 - 1)).ToArray();

    // Every entry of the cols matrix in order, with the index of the pixel it reads, or -1 over
    // padding: the definition both functions follow.
    private static IEnumerable<(int Column, int Pixel)> Entries(ConvGeometry g)
    {
        int k = 0;
        for (int c = 0; c < g.C; c++)
            for (int ki = 0; ki < g.KH; ki++)
                for (int kj = 0; kj < g.KW; kj++)
                    for (int oh = 0; oh < g.OutH; oh++)
                        for (int ow = 0; ow < g.OutW; ow++, k++)
                        {
                            int ih = oh * g.StrideH - g.PadH + ki, iw = ow * g.StrideW - g.PadW + kj;
                            bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                            yield return (k, inside ? (c * g.H + ih) * g.W + iw : -1);
                        }
    }

    private static T[] ReferenceIm2Col<T>(ConvGeometry g, T[] image) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var cols = new T[g.C * g.KH * g.KW * g.OutH * g.OutW];
        foreach (var (column, pixel) in Entries(g))
            cols[column] = pixel >= 0 ? image[pixel] : T.Zero;
        return cols;
    }

    // Each pixel's taps in (ki, kj) order, as col2im must add them for the same bits.
    private static T[] ReferenceCol2Im<T>(ConvGeometry g, T[] cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var image = new T[g.C * g.H * g.W];
        foreach (var (column, pixel) in Entries(g))
            if (pixel >= 0)
                image[pixel] += cols[column];
        return image;
    }
}
