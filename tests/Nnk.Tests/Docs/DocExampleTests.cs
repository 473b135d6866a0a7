using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Nnk.Tests.Docs;

/// <summary>
/// Compiling with Roslyn is the heaviest CPU load of the suite; it runs alone, after the parallel
/// tests, so it cannot starve the tests that measure allocations.
/// </summary>
[CollectionDefinition("DocExamples", DisableParallelization = true)]
public class DocExamplesCollection
{
}

/// <summary>
/// Every <c>csharp</c> block of the documentation pages below compiles, without warnings, as a
/// program of its own (top-level statements, the SDK's implicit usings plus <c>using Nnk;</c>) and
/// runs to completion, so the documentation cannot drift from the API. The README's own examples
/// are mirrored by <see cref="ReadmeExampleTests"/> instead (they are fragments of one session).
/// </summary>
[Collection("DocExamples")]
public partial class DocExampleTests
{
    private static readonly string[] Pages = ["docs/cs231n-mapping.md", "managed/Nnk/PACKAGE.md"];

    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (string page in Pages)
        {
            int count = CodeBlocks(page).Count;
            for (int i = 0; i < count; i++)
                data.Add(page, i);
        }
        return data;
    }

    [Fact]
    public void Pages_HaveExamples()
    {
        Assert.All(Pages, page => Assert.NotEmpty(CodeBlocks(page)));
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void CSharpBlock_CompilesWithoutWarningsAndRuns(string page, int index)
    {
        string code = CodeBlocks(page)[index];
        var compilation = CSharpCompilation.Create(
            $"DocExample_{Path.GetFileNameWithoutExtension(page)}_{index}",
            [CSharpSyntaxTree.ParseText(code, ParseOptions), CSharpSyntaxTree.ParseText(GlobalUsings(code), ParseOptions)],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));

        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        var problems = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(result.Success && problems.Count == 0,
            $"{page}, csharp block {index + 1}:\n{string.Join("\n", problems)}\n--- code ---\n{code}");

        var context = new AssemblyLoadContext($"{page}#{index}", isCollectible: true);
        try
        {
            image.Position = 0;
            MethodInfo entry = context.LoadFromStream(image).EntryPoint!;
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        }
        finally
        {
            context.Unload();
        }
    }

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    // What a console project gets from the SDK (ImplicitUsings), and the example's own namespace.
    private static string GlobalUsings(string code) =>
        "global using System; global using System.Collections.Generic; global using System.IO; " +
        "global using System.Linq; global using System.Threading; global using System.Threading.Tasks;" +
        (code.Contains("using Nnk;") ? "" : " global using Nnk;");

    // Everything the test host can load: the framework, Nnk and its dependencies.
    private static readonly Lazy<List<MetadataReference>> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToList());

    private static List<string> CodeBlocks(string page) =>
        CSharpBlock().Matches(File.ReadAllText(Path.Combine(RepositoryRoot.Path, page)))
            .Select(m => m.Groups["code"].Value)
            .ToList();

    [GeneratedRegex(@"^```csharp[ \t]*\r?\n(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
