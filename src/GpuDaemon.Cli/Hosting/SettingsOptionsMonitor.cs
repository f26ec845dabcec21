using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Cli.Hosting;

/// <summary>One subsystem's part of the settings snapshot, as the <see cref="IOptionsMonitor{TOptions}"/> it reads.</summary>
internal sealed class SettingsOptionsMonitor<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(SettingsMonitor settings, Func<ServeSettings, TOptions> select) : IOptionsMonitor<TOptions>
{
    public TOptions CurrentValue => select(settings.Current);

    public TOptions Get(string? name) => CurrentValue;

    public IDisposable OnChange(Action<TOptions, string?> listener) =>
        settings.Subscribe(snapshot => listener(select(snapshot), null));
}
