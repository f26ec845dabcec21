using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>A logger factory whose every logger records into one <see cref="RecordingLogger"/>.</summary>
public sealed class RecordingLoggerFactory : ILoggerFactory
{
    public RecordingLogger Logger { get; } = new();

    public ILogger CreateLogger(string categoryName) => Logger;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
