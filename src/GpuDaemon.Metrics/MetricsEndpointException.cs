namespace GpuDaemon.Metrics;

/// <summary>The metrics endpoint cannot be served (its port is taken, say); the message is one line for the user.</summary>
public sealed class MetricsEndpointException(string message, Exception innerException) : Exception(message, innerException);
