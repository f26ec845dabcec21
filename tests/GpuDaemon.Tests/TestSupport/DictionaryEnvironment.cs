using GpuDaemon.Cli;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>Environment variables a test sets, instead of the process's own.</summary>
internal sealed class DictionaryEnvironment(IReadOnlyDictionary<string, string> values) : IEnvironment
{
    public string? GetVariable(string name) => values.TryGetValue(name, out var value) ? value : null;
}
