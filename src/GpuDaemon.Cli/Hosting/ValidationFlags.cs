using System.CommandLine;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Validation;

namespace GpuDaemon.Cli.Hosting;

/// <summary>validate's settings: their flags, and how they become <see cref="ValidationOptions"/>.</summary>
internal static class ValidationFlags
{
    public const string HostRoot = "host-root";
    public const string MinDriverVersion = "min-driver-version";
    public const string MinCudaVersion = "min-cuda-version";
    public const string Strict = "strict";
    public const string StrictChecks = "strict-checks";
    public const string InstallCommand = "install-command";
    public const string InstallTimeout = "install-timeout";
    public const string Wait = "wait";
    public const string Timeout = "timeout";

    /// <summary>The longest --install-timeout and --timeout accepted (1 day).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    private static readonly PluginOptions PluginDefaults = new();

    public static List<Option> Options() =>
    [
        new Option<string>("--" + HostRoot) { Description = $"The host's root as seen here; the kernel module is looked for under its proc/ and sys/ [default: {ValidationDefaults.HostRoot}]", HelpName = "DIR" },
        new Option<string>("--" + DevicePluginFlags.DevRoot) { Description = $"The host's root as seen here; device nodes are looked for under its dev/ [default: {PluginDefaults.DevRoot}]", HelpName = "DIR" },
        new Option<string>("--" + MinDriverVersion) { Description = "Fail when the driver is older, e.g. 550.54.15", HelpName = "VERSION" },
        new Option<string>("--" + MinCudaVersion) { Description = "Fail when the driver supports an older CUDA, e.g. 12.4", HelpName = "VERSION" },
        new Option<bool>("--" + Strict) { Description = "Every degradation check fails instead of warning [default: false]" },
        new Option<string>("--" + StrictChecks) { Description = $"Degradation checks that fail instead of warning, comma-separated: {string.Join(",", DegradationChecks.All)}", HelpName = "CHECKS" },
        new Option<string>("--" + InstallCommand) { Description = "Run through /bin/sh -c when the driver check fails, once, under a lock; then validate again", HelpName = "COMMAND" },
        new Option<string>("--" + InstallTimeout) { Description = $"Kill the installer (and what it started) after this long [default: {Durations.Format(ValidationDefaults.InstallTimeout)}]", HelpName = "DURATION" },
        ValidationGateFlags.ValidationDirOption(),
        new Option<bool>("--" + Wait) { Description = $"Retry until ready (backoff {Durations.Format(ValidationDefaults.FirstRetryDelay)} doubling to {Durations.Format(ValidationDefaults.MaxRetryDelay)}), saying why it still waits [default: false]" },
        new Option<string>("--" + Timeout) { Description = $"With --wait, give up after this long [default: {Durations.Format(ValidationDefaults.WaitTimeout)}]", HelpName = "DURATION" },
    ];

    public static ValidationOptions Bind(DaemonSettings settings, string driverRoot) => new()
    {
        HostRoot = Path.GetFullPath(settings.GetString(HostRoot, ValidationDefaults.HostRoot)),
        DevRoot = Path.GetFullPath(settings.GetString(DevicePluginFlags.DevRoot, PluginDefaults.DevRoot)),
        DriverRoot = driverRoot,
        MinDriverVersion = Version(settings, MinDriverVersion, "550.54.15"),
        MinCudaVersion = Version(settings, MinCudaVersion, "12.4"),
        Strict = settings.GetBool(Strict, false),
        StrictChecks = Checks(settings),
        InstallCommand = settings.GetString(InstallCommand) is { } command && !string.IsNullOrWhiteSpace(command) ? command : null,
        InstallTimeout = settings.GetDuration(InstallTimeout, ValidationDefaults.InstallTimeout, TimeSpan.FromSeconds(1), MaxTimeout),
        ValidationDir = Path.GetFullPath(settings.GetString(ValidationGateFlags.ValidationDir, ValidationDefaults.Directory)),
        Wait = settings.GetBool(Wait, false),
        WaitTimeout = settings.GetDuration(Timeout, ValidationDefaults.WaitTimeout, TimeSpan.Zero, MaxTimeout),
    };

    private static DriverVersion? Version(DaemonSettings settings, string name, string example)
    {
        if (settings.Find(name) is not { } value)
        {
            return null;
        }

        return DriverVersion.TryParse(value.Raw, out var version)
            ? version
            : throw new UsageException($"{value.Origin}: '{Excerpt.Of(value.Raw)}' is not a version such as {example}");
    }

    private static HashSet<string> Checks(DaemonSettings settings)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (settings.Find(StrictChecks) is not { } value)
        {
            return set;
        }

        foreach (var name in value.Raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!DegradationChecks.All.Contains(name, StringComparer.Ordinal))
            {
                throw new UsageException($"{value.Origin}: '{Excerpt.Of(name)}' is not a degradation check; give some of {string.Join(",", DegradationChecks.All)}");
            }

            set.Add(name);
        }

        return set;
    }
}
