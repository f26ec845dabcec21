using System.CommandLine;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;

namespace GpuDaemon.Cli.Hosting;

/// <summary>The device plugin's settings: their flags, and how they become <see cref="PluginOptions"/>.</summary>
internal static class DevicePluginFlags
{
    public const string DevicePluginDir = "device-plugin-dir";
    public const string ResourceNameSetting = "resource-name";
    public const string DeviceIdStrategySetting = "device-id-strategy";
    public const string DeviceListStrategySetting = "device-list-strategy";
    public const string DevRoot = "dev-root";
    public const string PreStartRequired = "pre-start-required";
    public const string Replicas = "replicas";
    public const string RenameShared = "rename-shared";
    public const string FailRequestsGreaterThanOne = "fail-requests-greater-than-one";
    public const string ReplicaPolicySetting = "replica-policy";
    public const string MigStrategySetting = "mig-strategy";

    private static readonly PluginOptions Defaults = new();

    public static List<Option> Options() =>
    [
        new Option<string>("--" + DevicePluginDir) { Description = $"Kubelet device-plugin directory [default: {Defaults.DevicePluginDir}]", HelpName = "DIR" },
        new Option<string>("--" + ResourceNameSetting) { Description = $"Extended resource to advertise [default: {Defaults.ResourceName}]", HelpName = "NAME" },
        new Option<string>("--" + DeviceIdStrategySetting) { Description = "What containers are told: uuid or index [default: uuid]", HelpName = "uuid|index" },
        new Option<string>("--" + DeviceListStrategySetting) { Description = "How devices reach the container runtime: envvar, volume-mounts or cdi-cri [default: envvar]", HelpName = "STRATEGY" },
        new Option<string>("--" + DevRoot) { Description = $"The host's root as seen here; control devices are looked for under its dev/ [default: {Defaults.DevRoot}]", HelpName = "DIR" },
        new Option<bool>("--" + PreStartRequired) { Description = "Ask the kubelet to call PreStartContainer, which re-checks health before each container start [default: false]" },
        new Option<int>("--" + Replicas) { Description = "Time-slicing: advertise each GPU this many times [default: 1, no sharing]", HelpName = "N" },
        new Option<bool>("--" + RenameShared) { Description = "With replicas > 1, advertise <resource>.shared [default: false]" },
        new Option<bool>("--" + FailRequestsGreaterThanOne) { Description = "With replicas > 1, refuse containers asking for more than one replica [default: false]" },
        new Option<string>("--" + ReplicaPolicySetting) { Description = "Preferred placement of replicas: spread or pack [default: spread]", HelpName = "spread|pack" },
        new Option<string>("--" + MigStrategySetting) { Description = "MIG: none, single or mixed [default: none]", HelpName = "none|single|mixed" },
    ];

    public static PluginOptions Bind(DaemonSettings settings)
    {
        var options = new PluginOptions
        {
            DevicePluginDir = Path.GetFullPath(settings.GetString(DevicePluginDir, Defaults.DevicePluginDir)),
            ResourceName = settings.GetString(ResourceNameSetting, Defaults.ResourceName),
            DeviceIdStrategy = settings.GetChoice(DeviceIdStrategySetting, "uuid", "uuid", "index") == "index" ? DeviceIdStrategy.Index : DeviceIdStrategy.Uuid,
            DeviceListStrategy = settings.GetChoice(DeviceListStrategySetting, "envvar", "envvar", "volume-mounts", "cdi-cri") switch
            {
                "volume-mounts" => DeviceListStrategy.VolumeMounts,
                "cdi-cri" => DeviceListStrategy.CdiCri,
                _ => DeviceListStrategy.Envvar,
            },
            DevRoot = Path.GetFullPath(settings.GetString(DevRoot, Defaults.DevRoot)),
            PreStartRequired = settings.GetBool(PreStartRequired, Defaults.PreStartRequired),
            Replicas = settings.GetInt(Replicas, 1, PluginOptions.MaxReplicas) ?? 1,
            RenameShared = settings.GetBool(RenameShared, Defaults.RenameShared),
            FailRequestsGreaterThanOne = settings.GetBool(FailRequestsGreaterThanOne, Defaults.FailRequestsGreaterThanOne),
            ReplicaPolicy = settings.GetChoice(ReplicaPolicySetting, "spread", "spread", "pack") == "pack" ? ReplicaPolicy.Pack : ReplicaPolicy.Spread,
            MigStrategy = settings.GetChoice(MigStrategySetting, "none", "none", "single", "mixed") switch
            {
                "single" => MigStrategy.Single,
                "mixed" => MigStrategy.Mixed,
                _ => MigStrategy.None,
            },
        };

        if (ResourceName.Validate(options.ResourceName) is { } invalidName)
        {
            var origin = settings.Find(ResourceNameSetting)?.Origin ?? "--" + ResourceNameSetting;
            throw new UsageException($"{origin}: {invalidName}; the kubelet would refuse it");
        }

        if (options.Problem() is { } problem)
        {
            throw new UsageException(problem);
        }

        return options;
    }
}
