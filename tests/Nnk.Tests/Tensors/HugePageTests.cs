using System.Globalization;
using Xunit;

namespace Nnk.Tests.Tensors;

/// <summary>
/// Large buffers from <see cref="AlignedMemory"/> start on a 2 MiB boundary and are advised to
/// Linux as huge pages: the kernel's own record of the mapping (/proc/self/smaps, flag "hg") shows
/// the advice on each of their whole 2 MiB pages; with <see cref="AlignedMemory.HugePages"/> false, or below
/// <see cref="AlignedMemory.HugePageMinBytes"/>, buffers are still aligned and zero-filled. The
/// tests of this class run one after another, so the switch never changes under another test.
/// </summary>
public sealed class HugePageTests
{
    private const long Page = 2 << 20;

    private static bool KernelHasHugePages =>
        OperatingSystem.IsLinux() && File.Exists("/sys/kernel/mm/transparent_hugepage/enabled");

    private static long Address(Memory<float> memory) => AlignedTensorTests.Address(memory);

    /// <summary>The VmFlags of the mapping of this process that holds address.</summary>
    private static string FlagsAt(long address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
            {
                long start = long.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber);
                long end = long.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber);
                inside = start <= address && address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
                return line;
        }
        throw new InvalidOperationException($"No mapping of this process holds 0x{address:x}.");
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
            if (!char.IsAsciiHexDigit(c))
                return false;
        return s.Length > 0;
    }

    private static void AssertZeroFilledAndAligned(Memory<float> buffer, int length)
    {
        Assert.Equal(length, buffer.Length);
        Assert.Equal(0, Address(buffer) % AlignedMemory.Alignment);
        Assert.True(buffer.Span.IndexOfAnyExcept(0f) < 0);
    }

    [Fact]
    public void LargeBuffer_IsAdvisedAsHugePages_AndStillZeroFilledAndAligned()
    {
        Assert.True(AlignedMemory.HugePages);
        const int length = 3 << 20; // 12 MiB of floats: at least five whole 2 MiB pages inside
        Memory<float> buffer = AlignedMemory.Allocate<float>(length);
        AssertZeroFilledAndAligned(buffer, length);
        buffer.Span.Fill(1.5f);
        Assert.Equal(1.5f, buffer.Span[length - 1]);
        if (!KernelHasHugePages)
            return;
        long start = Address(buffer);
        Assert.Equal(0, start % Page); // so that every whole 2 MiB of it is a huge page
        for (long page = start; page < start + (long)length * sizeof(float); page += Page)
            Assert.Contains(" hg", FlagsAt(page));
        GC.KeepAlive(buffer);
    }

    [Fact]
    public void LargeTensor_IsAdvisedAsHugePages()
    {
        var tensor = new Tensor<float>([64, 64, 32, 32]); // 16 MiB
        Assert.True(tensor.Span.IndexOfAnyExcept(0f) < 0);
        if (!KernelHasHugePages)
            return;
        long start = Address(tensor.Memory);
        Assert.Equal(0, start % Page);
        Assert.Contains(" hg", FlagsAt(start + 7 * Page));
        GC.KeepAlive(tensor);
    }

    [Theory]
    [InlineData(true, (1 << 20) - 1)]  // just under 4 MiB of floats: no advice, same buffer
    [InlineData(false, 3 << 20)]      // switched off
    public void Buffers_WithoutTheAdvice_AreStillZeroFilledAndAligned(bool hugePages, int length)
    {
        bool before = AlignedMemory.HugePages;
        AlignedMemory.HugePages = hugePages;
        try
        {
            for (int round = 0; round < 4; round++)
            {
                Memory<float> buffer = AlignedMemory.Allocate<float>(length);
                AssertZeroFilledAndAligned(buffer, length);
                buffer.Span.Fill(2f); // dirty memory the collector may hand out again
            }
        }
        finally
        {
            AlignedMemory.HugePages = before;
        }
    }

    [Fact]
    public void ReusedMemory_IsZeroFilledEveryTime()
    {
        // Uninitialised arrays may reuse memory the collector freed: every buffer must still read 0.
        for (int round = 0; round < 6; round++)
        {
            Memory<float> buffer = AlignedMemory.Allocate<float>(3 << 20);
            AssertZeroFilledAndAligned(buffer, 3 << 20);
            buffer.Span.Fill(float.NaN);
            buffer = default;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
    }
}
