namespace GpuDaemon.Cli;

/// <summary>Environment variables, behind a seam so tests do not touch the process's own.</summary>
internal interface IEnvironment
{
    string? GetVariable(string name);
}

internal sealed class ProcessEnvironment : IEnvironment
{
    public string? GetVariable(string name) => Environment.GetEnvironmentVariable(name);
}
