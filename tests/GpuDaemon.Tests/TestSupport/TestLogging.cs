using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.TestSupport;

public static class TestLogging
{
    public static ILoggerFactory Factory => NullLoggerFactory.Instance;

    public static ILogger Logger => NullLogger.Instance;
}
