using System.Numerics;
using Nnk.Cli.Reports;

namespace Nnk.Cli.Train;

/// <summary>Takes a model's first-layer weights (<c>W1</c>) as images for the filter grid.</summary>
internal static class FirstLayerFilters
{
    /// <summary>
    /// A convolution's W1 (F, C, HH, WW) as F images; a fully connected W1 (D, hidden) with
    /// D = C*H*W as one (C, H, W) image per hidden unit; null when the model has no W1 of either form.
    /// </summary>
    /// <param name="model">The trained model.</param>
    /// <param name="inputShape">(C, H, W) of one input.</param>
    public static FilterSet? From<T>(IModel<T> model, int[] inputShape) where T : unmanaged, IFloatingPointIeee754<T> =>
        model.Params.TryGetValue("W1", out Tensor<T>? w1) ? FromWeights(w1, inputShape) : null;

    /// <summary>The images of a first-layer weight tensor <paramref name="w1"/>, as <see cref="From{T}"/>; null when it
    /// is of neither form (a fully connected one needs <paramref name="inputShape"/>, (C, H, W)).</summary>
    public static FilterSet? FromWeights<T>(Tensor<T> w1, int[]? inputShape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> w = w1.Span;
        if (w1.Shape.Rank == 4)
        {
            var values = new float[w.Length];
            for (int i = 0; i < w.Length; i++)
                values[i] = float.CreateSaturating(w[i]);
            return new FilterSet("W1", w1.Shape.AsSpan().ToArray(), values);
        }

        if (inputShape is not { Length: 3 })
            return null;
        int features = inputShape.Aggregate(1, (a, b) => a * b);
        if (w1.Shape.Rank != 2 || w1.Shape[0] != features)
            return null;
        int hidden = w1.Shape[1];
        var images = new float[w.Length];
        for (int d = 0; d < features; d++)
        for (int j = 0; j < hidden; j++)
            images[j * features + d] = float.CreateSaturating(w[d * hidden + j]);
        return new FilterSet("W1", [hidden, inputShape[0], inputShape[1], inputShape[2]], images);
    }
}
