namespace GpuDaemon.Metrics;

/// <summary>One condition of readiness: ready or not, and a one-line reason either way.</summary>
public sealed record ReadinessResult(bool Ready, string Reason);

/// <summary>
/// Something <c>/readyz</c> waits for. Every check in the service collection must be ready for <c>/readyz</c>
/// to answer 200; its body names each check that is not, with its reason.
/// </summary>
public interface IReadinessCheck
{
    /// <summary>Short, stable, e.g. <c>device-plugin</c>.</summary>
    string Name { get; }

    /// <summary>Cheap and non-blocking: called on every request to <c>/readyz</c>.</summary>
    ReadinessResult Check();
}
