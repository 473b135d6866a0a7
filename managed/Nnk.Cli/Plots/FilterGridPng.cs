using SkiaSharp;

namespace Nnk.Cli.Plots;

/// <summary>Writes a <see cref="GridImage"/> as a PNG, each pixel enlarged to a square block (nearest
/// neighbour, as the seeds' <c>imshow</c> with nearest interpolation) so that small filters are visible.</summary>
internal static class FilterGridPng
{
    private const int TargetWidth = 400;

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/>, enlarged to about 400 pixels wide.</summary>
    public static void Save(string path, GridImage image)
    {
        int block = Math.Max(1, TargetWidth / image.Width);
        using var bitmap = new SKBitmap(image.Width * block, image.Height * block, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < image.Height; y++)
        for (int x = 0; x < image.Width; x++)
        {
            int at = (y * image.Width + x) * image.Channels;
            SKColor color = image.Channels >= 3
                ? new SKColor(image.Pixels[at], image.Pixels[at + 1], image.Pixels[at + 2])
                : new SKColor(image.Pixels[at], image.Pixels[at], image.Pixels[at]);
            for (int by = 0; by < block; by++)
            for (int bx = 0; bx < block; bx++)
                bitmap.SetPixel(x * block + bx, y * block + by, color);
        }
        using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using FileStream file = File.Create(path);
        png.SaveTo(file);
    }
}
