using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Hosting;

/// <summary>
/// The one reload path: holds the settings snapshot in force, and on <see cref="Reload"/> builds a new one
/// and hands it to every subscriber, or, if it is rejected, keeps the last good one and says why in one line.
/// </summary>
/// <param name="load">Builds a snapshot from flags, environment and the config file: from the given content of the
/// file when not null (the content a file watcher found stable), else from the file as it is now.</param>
internal sealed partial class SettingsMonitor(ServeSettings initial, Func<string?, ServeSettings>? load, ILogger<SettingsMonitor> logger)
{
    private readonly Lock _gate = new();
    private readonly List<Action<ServeSettings>> _subscribers = [];
    private ServeSettings _current = initial;

    public ServeSettings Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Calls <paramref name="listener"/> with each new snapshot until the returned handle is disposed.</summary>
    public IDisposable Subscribe(Action<ServeSettings> listener)
    {
        lock (_gate)
        {
            _subscribers.Add(listener);
        }

        return new Subscription(this, listener);
    }

    /// <summary>
    /// Loads the settings again (flags, environment, config file) and applies them to every subsystem; true if
    /// applied. Never throws: whatever is wrong with the new settings is logged and the last good ones stay.
    /// </summary>
    public bool Reload(string why, string? configText = null)
    {
        if (load is null)
        {
            return false;
        }

        ServeSettings next;
        try
        {
            next = load(configText);
        }
        catch (Exception ex)
        {
            Log.Rejected(logger, why, ex is UsageException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}".ReplaceLineEndings(" "));
            return false;
        }

        List<Action<ServeSettings>> subscribers;
        ServeSettings previous;
        lock (_gate)
        {
            previous = _current;
            _current = next;
            subscribers = [.. _subscribers];
        }

        if (next.Backend != previous.Backend)
        {
            Log.BackendNotReloaded(logger);
        }

        foreach (var subscriber in subscribers)
        {
            try
            {
                subscriber(next);
            }
            catch (Exception ex)
            {
                Log.SubscriberFailed(logger, ex);
            }
        }

        Log.Reloaded(logger, why);
        return true;
    }

    private void Unsubscribe(Action<ServeSettings> listener)
    {
        lock (_gate)
        {
            _subscribers.Remove(listener);
        }
    }

    private sealed class Subscription(SettingsMonitor owner, Action<ServeSettings> listener) : IDisposable
    {
        public void Dispose() => owner.Unsubscribe(listener);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Config reloaded ({Why})")]
        public static partial void Reloaded(ILogger logger, string why);

        [LoggerMessage(EventId = 8003, Level = LogLevel.Error, Message = "Config change ignored ({Why}), the previous settings stay in force: {Problem}")]
        public static partial void Rejected(ILogger logger, string why, string problem);

        [LoggerMessage(EventId = 8005, Level = LogLevel.Warning, Message = "The device backend settings (backend, simulate, simulation, driver-root) changed; they take effect at the next restart")]
        public static partial void BackendNotReloaded(ILogger logger);

        [LoggerMessage(EventId = 8006, Level = LogLevel.Error, Message = "A subsystem failed to apply the reloaded settings")]
        public static partial void SubscriberFailed(ILogger logger, Exception exception);
    }
}
