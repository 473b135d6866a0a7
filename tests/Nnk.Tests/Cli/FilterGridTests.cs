using Nnk.Cli.Plots;

namespace Nnk.Tests.Cli;

/// <summary>The seeds' <c>visualize_grid</c>: layout, padding, per-image scaling to 0..255.</summary>
public class FilterGridTests
{
    [Fact]
    public void Build_ThreeImages_TwoByTwoGridWithOnePixelPadding()
    {
        float[] values = [0, 1, 2, 3, /**/ 10, 10, 10, 20, /**/ -1, 1, -1, 1];

        GridImage grid = FilterGrid.Build(values, [3, 1, 2, 2]);

        Assert.Equal((5, 5, 1), (grid.Height, grid.Width, grid.Channels));
        byte[] expected =
        [
            0, 85, 0, 0, 0,
            170, 255, 0, 0, 255,
            0, 0, 0, 0, 0,
            0, 255, 0, 0, 0,
            0, 255, 0, 0, 0,
        ];
        Assert.Equal(expected, grid.Pixels);
    }

    [Fact]
    public void Build_ConstantImage_IsAllZero()
    {
        GridImage grid = FilterGrid.Build([5f, 5f, 5f, 5f], [1, 1, 2, 2]);

        Assert.All(grid.Pixels, p => Assert.Equal(0, p));
    }

    [Fact]
    public void Build_ColourImages_ScalesOverAllChannelsAndPutsChannelsLast()
    {
        // One 1x1 image with three channels: R = 0, G = 1, B = 2.
        GridImage grid = FilterGrid.Build([0f, 1f, 2f], [1, 3, 1, 1]);

        Assert.Equal((1, 1, 3), (grid.Height, grid.Width, grid.Channels));
        Assert.Equal(new byte[] { 0, 128, 255 }, grid.Pixels);
    }

    [Fact]
    public void Build_WrongValueCount_ThrowsNamingBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => FilterGrid.Build(new float[5], [2, 1, 2, 2]));

        Assert.Contains("needs 8 values, but 5 were given", e.Message);
    }
}
