using GpuDaemon.Cli.Settings;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace GpuDaemon.Cli.Hosting;

/// <summary>Console logs on stderr (stdout is for command output), plain or one JSON object per line.</summary>
internal static class LoggingSetup
{
    public const string FormatSetting = "log-format";
    public const string LevelSetting = "log-level";

    private static readonly string[] Levels = ["trace", "debug", "information", "warning", "error", "critical", "none"];

    public static void Configure(ILoggingBuilder logging, DaemonSettings settings, string defaultLevel)
    {
        var format = settings.GetChoice(FormatSetting, GpuDaemonDefaults.LogFormat, "plain", "json");
        var level = Enum.Parse<LogLevel>(settings.GetChoice(LevelSetting, defaultLevel, Levels), ignoreCase: true);
        logging.ClearProviders();
        logging.SetMinimumLevel(level);
        logging.AddFilter("Microsoft", LogLevel.Warning);

        // The host logs a failed start with its stack trace; the command line already reports it as one line.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        if (format == "json")
        {
            logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.UseUtcTimestamp = true;
            });
        }
    }
}
