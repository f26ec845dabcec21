using System.ComponentModel;
using System.Diagnostics;

namespace GpuDaemon.Tests.Nvidia.StandIns;

/// <summary>
/// Compiles the stand-in libnvidia-ml.so.1 and libcuda.so.1 from their C sources once per test run,
/// with the machine's cc. Tests copy them into a driver root of their own (<see cref="StandInDriver"/>).
/// </summary>
public static class StandInBuild
{
    public const string NvmlFileName = "libnvidia-ml.so.1";
    public const string CudaFileName = "libcuda.so.1";

    private static readonly Lazy<string> Folder = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string NvmlLibrary => Path.Combine(Folder.Value, NvmlFileName);

    public static string CudaLibrary => Path.Combine(Folder.Value, CudaFileName);

    private static string Build()
    {
        var sources = Path.Combine(AppContext.BaseDirectory, "Nvidia", "StandIns");
        var output = Path.Combine(Path.GetTempPath(), "gd-standins-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(output);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(output);
        Compile(sources, Path.Combine(output, NvmlFileName), "nvml_standin.c");
        Compile(sources, Path.Combine(output, CudaFileName), "cuda_standin.c");
        return output;
    }

    private static void Compile(string sources, string library, string main)
    {
        var start = new ProcessStartInfo("cc")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = sources,
        };
        foreach (var argument in new[] { "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-fvisibility=hidden", "-o", library, main, "standin_scenario.c", "-lpthread", "-ldl" })
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("cc did not start");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"the NVML and CUDA stand-ins are compiled with 'cc' when the tests run, and cc could not be started ({ex.Message}); install a C compiler (e.g. apt-get install gcc) and run the tests again", ex);
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"cc could not build the stand-in {Path.GetFileName(library)} from {sources}: {errors.Result}");
            }
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
