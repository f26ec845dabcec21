using GpuDaemon.Health;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>A verdict's reason, reduced to a fixed category for labels that must stay bounded.</summary>
internal static class HealthReasons
{
    public static readonly IReadOnlyList<string> Categories = ["healthy", "recovered", "xid", "ecc", "lost", "check_failed", "gone", "checks_off", "other"];

    /// <summary>The longest reason text put in a label; longer ones are cut (a reason can quote a driver message).</summary>
    public const int MaxReasonLength = 200;

    public static string Category(GpuHealthVerdict verdict) => verdict.Reason switch
    {
        var r when r.StartsWith("recovered", StringComparison.Ordinal) => "recovered",
        var r when r.StartsWith("Xid", StringComparison.Ordinal) => "xid",
        var r when r.StartsWith("double-bit ECC", StringComparison.Ordinal) => "ecc",
        var r when r.StartsWith("GPU lost", StringComparison.Ordinal) => "lost",
        var r when r.StartsWith("health check failed", StringComparison.Ordinal) => "check_failed",
        var r when r.StartsWith("GPU is no longer present", StringComparison.Ordinal) => "gone",
        var r when r.StartsWith("health checks are off", StringComparison.Ordinal) => "checks_off",
        _ when verdict.Healthy => "healthy",
        _ => "other",
    };

    public static string Text(GpuHealthVerdict verdict) =>
        verdict.Reason.Length <= MaxReasonLength ? verdict.Reason : verdict.Reason[..(MaxReasonLength - 1)] + "…";
}
