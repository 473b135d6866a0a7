namespace Nnk.Cli.Data;

/// <summary>The shape of one input of each dataset, known before its files are read.</summary>
internal static class DatasetShapes
{
    /// <summary>(C, H, W) of one input of <paramref name="dataset"/>.</summary>
    public static int[] InputShape(DatasetKind dataset) => dataset == DatasetKind.Cifar10 ? [3, 32, 32] : [1, 28, 28];
}
