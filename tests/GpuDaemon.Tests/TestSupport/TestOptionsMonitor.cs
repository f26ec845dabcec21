using Microsoft.Extensions.Options;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>An options monitor a test sets by hand, as a reload would.</summary>
public sealed class TestOptionsMonitor<TOptions>(TOptions initial) : IOptionsMonitor<TOptions>
{
    private readonly List<Action<TOptions, string?>> _listeners = [];

    public TOptions CurrentValue { get; private set; } = initial;

    public TOptions Get(string? name) => CurrentValue;

    public void Set(TOptions value)
    {
        CurrentValue = value;
        foreach (var listener in _listeners.ToList())
        {
            listener(value, null);
        }
    }

    public IDisposable OnChange(Action<TOptions, string?> listener)
    {
        _listeners.Add(listener);
        return new Unsubscriber(() => _listeners.Remove(listener));
    }

    private sealed class Unsubscriber(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
