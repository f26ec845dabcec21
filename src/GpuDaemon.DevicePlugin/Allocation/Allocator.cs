using System.Collections.Concurrent;
using System.Globalization;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Health;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;

namespace GpuDaemon.DevicePlugin.Allocation;

/// <summary>
/// Answers Allocate and PreStartContainer for one resource. Every request is checked first; a refusal is an
/// <see cref="AllocationException"/> that names the device and the reason, because the kubelet puts it in the pod's events.
/// </summary>
internal sealed class Allocator
{
    public const string VisibleDevicesEnv = "NVIDIA_VISIBLE_DEVICES";
    public const string VolumeMountDir = "/var/run/nvidia-container-devices";
    public const string CdiKind = "nvidia.com/gpu";

    /// <summary>Distinct device lists whose answers are kept; past this, answers are built afresh each time.</summary>
    public const int MaxCachedAnswers = 1024;

    private readonly ResourcePlan _plan;
    private readonly PluginOptions _config;
    private readonly IGpuHealth _health;
    private readonly Dictionary<string, PluginDevice> _byId;
    private readonly IReadOnlyList<string> _controlDevices;

    // A container's answer depends only on its device IDs, the plan and the options, all fixed for this allocator,
    // so a device list seen before is answered from here (health is still checked on every call). Cached
    // answers are shared between responses and never modified.
    private readonly ConcurrentDictionary<IReadOnlyList<string>, CachedAnswer> _answers = new(DeviceIdsComparer.Instance);

    private sealed record CachedAnswer(PluginDevice[] Devices, ContainerAllocateResponse Response);

    public Allocator(ResourcePlan plan, PluginOptions config, IGpuHealth health)
    {
        _plan = plan;
        _config = config;
        _health = health;
        _byId = plan.Devices.ToDictionary(d => d.Id, StringComparer.Ordinal);
        _controlDevices = ControlDevices.Present(config.DevRoot);
    }

    /// <summary>The advertised device with this ID, or null.</summary>
    public PluginDevice? Find(string id) => _byId.GetValueOrDefault(id);

    public AllocateResponse Allocate(AllocateRequest request)
    {
        if (request.ContainerRequests.Count == 0)
        {
            throw Invalid("Allocate request has no container requests");
        }

        var response = new AllocateResponse();
        var containers = request.ContainerRequests;
        for (var i = 0; i < containers.Count; i++)
        {
            response.ContainerResponses.Add(AllocateContainer(containers[i].DevicesIds));
        }

        return response;
    }

    public void PreStart(PreStartContainerRequest request)
    {
        foreach (var device in Resolve(request.DevicesIds, "PreStartContainer"))
        {
            var health = _health.ProbeNow(device.Gpu.Uuid);
            if (!health.Healthy)
            {
                throw new AllocationException(AllocationRefusal.DeviceUnusable,
                    $"device {RequestText.Quote(device.Id)} ({Describe(device)}) became Unhealthy before the container started: {health.Reason}; delete the pod so it is scheduled on a healthy GPU");
            }
        }
    }

    /// <summary>
    /// Checks one GetPreferredAllocation container request as Allocate checks its own: a repeated ID, an unknown
    /// must_include ID, a negative size, a size above the available devices or below must_include is refused.
    /// Unknown available IDs are skipped (the kubelet's list can be a step behind a re-plan).
    /// </summary>
    public (List<PluginDevice> Available, List<PluginDevice> MustInclude) ResolvePreferred(ContainerPreferredAllocationRequest request)
    {
        const string call = "GetPreferredAllocation";
        var size = request.AllocationSize;
        if (size < 0)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture, $"{call} asks for {size} devices of {_plan.ResourceName}; allocation_size must be 0 or more"));
        }

        if (size > request.AvailableDeviceIDs.Count)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture,
                $"{call} asks for {size} devices of {_plan.ResourceName} but lists only {request.AvailableDeviceIDs.Count} available; allocation_size must not exceed available_deviceIDs"));
        }

        if (request.MustIncludeDeviceIDs.Count > size)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture,
                $"{call} must_include names {request.MustIncludeDeviceIDs.Count} devices of {_plan.ResourceName}, more than allocation_size {size}"));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var available = new List<PluginDevice>(Math.Min(request.AvailableDeviceIDs.Count, _byId.Count));
        foreach (var id in request.AvailableDeviceIDs)
        {
            if (!seen.Add(id))
            {
                throw Invalid($"{call} lists available device {RequestText.Quote(id)} twice");
            }

            if (_byId.TryGetValue(id, out var device))
            {
                available.Add(device);
            }
        }

        seen.Clear();
        var mustInclude = new List<PluginDevice>(request.MustIncludeDeviceIDs.Count);
        foreach (var id in request.MustIncludeDeviceIDs)
        {
            if (!seen.Add(id))
            {
                throw Invalid($"{call} must_include names device {RequestText.Quote(id)} twice");
            }

            mustInclude.Add(_byId.GetValueOrDefault(id) ?? throw Unknown(id, $"{call} must_include"));
        }

        return (available, mustInclude);
    }

    /// <summary>How many device lists have a cached answer.</summary>
    internal int CachedAnswers => _answers.Count;

    private ContainerAllocateResponse AllocateContainer(IReadOnlyList<string> ids)
    {
        if (_answers.TryGetValue(ids, out var cached))
        {
            RequireHealthy(cached.Devices);
            return cached.Response;
        }

        var devices = Resolve(ids, "Allocate");
        if (_config.FailRequestsGreaterThanOne && _config.Replicas > 1 && devices.Count > 1)
        {
            throw Invalid(string.Create(CultureInfo.InvariantCulture,
                $"{_plan.ResourceName} is shared by time-slicing and this plugin refuses requests for more than one replica; the container asked for {devices.Count} — request 1"));
        }

        RequireHealthy(devices);
        var response = Answer(devices);
        if (_answers.Count < MaxCachedAnswers)
        {
            _answers.TryAdd(ids.ToArray(), new CachedAnswer([.. devices], response));
        }

        return response;
    }

    private void RequireHealthy(IReadOnlyList<PluginDevice> devices)
    {
        foreach (var device in devices)
        {
            var health = _health.Verdict(device.Gpu.Uuid);
            if (!health.Healthy)
            {
                throw new AllocationException(AllocationRefusal.DeviceUnusable,
                    $"device {RequestText.Quote(device.Id)} ({Describe(device)}) is Unhealthy: {health.Reason}; the kubelet's device list was stale, retry the pod");
            }
        }
    }

    private ContainerAllocateResponse Answer(List<PluginDevice> devices)
    {
        var response = new ContainerAllocateResponse();
        var runtimeIds = devices.Select(d => d.RuntimeId).Distinct(StringComparer.Ordinal).ToList();
        switch (_config.DeviceListStrategy)
        {
            case DeviceListStrategy.Envvar:
                response.Envs[VisibleDevicesEnv] = string.Join(',', runtimeIds);
                break;
            case DeviceListStrategy.VolumeMounts:
                response.Envs[VisibleDevicesEnv] = VolumeMountDir;
                foreach (var id in runtimeIds)
                {
                    response.Mounts.Add(new Mount { ContainerPath = $"{VolumeMountDir}/{id}", HostPath = "/dev/null", ReadOnly = true });
                }

                break;
            case DeviceListStrategy.CdiCri:
                foreach (var id in runtimeIds)
                {
                    response.CdiDevices.Add(new CDIDevice { Name = $"{CdiKind}={id}" });
                }

                break;
        }

        foreach (var gpu in devices.Select(d => d.Gpu).DistinctBy(g => g.Uuid))
        {
            response.Devices.Add(new DeviceSpec { ContainerPath = gpu.DeviceNode, HostPath = gpu.DeviceNode, Permissions = "rw" });
        }

        foreach (var path in _controlDevices)
        {
            response.Devices.Add(new DeviceSpec { ContainerPath = path, HostPath = path, Permissions = "rw" });
        }

        return response;
    }

    private List<PluginDevice> Resolve(IReadOnlyList<string> ids, string call)
    {
        if (ids.Count == 0)
        {
            throw Invalid($"{call} for {_plan.ResourceName} names no devices");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var devices = new List<PluginDevice>(Math.Min(ids.Count, _byId.Count));
        foreach (var id in ids)
        {
            if (!seen.Add(id))
            {
                throw Invalid($"{call} names device {RequestText.Quote(id)} twice");
            }

            devices.Add(_byId.GetValueOrDefault(id) ?? throw Unknown(id, null));
        }

        return devices;
    }

    private AllocationException Unknown(string id, string? where)
    {
        var example = _plan.Devices.Count > 0 ? $", e.g. {RequestText.Quote(_plan.Devices[0].Id)}" : string.Empty;
        var place = where is null ? string.Empty : $" in {where}";
        return Invalid(string.Create(CultureInfo.InvariantCulture,
            $"unknown device {RequestText.Quote(id)}{place} for {_plan.ResourceName}: this plugin advertises {_plan.Devices.Count} devices{example}; check the pod asks for the resource this plugin serves"));
    }

    private static string Describe(PluginDevice device) => device.Mig is { } mig
        ? string.Create(CultureInfo.InvariantCulture, $"MIG {mig.Profile} on GPU {device.Gpu.Index} {device.Gpu.Uuid}")
        : string.Create(CultureInfo.InvariantCulture, $"GPU {device.Gpu.Index} {device.Gpu.Uuid}");

    private static AllocationException Invalid(string message) => new(AllocationRefusal.InvalidRequest, message);
}
