using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using Google.Protobuf;

namespace GpuDaemon.Cli.Commands;

/// <summary>
/// <c>gpudaemon probe</c>: talk to a running device plugin as the kubelet would — options, devices with
/// health and NUMA node, the preferred set for N, and the Allocate response.
/// </summary>
internal static class ProbeCommand
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("probe", "Dial a running device plugin as the kubelet would and show what it answers");
        var socket = new Option<string>("--socket")
        {
            Description = $"The plugin's socket, e.g. {KubeletConstants.DefaultDevicePluginDir}/{ResourceName.SocketFileName(ResourceName.DefaultGpu)}",
            HelpName = "PATH",
            Required = true,
        };
        var allocate = new Option<int>("--allocate")
        {
            Description = "Also ask for the preferred set of N healthy devices and Allocate it (this reserves nothing: the kubelet keeps the books)",
            HelpName = "N",
        };
        var format = new Option<string>("--output", "-o") { Description = "Output format: table or json [default: table]", HelpName = "table|json" };
        format.AcceptOnlyFromAmong("table", "json");
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for each answer [default: 10]", HelpName = "SECONDS", DefaultValueFactory = _ => 10 };
        command.Add(socket);
        command.Add(allocate);
        command.Add(format);
        command.Add(timeout);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(socket)!;
            var count = parse.GetValue(allocate);
            if (count < 0)
            {
                throw new UsageException($"--allocate {count}: give a number of devices, 1 or more");
            }

            var wait = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout)));
            if (!File.Exists(path))
            {
                throw new ProbeException($"no plugin socket at {path}; is gpudaemon serve running? Its sockets are in the device-plugin directory ({KubeletConstants.DefaultDevicePluginDir} by default)");
            }

            using var client = new GrpcUnixClient(path);
            var report = await ProbeAsync(client, count, wait, cancellationToken);
            if (parse.GetValue(format) == "json")
            {
                WriteJson(output, path, report);
            }
            else
            {
                WriteTable(output, path, report, count);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<ProbeReport> ProbeAsync(GrpcUnixClient client, int count, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            var options = await client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty(), wait, cancellationToken);
            ListAndWatchResponse? devices = null;
            await foreach (var list in client.ServerStreamingAsync(DevicePluginApi.ListAndWatch, new Empty(), wait, cancellationToken))
            {
                devices = list;
                break;
            }

            devices ??= new ListAndWatchResponse();
            IReadOnlyList<string> preferred = [];
            AllocateResponse? allocation = null;
            if (count > 0)
            {
                var healthy = devices.Devices.Where(d => d.Health == KubeletConstants.Healthy).Select(d => d.ID).ToList();
                if (healthy.Count < count)
                {
                    throw new ProbeException(string.Create(CultureInfo.InvariantCulture, $"--allocate {count}: the plugin has only {healthy.Count} healthy devices"));
                }

                preferred = options.GetPreferredAllocationAvailable
                    ? [.. (await client.UnaryAsync(DevicePluginApi.GetPreferredAllocation, new PreferredAllocationRequest
                    {
                        ContainerRequests = { new ContainerPreferredAllocationRequest { AvailableDeviceIDs = { healthy }, AllocationSize = count } },
                    }, wait, cancellationToken)).ContainerResponses[0].DeviceIDs]
                    : healthy.Take(count).ToList();
                allocation = await client.UnaryAsync(DevicePluginApi.Allocate, new AllocateRequest
                {
                    ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { preferred } } },
                }, wait, cancellationToken);
            }

            return new ProbeReport(options, devices, preferred, allocation);
        }
        catch (RpcException ex)
        {
            throw new ProbeException($"the plugin answered {ex.StatusCode}: {ex.Detail}");
        }
    }

    private static void WriteTable(TextWriter output, string path, ProbeReport report, int count)
    {
        var devices = report.Devices.Devices;
        output.WriteLine($"Plugin   {path}");
        output.WriteLine($"Options  pre_start_required={Bool(report.Options.PreStartRequired)} get_preferred_allocation_available={Bool(report.Options.GetPreferredAllocationAvailable)}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Devices  {devices.Count} ({devices.Count(d => d.Health == KubeletConstants.Healthy)} healthy)"));
        if (devices.Count > 0)
        {
            var width = Math.Max(2, devices.Max(d => d.ID.Length));
            output.WriteLine();
            output.WriteLine($"{"ID".PadRight(width)}  {"HEALTH",-9}  NUMA");
            foreach (var device in devices)
            {
                var numa = device.Topology?.Nodes.Count > 0 ? string.Join(',', device.Topology.Nodes.Select(n => n.ID)) : "-";
                output.WriteLine($"{device.ID.PadRight(width)}  {device.Health,-9}  {numa}");
            }
        }

        if (report.Allocation is not { } allocation)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Preferred for {count}: {string.Join(", ", report.Preferred)}"));
        output.WriteLine("Allocate response:");
        var container = allocation.ContainerResponses.FirstOrDefault() ?? new ContainerAllocateResponse();
        foreach (var (name, value) in container.Envs.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  env     {name}={value}");
        }

        foreach (var device in container.Devices)
        {
            output.WriteLine($"  device  {device.HostPath} -> {device.ContainerPath} ({device.Permissions})");
        }

        foreach (var mount in container.Mounts)
        {
            output.WriteLine($"  mount   {mount.HostPath} -> {mount.ContainerPath}{(mount.ReadOnly ? " (ro)" : string.Empty)}");
        }

        foreach (var cdi in container.CdiDevices)
        {
            output.WriteLine($"  cdi     {cdi.Name}");
        }

        foreach (var (name, value) in container.Annotations)
        {
            output.WriteLine($"  annot   {name}={value}");
        }
    }

    private static void WriteJson(TextWriter output, string path, ProbeReport report)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("socket", path);
            WriteMessage(json, "options", report.Options);
            WriteMessage(json, "devices", report.Devices);
            json.WriteStartArray("preferred");
            foreach (var id in report.Preferred)
            {
                json.WriteStringValue(id);
            }

            json.WriteEndArray();
            if (report.Allocation is { } allocation)
            {
                WriteMessage(json, "allocation", allocation);
            }

            json.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private static void WriteMessage(Utf8JsonWriter json, string name, IMessage message)
    {
        json.WritePropertyName(name);
        using var document = JsonDocument.Parse(Formatter.Format(message));
        document.RootElement.WriteTo(json);
    }

    private static string Bool(bool value) => value ? "true" : "false";

    private sealed record ProbeReport(DevicePluginOptions Options, ListAndWatchResponse Devices, IReadOnlyList<string> Preferred, AllocateResponse? Allocation);
}

/// <summary>The plugin could not be probed; the message says why and what to check.</summary>
internal sealed class ProbeException : Exception
{
    public ProbeException()
    {
    }

    public ProbeException(string message)
        : base(message)
    {
    }

    public ProbeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
