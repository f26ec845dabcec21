using System.Globalization;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// A node for <c>gpudaemon validate</c>: the stand-in driver (its own driver root), a fake host tree with the kernel
/// module's version file, a fake /dev with nvidiactl, nvidia-uvm and one node per GPU, and a validation directory.
/// </summary>
public sealed class ValidationNode : IDisposable
{
    private static readonly string[] ControlNodes = ["nvidiactl", "nvidia-uvm"];

    private readonly TempDirectory _dir = new();

    public ValidationNode(string scenario = "", int gpus = 2)
    {
        Driver = new StandInDriver(scenario);
        HostRoot = _dir.File("host");
        DevRoot = _dir.File("devroot");
        ValidationDir = _dir.File("validations");
        LoadModule();
        Directory.CreateDirectory(Path.Combine(DevRoot, "dev"));
        foreach (var name in ControlNodes.Concat(Enumerable.Range(0, gpus).Select(i => string.Create(CultureInfo.InvariantCulture, $"nvidia{i}"))))
        {
            File.WriteAllText(Path.Combine(DevRoot, "dev", name), string.Empty);
        }
    }

    public StandInDriver Driver { get; }

    public string HostRoot { get; }

    public string DevRoot { get; }

    public string ValidationDir { get; }

    public string ModuleVersionFile => Path.Combine(HostRoot, "proc", "driver", "nvidia", "version");

    public string Scratch(string name) => _dir.File(name);

    public string StatusFile(string name) => Path.Combine(ValidationDir, name);

    public bool HasStatusFiles => File.Exists(StatusFile(ValidationDefaults.DriverReadyFile)) || File.Exists(StatusFile(ValidationDefaults.CudaReadyFile));

    public IReadOnlyDictionary<string, string> ReadStatus(string name) =>
        StatusFiles.Parse(File.ReadAllText(StatusFile(name)));

    public void LoadModule()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ModuleVersionFile)!);
        File.WriteAllText(ModuleVersionFile, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.127.05\n");
    }

    public void UnloadModule() => File.Delete(ModuleVersionFile);

    /// <summary>A shell command that "installs" the driver: writes the kernel module's version file.</summary>
    public string InstallCommand(string extra = "") =>
        $"{extra}mkdir -p '{Path.GetDirectoryName(ModuleVersionFile)}' && echo 'NVRM version: 550.127.05' > '{ModuleVersionFile}' && echo installed the driver";

    public NativeValidationSource Source => new(Driver.Root, HostRoot, DevRoot);

    public ValidationOptions Options(ValidationOptions? with = null) => (with ?? new ValidationOptions()) with
    {
        HostRoot = HostRoot,
        DevRoot = DevRoot,
        DriverRoot = Driver.Root,
        ValidationDir = ValidationDir,
        KernelElements = (with ?? new ValidationOptions()).KernelElements,
    };

    /// <summary>Runs the real command line against this node; <paramref name="args"/> are added after the node's roots.</summary>
    public Task<CliResult> ValidateAsync(params string[] args) =>
        CliRunner.RunAsync(["validate", "--driver-root", Driver.Root, "--host-root", HostRoot, "--dev-root", DevRoot, "--validation-dir", ValidationDir, "--log-level", "none", .. args]);

    public void Dispose()
    {
        Driver.Dispose();
        _dir.Dispose();
    }
}
