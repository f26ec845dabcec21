namespace GpuDaemon.Cli;

/// <summary>Environment variables, behind a seam so tests do not touch the process's own.</summary>
public interface IEnvironment
{
    string? GetVariable(string name);
}

public sealed class ProcessEnvironment : IEnvironment
{
    public string? GetVariable(string name) => Environment.GetEnvironmentVariable(name);
}

public sealed class DictionaryEnvironment(IReadOnlyDictionary<string, string> values) : IEnvironment
{
    public string? GetVariable(string name) => values.TryGetValue(name, out var value) ? value : null;
}
