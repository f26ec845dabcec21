using GpuDaemon.Devices;
using GpuDaemon.Health;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>Verdicts a test sets, as the health subsystem would publish them; every other GPU is healthy.</summary>
internal sealed class SettableHealth : IGpuHealth
{
    private readonly Dictionary<string, GpuHealthVerdict> _verdicts = new(StringComparer.Ordinal);

    public ChangeSignal Changed { get; } = new();

    public void Set(string uuid, GpuHealthVerdict verdict)
    {
        lock (_verdicts)
        {
            _verdicts[uuid] = verdict;
        }

        Changed.Notify();
    }

    public GpuHealthVerdict Verdict(string gpuUuid)
    {
        lock (_verdicts)
        {
            return _verdicts.GetValueOrDefault(gpuUuid) ?? new GpuHealthVerdict(true, "ok", DateTimeOffset.UnixEpoch);
        }
    }

    public GpuHealthVerdict ProbeNow(string gpuUuid) => Verdict(gpuUuid);
}
