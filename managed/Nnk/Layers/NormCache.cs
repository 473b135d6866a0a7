using System.Numerics;

namespace Nnk;

/// <summary>
/// What the backward pass of a normalisation layer (batch, spatial batch, layer or group norm)
/// needs: the input and gamma (by reference), the per-channel or per-group mean and inverse
/// standard deviation of the forward pass (not a copy of x-hat), the geometry and the backend.
/// </summary>
public sealed class NormCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal NormCache(Tensor<T> x, Tensor<T> gamma, Tensor<T> beta, T[] mean, T[] invStd, NormGeometry geometry,
        bool perGroup, NormMode mode, IKernels<T> kernels)
    {
        X = x;
        Gamma = gamma;
        Beta = beta;
        Mean = mean;
        InvStd = invStd;
        Geometry = geometry;
        PerGroup = perGroup;
        Mode = mode;
        Kernels = kernels;
    }

    /// <summary>Forward input.</summary>
    public Tensor<T> X { get; }
    /// <summary>Scale.</summary>
    public Tensor<T> Gamma { get; }
    /// <summary>Shift.</summary>
    public Tensor<T> Beta { get; }
    /// <summary>Mean per channel (batch norms) or per sample and group (layer and group norm).</summary>
    public T[] Mean { get; }
    /// <summary>1/sqrt(var + eps), laid out as <see cref="Mean"/>.</summary>
    public T[] InvStd { get; }
    /// <summary>Sizes.</summary>
    public NormGeometry Geometry { get; }
    /// <summary>True for layer and group norm (statistics per sample and group).</summary>
    public bool PerGroup { get; }
    /// <summary>The mode of the forward pass.</summary>
    public NormMode Mode { get; }
    /// <summary>The backend that ran the forward pass; backward runs on it too.</summary>
    public IKernels<T> Kernels { get; }
}
