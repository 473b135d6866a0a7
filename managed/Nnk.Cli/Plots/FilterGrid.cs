namespace Nnk.Cli.Plots;

/// <summary>
/// The seeds' <c>visualize_grid</c>: F images of (C, H, W) laid out on a ceil(sqrt(F)) square grid,
/// one pixel of zeros between cells, each image scaled on its own so that its minimum is 0 and its
/// maximum 255 (an image whose values are all equal is 0).
/// </summary>
internal static class FilterGrid
{
    /// <summary>Lays the images out.</summary>
    /// <param name="values">F*C*H*W values, image after image, each (C, H, W) row-major.</param>
    /// <param name="shape">(F, C, H, W).</param>
    /// <param name="padding">Pixels of zeros between cells.</param>
    /// <returns>The grid, (height, width, C) row-major with channels last, as the seed's, in 0..255.</returns>
    /// <exception cref="ArgumentException"><paramref name="shape"/> is not four positive sizes or does not
    /// match the number of values.</exception>
    public static GridImage Build(ReadOnlySpan<float> values, ReadOnlySpan<int> shape, int padding = 1)
    {
        if (shape.Length != 4 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 || shape[3] < 1)
            throw new ArgumentException($"shape must be (F, C, H, W) with positive sizes, but it is ({string.Join(", ", shape.ToArray())}).", nameof(shape));
        int f = shape[0], c = shape[1], h = shape[2], w = shape[3];
        if (values.Length != (long)f * c * h * w)
            throw new ArgumentException($"shape ({f}, {c}, {h}, {w}) needs {(long)f * c * h * w} values, but {values.Length} were given.", nameof(values));

        int gridSize = (int)Math.Ceiling(Math.Sqrt(f));
        int gridHeight = h * gridSize + padding * (gridSize - 1);
        int gridWidth = w * gridSize + padding * (gridSize - 1);
        var pixels = new byte[gridHeight * gridWidth * c];
        int imageLength = c * h * w;
        for (int index = 0; index < f; index++)
        {
            ReadOnlySpan<float> image = values.Slice(index * imageLength, imageLength);
            float low = float.PositiveInfinity, high = float.NegativeInfinity;
            foreach (float v in image)
            {
                low = Math.Min(low, v);
                high = Math.Max(high, v);
            }
            float scale = high > low ? 255f / (high - low) : 0f;
            int y0 = index / gridSize * (h + padding), x0 = index % gridSize * (w + padding);
            for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                float scaled = (image[(ch * h + y) * w + x] - low) * scale;
                pixels[((y0 + y) * gridWidth + x0 + x) * c + ch] = (byte)Math.Clamp(MathF.Round(scaled), 0f, 255f);
            }
        }
        return new GridImage(gridHeight, gridWidth, c, pixels);
    }
}

/// <summary>An image of bytes, (Height, Width, Channels) row-major with channels last.</summary>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
/// <param name="Channels">1 (grey) or 3 (RGB); others are drawn from their first channel.</param>
/// <param name="Pixels">Height*Width*Channels bytes.</param>
internal sealed record GridImage(int Height, int Width, int Channels, byte[] Pixels);
