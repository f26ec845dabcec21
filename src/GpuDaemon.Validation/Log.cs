using Microsoft.Extensions.Logging;

namespace GpuDaemon.Validation;

/// <summary>Every log line of the validator and the validation gate; event ids 11000-11099 are theirs and stay stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 11001, Level = LogLevel.Debug, Message = "Check {Check}: {Result}: {Detail}")]
    public static partial void CheckDone(ILogger logger, string check, CheckResult result, string detail);

    [LoggerMessage(EventId = 11002, Level = LogLevel.Information, Message = "Validation passed: wrote {Files}")]
    public static partial void Passed(ILogger logger, string files);

    [LoggerMessage(EventId = 11003, Level = LogLevel.Error, Message = "Validation failed at {Check}: {Detail}")]
    public static partial void Failed(ILogger logger, string check, string detail);

    [LoggerMessage(EventId = 11004, Level = LogLevel.Warning, Message = "Check {Check} warns: {Detail}")]
    public static partial void Warned(ILogger logger, string check, string detail);

    [LoggerMessage(EventId = 11005, Level = LogLevel.Information, Message = "Still waiting (try {Attempt}): {Check}: {Detail}; trying again in {Delay}")]
    public static partial void Waiting(ILogger logger, int attempt, string check, string detail, string delay);

    [LoggerMessage(EventId = 11006, Level = LogLevel.Warning, Message = "Removed stale status file {Path}")]
    public static partial void StaleRemoved(ILogger logger, string path);

    [LoggerMessage(EventId = 11010, Level = LogLevel.Information, Message = "Driver check failed; running the installer: /bin/sh -c {Command} (timeout {Timeout})")]
    public static partial void InstallStarting(ILogger logger, string command, string timeout);

    [LoggerMessage(EventId = 11011, Level = LogLevel.Information, Message = "installer: {Line}")]
    public static partial void InstallOutput(ILogger logger, string line);

    [LoggerMessage(EventId = 11012, Level = LogLevel.Warning, Message = "installer (stderr): {Line}")]
    public static partial void InstallError(ILogger logger, string line);

    [LoggerMessage(EventId = 11013, Level = LogLevel.Information, Message = "Installer finished: {Result}")]
    public static partial void InstallFinished(ILogger logger, string result);

    [LoggerMessage(EventId = 11014, Level = LogLevel.Information, Message = "Another validator holds the install lock {Path}; waiting up to {Limit} for it")]
    public static partial void LockBusy(ILogger logger, string path, string limit);

    [LoggerMessage(EventId = 11015, Level = LogLevel.Information, Message = "The driver works now (another validator installed it, or it appeared); nothing to install")]
    public static partial void InstallNotNeeded(ILogger logger);

    [LoggerMessage(EventId = 11020, Level = LogLevel.Information, Message = "Validation gate open: {Reason}")]
    public static partial void GateOpened(ILogger logger, string reason);

    [LoggerMessage(EventId = 11021, Level = LogLevel.Warning, Message = "Validation gate closed: {Reason}")]
    public static partial void GateClosed(ILogger logger, string reason);

    [LoggerMessage(EventId = 11022, Level = LogLevel.Warning, Message = "Cannot watch {Directory} ({Problem}); re-reading the status files every {Interval}")]
    public static partial void GateWatchUnavailable(ILogger logger, string directory, string problem, string interval);
}
