using System.CommandLine;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;

namespace GpuDaemon.Cli.Hosting;

/// <summary>The device plugin's settings: their flags, and how they become a <see cref="PluginConfig"/>.</summary>
public static class PluginSettings
{
    public const string DevicePluginDir = "device-plugin-dir";
    public const string ResourceNameSetting = "resource-name";
    public const string DeviceIdStrategySetting = "device-id-strategy";
    public const string DeviceListStrategySetting = "device-list-strategy";
    public const string DevRoot = "dev-root";
    public const string HealthChecks = "health-checks";
    public const string IgnoredXids = "ignored-xids";
    public const string RecoveryPeriod = "recovery-period";
    public const string ProbeInterval = "probe-interval";
    public const string PreStartRequired = "pre-start-required";
    public const string Replicas = "replicas";
    public const string RenameShared = "rename-shared";
    public const string FailRequestsGreaterThanOne = "fail-requests-greater-than-one";
    public const string ReplicaPolicySetting = "replica-policy";
    public const string MigStrategySetting = "mig-strategy";

    private static readonly PluginConfig Defaults = new();

    public static List<Option> Options() =>
    [
        new Option<string>("--" + DevicePluginDir) { Description = $"Kubelet device-plugin directory [default: {Defaults.DevicePluginDir}]", HelpName = "DIR" },
        new Option<string>("--" + ResourceNameSetting) { Description = $"Extended resource to advertise [default: {Defaults.ResourceName}]", HelpName = "NAME" },
        new Option<string>("--" + DeviceIdStrategySetting) { Description = "What containers are told: uuid or index [default: uuid]", HelpName = "uuid|index" },
        new Option<string>("--" + DeviceListStrategySetting) { Description = "How devices reach the container runtime: envvar, volume-mounts or cdi-cri [default: envvar]", HelpName = "STRATEGY" },
        new Option<string>("--" + DevRoot) { Description = $"The host's root as seen here; control devices are looked for under its dev/ [default: {Defaults.DevRoot}]", HelpName = "DIR" },
        new Option<bool>("--" + HealthChecks) { Description = "Watch GPU health and advertise faulted GPUs as Unhealthy [default: true]" },
        new Option<string>("--" + IgnoredXids) { Description = $"Xid codes that do not make a GPU unhealthy [default: {string.Join(',', PluginConfig.DefaultIgnoredXids)}]", HelpName = "LIST" },
        new Option<string>("--" + RecoveryPeriod) { Description = $"How long a faulted GPU's checks must stay clean before it is Healthy again [default: {Defaults.RecoveryPeriod.TotalSeconds}s]", HelpName = "DURATION" },
        new Option<string>("--" + ProbeInterval) { Description = $"How often each GPU's health is checked [default: {Defaults.ProbeInterval.TotalSeconds}s]", HelpName = "DURATION" },
        new Option<bool>("--" + PreStartRequired) { Description = "Ask the kubelet to call PreStartContainer, which re-checks health before each container start [default: false]" },
        new Option<int>("--" + Replicas) { Description = "Time-slicing: advertise each GPU this many times [default: 1, no sharing]", HelpName = "N" },
        new Option<bool>("--" + RenameShared) { Description = "With replicas > 1, advertise <resource>.shared [default: false]" },
        new Option<bool>("--" + FailRequestsGreaterThanOne) { Description = "With replicas > 1, refuse containers asking for more than one replica [default: false]" },
        new Option<string>("--" + ReplicaPolicySetting) { Description = "Preferred placement of replicas: spread or pack [default: spread]", HelpName = "spread|pack" },
        new Option<string>("--" + MigStrategySetting) { Description = "MIG: none, single or mixed [default: none]", HelpName = "none|single|mixed" },
    ];

    public static PluginConfig From(DaemonSettings settings)
    {
        var config = new PluginConfig
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
            HealthChecks = settings.GetBool(HealthChecks, Defaults.HealthChecks),
            IgnoredXids = settings.GetIntList(IgnoredXids) ?? PluginConfig.DefaultIgnoredXids,
            RecoveryPeriod = settings.GetDuration(RecoveryPeriod, Defaults.RecoveryPeriod),
            ProbeInterval = settings.GetDuration(ProbeInterval, Defaults.ProbeInterval),
            PreStartRequired = settings.GetBool(PreStartRequired, Defaults.PreStartRequired),
            Replicas = settings.GetInt(Replicas, 1, 64) ?? 1,
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

        if (ResourceName.Validate(config.ResourceName) is { } problem)
        {
            var origin = settings.Find(ResourceNameSetting)?.Origin ?? "--" + ResourceNameSetting;
            throw new UsageException($"{origin}: {problem}; the kubelet would refuse it");
        }

        try
        {
            config.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }

        return config;
    }
}
