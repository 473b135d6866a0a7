// What a user's first nnk program does, built against the Nnk package only: train small networks
// on synthetic, separable data with the Solver on the native and the managed backend, and check
// that training works, that both backends agree, and that the package's pieces fit together.
// Exit code 0 when every check passes, 1 otherwise; each check prints one line.
using System.Reflection;
using Nnk;

int passes = 0, failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    if (ok)
        passes++;
    else
        failures++;
}

// 1. Versions: the native library inside the package, the package's assemblies and the version
//    the test packed all agree.
string expectedVersion = args.Length > 0 ? args[0] : NnkRuntime.NativeVersion;
string packageVersion = typeof(Tensor<>).Assembly
    .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
Check(NnkRuntime.NativeVersion == expectedVersion,
    $"nnk_version() {NnkRuntime.NativeVersion} == packed version {expectedVersion}");
Check(packageVersion == expectedVersion, $"Nnk assembly version {packageVersion} == packed version {expectedVersion}");
Check(NativeKernels.IsAvailable, "libnnk.so loads from the package's native asset");
Console.WriteLine($"     BLAS: {NnkRuntime.Blas}, threads: {NnkRuntime.NumThreads}");

// 2. A fully connected net with batch norm on three Gaussian blobs in 20 dimensions.
const int Classes = 3, Features = 20;
var (xTrain, yTrain) = Blobs(600, seed: 1);
var (xVal, yVal) = Blobs(150, seed: 2);
var blobs = new SolverData<double>(xTrain, yTrain, xVal, yVal);
var fcOptions = () => new SolverOptions
{
    UpdateRule = "adam",
    OptimConfig = new OptimConfig { LearningRate = 1e-2 },
    NumEpochs = 4,
    BatchSize = 50,
    Verbose = false,
};
var fcNative = Train(new FullyConnectedNet<double>([32, 32], inputDim: Features, numClasses: Classes,
    normalization: NormalizationKind.BatchNorm, weightScale: 0.1, seed: 3, kernels: Kernels.For<double>(Backend.Native)), blobs, fcOptions());
var fcManaged = Train(new FullyConnectedNet<double>([32, 32], inputDim: Features, numClasses: Classes,
    normalization: NormalizationKind.BatchNorm, weightScale: 0.1, seed: 3, kernels: Kernels.For<double>(Backend.Managed)), blobs, fcOptions());
CheckRun("FullyConnectedNet", fcNative, fcManaged, minAccuracy: 0.95);

// 3. A ThreeLayerConvNet (conv - relu - 2x2 max pool - affine - relu - affine) on 8x8 images of
//    three stripe orientations under noise.
var (imTrain, imYTrain) = Stripes(300, seed: 4);
var (imVal, imYVal) = Stripes(90, seed: 5);
var stripes = new SolverData<double>(imTrain, imYTrain, imVal, imYVal);
var convOptions = () => new SolverOptions
{
    UpdateRule = "adam",
    OptimConfig = new OptimConfig { LearningRate = 1e-2 },
    NumEpochs = 6,
    BatchSize = 30,
    Verbose = false,
};
var convNative = Train(new ThreeLayerConvNet<double>([1, 8, 8], numFilters: 6, filterSize: 3, hiddenDim: 24, numClasses: Classes,
    weightScale: 0.1, seed: 6, kernels: Kernels.For<double>(Backend.Native)), stripes, convOptions());
var convManaged = Train(new ThreeLayerConvNet<double>([1, 8, 8], numFilters: 6, filterSize: 3, hiddenDim: 24, numClasses: Classes,
    weightScale: 0.1, seed: 6, kernels: Kernels.For<double>(Backend.Managed)), stripes, convOptions());
CheckRun("ThreeLayerConvNet", convNative, convManaged, minAccuracy: 0.9);

Console.WriteLine($"consumer: {passes} passed, {failures} failed");
return failures == 0 ? 0 : 1;

void CheckRun(string name, Solver<double> native, Solver<double> managed, double minAccuracy)
{
    double first = native.LossHistory.Take(5).Average(), last = native.LossHistory.TakeLast(5).Average();
    Check(last < 0.5 * first, $"{name} native: mean loss of 5 iterations {first:F3} first, {last:F3} last (at least halved)");
    Check(native.BestValAcc >= minAccuracy, $"{name} native: best validation accuracy {native.BestValAcc:F3} >= {minAccuracy}");
    Check(managed.BestValAcc >= minAccuracy, $"{name} managed: best validation accuracy {managed.BestValAcc:F3} >= {minAccuracy}");
    // float64 on both backends: only summation order differs, so the runs stay together.
    double maxDiff = native.LossHistory.Zip(managed.LossHistory,
        (a, b) => Math.Abs(a - b) / Math.Max(1e-8, Math.Abs(a) + Math.Abs(b))).Max();
    Check(native.LossHistory.Count == managed.LossHistory.Count && maxDiff < 1e-6,
        $"{name}: native and managed loss histories agree over {native.LossHistory.Count} iterations " +
        $"(max relative difference {maxDiff:E1} < 1e-6)");
}

static Solver<double> Train(IModel<double> model, SolverData<double> data, SolverOptions options)
{
    var solver = new Solver<double>(model, data, options);
    solver.Train();
    return solver;
}

// Class c is centred on 4 * e_c; unit Gaussian noise around it.
static (Tensor<double> X, int[] Y) Blobs(int n, int seed)
{
    var x = Tensor<double>.RandN([n, Features], seed);
    int[] y = new int[n];
    for (int i = 0; i < n; i++)
    {
        y[i] = i % Classes;
        x[i, y[i]] += 4.0;
    }
    return (x, y);
}

// Class 0 has a bright row, class 1 a bright column, class 2 a bright diagonal, at a random
// offset, under Gaussian noise of standard deviation 0.5.
static (Tensor<double> X, int[] Y) Stripes(int n, int seed)
{
    var x = Tensor<double>.RandN([n, 1, 8, 8], seed);
    foreach (ref double v in x.Span)
        v *= 0.5;
    var random = new Random(seed);
    int[] y = new int[n];
    for (int i = 0; i < n; i++)
    {
        y[i] = i % Classes;
        int offset = random.Next(8);
        for (int k = 0; k < 8; k++)
        {
            var (r, c) = y[i] switch { 0 => (offset, k), 1 => (k, offset), _ => (k, (k + offset) % 8) };
            x[i, 0, r, c] += 3.0;
        }
    }
    return (x, y);
}
