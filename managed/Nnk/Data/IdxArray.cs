namespace Nnk;

/// <summary>
/// The contents of one IDX file (the MNIST format): the dimensions from its header and its unsigned
/// bytes in row-major order. Returned by <see cref="IdxFile.Read"/>; immutable.
/// </summary>
public sealed class IdxArray
{
    internal IdxArray(TensorShape dimensions, byte[] data)
    {
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>
    /// The dimensions, outermost first, for example (60000, 28, 28) for the MNIST training images or
    /// (60000,) for its labels. Read-only; converts to <see cref="ReadOnlySpan{T}"/> of <see cref="int"/>.
    /// </summary>
    public TensorShape Dimensions { get; }

    /// <summary>
    /// The values, <see cref="TensorShape.ElementCount"/> of <see cref="Dimensions"/> bytes in
    /// row-major order (the last dimension varies fastest). A read-only view of the array's own
    /// buffer, not a copy.
    /// </summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The dimensions, for example <c>IdxArray(60000, 28, 28)</c>.</summary>
    public override string ToString() => $"IdxArray{Dimensions}";
}
