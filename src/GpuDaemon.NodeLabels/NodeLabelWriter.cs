using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Validation.Gate;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.NodeLabels;

/// <summary>
/// Keeps the node-label file current: recalculates when the GPUs change, on a reload (sharing, MIG strategy, the
/// folder) and when the validation gate changes; writes only when the content differs. A failed write is logged
/// once per distinct problem and tried again on the next change or after a backoff (1 s doubling to 1 min); it
/// never stops serve. The file is left in place on shutdown: the labels stay true while the node has its GPUs,
/// and removing them at every restart would make the node flap out of nodeSelectors.
/// </summary>
public sealed class NodeLabelWriter : IHostedService, IAsyncDisposable
{
    private readonly IGpuBackend _backend;
    private readonly IOptionsMonitor<PluginOptions> _plugin;
    private readonly IOptionsMonitor<NodeLabelsOptions> _options;
    private readonly ValidationGate _gate;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ChangeSignal _wake = new();
    private readonly CancellationTokenSource _stopping = new();
    private IDisposable? _pluginSubscription;
    private IDisposable? _optionsSubscription;
    private Task _loop = Task.CompletedTask;
    private Task _inventoryLoop = Task.CompletedTask;
    private string? _writtenPath;
    private string? _writtenContent;
    private string? _lastProblem;
    private IReadOnlyList<string> _lastWarnings = [];
    private string? _cleanedDirectory;
    private int _failures;
    private int _disposed;

    public NodeLabelWriter(
        IGpuBackend backend,
        IOptionsMonitor<PluginOptions> plugin,
        IOptionsMonitor<NodeLabelsOptions> options,
        ValidationGate gate,
        TimeProvider timeProvider,
        ILogger<NodeLabelWriter> logger)
    {
        _backend = backend;
        _plugin = plugin;
        _options = options;
        _gate = gate;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Notified after each attempt to bring the file up to date (written, unchanged or failed); for tests and the demo.</summary>
    public ChangeSignal Attempted { get; } = new();

    /// <summary>The problem of the last attempt as one line, or null when the file is current (or labels are off).</summary>
    public string? Problem { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _pluginSubscription = _plugin.OnChange((_, _) => _wake.Notify());
        _optionsSubscription = _options.OnChange((_, _) => _wake.Notify());
        var options = _options.CurrentValue;
        if (options.Enabled)
        {
            Log.Enabled(_logger, options.FilePath);
        }
        else
        {
            Log.Disabled(_logger);
        }

        _inventoryLoop = FollowInventoryAsync(_stopping.Token);
        _loop = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_loop, _inventoryLoop);
        _pluginSubscription?.Dispose();
        _optionsSubscription?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    private async Task FollowInventoryAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var unused in _backend.WatchInventoryAsync(cancellationToken))
            {
                _wake.Notify();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var wakeSeen = _wake.Version;
            var gateSeen = _gate.Changed.Version;
            var retryIn = Apply();
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            List<Task> waits = [_wake.WaitForChangeAsync(wakeSeen, waiting.Token), _gate.Changed.WaitForChangeAsync(gateSeen, waiting.Token)];
            if (retryIn is { } delay)
            {
                waits.Add(Task.Delay(delay, _timeProvider, waiting.Token));
            }

            Attempted.Notify(); // after the retry timer exists, so a test that then advances the clock fires it
            await Task.WhenAny(waits);
            await waiting.CancelAsync(); // releases the waits that did not fire
        }
    }

    /// <summary>Brings the file up to date; returns how long to wait before trying again after a failure.</summary>
    private TimeSpan? Apply()
    {
        var options = _options.CurrentValue;
        if (!options.Enabled)
        {
            Problem = null;
            return null;
        }

        NodeLabelSet labels;
        try
        {
            labels = NodeLabelCalculator.Calculate(_backend.Inventory, _plugin.CurrentValue, IsValidated(_gate.State));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Failed(options.FilePath, $"cannot work out the labels: {ex.Message}");
        }

        if (!labels.Warnings.SequenceEqual(_lastWarnings, StringComparer.Ordinal))
        {
            foreach (var warning in labels.Warnings.Except(_lastWarnings, StringComparer.Ordinal))
            {
                Log.LabelWarning(_logger, warning);
            }

            _lastWarnings = labels.Warnings;
        }

        var content = NodeLabelFile.Render(labels);
        if (content == _writtenContent && options.FilePath == _writtenPath)
        {
            return null;
        }

        try
        {
            RemoveLeftoverOnce(options.Directory);
            if (NodeLabelFile.WriteIfChanged(options.Directory, content))
            {
                Log.Written(_logger, options.FilePath, labels.Labels.Count);
            }

            _writtenContent = content;
            _writtenPath = options.FilePath;
            if (_lastProblem is not null)
            {
                Log.Recovered(_logger, options.FilePath);
            }

            _lastProblem = null;
            Problem = null;
            _failures = 0;
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return Failed(options.FilePath, Describe(ex, options.Directory));
        }
    }

    private TimeSpan Failed(string path, string problem)
    {
        var delay = RetryDelay(++_failures);
        Problem = problem;
        if (problem != _lastProblem)
        {
            Log.WriteFailed(_logger, path, problem, Durations.Format(delay));
            _lastProblem = problem;
        }

        return delay;
    }

    private void RemoveLeftoverOnce(string directory)
    {
        if (_cleanedDirectory == directory || !Directory.Exists(directory))
        {
            return;
        }

        var leftover = Path.Combine(directory, NodeLabelsOptions.TemporaryFileName);
        if (NodeLabelFile.RemoveLeftover(directory))
        {
            Log.LeftoverRemoved(_logger, leftover);
        }

        _cleanedDirectory = directory;
    }

    /// <summary>Validation passed: gpudaemon validate's status files exist and match the driver in use, whether or not serve requires them.</summary>
    internal static bool IsValidated(ValidationGateState state) => state.Files.Count > 0 && state.Files.All(f => f.Ready);

    internal static TimeSpan RetryDelay(int failures)
    {
        var delay = NodeLabelsOptions.FirstRetryDelay * Math.Pow(2, Math.Min(failures - 1, 16));
        return delay < NodeLabelsOptions.MaxRetryDelay ? delay : NodeLabelsOptions.MaxRetryDelay;
    }

    private static string Describe(Exception ex, string directory) => ex switch
    {
        DirectoryNotFoundException => $"the folder {directory} does not exist; mount Node Feature Discovery's features.d there, or set --node-labels-dir \"\" to turn node labels off",
        UnauthorizedAccessException => $"permission denied in {directory}; mount it writable for this container, or set --node-labels-dir \"\" to turn node labels off",
        _ => $"{ex.Message.ReplaceLineEndings(" ")}; check that {directory} is a writable folder, or set --node-labels-dir \"\" to turn node labels off",
    };
}
