namespace Nnk;

/// <summary>
/// The element types nnk reads and writes in safetensors files, named as the format names them in
/// each tensor's <c>dtype</c> field. Every element is stored little-endian.
/// </summary>
public enum SafeTensorsDType
{
    /// <summary>"F32": IEEE 754 single precision (<see cref="float"/>), 4 bytes.</summary>
    F32 = 0,
    /// <summary>"F64": IEEE 754 double precision (<see cref="double"/>), 8 bytes.</summary>
    F64 = 1,
    /// <summary>"I64": signed 64-bit integer (<see cref="long"/>), 8 bytes.</summary>
    I64 = 2,
    /// <summary>"U64": unsigned 64-bit integer (<see cref="ulong"/>), 8 bytes.</summary>
    U64 = 3,
}

/// <summary>Sizes, names and CLR types of the <see cref="SafeTensorsDType"/> values.</summary>
internal static class SafeTensorsDTypes
{
    /// <summary>The names as the format writes them, for messages.</summary>
    public const string Known = "F32, F64, I64, U64";

    /// <summary>Bytes per element.</summary>
    public static int Size(SafeTensorsDType dtype) => dtype == SafeTensorsDType.F32 ? 4 : 8;

    /// <summary>The format's name: "F32", "F64", "I64" or "U64".</summary>
    public static string Name(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F32 => "F32",
        SafeTensorsDType.F64 => "F64",
        SafeTensorsDType.I64 => "I64",
        SafeTensorsDType.U64 => "U64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"Unknown dtype; the known ones are {Known}."),
    };

    /// <summary>The dtype the format calls <paramref name="name"/>, matched exactly; false for any other name.</summary>
    public static bool TryParse(string name, out SafeTensorsDType dtype)
    {
        (bool known, dtype) = name switch
        {
            "F32" => (true, SafeTensorsDType.F32),
            "F64" => (true, SafeTensorsDType.F64),
            "I64" => (true, SafeTensorsDType.I64),
            "U64" => (true, SafeTensorsDType.U64),
            _ => (false, default),
        };
        return known;
    }

    /// <summary>The dtype of the CLR element type <typeparamref name="TElement"/>.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="TElement"/> is not float, double, long or ulong.</exception>
    public static SafeTensorsDType Of<TElement>() where TElement : unmanaged =>
        typeof(TElement) == typeof(float) ? SafeTensorsDType.F32
        : typeof(TElement) == typeof(double) ? SafeTensorsDType.F64
        : typeof(TElement) == typeof(long) ? SafeTensorsDType.I64
        : typeof(TElement) == typeof(ulong) ? SafeTensorsDType.U64
        : throw new NotSupportedException(
            $"Safetensors elements of type {typeof(TElement).Name} are not supported: use float, double, long or ulong.");

    /// <summary>The format is little-endian and nnk reads and writes elements as they lie in memory.</summary>
    /// <exception cref="PlatformNotSupportedException">This machine is big-endian.</exception>
    public static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors files are little-endian; nnk reads and writes them only on little-endian machines.");
    }
}
