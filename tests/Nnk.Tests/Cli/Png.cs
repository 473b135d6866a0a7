namespace Nnk.Tests.Cli;

/// <summary>Checks that a file is a PNG image of some substance.</summary>
internal static class Png
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Asserts the PNG signature, an IHDR chunk of positive size and at least <paramref name="minimumBytes"/> bytes;
    /// returns (width, height).</summary>
    public static (int Width, int Height) AssertValid(string path, int minimumBytes = 1000)
    {
        Assert.True(File.Exists(path), $"{path} should exist");
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length >= minimumBytes, $"{path} has {bytes.Length} bytes; expected at least {minimumBytes}");
        Assert.Equal(Signature, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        int width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16));
        int height = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        Assert.True(width > 0 && height > 0, $"{path} is {width}x{height}");
        return (width, height);
    }
}
