using System.Text;

namespace GpuDaemon.Cli.Settings;

/// <summary>
/// One naming rule for every setting: the flag <c>--log-format</c> is <c>logFormat</c> in a config file
/// and <c>GPUDAEMON_LOG_FORMAT</c> in the environment.
/// </summary>
internal static class SettingNames
{
    /// <summary>The setting's name: the flag without its dashes, e.g. <c>log-format</c>.</summary>
    public static string FromFlag(string flag) => flag.TrimStart('-');

    public static string EnvironmentVariable(string name) =>
        GpuDaemonDefaults.EnvironmentPrefix + name.Replace('-', '_').ToUpperInvariant();

    public static string ConfigKey(string name)
    {
        var builder = new StringBuilder(name.Length);
        var upper = false;
        foreach (var c in name)
        {
            if (c == '-')
            {
                upper = true;
                continue;
            }

            builder.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }

        return builder.ToString();
    }
}
