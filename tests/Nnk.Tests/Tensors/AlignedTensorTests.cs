using Xunit;

namespace Nnk.Tests.Tensors;

/// <summary>
/// Buffers from <see cref="AlignedMemory"/> and tensors nnk allocates start on a 64-byte boundary,
/// whatever the element type and length, and a tensor's offset into its array is invisible through
/// every member (span, memory, indexer, reshape, clone, cast).
/// </summary>
public sealed class AlignedTensorTests
{
    internal static unsafe long Address<T>(Memory<T> memory) where T : unmanaged
    {
        using System.Buffers.MemoryHandle pin = memory.Pin();
        return (long)pin.Pointer;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(1000)]
    [InlineData(1 << 20)]
    public void Allocate_StartsOn64Bytes_ZeroFilled_ExactLength(int length)
    {
        for (int round = 0; round < 8; round++)
        {
            Memory<float> f = AlignedMemory.Allocate<float>(length);
            Memory<double> d = AlignedMemory.Allocate<double>(length);
            Memory<int> i = AlignedMemory.Allocate<int>(length);
            Memory<byte> b = AlignedMemory.Allocate<byte>(length);
            Assert.Equal(0, Address(f) % AlignedMemory.Alignment);
            Assert.Equal(0, Address(d) % AlignedMemory.Alignment);
            Assert.Equal(0, Address(i) % AlignedMemory.Alignment);
            Assert.Equal(0, Address(b) % AlignedMemory.Alignment);
            Assert.Equal(length, f.Length);
            Assert.Equal(length, d.Length);
            Assert.Equal(length, i.Length);
            Assert.Equal(length, b.Length);
            Assert.True(f.Span.IndexOfAnyExcept(0f) < 0);
            Assert.True(d.Span.IndexOfAnyExcept(0d) < 0);
        }
    }

    [Fact]
    public void Allocate_SixteenByteElements_GetAnExactZeroFilledArray()
    {
        // No offset in 16-byte elements is sure to reach a 64-byte boundary from an 8-byte-aligned
        // start: such buffers are plain arrays, never a misaligned offset into one.
        for (int round = 0; round < 8; round++)
        {
            Memory<decimal> m = AlignedMemory.Allocate<decimal>(1000 + round);
            Assert.Equal(1000 + round, m.Length);
            Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(m, out ArraySegment<decimal> segment));
            Assert.Equal(0, segment.Offset);
            Assert.Equal(m.Length, segment.Array!.Length);
            Assert.True(m.Span.IndexOfAnyExcept(0m) < 0);
        }
    }

    [Fact]
    public void Allocate_ZeroLength_IsEmpty()
    {
        Assert.Equal(0, AlignedMemory.Allocate<float>(0).Length);
    }

    [Fact]
    public void Allocate_NegativeLength_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => AlignedMemory.Allocate<float>(-1));
        Assert.Equal("length", e.ParamName);
    }

    [Fact]
    public void Tensor_StartsOn64Bytes_AndItsMembersSeeOnlyItsElements()
    {
        for (int round = 0; round < 8; round++)
        {
            // 3*100*75 floats = 90,000 bytes, past AlignedBytes.
            var t = Tensor<float>.Linspace(0, 22499, [3, 100, 75]);
            Assert.Equal(0, Address(t.Memory) % AlignedMemory.Alignment);
            Assert.Equal(22500, t.Length);
            Assert.Equal(22500, t.Span.Length);
            Assert.Equal(22500, t.Memory.Length);
            Assert.Equal(0f, t.Span[0]);
            Assert.Equal(22499f, t.Span[^1]);
            Assert.Equal(1 * 7500 + 2 * 75 + 3, t[1, 2, 3]);
        }
    }

    [Fact]
    public void SmallTensor_TakesAnOrdinaryArray()
    {
        var t = Tensor<float>.Linspace(0, 59, [3, 4, 5]);
        Assert.Equal(60, t.Length);
        Assert.Equal(60, t.Span.Length);
        Assert.Equal(59f, t.Span[^1]);
        Assert.Equal(1 * 20 + 2 * 5 + 3, t[1, 2, 3]);
    }

    [Fact]
    public void Reshape_SharesTheAlignedBuffer_AndRejectsAnotherCount()
    {
        var t = Tensor<double>.Linspace(0, 11999, [2, 3, 2000]);
        Tensor<double> r = t.Reshape([6, 2000]);
        Assert.Equal(0, Address(r.Memory) % AlignedMemory.Alignment);
        Assert.Equal(Address(t.Memory), Address(r.Memory));
        r[5, 1999] = -1;
        Assert.Equal(-1, t[1, 2, 1999]);
        Assert.Equal(t.Span.ToArray(), r.Span.ToArray());
        var e = Assert.Throws<ArgumentException>(() => t.Reshape([5, 5]));
        Assert.Contains("12000 elements", e.Message);
        Assert.Contains("needs 25", e.Message);
    }

    [Fact]
    public void Clone_IsAlignedAndIndependent()
    {
        var t = Tensor<float>.Linspace(1, 40000, [2, 20000]);
        Tensor<float> c = t.Clone();
        Assert.Equal(0, Address(c.Memory) % AlignedMemory.Alignment);
        Assert.Equal(t.Span.ToArray(), c.Span.ToArray());
        c[0, 0] = 100;
        Assert.Equal(1f, t[0, 0]);
        Assert.Equal(t.Shape, c.Shape);
    }

    [Fact]
    public void Cast_ConvertsEveryElement()
    {
        var t = Tensor<float>.Linspace(-2, 2, [5]);
        Tensor<double> d = t.Cast<double>();
        Assert.Equal(new double[] { -2, -1, 0, 1, 2 }, d.Span.ToArray());
    }

    [Fact]
    public void WrappedArray_IsUsedInPlace()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        var t = new Tensor<float>(data, [2, 3]);
        t[1, 2] = 60;
        Assert.Equal(60f, data[5]);
        Tensor<float> r = t.Reshape([3, 2]);
        r[0, 0] = 10;
        Assert.Equal(10f, data[0]);
    }
}
