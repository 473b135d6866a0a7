using System.Text.Json.Serialization;

namespace Nnk.Bench.Speedup;

/// <summary>
/// One row of the speedup table: one shape, one pass, one thread count; times are medians in
/// milliseconds. The naive and managed columns are null when only native code was timed (--native-only).
/// </summary>
public sealed record SpeedupRow(
    [property: JsonPropertyName("shape")] string Shape,
    [property: JsonPropertyName("pass")] string Pass,
    [property: JsonPropertyName("threads")] int Threads,
    [property: JsonPropertyName("blas")] string Blas,
    [property: JsonPropertyName("naive_ms")] double? NaiveMs,
    [property: JsonPropertyName("managed_ms")] double? ManagedMs,
    [property: JsonPropertyName("native_ms")] double NativeMs,
    [property: JsonPropertyName("rel_error")] double? RelError,
    [property: JsonPropertyName("managed_rel_error")] double? ManagedRelError,
    [property: JsonPropertyName("native_rate")] double NativeRate,
    [property: JsonPropertyName("native_rate_unit")] string NativeRateUnit,
    [property: JsonPropertyName("peer_ms")] double? PeerMs,
    [property: JsonPropertyName("ceiling_rate")] double? CeilingRate = null)
{
    /// <summary>The native rate as a percentage of the machine's ceiling for the row (sgemm or copy bandwidth); null without one.</summary>
    [JsonPropertyName("percent_of_ceiling")]
    public double? PercentOfCeiling => CeilingRate is double ceiling ? 100 * NativeRate / ceiling : null;

    /// <summary>nnk native time over the peer's; below 1 means nnk is faster. Null without a peer row.</summary>
    [JsonPropertyName("native_vs_peer")]
    public double? NativeVsPeer => PeerMs is double peer ? NativeMs / peer : null;

    [JsonPropertyName("managed_speedup")]
    public double? ManagedSpeedup => NaiveMs / ManagedMs;

    [JsonPropertyName("native_speedup")]
    public double? NativeSpeedup => NaiveMs / NativeMs;

    [JsonPropertyName("native_vs_managed")]
    public double? NativeVsManaged => ManagedMs / NativeMs;
}
