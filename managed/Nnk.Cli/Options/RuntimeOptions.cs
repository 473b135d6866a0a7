using System.CommandLine;

namespace Nnk.Cli.Options;

/// <summary>Options every computing command takes: threads, backend, BLAS, element type and seed.</summary>
internal sealed class RuntimeOptions
{
    private readonly Option<int?> _threads = OptionFactory.Integer("--threads",
        "Threads for the kernels, native and managed (default: OMP_NUM_THREADS or the core count)", 1);
    private readonly Option<Backend?> _backend = OptionFactory.Choice("--backend",
        "Kernels to run on: native (libnnk, C + BLAS) or managed (pure C#) [default: native]", Choices.Backends);
    private readonly Option<string?> _blas = OptionFactory.Path("--blas",
        "BLAS for the native kernels: openblas, mkl or a path to a library exporting cblas_sgemm " +
        "(default: NNK_BLAS, else openblas)", "openblas|mkl|PATH");
    private readonly Option<DType?> _dtype = OptionFactory.Choice("--dtype",
        "Element type [default: float32]", Choices.DTypes);
    private readonly Option<int?> _seed = OptionFactory.AnyInteger("--seed",
        "Seeds the weights and the minibatch sampling: the same seed gives the same run [default: 0]");

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_threads);
        command.Options.Add(_backend);
        command.Options.Add(_blas);
        command.Options.Add(_dtype);
        command.Options.Add(_seed);
    }

    /// <summary>The values given, with defaults filled in: <paramref name="dtype"/> and <paramref name="seed"/> when
    /// given (a resumed run's), else float32 and 0.</summary>
    public RuntimeSettings Read(ParseResult result, DType? dtype = null, int? seed = null) => new(
        result.GetValue(_threads),
        result.GetValue(_backend) ?? Backend.Native,
        result.GetValue(_blas),
        result.GetValue(_dtype) ?? dtype ?? DType.Float32,
        result.GetValue(_seed) ?? seed ?? 0);
}

/// <summary>What <see cref="RuntimeOptions"/> read.</summary>
/// <param name="Threads">Threads to use, or null to leave the runtime's default.</param>
/// <param name="Backend">Kernel backend.</param>
/// <param name="Blas">BLAS name or path, or null to leave the default.</param>
/// <param name="DType">Element type.</param>
/// <param name="Seed">Seed of the weights and the sampling.</param>
internal sealed record RuntimeSettings(int? Threads, Backend Backend, string? Blas, DType DType, int Seed)
{
    /// <summary>The command-line name of <see cref="Backend"/>.</summary>
    public string BackendName => Choices.NameOf(Choices.Backends, Backend);

    /// <summary>The command-line name of <see cref="DType"/>.</summary>
    public string DTypeName => Choices.NameOf(Choices.DTypes, DType);
}
