using System.Reflection;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>The <see cref="LoggerMessageAttribute"/> methods of the GpuDaemon assemblies, found by reflection.</summary>
public static class LoggerMessages
{
    /// <summary>Every GpuDaemon assembly that logs: a new one is added here, and every log-id test covers it.</summary>
    public static IReadOnlyList<Assembly> Assemblies { get; } =
    [
        typeof(GpuDaemon.Cli.GpuDaemonCli).Assembly,
        typeof(GpuDaemon.DevicePlugin.PluginOptions).Assembly,
        typeof(GpuDaemon.Health.GpuHealthMonitor).Assembly,
        typeof(GpuDaemon.KubeletEmulation.KubeletEmulator).Assembly,
        typeof(GpuDaemon.Devices.IGpuBackend).Assembly,
        typeof(GpuDaemon.GrpcWire.GrpcUnixServer).Assembly,
        typeof(GpuDaemon.Nvidia.Nvml.NvmlBackend).Assembly,
        typeof(GpuDaemon.PodResources.IPodAttribution).Assembly,
        typeof(GpuDaemon.Metrics.MetricsOptions).Assembly,
        typeof(GpuDaemon.NodeLabels.NodeLabelsOptions).Assembly,
    ];

    /// <summary>Every log message of every assembly in <see cref="Assemblies"/>.</summary>
    public static IReadOnlyList<DeclaredLogMessage> All { get; } = [.. Assemblies.SelectMany(In)];

    /// <summary>The log messages declared in <paramref name="assembly"/>.</summary>
    public static IEnumerable<DeclaredLogMessage> In(Assembly assembly) => assembly
        .GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
        .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
        .Where(x => x.Attribute is not null)
        .Select(x => new DeclaredLogMessage(assembly, $"{x.Method.DeclaringType!.FullName}.{x.Method.Name}", x.Attribute!.EventId));
}

/// <summary>One <c>[LoggerMessage]</c> method: where it is declared and its event id.</summary>
public sealed record DeclaredLogMessage(Assembly Assembly, string Method, int EventId);
