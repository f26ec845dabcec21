using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Devices;

/// <summary>
/// Calls back with a file's new content whenever it changes: on a change notification for the file, or for the
/// <c>..data</c> entry a Kubernetes ConfigMap update swaps (the file is a symlink through it), and on a periodic
/// re-read, because some mounts send no notifications. Other files changing in the same directory are ignored.
/// Unchanged content never calls back; with a quiet period, new content is applied only once it has stayed the
/// same for that long, so a writer caught mid-write is not applied half-done.
/// </summary>
/// <remarks>
/// A file that cannot be read (or is over <see cref="FileChangeMonitorOptions.MaxBytes"/>) keeps the last content
/// in force. The warning is logged once, then at most once per <see cref="RepeatedWarningInterval"/> while the
/// same problem lasts, and the recovery once.
/// </remarks>
public sealed partial class FileChangeMonitor : IDisposable
{
    /// <summary>How often the same read problem is logged again while it lasts.</summary>
    public static readonly TimeSpan RepeatedWarningInterval = TimeSpan.FromMinutes(1);

    /// <summary>The entry a ConfigMap mount swaps atomically on an update; the mounted files are symlinks through it.</summary>
    private const string ConfigMapDataEntry = "..data";

    /// <summary>One read's size (16 KiB): a config or scenario file takes a few reads, and the buffer is pooled.</summary>
    private const int ReadChunkBytes = 16 * 1024;

    private readonly string _path;
    private readonly string _fileName;
    private readonly Action<string> _onChange;
    private readonly TimeProvider _timeProvider;
    private readonly FileChangeMonitorOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ITimer _pollTimer;
    private readonly ITimer _quietTimer;
    private readonly FileSystemWatcher? _watcher;
    private string? _lastText;
    private string? _pendingText;
    private DateTimeOffset _pendingSince;
    private string? _problem;
    private DateTimeOffset _problemLoggedAt;
    private bool _disposed;

    /// <param name="initialText">The content already applied, so an unchanged file is not reported.</param>
    public FileChangeMonitor(string path, string? initialText, Action<string> onChange, TimeProvider timeProvider, FileChangeMonitorOptions options, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.PollInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QuietPeriod, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxBytes);
        _path = Path.GetFullPath(path);
        _fileName = Path.GetFileName(_path);
        _lastText = initialText;
        _onChange = onChange;
        _timeProvider = timeProvider;
        _options = options;
        _logger = logger;
        _quietTimer = timeProvider.CreateTimer(_ => SafeCheck(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pollTimer = timeProvider.CreateTimer(_ => SafeCheck(), null, options.PollInterval, options.PollInterval);
        if (!options.UseChangeNotifications)
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
            _watcher.Error += OnWatcherError;
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            Log.WatchUnavailable(_logger, directory, ex.Message);
        }
    }

    /// <summary>
    /// Re-reads the file now; true if its content changed and the callback ran. With a quiet period, new content
    /// is applied only by the read that finds it unchanged a quiet period after it was first seen.
    /// </summary>
    public bool CheckNow()
    {
        lock (_gate)
        {
            if (_disposed || !TryRead(out var text))
            {
                return false;
            }

            if (string.Equals(text, _lastText, StringComparison.Ordinal))
            {
                // Unchanged, or changed back before the quiet period ended: nothing to apply.
                _pendingText = null;
                return false;
            }

            if (_options.QuietPeriod > TimeSpan.Zero)
            {
                var now = _timeProvider.GetUtcNow();
                if (!string.Equals(text, _pendingText, StringComparison.Ordinal))
                {
                    _pendingText = text;
                    _pendingSince = now;
                    _quietTimer.Change(_options.QuietPeriod, Timeout.InfiniteTimeSpan);
                    return false;
                }

                var stableFor = now - _pendingSince;
                if (stableFor < _options.QuietPeriod)
                {
                    _quietTimer.Change(_options.QuietPeriod - stableFor, Timeout.InfiniteTimeSpan);
                    return false;
                }
            }

            _pendingText = null;
            _lastText = text;
            _onChange(text);
            return true;
        }
    }

    /// <summary>
    /// Reads a whole text file (encoding from its byte order mark, UTF-8 without one) unless it is larger than
    /// <paramref name="maxBytes"/>: then false, having read at most <paramref name="maxBytes"/> + 1 bytes.
    /// </summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read, or is a directory.</exception>
    public static bool TryReadAllText(string path, long maxBytes, out string text)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        return TryReadAllText(stream, maxBytes, out text);
    }

    /// <summary>
    /// <see cref="TryReadAllText(string, long, out string)"/> on an open stream: a seekable one longer than
    /// <paramref name="maxBytes"/> is refused unread, any other is read at most <paramref name="maxBytes"/> + 1 bytes.
    /// </summary>
    internal static bool TryReadAllText(Stream stream, long maxBytes, out string text)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        text = string.Empty;
        if (stream.CanSeek && stream.Length > maxBytes)
        {
            return false;
        }

        using var content = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(ReadChunkBytes);
        try
        {
            int read;
            while ((read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length - 1, maxBytes - content.Length) + 1)) > 0)
            {
                content.Write(buffer, 0, read);
                if (content.Length > maxBytes)
                {
                    return false;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        content.Position = 0;
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        text = reader.ReadToEnd();
        return true;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _watcher?.Dispose();
        _pollTimer.Dispose();
        _quietTimer.Dispose();
    }

    // Called under _gate. False, with the problem logged (rate-limited), when the file cannot be used.
    private bool TryRead(out string text)
    {
        try
        {
            if (TryReadAllText(_path, _options.MaxBytes, out text))
            {
                if (_problem is not null)
                {
                    _problem = null;
                    Log.ReadableAgain(_logger, _path);
                }

                return true;
            }

            if (ShouldWarn("too large"))
            {
                Log.TooLarge(_logger, _path, ByteSizes.Format(_options.MaxBytes));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (ShouldWarn(ex.Message))
            {
                Log.Unreadable(_logger, _path, ex.Message);
            }
        }

        text = string.Empty;
        return false;
    }

    private bool ShouldWarn(string problem)
    {
        var now = _timeProvider.GetUtcNow();
        if (string.Equals(problem, _problem, StringComparison.Ordinal) && now - _problemLoggedAt < RepeatedWarningInterval)
        {
            return false;
        }

        _problem = problem;
        _problemLoggedAt = now;
        return true;
    }

    // Internal so tests can deliver events deterministically.
    internal void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        if (IsWatchedName(e.Name) || (e is RenamedEventArgs renamed && IsWatchedName(renamed.OldName)))
        {
            SafeCheck();
        }
    }

    private bool IsWatchedName(string? name) =>
        string.Equals(name, _fileName, StringComparison.Ordinal) || string.Equals(name, ConfigMapDataEntry, StringComparison.Ordinal);

    // The watcher's buffer overflowed, so a change to the file may have gone unreported.
    private void OnWatcherError(object sender, ErrorEventArgs e) => SafeCheck();

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

        [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Not reading {Path}: it is larger than {Limit}, the most GpuDaemon reads; keeping what was last read")]
        public static partial void TooLarge(ILogger logger, string path, string limit);

        [LoggerMessage(EventId = 2105, Level = LogLevel.Information, Message = "{Path} can be read again")]
        public static partial void ReadableAgain(ILogger logger, string path);
    }
}
