using System.Diagnostics;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests.Validation;

/// <summary>The status files: shell-sourceable KEY=value lines, read back by serve under a size cap.</summary>
public sealed class StatusFilesTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task WriteReady_ValuesWithSpaceAndQuote_SourcedByShellAsWritten()
    {
        using var dir = new TempDirectory();
        const string root = "/opt/the driver's root";
        var report = new ValidationReport(
            [new CheckReport(CheckNames.Cuda, ValidationStage.Cuda, CheckResult.Warn, TimeSpan.Zero, "busy"), new CheckReport(DegradationChecks.PcieLink, ValidationStage.Degradation, CheckResult.Warn, TimeSpan.Zero, "x8")],
            new ValidatedFacts("nvml", "550.127.05", "12.4", root, 8));

        StatusFiles.WriteReady(dir.Path, report, At);

        foreach (var name in StatusFiles.Names)
        {
            var lines = await SourceAsync(Path.Combine(dir.Path, name), StatusFiles.DriverVersionKey, StatusFiles.DriverRootKey, StatusFiles.GpuCountKey, StatusFiles.ValidatedAtKey);
            Assert.Equal(["550.127.05", root, "8", "2026-03-01T12:00:00Z"], lines);
        }

        var cuda = await SourceAsync(Path.Combine(dir.Path, ValidationDefaults.CudaReadyFile), StatusFiles.CudaVersionKey, StatusFiles.WarningsKey);
        Assert.Equal(["12.4", "cuda,pcie-link"], cuda);
        Assert.Equal(root, StatusFiles.Read(dir.Path, ValidationDefaults.DriverReadyFile)![StatusFiles.DriverRootKey]);
    }

    [Fact]
    public void Read_FileOverTheCap_TreatedAsAbsent()
    {
        using var dir = new TempDirectory();
        var line = "DRIVER_VERSION=550.127.05\n";
        File.WriteAllText(Path.Combine(dir.Path, ValidationDefaults.DriverReadyFile), line + new string('#', ValidationDefaults.MaxStatusFileBytes - line.Length));
        File.WriteAllText(Path.Combine(dir.Path, ValidationDefaults.CudaReadyFile), line + new string('#', ValidationDefaults.MaxStatusFileBytes - line.Length + 1));

        Assert.Equal("550.127.05", StatusFiles.Read(dir.Path, ValidationDefaults.DriverReadyFile)![StatusFiles.DriverVersionKey]);
        Assert.Null(StatusFiles.Read(dir.Path, ValidationDefaults.CudaReadyFile));
        Assert.Equal(64 * 1024, ValidationDefaults.MaxStatusFileBytes);
    }

    /// <summary>Sources the file with /bin/sh and prints each variable on its own line.</summary>
    private static async Task<string[]> SourceAsync(string file, params string[] keys)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($". \"$1\" && printf '%s\\n' {string.Join(' ', keys.Select(k => $"\"${k}\""))}");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(file);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, error);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
