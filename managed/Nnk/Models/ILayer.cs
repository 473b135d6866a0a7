using System.Numerics;

namespace Nnk;

/// <summary>
/// One stage of a <see cref="Sequential{T}"/> model that owns every buffer it writes: its output,
/// its input gradient, its parameter gradients, its cache and its workspace. The buffers are
/// allocated at the first call for an input shape and reused while the shape stays the same, so a
/// training step at a fixed batch size allocates nothing.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public interface ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The learnable parameters with local names (<c>W</c>, <c>b</c>, <c>gamma</c>, <c>beta</c>) and
    /// their gradient tensors, both owned by the layer; <see cref="Backward"/> overwrites each Grad.
    /// Empty for a layer without parameters.
    /// </summary>
    IReadOnlyList<(string Name, Tensor<T> Value, Tensor<T> Grad)> Parameters { get; }

    /// <summary>The shape <see cref="Forward"/> returns for an input of shape <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentException">The layer cannot take an input of that shape.</exception>
    TensorShape OutputShape(TensorShape input);

    /// <summary>
    /// Forward pass. Returns a layer-owned buffer, valid until the next call to <see cref="Forward"/>;
    /// the layer keeps a reference to <paramref name="x"/> for <see cref="Backward"/>, so x must not
    /// change in between.
    /// </summary>
    /// <param name="x">Input, first dimension N.</param>
    /// <param name="training">True for a training-mode pass (batch statistics); false for test mode.</param>
    /// <exception cref="ArgumentException">x has a shape the layer cannot take.</exception>
    Tensor<T> Forward(Tensor<T> x, bool training);

    /// <summary>
    /// Backward pass of the last <see cref="Forward"/>: fills the parameters' Grad tensors and
    /// returns dx, a layer-owned buffer shaped like that forward's input.
    /// </summary>
    /// <param name="dout">Upstream gradient, shaped like the last forward output.</param>
    /// <param name="inputGradient">False when nobody needs dx (the first layer of a model, whose input
    /// is data): the layer then skips that work, often the larger half of the pass, and returns null.</param>
    /// <exception cref="InvalidOperationException">No forward pass has run.</exception>
    /// <exception cref="ArgumentException">dout does not have the last output's shape.</exception>
    Tensor<T>? Backward(Tensor<T> dout, bool inputGradient = true);
}
