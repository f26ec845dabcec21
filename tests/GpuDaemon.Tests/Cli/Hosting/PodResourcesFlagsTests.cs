using System.CommandLine;
using GpuDaemon.Cli;
using GpuDaemon.Cli.Commands;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.Tests.Cli.Hosting;

public sealed class PodResourcesFlagsTests
{
    private static DaemonSettings Settings(params (string Name, string Value)[] values) =>
        new(values.ToDictionary(v => v.Name, v => new SettingValue(v.Value, "--" + v.Name)));

    [Fact]
    public void Bind_Nothing_KubeletSocketEveryTenSeconds()
    {
        var options = ServeSettings.Bind(DaemonSettings.Empty).PodResources;

        Assert.Equal(new PodAttributionOptions(), options);
        Assert.Equal("/var/lib/kubelet/pod-resources/kubelet.sock", options.SocketPath);
        Assert.Equal(TimeSpan.FromSeconds(10), options.RefreshPeriod);
        Assert.True(options.Enabled);
    }

    [Fact]
    public void Bind_BothSettings_Mapped()
    {
        var options = ServeSettings.Bind(Settings(("pod-resources-socket", "/run/pr/kubelet.sock"), ("pod-resources-refresh", "30s"))).PodResources;

        Assert.Equal("/run/pr/kubelet.sock", options.SocketPath);
        Assert.Equal(TimeSpan.FromSeconds(30), options.RefreshPeriod);
    }

    [Fact]
    public void Bind_RelativeSocket_MadeAbsolute()
    {
        Assert.Equal(Path.GetFullPath("pr.sock"), PodResourcesFlags.Bind(Settings(("pod-resources-socket", "pr.sock"))).SocketPath);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Bind_EmptySocket_Off(string value)
    {
        var options = PodResourcesFlags.Bind(Settings(("pod-resources-socket", value)));

        Assert.Equal(string.Empty, options.SocketPath);
        Assert.False(options.Enabled);
    }

    [Theory]
    [InlineData("500ms", "--pod-resources-refresh: '500ms' must be between 1s and 5m")]
    [InlineData("6m", "--pod-resources-refresh: '6m' must be between 1s and 5m")]
    [InlineData("often", "--pod-resources-refresh: 'often' is not a duration")]
    public void Bind_BadRefresh_UsageErrorNamingIt(string value, string expected)
    {
        var ex = Assert.Throws<UsageException>(() => ServeSettings.Bind(Settings(("pod-resources-refresh", value))));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_PeriodOutOfRange_OneLineWithBounds()
    {
        Assert.Equal("pod-resources-refresh 100ms is out of range: 1s to 5m", new PodAttributionOptions { RefreshPeriod = TimeSpan.FromMilliseconds(100) }.Problem());
        Assert.Null(new PodAttributionOptions().Problem());
    }

    [Fact]
    public void Load_ConfigKeysEnvironmentAndFlag_EachBindsAndFlagWins()
    {
        using var dir = new TempDirectory();
        var config = dir.File("gpudaemon.yaml");
        File.WriteAllText(config, "podResourcesSocket: /from/file.sock\npodResourcesRefresh: 20s\n");
        var command = new Command("serve");
        var spec = new CommandSettings(command, PodResourcesFlags.Options());
        var environment = new DictionaryEnvironment(new Dictionary<string, string> { ["GPUDAEMON_POD_RESOURCES_REFRESH"] = "40s" });

        var fromFileAndEnvironment = PodResourcesFlags.Bind(spec.Load(command.Parse(["--config", config]), environment));
        var withFlag = PodResourcesFlags.Bind(spec.Load(command.Parse(["--config", config, "--pod-resources-socket", "/from/flag.sock"]), environment));

        Assert.Equal("/from/file.sock", fromFileAndEnvironment.SocketPath);
        Assert.Equal(TimeSpan.FromSeconds(40), fromFileAndEnvironment.RefreshPeriod);
        Assert.Equal("/from/flag.sock", withFlag.SocketPath);
    }

    [Fact]
    public async Task Serve_Help_ListsBothFlags()
    {
        var result = await CliRunner.RunAsync("serve", "--help");

        Assert.Contains("--pod-resources-socket", result.Output, StringComparison.Ordinal);
        Assert.Contains("--pod-resources-refresh", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void AddServe_PodAttribution_RegisteredAfterTheDevicePluginOverItsView()
    {
        var settings = ServeSettings.Bind(Settings(("simulate", "1")));
        var builder = GpuDaemonHost.CreateBuilder(DaemonSettings.Empty, "warning");
        builder.Services.AddServe(settings);
        using var host = builder.Build();

        var hosted = host.Services.GetServices<IHostedService>().ToList();
        var attribution = host.Services.GetRequiredService<IPodAttribution>();
        var advertised = host.Services.GetRequiredService<IAdvertisedDevices>();

        Assert.IsType<PodAttributionService>(attribution);
        Assert.Contains(hosted, s => ReferenceEquals(s, attribution));
        Assert.True(hosted.FindIndex(s => ReferenceEquals(s, attribution)) > hosted.FindIndex(s => ReferenceEquals(s, advertised)));
    }
}
