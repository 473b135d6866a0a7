namespace Nnk.Cli.Options;

/// <summary>The element type a command trains in.</summary>
internal enum DType
{
    /// <summary>float: the fast default.</summary>
    Float32,

    /// <summary>double: slower, for checking against float32.</summary>
    Float64,
}
