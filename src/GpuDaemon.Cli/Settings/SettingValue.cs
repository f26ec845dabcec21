namespace GpuDaemon.Cli.Settings;

/// <summary>A raw setting and where it came from, so an error can point at the flag, variable or file.</summary>
internal sealed record SettingValue(string Raw, string Origin);
