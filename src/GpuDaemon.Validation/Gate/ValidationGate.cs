using GpuDaemon.Devices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Validation.Gate;

/// <summary>
/// <c>serve --require-validation</c>: watches the validation directory and says whether driver-ready and cuda-ready
/// exist and were written for the driver the backend sees. Without the requirement it is always open (and still
/// reports the files, for the readiness endpoint and metrics). Re-read on a change notification in the directory,
/// every <see cref="ValidationGateOptions.PollInterval"/>, when the backend's inventory changes, and on a reload.
/// </summary>
public sealed class ValidationGate : IHostedService, IAsyncDisposable
{
    private readonly IOptionsMonitor<ValidationGateOptions> _options;
    private readonly IGpuBackend _backend;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Lock _refreshing = new(); // one refresh at a time, so an older reading never replaces a newer one
    private readonly CancellationTokenSource _stopping = new();
    private readonly IDisposable? _optionsSubscription;
    private ValidationGateState _state = ValidationGateState.NotChecked;
    private ITimer? _poll;
    private FileSystemWatcher? _watcher;
    private string? _watchedDirectory;
    private Task _inventoryLoop = Task.CompletedTask;
    private int _disposed;

    public ValidationGate(IOptionsMonitor<ValidationGateOptions> options, IGpuBackend backend, TimeProvider timeProvider, ILogger<ValidationGate> logger)
    {
        _options = options;
        _backend = backend;
        _timeProvider = timeProvider;
        _logger = logger;
        _optionsSubscription = options.OnChange((_, _) => Refresh());
    }

    /// <summary>Notified whenever <see cref="State"/> changes.</summary>
    public ChangeSignal Changed { get; } = new();

    public ValidationGateState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = _options.CurrentValue;
        _poll = _timeProvider.CreateTimer(_ => Refresh(), null, options.PollInterval, options.PollInterval);
        Refresh();
        _inventoryLoop = FollowInventoryAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _inventoryLoop;
        _poll?.Dispose();
        lock (_gate)
        {
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _optionsSubscription?.Dispose();
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    /// <summary>Reads the status files now; notifies <see cref="Changed"/> when the state changed.</summary>
    public void Refresh()
    {
        lock (_refreshing)
        {
            var options = _options.CurrentValue;
            Watch(options);
            var next = Evaluate(options, _backend.Inventory.Driver);
            lock (_gate)
            {
                if (_state.IsOpen == next.IsOpen && _state.Reason == next.Reason && SameFiles(_state, next))
                {
                    return;
                }

                _state = next;
            }

            if (next.IsOpen)
            {
                Log.GateOpened(_logger, next.Reason);
            }
            else
            {
                Log.GateClosed(_logger, next.Reason);
            }

            Changed.Notify();
        }
    }

    internal static ValidationGateState Evaluate(ValidationGateOptions options, DriverInfo driver)
    {
        var files = StatusFiles.Names.Select(name => Read(options.ValidationDir, name, driver)).ToList();
        if (!options.Required)
        {
            return new ValidationGateState(true, "validation not required (serve runs without --require-validation)", files);
        }

        var notReady = files.FirstOrDefault(f => !f.Ready);
        return notReady is null
            ? new ValidationGateState(true, $"{string.Join(" and ", StatusFiles.Names)} in {options.ValidationDir} match driver {driver.Version}", files)
            : new ValidationGateState(false, notReady.Detail, files);
    }

    private static ValidationFileStatus Read(string directory, string name, DriverInfo driver)
    {
        var values = StatusFiles.Read(directory, name);
        if (values is null)
        {
            return new ValidationFileStatus(name, false,
                $"no {name} in {directory}; run gpudaemon validate (as an init container) with the same --validation-dir", new Dictionary<string, string>());
        }

        var version = values.GetValueOrDefault(StatusFiles.DriverVersionKey, string.Empty);
        if (!driver.Loaded || driver.Version.Length == 0)
        {
            return new ValidationFileStatus(name, false, $"{name} is for driver {version}, but the backend sees no driver", values);
        }

        return version == driver.Version
            ? new ValidationFileStatus(name, true, $"{name} matches driver {driver.Version}", values)
            : new ValidationFileStatus(name, false,
                $"{name} in {directory} is for driver {version}, but the backend sees driver {driver.Version}; run gpudaemon validate again (restart the pod)", values);
    }

    private static bool SameFiles(ValidationGateState a, ValidationGateState b) =>
        a.Files.Count == b.Files.Count
        && a.Files.Zip(b.Files).All(p => p.First.Name == p.Second.Name && p.First.Ready == p.Second.Ready && p.First.Detail == p.Second.Detail
            && p.First.Values.Count == p.Second.Values.Count && p.First.Values.All(kv => p.Second.Values.TryGetValue(kv.Key, out var v) && v == kv.Value));

    private async Task FollowInventoryAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var unused in _backend.WatchInventoryAsync(cancellationToken))
            {
                Refresh();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Change notifications for the directory when it exists; the poll covers the rest (a directory made later, mounts without notifications).</summary>
    private void Watch(ValidationGateOptions options)
    {
        lock (_gate)
        {
            if ((_watchedDirectory == options.ValidationDir && _watcher is not null) || _disposed != 0 || !Directory.Exists(options.ValidationDir))
            {
                return;
            }

            _watcher?.Dispose();
            _watcher = null;
            _watchedDirectory = options.ValidationDir;
            try
            {
                var watcher = new FileSystemWatcher(options.ValidationDir);
                watcher.Created += (_, _) => Refresh();
                watcher.Deleted += (_, _) => Refresh();
                watcher.Renamed += (_, _) => Refresh();
                watcher.Changed += (_, _) => Refresh();
                watcher.EnableRaisingEvents = true;
                _watcher = watcher;
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
            {
                var interval = Durations.Format(options.PollInterval);
                Log.GateWatchUnavailable(_logger, options.ValidationDir, ex.Message, interval);
            }
        }
    }
}
