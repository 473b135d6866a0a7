namespace Nnk;

/// <summary>The normalisation a <see cref="FullyConnectedNet{T}"/> puts after each hidden affine layer, as the seeds' <c>normalization</c>.</summary>
public enum NormalizationKind
{
    /// <summary>No normalisation: affine - relu.</summary>
    None = 0,
    /// <summary>Batch normalisation: affine - batchnorm - relu, with running statistics for test mode.</summary>
    BatchNorm = 1,
    /// <summary>Layer normalisation: affine - layernorm - relu, the same in training and test.</summary>
    LayerNorm = 2,
}
