using System.Text;
using GpuDaemon.Devices;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Devices;

public sealed class FileChangeMonitorTests : IDisposable
{
    private const int Unreadable = 2101;
    private const int TooLarge = 2104;
    private const int ReadableAgain = 2105;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _clock = new();
    private readonly RecordingLogger _log = new();
    private readonly List<string> _applied = [];

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Poll_ContentChanged_AppliedOnceWithoutQuietPeriod()
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = Poll, UseChangeNotifications = false });

        Write("b");
        _clock.Advance(Poll);
        _clock.Advance(Poll);

        Assert.Equal(["b"], Applied());
    }

    [Fact]
    public void CheckNow_ZeroQuietPeriod_AppliesAtOnce()
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = Poll, UseChangeNotifications = false });

        Write("b");

        Assert.True(monitor.CheckNow());
        Assert.False(monitor.CheckNow());
        Assert.Equal(["b"], Applied());
    }

    [Fact]
    public void OnFileEvent_OtherFilesInDirectory_FileNotReRead()
    {
        // The watched file is missing, so every read of it would warn.
        var path = _dir.File("gpudaemon.yaml");
        using var monitor = Start(path, "a", new() { PollInterval = TimeSpan.FromHours(1), UseChangeNotifications = false });

        for (var i = 0; i < 1000; i++)
        {
            monitor.OnFileEvent(this, new FileSystemEventArgs(WatcherChangeTypes.Changed, _dir.Path, "gpudaemon.log"));
            monitor.OnFileEvent(this, new RenamedEventArgs(WatcherChangeTypes.Renamed, _dir.Path, "gpudaemon.log.1", "gpudaemon.log"));
        }

        Assert.Equal(0, _log.Count(Unreadable));
    }

    [Theory]
    [InlineData("gpudaemon.yaml", null)]
    [InlineData("..data", null)]
    [InlineData("gpudaemon.yaml", "gpudaemon.yaml.tmp")]
    [InlineData("gpudaemon.yaml~", "gpudaemon.yaml")]
    [InlineData("..data", "..data_tmp")]
    public void OnFileEvent_FileOrConfigMapData_ReRead(string name, string? renamedFrom)
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = TimeSpan.FromHours(1), UseChangeNotifications = false });
        Write("b");

        monitor.OnFileEvent(this, renamedFrom is null
            ? new FileSystemEventArgs(WatcherChangeTypes.Changed, _dir.Path, name)
            : new RenamedEventArgs(WatcherChangeTypes.Renamed, _dir.Path, name, renamedFrom));

        Assert.Equal(["b"], Applied());
    }

    [Fact]
    public async Task Watcher_OtherFilesChurnThenFileRenamedIn_OnlyTheFileRead()
    {
        // The watched file is missing, so every read of it would warn; the daemon's own log churns beside it.
        var path = _dir.File("gpudaemon.yaml");
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var monitor = new FileChangeMonitor(path, null, text =>
        {
            if (text == "ready")
            {
                arrived.TrySetResult();
            }
        }, _clock, new FileChangeMonitorOptions { PollInterval = TimeSpan.FromHours(1) }, _log);

        using (var log = new StreamWriter(_dir.File("gpudaemon.log")) { AutoFlush = true })
        {
            for (var i = 0; i < 300; i++)
            {
                log.WriteLine("a log line");
            }
        }

        File.WriteAllText(_dir.File("gpudaemon.yaml.tmp"), "ready");
        File.Move(_dir.File("gpudaemon.yaml.tmp"), path);

        // End to end with a real watcher: only the rename onto the watched name reads the file.
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, _log.Count(Unreadable));
    }

    [Fact]
    public async Task Watcher_ConfigMapDataSwapped_NewContentApplied()
    {
        // A ConfigMap volume: the file is a symlink through ..data, which an update swaps to a new directory.
        Directory.CreateDirectory(_dir.File("..2026_01_01"));
        File.WriteAllText(_dir.File("..2026_01_01/gpudaemon.yaml"), "a");
        Directory.CreateSymbolicLink(_dir.File("..data"), "..2026_01_01");
        var path = _dir.File("gpudaemon.yaml");
        File.CreateSymbolicLink(path, "..data/gpudaemon.yaml");
        var arrived = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var monitor = new FileChangeMonitor(path, "a", text => arrived.TrySetResult(text), _clock, new FileChangeMonitorOptions { PollInterval = TimeSpan.FromHours(1) }, _log);

        Directory.CreateDirectory(_dir.File("..2026_01_02"));
        File.WriteAllText(_dir.File("..2026_01_02/gpudaemon.yaml"), "b");
        Directory.CreateSymbolicLink(_dir.File("..data_tmp"), "..2026_01_02");
        // The kubelet renames ..data_tmp over ..data in one step; .NET cannot, so the old link goes first.
        File.Delete(_dir.File("..data"));
        Directory.Move(_dir.File("..data_tmp"), _dir.File("..data"));

        Assert.Equal("b", await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Poll_FileUnreadable_WarnsOnceThenAtMostOncePerMinute()
    {
        var path = _dir.File("gpudaemon.yaml");
        using var monitor = Start(path, "a", new() { PollInterval = Poll, UseChangeNotifications = false });

        _clock.Advance(Poll);
        Assert.Equal(1, _log.Count(Unreadable));

        _clock.Advance(FileChangeMonitor.RepeatedWarningInterval - Poll);
        Assert.Equal(1, _log.Count(Unreadable));

        _clock.Advance(Poll);
        Assert.Equal(2, _log.Count(Unreadable));

        File.WriteAllText(path, "b");
        _clock.Advance(Poll);
        _clock.Advance(TimeSpan.FromMinutes(3));

        Assert.Equal(2, _log.Count(Unreadable));
        Assert.Equal(1, _log.Count(ReadableAgain));
        Assert.Equal(["b"], Applied());
    }

    [Fact]
    public void Poll_FileReadableThroughout_NoRecoveryLogged()
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = Poll, UseChangeNotifications = false });

        _clock.Advance(TimeSpan.FromMinutes(2));

        Assert.Empty(_log.Entries);
    }

    [Fact]
    public void QuietPeriod_ChangeStable_AppliedOnlyOncePeriodHasPassed()
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = TimeSpan.FromHours(1), QuietPeriod = Quiet, UseChangeNotifications = false });

        Write("b");
        Assert.False(monitor.CheckNow());
        _clock.Advance(Quiet - TimeSpan.FromMilliseconds(1));
        Assert.False(monitor.CheckNow());
        Assert.Empty(Applied());

        _clock.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(["b"], Applied());
    }

    [Fact]
    public void QuietPeriod_FileStillBeingWritten_OnlyFinalContentApplied()
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = TimeSpan.FromMilliseconds(100), QuietPeriod = Quiet, UseChangeNotifications = false });

        Write("simulate: 1");
        _clock.Advance(TimeSpan.FromMilliseconds(300));
        Write("simulate: 12");
        _clock.Advance(TimeSpan.FromMilliseconds(300));
        Write("simulate: 12\nreplicas: 2");
        _clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.Empty(Applied());

        _clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(["simulate: 12\nreplicas: 2"], Applied());
    }

    [Fact]
    public void QuietPeriod_ChangeRevertedWithinPeriod_NeverApplied()
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = TimeSpan.FromMilliseconds(100), QuietPeriod = Quiet, UseChangeNotifications = false });

        Write("b");
        _clock.Advance(TimeSpan.FromMilliseconds(200));
        Write("a");
        _clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Empty(Applied());
    }

    [Fact]
    public void Poll_FileLargerThanLimit_RefusedWithOneWarningAndLastContentKept()
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = Poll, MaxBytes = 16, UseChangeNotifications = false });

        Write(new string('x', 17));
        _clock.Advance(Poll);
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, _log.Count(TooLarge));
        Assert.Empty(Applied());

        Write(new string('y', 16));
        _clock.Advance(Poll);

        Assert.Equal([new string('y', 16)], Applied());
        Assert.Equal(1, _log.Count(ReadableAgain));
    }

    [Fact]
    public void Dispose_ThenFileChanges_NothingApplied()
    {
        var path = Write("a");
        var monitor = Start(path, "a", new() { PollInterval = Poll, UseChangeNotifications = false });

        monitor.Dispose();
        Write("b");
        _clock.Advance(Poll);

        Assert.False(monitor.CheckNow());
        Assert.Empty(Applied());
    }

    [Fact]
    public void TryReadAllText_AtAndOverLimit_ReadsOrRefuses()
    {
        var path = Write("0123456789");

        Assert.True(FileChangeMonitor.TryReadAllText(path, 10, out var text));
        Assert.Equal("0123456789", text);
        Assert.False(FileChangeMonitor.TryReadAllText(path, 9, out _));
    }

    [Fact]
    public void TryReadAllText_ByteOrderMark_DecodedLikeReadAllText()
    {
        var path = _dir.File("utf16.yaml");
        File.WriteAllText(path, "simulate: 2", Encoding.Unicode);

        Assert.True(FileChangeMonitor.TryReadAllText(path, 1024, out var text));
        Assert.Equal("simulate: 2", text);
    }

    [Fact]
    public void TryReadAllText_EndlessDevice_StopsAfterLimit()
    {
        // /dev/zero reports no length and never ends: only a bounded read returns.
        Assert.False(FileChangeMonitor.TryReadAllText("/dev/zero", 1024 * 1024, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16 * 1024)]
    [InlineData(1024 * 1024)]
    public void TryReadAllText_UnseekableStreamOf100MB_ReadsAtMostLimitPlusOne(int limit)
    {
        // A pipe or a device says nothing of its size: only the bounded read protects memory.
        using var stream = new CountingStream(HostileFiles.HugeBytes);

        Assert.False(FileChangeMonitor.TryReadAllText(stream, limit, out var text));

        Assert.Equal(string.Empty, text);
        Assert.Equal(limit + 1, stream.BytesRead);
    }

    [Fact]
    public void TryReadAllText_UnseekableStreamAtLimit_ReadWhole()
    {
        using var stream = new CountingStream(1000);

        Assert.True(FileChangeMonitor.TryReadAllText(stream, 1000, out var text));

        Assert.Equal(1000, text.Length);
        Assert.Equal(1000, stream.BytesRead);
    }

    [Fact]
    public void TryReadAllText_Sparse100MBFile_RefusedWithoutReadingIt()
    {
        var path = HostileFiles.Sparse(_dir.File("huge.yaml"));
        var refused = true;

        var allocated = HostileFiles.AllocatedBy(() => refused = !FileChangeMonitor.TryReadAllText(path, FileChangeMonitorOptions.DefaultMaxBytes, out _));

        Assert.True(refused);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Poll_FileBecomesSparse100MB_OneLineWarningOnceThenOncePerMinuteNeverRead()
    {
        var path = Write("a");
        using var monitor = Start(path, "a", new() { PollInterval = Poll, UseChangeNotifications = false });
        HostileFiles.Sparse(path);

        var allocated = HostileFiles.AllocatedBy(() =>
        {
            _clock.Advance(Poll);
            _clock.Advance(FileChangeMonitor.RepeatedWarningInterval - Poll);
            Assert.Equal(1, _log.Count(TooLarge));
            _clock.Advance(Poll);
            Assert.Equal(2, _log.Count(TooLarge));
        });

        Assert.True(allocated < FileChangeMonitorOptions.DefaultMaxBytes, $"allocated {allocated} bytes");
        var warning = _log.Entries.First(e => e.EventId.Id == TooLarge).Message;
        HostileFiles.AssertOneShortLine(warning);
        Assert.Contains(path, warning, StringComparison.Ordinal);
        Assert.Empty(Applied());
    }

    /// <summary>An unseekable stream of <c>length</c> bytes of text that counts what is read from it.</summary>
    private sealed class CountingStream(long length) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - BytesRead);
            buffer.AsSpan(offset, n).Fill((byte)'x');
            BytesRead += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private FileChangeMonitor Start(string path, string? initialText, FileChangeMonitorOptions options) =>
        new(path, initialText, text =>
        {
            lock (_applied)
            {
                _applied.Add(text);
            }
        }, _clock, options, _log);

    private List<string> Applied()
    {
        lock (_applied)
        {
            return [.. _applied];
        }
    }

    private string Write(string content)
    {
        // As a ConfigMap or an editor's save does: a new file renamed over the old one.
        var path = _dir.File("gpudaemon.yaml");
        var temporary = _dir.File(".gpudaemon.yaml.tmp");
        File.WriteAllText(temporary, content);
        File.Move(temporary, path, overwrite: true);
        return path;
    }
}
