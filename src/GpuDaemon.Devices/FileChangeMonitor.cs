using Microsoft.Extensions.Logging;

namespace GpuDaemon.Devices;

/// <summary>
/// Calls back with a file's new content whenever it changes: on a change notification for its directory
/// (a ConfigMap update swaps a symlink rather than writing the file) and on a periodic re-read, because
/// some mounts send no notifications. Unchanged content never calls back.
/// </summary>
public sealed partial class FileChangeMonitor : IDisposable
{
    private readonly string _path;
    private readonly Action<string> _onChange;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ITimer _pollTimer;
    private readonly FileSystemWatcher? _watcher;
    private string? _lastText;

    /// <param name="initialText">The content already applied, so an unchanged file is not reported.</param>
    public FileChangeMonitor(string path, string? initialText, Action<string> onChange, TimeProvider timeProvider, TimeSpan pollInterval, ILogger logger, bool useChangeNotifications = true)
    {
        _path = Path.GetFullPath(path);
        _lastText = initialText;
        _onChange = onChange;
        _logger = logger;
        _pollTimer = timeProvider.CreateTimer(_ => SafeCheck(), null, pollInterval, pollInterval);
        if (!useChangeNotifications)
        {
            return;
        }

        var directory = Path.GetDirectoryName(_path)!;
        try
        {
            _watcher = new FileSystemWatcher(directory)
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime | NotifyFilters.DirectoryName,
            };
            _watcher.Changed += OnFileEvent;
            _watcher.Created += OnFileEvent;
            _watcher.Renamed += OnFileEvent;
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            Log.WatchUnavailable(_logger, directory, ex.Message);
        }
    }

    /// <summary>Re-reads the file now; true if its content changed (and the callback ran).</summary>
    public bool CheckNow()
    {
        lock (_gate)
        {
            string text;
            try
            {
                text = File.ReadAllText(_path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.Unreadable(_logger, _path, ex.Message);
                return false;
            }

            if (string.Equals(text, _lastText, StringComparison.Ordinal))
            {
                return false;
            }

            _lastText = text;
            _onChange(text);
            return true;
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _pollTimer.Dispose();
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e) => SafeCheck();

    private void SafeCheck()
    {
        try
        {
            CheckNow();
        }
        catch (Exception ex)
        {
            Log.CallbackFailed(_logger, _path, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Cannot read {Path} ({Problem}); keeping what was last read")]
        public static partial void Unreadable(ILogger logger, string path, string problem);

        [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Cannot watch {Directory} for changes ({Problem}); re-reading periodically only")]
        public static partial void WatchUnavailable(ILogger logger, string directory, string problem);

        [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "Applying the new content of {Path} failed")]
        public static partial void CallbackFailed(ILogger logger, string path, Exception exception);
    }
}
