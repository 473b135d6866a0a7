using System.Runtime.CompilerServices;

namespace Nnk;

/// <summary>
/// The shape text of a length check, formatted only when the check fails, so a passing check
/// allocates nothing (a training step makes dozens of them).
/// </summary>
[InterpolatedStringHandler]
internal ref struct LengthMessage
{
    private DefaultInterpolatedStringHandler _text;

    public LengthMessage(int literalLength, int formattedCount, int actual, int expected, out bool failed)
    {
        failed = actual != expected;
        _text = failed ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    public void AppendLiteral(string value) => _text.AppendLiteral(value);

    public void AppendFormatted<TValue>(TValue value) => _text.AppendFormatted(value);

    public override string ToString() => _text.ToStringAndClear();
}

/// <summary>As <see cref="LengthMessage"/> for an optional buffer, which may also be empty.</summary>
[InterpolatedStringHandler]
internal ref struct OptionalLengthMessage
{
    private LengthMessage _text;

    public OptionalLengthMessage(int literalLength, int formattedCount, int actual, int expected, out bool failed)
    {
        _text = new LengthMessage(literalLength, formattedCount, actual, actual == 0 ? 0 : expected, out failed);
    }

    public void AppendLiteral(string value) => _text.AppendLiteral(value);

    public void AppendFormatted<TValue>(TValue value) => _text.AppendFormatted(value);

    public override string ToString() => _text.ToString();
}
