using Microsoft.Extensions.Logging;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// Waits for NVML health events (Xid critical errors, double-bit ECC) on a thread of its own, with a
/// timeout so it notices when to stop. It never probes: the health subsystem's probe loop is the only one.
/// Disposing stops the thread (within one wait) and frees the event set.
/// </summary>
internal sealed class NvmlEventWatcher : IDisposable
{
    private readonly NvmlApi _api;
    private readonly nint _eventSet;
    private readonly Dictionary<nint, string> _uuidsByHandle;
    private readonly uint _timeoutMilliseconds;
    private readonly Action<string, NvmlEventData> _onEvent;
    private readonly ILogger _logger;
    private readonly ManualResetEventSlim _stopping = new();
    private readonly Thread _thread;
    private bool _disposed;

    private NvmlEventWatcher(NvmlApi api, nint eventSet, IReadOnlyDictionary<string, nint> gpus, TimeSpan waitTimeout, Action<string, NvmlEventData> onEvent, ILogger logger)
    {
        _api = api;
        _eventSet = eventSet;
        _uuidsByHandle = gpus.ToDictionary(g => g.Value, g => g.Key);
        _timeoutMilliseconds = (uint)Math.Clamp(waitTimeout.TotalMilliseconds, 1, int.MaxValue);
        _onEvent = onEvent;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "nvml-events" };
    }

    /// <summary>Registers every GPU for the watched events and starts waiting; null when NVML cannot make an event set.</summary>
    public static NvmlEventWatcher? Start(NvmlApi api, IReadOnlyDictionary<string, nint> gpus, TimeSpan waitTimeout, Action<string, NvmlEventData> onEvent, ILogger logger)
    {
        var created = api.EventSetCreate(out var eventSet);
        if (!created.IsSuccess)
        {
            Log.EventsUnavailable(logger, api.Error(created).Message);
            return null;
        }

        foreach (var (uuid, handle) in gpus)
        {
            Register(api, eventSet, uuid, handle, logger);
        }

        var watcher = new NvmlEventWatcher(api, eventSet, gpus, waitTimeout, onEvent, logger);
        watcher._thread.Start();
        return watcher;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping.Set();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        var freed = _api.EventSetFree(_eventSet);
        if (!freed.IsSuccess)
        {
            Log.ShutdownIncomplete(_logger, _api.Error(freed).Message);
        }

        _stopping.Dispose();
    }

    private static void Register(NvmlApi api, nint eventSet, string uuid, nint handle, ILogger logger)
    {
        var supported = api.DeviceGetSupportedEventTypes(handle, out var types);
        var wanted = supported.IsSuccess ? types & NvmlEventTypes.Watched : 0;
        if (wanted == 0)
        {
            Log.GpuEventsUnavailable(logger, uuid, supported.IsSuccess ? "it reports neither Xid nor double-bit ECC events" : api.Error(supported).Message);
            return;
        }

        var registered = api.DeviceRegisterEvents(handle, wanted, eventSet);
        if (!registered.IsSuccess)
        {
            Log.GpuEventsUnavailable(logger, uuid, api.Error(registered).Message);
        }
    }

    private void Run()
    {
        while (!_stopping.IsSet)
        {
            var waited = _api.EventSetWait(_eventSet, out var data, _timeoutMilliseconds);
            if (_stopping.IsSet)
            {
                return;
            }

            try
            {
                Handle(waited, data);
            }
            catch (Exception ex)
            {
                Log.WatcherFailed(_logger, ex);
            }
        }
    }

    private void Handle(NvmlStatus waited, NvmlEventData data)
    {
        if (waited.IsSuccess)
        {
            if (_uuidsByHandle.TryGetValue(data.Device, out var uuid))
            {
                _onEvent(uuid, data);
            }
            else
            {
                Log.EventForUnknownDevice(_logger, data.EventType);
            }

            return;
        }

        if (waited.Code == NvmlReturn.Timeout)
        {
            return;
        }

        if (waited.Code == NvmlReturn.GpuIsLost)
        {
            // The health probes notice and report the lost GPU; waiting again at once would only spin.
            _stopping.Wait(TimeSpan.FromMilliseconds(_timeoutMilliseconds));
            return;
        }

        // An unexpected failure: say so, then wait a timeout's length before trying again rather than spin.
        Log.EventWaitFailed(_logger, _api.Error(waited).Message);
        _stopping.Wait(TimeSpan.FromMilliseconds(_timeoutMilliseconds));
    }
}
