namespace Nnk.Cli.Train;

/// <summary>The models <c>nnk train</c> builds.</summary>
internal enum ModelKind
{
    /// <summary><see cref="Sequential{T}.MnistBnCnn"/>: two conv-BN-relu-avgpool stages, fc-BN-relu, fc; (1, 28, 28) inputs only.</summary>
    MnistBnCnn,

    /// <summary><see cref="ThreeLayerConvNet{T}"/>: conv - relu - 2x2 max pool - affine - relu - affine.</summary>
    ThreeLayerConvNet,

    /// <summary><see cref="FullyConnectedNet{T}"/> on the flattened inputs.</summary>
    FcNet,
}
