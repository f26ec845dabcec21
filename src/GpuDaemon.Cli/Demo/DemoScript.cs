using System.Diagnostics;
using System.Globalization;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.GrpcWire;
using GpuDaemon.Health;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.PodResources;
using GpuDaemon.Validation;
using GpuDaemon.Validation.Gate;
using GpuDaemon.Metrics;
using GpuDaemon.NodeLabels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Demo;

internal sealed record DemoOptions(int Gpus, TimeSpan RecoveryPeriod, bool StayUp);

/// <summary>
/// Narrates the device plugin's life on simulated GPUs: registration, the device list, an allocation,
/// a fault and its recovery, a kubelet restart. Faults are injected the way a user would: by editing
/// the scenario file, which the user can keep editing afterwards. The plugin side is serve's own host,
/// built by <paramref name="buildHost"/> from the settings the demo picks.
/// </summary>
internal sealed class DemoScript(TextWriter output, Func<ServeSettings, IHost> buildHost, DemoOptions options)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);
    private const string Resource = ResourceName.DefaultGpu;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("gpudaemon-demo-").FullName;
        try
        {
            var scenario = DefaultScenario.Create(options.Gpus);
            var scenarioPath = Path.Combine(directory, "simulation.json");
            ScenarioReader.WriteFile(scenarioPath, scenario);
            var pluginDir = Directory.CreateDirectory(Path.Combine(directory, "device-plugins")).FullName;
            var validationDir = Path.Combine(directory, "validations");
            var labelsDir = Directory.CreateDirectory(Path.Combine(directory, "features.d")).FullName;
            var host = buildHost(new ServeSettings(
                new GpuBackendOptions(BackendKind.Simulated, null, scenarioPath, GpuDaemonDefaults.DriverRoot),
                new HealthOptions { RecoveryPeriod = options.RecoveryPeriod, ProbeInterval = TimeSpan.FromMilliseconds(500) },
                new PluginOptions { DevicePluginDir = pluginDir, PreStartRequired = true },
                new PodAttributionOptions { SocketPath = string.Empty },
                new MetricsOptions { Listen = "127.0.0.1:0" })
            {
                ValidationGate = new ValidationGateOptions { Required = true, ValidationDir = validationDir },
                NodeLabels = new NodeLabelsOptions { Directory = labelsDir },
            });
            await using var disposeHost = (IAsyncDisposable)host;
            var services = host.Services;
            var time = services.GetRequiredService<TimeProvider>();
            var loggerFactory = services.GetRequiredService<ILoggerFactory>();
            var health = services.GetRequiredService<IGpuHealth>();
            var backend = services.GetRequiredService<IGpuBackend>();

            Say($"GpuDaemon demo: {options.Gpus} simulated GPUs, the device plugin, and an emulated kubelet, in {directory}");
            await using var kubelet = new KubeletEmulator(pluginDir, time, loggerFactory);
            await kubelet.StartAsync(cancellationToken);
            Say($"[kubelet]  listening on {kubelet.SocketPath}");

            // serve runs with --require-validation: nothing is advertised until validate has written its status files.
            var validation = await new Validator(new ValidationOptions { ValidationDir = validationDir }, SimulatedValidationSource.FromFile(scenarioPath), time, loggerFactory.CreateLogger<Validator>()).RunAsync(null, cancellationToken);
            Say($"[validate] driver, CUDA vector add on every GPU, NVML/CUDA agreement, degradation: {validation.Summary}");

            var started = Stopwatch.StartNew();
            await host.StartAsync(cancellationToken);

            var plugin = await kubelet.WaitForAsync(Resource, p => p.Updates > 0, StepTimeout);
            Say($"[plugin]   registered {Resource} as {plugin.Endpoint} in {started.ElapsedMilliseconds} ms (pre-start checks on, preferred allocation on)");
            Say($"[metrics]  Prometheus metrics at {new Uri(services.GetRequiredService<IMetricsEndpoint>().Address!, "metrics")} (also /healthz, /readyz)");
            var labels = await WaitForLabelsAsync(services.GetRequiredService<NodeLabelWriter>(), Path.Combine(labelsDir, NodeLabelsOptions.FileName), cancellationToken);
            Say($"[labels]   {Path.Combine(labelsDir, NodeLabelsOptions.FileName)} for Node Feature Discovery: {string.Join(", ", labels.Where(l => DemoLabels.Contains(l.Split('=')[0])))} (+{labels.Count - DemoLabels.Length} more)");
            var byNuma = plugin.Devices.GroupBy(d => d.Topology?.Nodes.FirstOrDefault()?.ID ?? -1).Select(g => $"NUMA {g.Key}: {g.Count()}");
            Say($"[kubelet]  {plugin.Devices.Count} devices advertised, {plugin.HealthyCount} Healthy ({string.Join(", ", byNuma)})");

            var preferred = await plugin.PreferredAsync(2, cancellationToken: cancellationToken);
            Say($"[kubelet]  a pod asks for 2 GPUs; the plugin prefers {Names(backend, preferred)} (NVLink-connected, one NUMA node)");
            var allocation = await plugin.AllocateAsync(preferred, cancellationToken);
            var container = allocation.ContainerResponses[0];
            Say($"[plugin]   Allocate: NVIDIA_VISIBLE_DEVICES={container.Envs["NVIDIA_VISIBLE_DEVICES"]}, devices {string.Join(" ", container.Devices.Select(d => d.HostPath))}");

            var faulty = options.Gpus - 1;
            Say($"[fault]    appending Xid 79 (GPU fell off the bus) to GPU {faulty} in {scenarioPath}");
            var faultAt = Stopwatch.StartNew();
            scenario.Gpus[faulty].Xid.Add(79);
            ScenarioReader.WriteFile(scenarioPath, scenario);
            plugin = await kubelet.WaitForAsync(Resource, p => p.Devices[faulty].Health == KubeletConstants.Unhealthy, StepTimeout);
            Say($"[kubelet]  GPU {faulty} is Unhealthy {faultAt.ElapsedMilliseconds} ms later: {health.Verdict(scenario.Gpus[faulty].Uuid).Reason}; {plugin.HealthyCount} of {plugin.Devices.Count} allocatable");
            try
            {
                await plugin.AllocateAsync([plugin.Devices[faulty].ID], cancellationToken);
            }
            catch (RpcException ex)
            {
                Say($"[plugin]   a stale Allocate for it is refused: {ex.StatusCode}: {ex.Detail}");
            }

            Say($"[health]   its health checks are clean again; waiting {options.RecoveryPeriod.TotalSeconds:0.#} s (the recovery period) before trusting it");
            var recoveryAt = Stopwatch.StartNew();
            plugin = await kubelet.WaitForAsync(Resource, p => p.Devices[faulty].Health == KubeletConstants.Healthy, StepTimeout + options.RecoveryPeriod);
            Say($"[kubelet]  GPU {faulty} is Healthy again after {recoveryAt.Elapsed.TotalSeconds:0.0} s, without restarting anything");

            Say("[kubelet]  restarting: every socket in the device-plugin directory is deleted, kubelet.sock created again");
            var before = plugin;
            var restartAt = Stopwatch.StartNew();
            await kubelet.RestartAsync(cancellationToken);
            plugin = await kubelet.WaitForAsync(Resource, p => !ReferenceEquals(p, before) && p.Updates > 0, StepTimeout);
            Say($"[plugin]   re-registered {restartAt.ElapsedMilliseconds} ms after the restart; {plugin.HealthyCount} devices Healthy");

            if (options.StayUp)
            {
                Say(string.Empty);
                Say($"Still running. Edit {scenarioPath} to inject faults (\"healthy\": false, an Xid, \"lost\": true; see docs/simulation.md),");
                Say($"or talk to the plugin as the kubelet would: gpudaemon probe --socket {Path.Combine(pluginDir, plugin.Endpoint)} --allocate 2");
                Say("Health changes are shown below. Ctrl-C to stop.");
                await FollowHealthAsync(kubelet, cancellationToken);
            }

            await host.StopAsync(CancellationToken.None);
            Say("[plugin]   stopped; sockets removed");
        }
        finally
        {
            TryDelete(directory);
        }
    }

    private static readonly string[] DemoLabels = ["nvidia.com/gpu.product", "nvidia.com/gpu.count", "nvidia.com/gpu.family", "gpudaemon.io/validated"];

    /// <summary>The label file's lines once it says validation passed (validate ran just before serve started).</summary>
    private static async Task<List<string>> WaitForLabelsAsync(NodeLabelWriter writer, string path, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StepTimeout);
        while (true)
        {
            var seen = writer.Attempted.Version;
            var lines = File.Exists(path) ? File.ReadAllLines(path).ToList() : [];
            if (lines.Contains("gpudaemon.io/validated=true"))
            {
                return lines;
            }

            await writer.Attempted.WaitForChangeAsync(seen, timeout.Token);
        }
    }

    private async Task FollowHealthAsync(KubeletEmulator kubelet, CancellationToken cancellationToken)
    {
        var last = Snapshot(kubelet);
        try
        {
            while (true)
            {
                var seen = kubelet.Changed.Version;
                await kubelet.Changed.WaitForChangeAsync(seen, cancellationToken);
                var now = Snapshot(kubelet);
                foreach (var (id, health) in now)
                {
                    if (!last.TryGetValue(id, out var was) || was != health)
                    {
                        Say($"[kubelet]  {id} is {health}");
                    }
                }

                last = now;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static Dictionary<string, string> Snapshot(KubeletEmulator kubelet) =>
        (kubelet.Find(Resource)?.Devices ?? []).ToDictionary(d => d.ID, d => d.Health, StringComparer.Ordinal);

    private static string Names(IGpuBackend backend, IEnumerable<string> ids) =>
        string.Join(" and ", ids.Select(id => backend.Inventory.FindByUuid(id) is { } gpu ? string.Create(CultureInfo.InvariantCulture, $"GPU {gpu.Index}") : id));

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Say(string line)
    {
        output.WriteLine(line);
        output.Flush();
    }
}
