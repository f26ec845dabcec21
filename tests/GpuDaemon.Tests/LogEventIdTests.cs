using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests;

public sealed class LogEventIdTests
{
    [Fact]
    public void LoggerMessages_AllAssemblies_EventIdsUnique()
    {
        var messages = LoggerMessages.All;

        Assert.True(messages.Count > 30, $"found only {messages.Count} log messages");
        var repeated = messages.GroupBy(m => m.EventId).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}").ToList();
        Assert.True(repeated.Count == 0, "event ids used twice: " + string.Join("; ", repeated));
    }
}
