namespace GpuDaemon.Devices;

/// <summary>
/// A long-running loop of the process (the health monitor's event loop, the device plugin's endpoints), as
/// the liveness endpoint sees it: alive, or why not.
/// </summary>
public interface ILoopStatus
{
    /// <summary>Short, stable name, e.g. <c>health</c>.</summary>
    string LoopName { get; }

    /// <summary>Null while the loop runs (or has not been started yet); otherwise one line saying why it stopped.</summary>
    string? LoopProblem { get; }
}
