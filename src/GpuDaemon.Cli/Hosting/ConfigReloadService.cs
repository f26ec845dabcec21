using System.Runtime.InteropServices;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Devices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Hosting;

/// <summary>Where the config file is and how it is watched.</summary>
internal sealed record ConfigReloadOptions(string? ConfigPath)
{
    /// <summary>Some mounts send no change notifications; the file is also re-read this often.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A change is applied once the file has stayed the same this long, so a half-written file never is.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Off in tests that drive the file checks by clock alone.</summary>
    public bool UseChangeNotifications { get; init; } = true;
}

/// <summary>
/// Turns SIGHUP and config-file changes into reloads of <see cref="SettingsMonitor"/>. Requests are coalesced
/// and applied on a loop of its own, never inside a signal handler, so no content of the file can take the
/// process down.
/// </summary>
internal sealed partial class ConfigReloadService(SettingsMonitor settings, ConfigReloadOptions options, TimeProvider timeProvider, ILogger<ConfigReloadService> logger)
    : IHostedService, IAsyncDisposable
{
    private readonly ChangeSignal _requested = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private readonly Lock _gate = new();
    private string _why = string.Empty;
    private string? _configText;
    private PosixSignalRegistration? _hangup;
    private FileChangeMonitor? _fileMonitor;
    private Task _loop = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = RunAsync(_stopping.Token);
        _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            Request("SIGHUP");
        });
        if (options.ConfigPath is { } path)
        {
            var watch = new FileChangeMonitorOptions { PollInterval = options.PollInterval, QuietPeriod = options.QuietPeriod, MaxBytes = ConfigFileReader.MaxFileBytes, UseChangeNotifications = options.UseChangeNotifications };
            // The reload parses the content the watcher found stable, not whatever the file holds a moment later.
            _fileMonitor = new FileChangeMonitor(path, ReadOrNull(path), text => Request(path + " changed", text), timeProvider, watch, logger);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Asks for a reload, with the config file's content when it is already read (null: read the file). Several
    /// requests before the loop gets to them make one reload, of the latest.
    /// </summary>
    public void Request(string why, string? configText = null)
    {
        lock (_gate)
        {
            _why = why;
            _configText = configText;
        }

        _requested.Notify();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _hangup?.Dispose();
        _fileMonitor?.Dispose();
        await _stopping.CancelAsync();
        await _loop;
    }

    public async ValueTask DisposeAsync()
    {
        // The container disposes this once per registration that resolves to it.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var seen = _requested.Version;
        while (true)
        {
            try
            {
                await _requested.WaitForChangeAsync(seen, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            seen = _requested.Version;
            string why;
            string? configText;
            lock (_gate)
            {
                why = _why;
                configText = _configText;
            }

            settings.Reload(why, configText);
        }
    }

    /// <summary>The content in force at start, so an unchanged file is not reloaded; null if it cannot be read now.</summary>
    private static string? ReadOrNull(string path)
    {
        try
        {
            return FileChangeMonitor.TryReadAllText(path, ConfigFileReader.MaxFileBytes, out var text) ? text : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
