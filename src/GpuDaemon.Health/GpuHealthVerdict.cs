namespace GpuDaemon.Health;

/// <summary>One GPU's health: whether it may be used, why, and since when.</summary>
public sealed record GpuHealthVerdict(bool Healthy, string Reason, DateTimeOffset Since);
