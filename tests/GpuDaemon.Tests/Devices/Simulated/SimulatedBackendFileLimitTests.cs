using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Devices.Simulated;

/// <summary>A scenario file that is binary, huge or broken: one short line, never read whole, the last good scenario kept.</summary>
public sealed class SimulatedBackendFileLimitTests : IDisposable
{
    private const int ScenarioRejected = 2002;
    private const int TooLarge = 2104;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);

    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _clock = new();
    private readonly RecordingLogger _log = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Poll_BinaryEdit_RejectedOnceInOneShortLineAndScenarioKept()
    {
        var path = WriteGood();
        await using var backend = await StartAsync(path);
        var inventory = backend.Inventory;

        HostileFiles.Replace(path, HostileFiles.BinaryAfterLiteral());
        for (var i = 0; i < 10; i++)
        {
            _clock.Advance(Poll);
        }

        var rejected = Assert.Single(_log.Entries, e => e.EventId.Id == ScenarioRejected);
        HostileFiles.AssertOneShortLine(rejected.Message);
        Assert.Contains(path, rejected.Message, StringComparison.Ordinal);
        Assert.Contains("(line 1, position ", rejected.Message, StringComparison.Ordinal);
        Assert.Same(inventory, backend.Inventory);
        Assert.True(backend.ProbeHealth(DefaultScenario.UuidFor(0)).Healthy);
    }

    [Fact]
    public async Task Poll_LongInvalidTokenEdit_RejectedOnceInOneShortLineAndScenarioKept()
    {
        var path = WriteGood();
        await using var backend = await StartAsync(path);

        HostileFiles.Replace(path, System.Text.Encoding.UTF8.GetBytes(HostileFiles.LongInvalidToken()));
        _clock.Advance(Poll);
        _clock.Advance(Poll);

        var rejected = Assert.Single(_log.Entries, e => e.EventId.Id == ScenarioRejected);
        HostileFiles.AssertOneShortLine(rejected.Message);
        Assert.Equal(2, backend.Inventory.Gpus.Count);
    }

    [Fact]
    public async Task StartAsync_Sparse100MBFile_OneLineRefusalWithoutReadingIt()
    {
        var path = HostileFiles.Sparse(_dir.File("scenario.json"));
        await using var backend = SimulatedBackend.FromFile(path, _clock, _log, Poll, useChangeNotifications: false);
        DeviceBackendException? refused = null;

        // StartAsync reads the file synchronously, so what it allocates shows on this thread.
        var allocated = HostileFiles.AllocatedBy(() => refused = Assert.Throws<DeviceBackendException>(() => backend.StartAsync(default).GetAwaiter().GetResult()));

        Assert.Equal($"simulation file {path} is larger than 4 MiB, the most GpuDaemon reads; check that the path names the scenario file", refused!.Message);
        Assert.True(allocated < SimulatedBackend.MaxScenarioFileBytes, $"allocated {allocated} bytes");
    }

    [Fact]
    public async Task Poll_FileBecomesSparse100MB_WarnedOnceThenOncePerMinuteNeverReadAndScenarioKept()
    {
        var path = WriteGood();
        await using var backend = await StartAsync(path);
        HostileFiles.Sparse(path);

        var allocated = HostileFiles.AllocatedBy(() =>
        {
            _clock.Advance(Poll);
            Assert.Equal(1, _log.Count(TooLarge));
            _clock.Advance(FileChangeMonitor.RepeatedWarningInterval - Poll);
            Assert.Equal(1, _log.Count(TooLarge));
            _clock.Advance(Poll);
            Assert.Equal(2, _log.Count(TooLarge));
            _clock.Advance(TimeSpan.FromMinutes(10));
        });

        // 300-odd polls of a 100 MB file: read whole even once would allocate 100 MB.
        Assert.True(allocated < SimulatedBackend.MaxScenarioFileBytes, $"allocated {allocated} bytes");
        Assert.InRange(_log.Count(TooLarge), 11, 12);
        Assert.All(_log.Entries.Where(e => e.EventId.Id == TooLarge), e => HostileFiles.AssertOneShortLine(e.Message));
        Assert.Contains($"is larger than 4 MiB, the most GpuDaemon reads", _log.Entries.First(e => e.EventId.Id == TooLarge).Message, StringComparison.Ordinal);
        Assert.Equal(0, _log.Count(ScenarioRejected));
        Assert.Equal(2, backend.Inventory.Gpus.Count);
    }

    private string WriteGood()
    {
        var path = _dir.File("scenario.json");
        ScenarioReader.WriteFile(path, Gpus.Scenario(2));
        return path;
    }

    private async Task<SimulatedBackend> StartAsync(string path)
    {
        var backend = SimulatedBackend.FromFile(path, _clock, _log, Poll, useChangeNotifications: false);
        await backend.StartAsync(default);
        return backend;
    }
}
