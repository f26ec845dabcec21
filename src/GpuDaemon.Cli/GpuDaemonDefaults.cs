namespace GpuDaemon.Cli;

/// <summary>Every default a user or a manifest may depend on, defined once.</summary>
internal static class GpuDaemonDefaults
{
    public const string ExecutableName = "gpudaemon";

    /// <summary>Environment variables that set options are this prefix plus the flag in upper snake case.</summary>
    public const string EnvironmentPrefix = "GPUDAEMON_";

    public const string DriverRoot = GpuDaemon.Devices.HostRoots.Default;

    public const string LogFormat = "plain";
}
