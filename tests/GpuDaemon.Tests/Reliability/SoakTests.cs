using System.Diagnostics;
using System.Globalization;
using GpuDaemon.Cli;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.GrpcWire;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.Tests.TestSupport;
using Xunit.Abstractions;

namespace GpuDaemon.Tests.Reliability;

/// <summary>
/// The real <c>gpudaemon serve</c> under everything at once: concurrent Allocates, kubelet restarts, GPU faults and
/// recoveries written into its scenario file, and config reloads (file rewrites and SIGHUP). It must stay up, fail
/// only the calls the documentation allows, and come back to its start-up state: registered, every GPU advertised
/// Healthy, no leaked file descriptors or sockets, memory bounded. About 15 s of activity by default;
/// GPUDAEMON_RELIABILITY=long runs it for 10 minutes. See docs/reliability.md, "Soak".
/// </summary>
public sealed class SoakTests(ITestOutputHelper output)
{
    private const string Resource = "nvidia.com/gpu";

    /// <summary>The environment variable (and value) that makes the soak long.</summary>
    private const string LongVariable = "GPUDAEMON_RELIABILITY";

    /// <summary>Simulated GPUs: enough that faults on two still leave two to allocate.</summary>
    private const int GpuCount = 4;

    /// <summary>At most this many GPUs are faulted at once, so every caller always has a healthy GPU to ask for.</summary>
    private const int MaxFaulted = 2;

    /// <summary>Concurrent Allocate callers, as several pods starting at once on one node.</summary>
    private const int Callers = 4;

    /// <summary>
    /// Each caller pauses up to this many milliseconds between calls (5): about a thousand calls a second in all,
    /// plenty to meet every restart and fault, without starving the other tests that share the machine.
    /// </summary>
    private const int CallPauseMs = 5;

    /// <summary>
    /// Open descriptors (loaded assemblies aside) serve may hold after the activity beyond its level after
    /// start-up (4): sockets, pipes, watches and files come back to the same count once connections from
    /// before the last restart are torn down; a leak per restart, reload or call would exceed it many times.
    /// </summary>
    private const int FdMargin = 4;

    /// <summary>
    /// Calls that may fail with UNAVAILABLE or a connection error per disruption (a kubelet restart or a reload that
    /// re-registers) and caller (10): each caller waits for the next registration after such a failure, so a few
    /// failures per disruption are the window itself; more means the plugin does not come back.
    /// </summary>
    private const int MaxWindowFailuresPerDisruption = 10;

    /// <summary>Activity by default: long enough for about ten kubelet restarts, short enough for every test run.</summary>
    private static readonly TimeSpan ShortActivity = TimeSpan.FromSeconds(15);

    /// <summary>Activity with GPUDAEMON_RELIABILITY=long: enough for slow leaks to show.</summary>
    private static readonly TimeSpan LongActivity = TimeSpan.FromMinutes(10);

    /// <summary>A GPU's recovery period in the soak's config: faults clear within the soak, several times over.</summary>
    private static readonly TimeSpan RecoveryPeriod = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long after a disruption starts a call may still fail with UNAVAILABLE (5 s): the plugin notices the
    /// restart at once (inotify; at worst within the 1 s check) and re-registers in milliseconds; the rest is headroom for a loaded test machine.
    /// </summary>
    private static readonly TimeSpan DisruptionWindow = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Headroom around a fault's window for FAILED_PRECONDITION (3 s): the probe interval, the recovery period's
    /// end and the kubelet's view catching up, on a loaded test machine.
    /// </summary>
    private static readonly TimeSpan FaultSlack = TimeSpan.FromSeconds(3);

    /// <summary>Bound on every single wait (start-up, re-registration, recovery, exit): far above the seconds each takes.</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Bound on one Allocate; far above its milliseconds, so a hang is reported, not waited out.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly List<string> _unexpected = [];
    private readonly List<(string Device, DateTimeOffset From, DateTimeOffset? To)> _faultWindows = [];
    private readonly Dictionary<string, int> _failuresByStatus = new(StringComparer.Ordinal);
    private DateTimeOffset _lastDisruption = DateTimeOffset.MinValue;
    private long _calls;
    private long _windowFailures;
    private int _restarts;
    private int _faults;
    private int _recoveries;
    private int _reloads;
    private long _maxRss;
    private int _maxFds;
    private TimeSpan _maxReRegister;

    [Fact]
    public async Task Serve_AllocatesRestartsFaultsAndReloadsTogether_StaysUpAndReturnsToItsStartState()
    {
        var activity = string.Equals(Environment.GetEnvironmentVariable(LongVariable), "long", StringComparison.OrdinalIgnoreCase) ? LongActivity : ShortActivity;
        using var dir = new TempDirectory();
        var plugins = Directory.CreateDirectory(dir.File("dp")).FullName;
        var scenarioPath = dir.File("scenario.json");
        var configPath = dir.File("gpudaemon.yaml");
        var scenario = Gpus.Scenario(GpuCount);
        ScenarioReader.WriteFile(scenarioPath, scenario);
        WriteConfig(configPath, preStartRequired: false);
        await using var kubelet = new KubeletEmulator(plugins, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();

        using var serve = DaemonProcess.Start("serve", "--simulation", scenarioPath, "--config", configPath, "--device-plugin-dir", plugins, "--log-level", "warning");
        var first = await kubelet.WaitForAsync(Resource, p => p.HealthyCount == GpuCount, Wait);
        await first.AllocateAsync([first.Devices[0].ID]);
        var baselineFds = ProcessMemory.OpenFileDescriptors(serve.Id);
        var baselineKinds = ProcessMemory.DescribeFileDescriptors(serve.Id);
        var started = Stopwatch.StartNew();

        using (var stop = new CancellationTokenSource(activity))
        {
            Task[] loops =
            [
                .. Enumerable.Range(0, Callers).Select(i => AllocateLoopAsync(kubelet, i, stop.Token)),
                RestartLoopAsync(kubelet, stop.Token),
                FaultLoopAsync(scenarioPath, scenario, stop.Token),
                ReloadLoopAsync(serve, configPath, stop.Token),
                WatchProcessLoopAsync(serve, stop.Token),
            ];
            await Task.WhenAll(loops);
        }

        var active = started.Elapsed;

        // Everything healthy again in the file; then the start-up state must come back within a bounded wait.
        foreach (var gpu in scenario.Gpus)
        {
            gpu.Healthy = true;
            gpu.Lost = false;
        }

        ScenarioReader.WriteFile(scenarioPath, scenario);
        var settled = await kubelet.WaitForAsync(Resource, p => !p.StreamEnded && p.Devices.Count == GpuCount && p.HealthyCount == GpuCount, Wait);
        var fds = await FdsSettledAsync(serve.Id, baselineFds);
        var fdKinds = ProcessMemory.DescribeFileDescriptors(serve.Id);
        var leftInDir = Directory.GetFileSystemEntries(plugins).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Sample(serve.Id);

        serve.Signal("TERM");
        await serve.WaitForExitAsync(Wait);

        string failures;
        lock (_gate)
        {
            failures = string.Join(", ", _failuresByStatus.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value}"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak {active.TotalSeconds:0} s: {Interlocked.Read(ref _calls)} calls, {_restarts} kubelet restarts (re-registered within {_maxReRegister.TotalMilliseconds:0} ms), " +
            $"{_faults} faults, {_recoveries} recoveries, {_reloads} reloads; failures: {(failures.Length == 0 ? "none" : failures)} " +
            $"({Interlocked.Read(ref _windowFailures)} in restart windows); fds {baselineFds} -> {fds} (max {_maxFds}); max RSS {_maxRss / (1024 * 1024)} MB"));

        output.WriteLine($"descriptors after start-up: {baselineKinds}; after the soak: {fdKinds}");
        Assert.Empty(_unexpected);
        Assert.Equal(ExitCodes.Ok, serve.ExitCode);
        Assert.False(File.Exists(Path.Combine(plugins, settled.Endpoint)), "serve left its socket behind");
        Assert.Subset(new HashSet<string?>([KubeletConstants.KubeletSocketName, KubeletConstants.CheckpointFileName, settled.Endpoint]), new HashSet<string?>(leftInDir));
        Assert.Contains(settled.Endpoint, leftInDir);
        Assert.True(fds <= baselineFds + FdMargin, $"{fds} open descriptors after the soak ({fdKinds}), {baselineFds} after start-up ({baselineKinds})");
        Assert.InRange(_maxRss, 1, ProcessMemory.MaxResidentBytes);
        Assert.True(_calls >= Callers * 10, $"only {_calls} calls succeeded");
        Assert.True(_restarts >= 2 && _faults >= 2 && _reloads >= 2, "the soak did too little of something");
        var windowBound = (_restarts + _reloads) * Callers * MaxWindowFailuresPerDisruption;
        Assert.True(_windowFailures <= windowBound, $"{_windowFailures} calls failed in restart windows, more than {windowBound}");
        Assert.DoesNotContain(serve.Stderr, l => l.StartsWith("   at ", StringComparison.Ordinal) || l.Contains("crit:", StringComparison.Ordinal));
    }

    private async Task AllocateLoopAsync(KubeletEmulator kubelet, int caller, CancellationToken stop)
    {
        var random = new Random(caller);
        while (await PaceAsync(TimeSpan.FromMilliseconds(random.Next(CallPauseMs)), stop))
        {
            var seen = kubelet.Changed.Version;
            var plugin = kubelet.Find(Resource);
            var healthy = plugin?.Devices.Where(d => d.Health == KubeletConstants.Healthy).Select(d => d.ID).ToList() ?? [];
            if (plugin is null || plugin.StreamEnded || healthy.Count == 0)
            {
                await NextChangeAsync(kubelet, seen);
                continue;
            }

            string[] ids = [.. healthy.OrderBy(_ => random.Next()).Take(random.Next(1, 3))];
            var callStart = DateTimeOffset.UtcNow;
            try
            {
                using var timeout = new CancellationTokenSource(CallTimeout);
                await plugin.AllocateAsync(ids, timeout.Token);
                Interlocked.Increment(ref _calls);
            }
            catch (RpcException ex) when (ex.StatusCode == GrpcStatusCode.FailedPrecondition)
            {
                Count("FAILED_PRECONDITION");
                if (!WasFaulted(ids, callStart))
                {
                    Unexpected($"Allocate({string.Join(',', ids)}) refused though no device was faulted: {ex.Message}");
                }
            }
            catch (Exception ex) when (ex is RpcException or ObjectDisposedException or OperationCanceledException)
            {
                var status = ex is RpcException rpc ? rpc.StatusCode.ToString().ToUpperInvariant() : ex.GetType().Name;
                Count(status);
                if (InDisruption(kubelet, plugin, callStart) && (ex is not RpcException r || r.StatusCode is GrpcStatusCode.Unavailable or GrpcStatusCode.Cancelled or GrpcStatusCode.Unknown))
                {
                    Interlocked.Increment(ref _windowFailures);
                }
                else
                {
                    Unexpected($"Allocate({string.Join(',', ids)}) failed outside a restart window: {status}: {ex.Message}");
                }

                await NextChangeAsync(kubelet, seen);
            }
        }
    }

    private async Task RestartLoopAsync(KubeletEmulator kubelet, CancellationToken stop)
    {
        var random = new Random(100);
        while (await PaceAsync(TimeSpan.FromMilliseconds(random.Next(1000, 2000)), stop))
        {
            var at = DateTimeOffset.UtcNow;
            MarkDisruption(at);
            await kubelet.RestartAsync(CancellationToken.None);
            _restarts++;
            try
            {
                var plugin = await kubelet.WaitForAsync(Resource, p => p.RegisteredAt >= at, Wait);
                var took = plugin.RegisteredAt - at;
                _maxReRegister = took > _maxReRegister ? took : _maxReRegister;
            }
            catch (TimeoutException)
            {
                Unexpected($"the plugin did not register again within {Wait.TotalSeconds:0} s of kubelet restart {_restarts}");
            }
        }
    }

    private async Task FaultLoopAsync(string path, SimulationScenario scenario, CancellationToken stop)
    {
        var random = new Random(200);
        while (await PaceAsync(TimeSpan.FromMilliseconds(random.Next(300, 700)), stop))
        {
            var gpu = scenario.Gpus[random.Next(GpuCount)];
            var now = DateTimeOffset.UtcNow;
            if (!gpu.Healthy || gpu.Lost)
            {
                gpu.Healthy = true;
                gpu.Lost = false;
                ScenarioReader.WriteFile(path, scenario);
                CloseFault(gpu.Uuid, DateTimeOffset.UtcNow + RecoveryPeriod);
                _recoveries++;
                continue;
            }

            if (scenario.Gpus.Count(g => !g.Healthy || g.Lost) >= MaxFaulted)
            {
                continue;
            }

            switch (random.Next(3))
            {
                case 0:
                    gpu.Healthy = false;
                    OpenFault(gpu.Uuid, now, to: null);
                    break;
                case 1:
                    gpu.Lost = true;
                    OpenFault(gpu.Uuid, now, to: null);
                    break;
                default:
                    // An Xid fault clears by itself once the GPU's checks stay clean for the recovery period.
                    gpu.Xid.Add(79);
                    OpenFault(gpu.Uuid, now, now + RecoveryPeriod);
                    break;
            }

            ScenarioReader.WriteFile(path, scenario);
            _faults++;
        }
    }

    private async Task ReloadLoopAsync(DaemonProcess serve, string configPath, CancellationToken stop)
    {
        var random = new Random(300);
        var preStart = false;
        while (await PaceAsync(TimeSpan.FromMilliseconds(random.Next(1000, 1500)), stop))
        {
            preStart = !preStart;
            MarkDisruption(DateTimeOffset.UtcNow);
            WriteConfig(configPath, preStart);
            serve.Signal("HUP");
            _reloads++;
        }
    }

    private async Task WatchProcessLoopAsync(DaemonProcess serve, CancellationToken stop)
    {
        while (await PaceAsync(TimeSpan.FromMilliseconds(200), stop))
        {
            if (serve.HasExited)
            {
                Unexpected($"serve exited during the soak with {serve.ExitCode}: {string.Join(" | ", serve.Stderr.TakeLast(5))}");
                return;
            }

            Sample(serve.Id);
        }
    }

    private void Sample(int pid)
    {
        var rss = ProcessMemory.ResidentBytes(pid);
        var fds = ProcessMemory.OpenFileDescriptors(pid);
        _maxRss = Math.Max(_maxRss, rss);
        _maxFds = Math.Max(_maxFds, fds);
        if (rss > ProcessMemory.MaxResidentBytes)
        {
            Unexpected($"resident memory {rss / (1024 * 1024)} MB is over the bound");
        }
    }

    // Descriptors close as connections from before the last restart are torn down; wait for that, bounded.
    private static async Task<int> FdsSettledAsync(int pid, int baseline)
    {
        var deadline = Stopwatch.StartNew();
        var fds = ProcessMemory.OpenFileDescriptors(pid);
        while (fds > baseline + FdMargin && deadline.Elapsed < Wait)
        {
            await Task.Delay(100);
            fds = ProcessMemory.OpenFileDescriptors(pid);
        }

        return fds;
    }

    // Waits until another registration or device list arrives, or a short bound passes: how a caller backs off.
    private static async Task NextChangeAsync(KubeletEmulator kubelet, long seen)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        try
        {
            await kubelet.Changed.WaitForChangeAsync(seen, bound.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    // The pause between one loop's actions (pacing, not synchronisation); false once the activity is over.
    private static async Task<bool> PaceAsync(TimeSpan pause, CancellationToken stop)
    {
        try
        {
            await Task.Delay(pause, stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static void WriteConfig(string path, bool preStartRequired)
    {
        var content = string.Create(CultureInfo.InvariantCulture,
            $"probeInterval: 200ms\nrecoveryPeriod: {RecoveryPeriod.TotalSeconds}s\npreStartRequired: {(preStartRequired ? "true" : "false")}\nignoredXids: {(preStartRequired ? "13,31,43,45" : "13,31,43")}\n");
        File.WriteAllText(path + ".tmp", content);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private bool InDisruption(KubeletEmulator kubelet, EmulatedPlugin plugin, DateTimeOffset callStart)
    {
        if (!ReferenceEquals(kubelet.Find(Resource), plugin))
        {
            return true;
        }

        lock (_gate)
        {
            return callStart - _lastDisruption < DisruptionWindow || DateTimeOffset.UtcNow - _lastDisruption < DisruptionWindow;
        }
    }

    private bool WasFaulted(string[] ids, DateTimeOffset callStart)
    {
        var callEnd = DateTimeOffset.UtcNow;
        lock (_gate)
        {
            return _faultWindows.Any(w => ids.Contains(w.Device)
                && w.From - FaultSlack <= callEnd
                && (w.To is null || w.To.Value + FaultSlack >= callStart));
        }
    }

    private void OpenFault(string device, DateTimeOffset from, DateTimeOffset? to)
    {
        lock (_gate)
        {
            _faultWindows.Add((device, from, to));
        }
    }

    private void CloseFault(string device, DateTimeOffset to)
    {
        lock (_gate)
        {
            var open = _faultWindows.FindLastIndex(w => w.Device == device && w.To is null);
            if (open >= 0)
            {
                _faultWindows[open] = _faultWindows[open] with { To = to };
            }
        }
    }

    private void MarkDisruption(DateTimeOffset at)
    {
        lock (_gate)
        {
            _lastDisruption = at;
        }
    }

    private void Count(string status)
    {
        lock (_gate)
        {
            _failuresByStatus[status] = _failuresByStatus.GetValueOrDefault(status) + 1;
        }
    }

    private void Unexpected(string what)
    {
        lock (_gate)
        {
            _unexpected.Add(what);
        }
    }
}
