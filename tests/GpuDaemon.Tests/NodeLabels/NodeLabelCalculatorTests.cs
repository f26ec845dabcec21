using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.NodeLabels;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.NodeLabels;

public sealed class NodeLabelCalculatorTests
{
    private static readonly PluginOptions Plain = new();

    private static NodeLabelSet Calculate(GpuInventory inventory, PluginOptions? plugin = null, bool validated = false) =>
        NodeLabelCalculator.Calculate(inventory, plugin ?? Plain, validated);

    [Fact]
    public void Calculate_PlainH100s_GfdLabels()
    {
        var labels = Calculate(Gpus.Inventory(4));

        Assert.Equal("true", labels.Find("nvidia.com/gpu.present"));
        Assert.Equal("NVIDIA-H100-80GB-HBM3", labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("4", labels.Find("nvidia.com/gpu.count"));
        Assert.Equal("81559", labels.Find("nvidia.com/gpu.memory"));
        Assert.Equal("hopper", labels.Find("nvidia.com/gpu.family"));
        Assert.Equal("9", labels.Find("nvidia.com/gpu.compute.major"));
        Assert.Equal("0", labels.Find("nvidia.com/gpu.compute.minor"));
        Assert.Equal("1", labels.Find("nvidia.com/gpu.replicas"));
        Assert.Equal("none", labels.Find("nvidia.com/gpu.sharing-strategy"));
        Assert.Equal("550", labels.Find("nvidia.com/cuda.driver-version.major"));
        Assert.Equal("127", labels.Find("nvidia.com/cuda.driver-version.minor"));
        Assert.Equal("05", labels.Find("nvidia.com/cuda.driver-version.revision"));
        Assert.Equal("550.127.05", labels.Find("nvidia.com/cuda.driver-version.full"));
        Assert.Equal("12.4", labels.Find("nvidia.com/cuda.runtime-version.full"));
        Assert.Equal("true", labels.Find("nvidia.com/mig.capable")); // the default scenario's H100s can be partitioned
        Assert.Null(labels.Find("nvidia.com/mig.strategy"));
        Assert.Null(labels.Find("gpudaemon.io/validated"));
        Assert.Empty(labels.Warnings);
    }

    [Fact]
    public void Calculate_Always_SortedByKeyAndEveryKeyKnownAndEveryValueValid()
    {
        var inventory = Gpus.Inventory(2, s => Gpus.EnableMig(s.Gpus[1], "1g.10gb", "2g.20gb"));
        foreach (var plugin in new[] { Plain, new PluginOptions { Replicas = 4 }, new PluginOptions { MigStrategy = MigStrategy.Mixed, Replicas = 2 } })
        {
            var labels = Calculate(inventory, plugin, validated: true);

            Assert.Equal(labels.Labels.Select(l => l.Key).Order(StringComparer.Ordinal), labels.Labels.Select(l => l.Key));
            Assert.All(labels.Labels, l => Assert.True(NodeLabelKeys.IsKnown(l.Key), l.Key));
            Assert.All(labels.Labels, l => Assert.True(LabelValue.IsValid(l.Value), l.ToString()));
        }
    }

    [Fact]
    public void Calculate_NoMigCapableGpu_MigCapableFalse()
    {
        var labels = Calculate(Gpus.Inventory(1, s => s.Gpus[0].Mig = null));

        Assert.Equal("false", labels.Find("nvidia.com/mig.capable"));
    }

    [Fact]
    public void Calculate_NoGpus_OnlyValidation()
    {
        Assert.Empty(Calculate(GpuInventory.Empty).Labels);
        Assert.Equal([new NodeLabel("gpudaemon.io/validated", "true")], Calculate(GpuInventory.Empty, validated: true).Labels);
    }

    [Theory]
    [InlineData(false, "NVIDIA-H100-80GB-HBM3-SHARED")]
    [InlineData(true, "NVIDIA-H100-80GB-HBM3")]
    public void Calculate_TimeSliced_SharedSuffixOnlyWithoutRename(bool rename, string product)
    {
        var labels = Calculate(Gpus.Inventory(2), new PluginOptions { Replicas = 4, RenameShared = rename });

        Assert.Equal(product, labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("4", labels.Find("nvidia.com/gpu.replicas"));
        Assert.Equal("2", labels.Find("nvidia.com/gpu.count"));
        Assert.Equal("time-slicing", labels.Find("nvidia.com/gpu.sharing-strategy"));
    }

    [Fact]
    public void Calculate_MigSingle_ProductCountAndMemoryOfTheMigDevices()
    {
        var inventory = Gpus.Inventory(2, s =>
        {
            foreach (var gpu in s.Gpus)
            {
                gpu.Model = "NVIDIA A100-SXM4-40GB";
                Gpus.EnableMig(gpu, "1g.5gb", "1g.5gb", "1g.5gb");
            }
        });

        var labels = Calculate(inventory, new PluginOptions { MigStrategy = MigStrategy.Single });

        Assert.Equal("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("6", labels.Find("nvidia.com/gpu.count"));
        Assert.Equal("9856", labels.Find("nvidia.com/gpu.memory"));
        Assert.Equal("1", labels.Find("nvidia.com/gpu.replicas"));
        Assert.Equal("single", labels.Find("nvidia.com/mig.strategy"));
        Assert.Equal("true", labels.Find("nvidia.com/mig.capable"));
        Assert.Equal("ampere", labels.Find("nvidia.com/gpu.family"));
    }

    [Fact]
    public void Calculate_MigSingleSharedNotRenamed_MigProductShared()
    {
        var inventory = Gpus.Inventory(1, s => Gpus.EnableMig(s.Gpus[0], "1g.10gb"));

        var labels = Calculate(inventory, new PluginOptions { MigStrategy = MigStrategy.Single, Replicas = 2 });

        Assert.Equal("NVIDIA-H100-80GB-HBM3-MIG-1g.10gb-SHARED", labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("2", labels.Find("nvidia.com/gpu.replicas"));
    }

    [Fact]
    public void Calculate_MigSingleWithTwoProfiles_InvalidAsGfdSaysIt()
    {
        var inventory = Gpus.Inventory(1, s => Gpus.EnableMig(s.Gpus[0], "1g.10gb", "2g.20gb"));

        var labels = Calculate(inventory, new PluginOptions { MigStrategy = MigStrategy.Single });

        Assert.Equal("NVIDIA-H100-80GB-HBM3-MIG-INVALID", labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("0", labels.Find("nvidia.com/gpu.count"));
        Assert.Contains(labels.Warnings, w => w.Contains("more than one MIG profile", StringComparison.Ordinal));
    }

    [Fact]
    public void Calculate_MigMixed_WholeGpuLabelsPlusOneSetPerProfile()
    {
        var inventory = Gpus.Inventory(2, s => Gpus.EnableMig(s.Gpus[1], "1g.10gb", "1g.10gb", "3g.40gb"));

        var labels = Calculate(inventory, new PluginOptions { MigStrategy = MigStrategy.Mixed });

        Assert.Equal("NVIDIA-H100-80GB-HBM3", labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("2", labels.Find("nvidia.com/gpu.count"));
        Assert.Equal("mixed", labels.Find("nvidia.com/mig.strategy"));
        Assert.Equal("NVIDIA-H100-80GB-HBM3-MIG-1g.10gb", labels.Find("nvidia.com/mig-1g.10gb.product"));
        Assert.Equal("2", labels.Find("nvidia.com/mig-1g.10gb.count"));
        Assert.Equal("9856", labels.Find("nvidia.com/mig-1g.10gb.memory"));
        Assert.Equal("1", labels.Find("nvidia.com/mig-3g.40gb.count"));
        Assert.Equal("1", labels.Find("nvidia.com/mig-3g.40gb.replicas"));
    }

    [Fact]
    public void Calculate_EveryGpuInMigMode_WholeGpuLabelsWithoutSharing()
    {
        var inventory = Gpus.Inventory(1, s => Gpus.EnableMig(s.Gpus[0], "1g.10gb"));

        var labels = Calculate(inventory, new PluginOptions { MigStrategy = MigStrategy.Mixed, Replicas = 3 });

        Assert.Equal("NVIDIA-H100-80GB-HBM3", labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("0", labels.Find("nvidia.com/gpu.replicas"));
        Assert.Equal("NVIDIA-H100-80GB-HBM3-MIG-1g.10gb-SHARED", labels.Find("nvidia.com/mig-1g.10gb.product"));
    }

    [Fact]
    public void Calculate_MixedModels_LabelsTheMostCommonAndWarns()
    {
        var inventory = Gpus.Inventory(3, s =>
        {
            s.Gpus[0].Model = "NVIDIA L4";
            s.Gpus[0].MemoryMiB = 23034;
        });

        var labels = Calculate(inventory);

        Assert.Equal("NVIDIA-H100-80GB-HBM3", labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("2", labels.Find("nvidia.com/gpu.count"));
        Assert.Equal("81559", labels.Find("nvidia.com/gpu.memory"));
        Assert.Contains(labels.Warnings, w => w.Contains("2 models", StringComparison.Ordinal));
    }

    [Fact]
    public void Calculate_MixedModelsTied_LabelsTheFirstByIndex()
    {
        var inventory = Gpus.Inventory(2, s => s.Gpus[0].Model = "NVIDIA L40S");

        var labels = Calculate(inventory);

        Assert.Equal("NVIDIA-L40S", labels.Find("nvidia.com/gpu.product"));
        Assert.Equal("ada-lovelace", labels.Find("nvidia.com/gpu.family"));
        Assert.Equal("1", labels.Find("nvidia.com/gpu.count"));
    }

    [Theory]
    [InlineData("550.127.05", "550", "127", "05", "550.127.05")]
    [InlineData("535.54", "535", "54", "", "535.54")]
    [InlineData(" 560.35.03 ", "560", "35", "03", "560.35.03")]
    public void Calculate_DriverVersion_SplitAsGfdDoes(string version, string major, string minor, string revision, string full)
    {
        var labels = Calculate(Gpus.Inventory(1, s => s.Driver.Version = version));

        Assert.Equal(major, labels.Find("nvidia.com/cuda.driver-version.major"));
        Assert.Equal(minor, labels.Find("nvidia.com/cuda.driver-version.minor"));
        Assert.Equal(revision, labels.Find("nvidia.com/cuda.driver-version.revision"));
        Assert.Equal(full, labels.Find("nvidia.com/cuda.driver-version.full"));
        Assert.Equal(major, labels.Find("nvidia.com/cuda.driver.major"));
        Assert.Equal(minor, labels.Find("nvidia.com/cuda.driver.minor"));
        Assert.Equal(revision, labels.Find("nvidia.com/cuda.driver.rev"));
    }

    [Fact]
    public void Calculate_CudaVersion_AlsoUnderGfdsLegacyRuntimeKeys()
    {
        var labels = Calculate(Gpus.Inventory(1, s => s.Driver.CudaVersion = "12.4"));

        Assert.Equal("12", labels.Find("nvidia.com/cuda.runtime.major"));
        Assert.Equal("4", labels.Find("nvidia.com/cuda.runtime.minor"));
        Assert.Equal("12", labels.Find("nvidia.com/cuda.runtime-version.major"));
    }

    [Theory]
    [InlineData("550")]
    [InlineData("550.127.05.1")]
    [InlineData("550..05")]
    [InlineData("550.127.05-beta+x")]
    [InlineData("r550 (open)")]
    public void Calculate_OddDriverVersion_LeavesDriverLabelsOutAndWarns(string version)
    {
        var labels = Calculate(Gpus.Inventory(1, s => s.Driver.Version = version));

        Assert.DoesNotContain(labels.Labels, l => l.Key.StartsWith("nvidia.com/cuda.driver-version.", StringComparison.Ordinal));
        Assert.DoesNotContain(labels.Labels, l => l.Key.StartsWith("nvidia.com/cuda.driver.", StringComparison.Ordinal));
        Assert.Contains(labels.Warnings, w => w.Contains("driver version", StringComparison.Ordinal));
        Assert.Equal("NVIDIA-H100-80GB-HBM3", labels.Find("nvidia.com/gpu.product"));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Calculate_Validation_LabelOnlyOncePassed(bool validated, bool present)
    {
        var labels = Calculate(Gpus.Inventory(1), validated: validated);

        Assert.Equal(present ? "true" : null, labels.Find("gpudaemon.io/validated"));
    }

    [Fact]
    public void Calculate_UnknownComputeCapability_NoArchitectureLabels()
    {
        var labels = Calculate(Gpus.Inventory(1, s => s.Gpus[0].Model = "Mystery GPU"));

        Assert.Null(labels.Find("nvidia.com/gpu.family"));
        Assert.Null(labels.Find("nvidia.com/gpu.compute.major"));
        Assert.Equal("Mystery-GPU", labels.Find("nvidia.com/gpu.product"));
    }

    [Fact]
    public void Calculate_ModelWithOddCharactersAndTooLong_SanitisedToAValidValue()
    {
        var model = "NVIDIA (custom) GPU/with+odd*chars " + new string('x', 80);
        var labels = Calculate(Gpus.Inventory(1, s => s.Gpus[0].Model = model), new PluginOptions { Replicas = 2 });

        var product = labels.Find("nvidia.com/gpu.product")!;
        Assert.True(LabelValue.IsValid(product), product);
        Assert.StartsWith("NVIDIA--custom--GPU-with-odd-chars-", product, StringComparison.Ordinal);
        Assert.EndsWith("-SHARED", product, StringComparison.Ordinal);
    }

    [Fact]
    public void Calculate_ManyMigProfiles_BoundedLabelCount()
    {
        var profiles = Enumerable.Range(1, 40).Select(i => $"{i}g.{i}gb").ToArray();
        var inventory = Gpus.Inventory(1, s => Gpus.EnableMig(s.Gpus[0], profiles));

        var labels = Calculate(inventory, new PluginOptions { MigStrategy = MigStrategy.Mixed });

        Assert.Equal(NodeLabelsOptions.MaxLabels, labels.Labels.Count);
        Assert.Contains(labels.Warnings, w => w.Contains("exceed", StringComparison.Ordinal));
    }

    [Fact]
    public void Calculate_ManyMigProfiles_DropsPerProfileKeysBeforeNodeWideOnes()
    {
        var profiles = Enumerable.Range(1, 40).Select(i => $"{i}g.{i}gb").ToArray();
        var inventory = Gpus.Inventory(1, s => Gpus.EnableMig(s.Gpus[0], profiles));

        var labels = Calculate(inventory, new PluginOptions { MigStrategy = MigStrategy.Mixed });

        Assert.Equal("true", labels.Find(NodeLabelKeys.MigCapable));
        Assert.Equal("mixed", labels.Find(NodeLabelKeys.MigStrategy));
        Assert.Equal("true", labels.Find(NodeLabelKeys.GpuPresent));
        var keys = labels.Labels.Select(l => l.Key).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
        Assert.Contains(keys, k => k.StartsWith(NodeLabelKeys.MigProfilePrefix, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(7, 0, "volta")]
    [InlineData(7, 5, "turing")]
    [InlineData(8, 0, "ampere")]
    [InlineData(8, 6, "ampere")]
    [InlineData(8, 9, "ada-lovelace")]
    [InlineData(9, 0, "hopper")]
    [InlineData(10, 0, "blackwell")]
    [InlineData(12, 0, "blackwell")]
    [InlineData(6, 1, "pascal")]
    [InlineData(4, 0, "undefined")]
    public void Of_ComputeCapability_GfdFamily(int major, int minor, string family) =>
        Assert.Equal(family, GpuFamily.Of(new ComputeCapability(major, minor)));

    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3", "9.0")]
    [InlineData("NVIDIA H200", "9.0")]
    [InlineData("NVIDIA A100-SXM4-40GB", "8.0")]
    [InlineData("NVIDIA A10G", "8.6")]
    [InlineData("NVIDIA L4", "8.9")]
    [InlineData("Tesla T4", "7.5")]
    [InlineData("Tesla V100-SXM2-16GB", "7.0")]
    [InlineData("NVIDIA B200", "10.0")]
    [InlineData("NVIDIA GeForce RTX 5090", "12.0")]
    [InlineData("Mystery GPU", null)]
    public void ForModel_KnownModels_TheirComputeCapability(string model, string? expected) =>
        Assert.Equal(expected, SimulatedComputeCapability.ForModel(model)?.ToString());

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("-a b-", "a-b")]
    [InlineData("...", "")]
    [InlineData("a/b:c", "a-b-c")]
    public void Sanitize_Text_ValidLabelValue(string text, string expected)
    {
        Assert.Equal(expected, LabelValue.Sanitize(text));
        Assert.True(LabelValue.IsValid(LabelValue.Sanitize(text)));
    }
}
