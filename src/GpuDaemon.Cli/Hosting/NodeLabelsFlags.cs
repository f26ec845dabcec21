using System.CommandLine;
using GpuDaemon.Cli.Settings;
using GpuDaemon.NodeLabels;

namespace GpuDaemon.Cli.Hosting;

/// <summary>serve's node-label settings: their flag, and how it becomes <see cref="NodeLabelsOptions"/>.</summary>
internal static class NodeLabelsFlags
{
    public const string NodeLabelsDir = "node-labels-dir";

    public static List<Option> Options() =>
    [
        new Option<string>("--" + NodeLabelsDir)
        {
            Description = $"Folder for the node-label file ({NodeLabelsOptions.FileName}) that Node Feature Discovery turns into node labels; \"\" turns it off [default: {NodeLabelsOptions.DefaultDirectory}]",
            HelpName = "DIR",
        },
    ];

    public static NodeLabelsOptions Bind(DaemonSettings settings)
    {
        var directory = settings.GetString(NodeLabelsDir, NodeLabelsOptions.DefaultDirectory).Trim();
        if (directory.Length == 0)
        {
            return new NodeLabelsOptions { Directory = string.Empty };
        }

        try
        {
            return new NodeLabelsOptions { Directory = Path.GetFullPath(directory) };
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new UsageException($"{settings.Find(NodeLabelsDir)!.Origin}: '{GpuDaemon.Devices.Excerpt.Of(directory)}' is not a usable folder path ({ex.Message})");
        }
    }
}
