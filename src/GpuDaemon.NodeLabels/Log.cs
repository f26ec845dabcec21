using Microsoft.Extensions.Logging;

namespace GpuDaemon.NodeLabels;

/// <summary>Every log line of the node-label writer; event ids 14000-14099 are theirs and stay stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 14001, Level = LogLevel.Information, Message = "Node labels: keeping {Path} current for Node Feature Discovery")]
    public static partial void Enabled(ILogger logger, string path);

    [LoggerMessage(EventId = 14002, Level = LogLevel.Information, Message = "Node labels off (--node-labels-dir is empty)")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(EventId = 14003, Level = LogLevel.Information, Message = "Wrote {Count} node labels to {Path}")]
    public static partial void Written(ILogger logger, string path, int count);

    [LoggerMessage(EventId = 14004, Level = LogLevel.Warning, Message = "Cannot write node labels to {Path}: {Problem}; trying again on the next change or in {Delay}")]
    public static partial void WriteFailed(ILogger logger, string path, string problem, string delay);

    [LoggerMessage(EventId = 14005, Level = LogLevel.Information, Message = "Node labels in {Path} are current again")]
    public static partial void Recovered(ILogger logger, string path);

    [LoggerMessage(EventId = 14006, Level = LogLevel.Warning, Message = "Node labels: {Warning}")]
    public static partial void LabelWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 14007, Level = LogLevel.Information, Message = "Removed {Path}, left by an interrupted write")]
    public static partial void LeftoverRemoved(ILogger logger, string path);
}
