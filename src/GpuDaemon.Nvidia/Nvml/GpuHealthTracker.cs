using GpuDaemon.Devices;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// Remembers whether each GPU last answered, was lost, or failed a check, and publishes a
/// <see cref="DeviceEvent"/> on every change of state (both ways: a GPU can recover).
/// </summary>
internal sealed class GpuHealthTracker(Broadcast<DeviceEvent> events, TimeProvider timeProvider, ILogger logger)
{
    private enum State
    {
        Answering,
        Lost,
        Failing,
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);

    public bool IsLost(string uuid)
    {
        lock (_gate)
        {
            return _states.GetValueOrDefault(uuid) == State.Lost;
        }
    }

    public void Answering(string uuid) =>
        Move(uuid, State.Answering, DeviceEventKind.Recovered, "the GPU answers NVML again");

    public void Lost(string uuid, string reason) => Move(uuid, State.Lost, DeviceEventKind.Lost, reason);

    public void Failing(string uuid, string reason) => Move(uuid, State.Failing, DeviceEventKind.ProbeFailed, reason);

    private void Move(string uuid, State next, DeviceEventKind kind, string reason)
    {
        DeviceEvent? raised = null;
        lock (_gate)
        {
            var previous = _states.GetValueOrDefault(uuid);
            if (previous == next)
            {
                return;
            }

            _states[uuid] = next;

            // Losing a GPU that was already failing is news; a failing check on a lost GPU is not.
            if (!(next == State.Failing && previous == State.Lost))
            {
                raised = new DeviceEvent(kind, uuid, timeProvider.GetUtcNow(), reason);
            }
        }

        if (raised is not null)
        {
            Log.DeviceEventRaised(logger, raised);
            events.Publish(raised);
        }
    }
}
