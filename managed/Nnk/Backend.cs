namespace Nnk;

/// <summary>Which implementation of the kernels an operation runs on.</summary>
public enum Backend
{
    /// <summary>libnnk (C, OpenMP, BLAS): the fast path.</summary>
    Native = 0,
    /// <summary>Pure C#, vectorised and blocked: the best managed code, the honest baseline.</summary>
    Managed = 1,
    /// <summary>Pure C#, direct loops as the seeds' naive functions: the reference.</summary>
    ManagedNaive = 2,
}
