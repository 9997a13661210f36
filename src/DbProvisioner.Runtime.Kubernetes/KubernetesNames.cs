using System.Text;
using System.Text.RegularExpressions;

namespace DbProvisioner.Runtime.Kubernetes;

/// <summary>
/// Deterministic object names and label values on a cluster: a retry finds what its first attempt made. Kubernetes names
/// are DNS labels/subdomains and label values allow no '/', so a device path becomes "dev-loop3" in names and labels.
/// </summary>
public static partial class KubernetesNames
{
    public static string Pod(string instanceId) => Checked(ResourceNames.Container(instanceId));
    public static string Claim(string instanceId) => Checked(ResourceNames.DataVolume(instanceId));
    public static string Config(string instanceId) => Checked($"dbprov-cnf-{instanceId}");
    public static string Secret(string instanceId) => Checked($"dbprov-secret-{instanceId}");

    /// <summary>One local PersistentVolume per whole disk of a node.</summary>
    public static string Volume(string node, string device) => Checked($"dbprov-pv-{node}-{DeviceLabel(device)}");

    /// <summary>The format/seed/wipe Job of one disk of a node.</summary>
    public static string DiskJob(string node, string device) => Checked($"dbprov-format-{node}-{DeviceLabel(device)}");

    /// <summary>The appliance's own StorageClass: no provisioner, so only its PVs (made from the disk pool) satisfy its claims.</summary>
    public const string StorageClass = "dbprov-local";

    /// <summary>"/dev/loop3" → "dev-loop3": the device in a name or a label value.</summary>
    public static string DeviceLabel(string device)
    {
        ResourceNames.ValidateDevice(device);
        var builder = new StringBuilder(device.Length);
        foreach (var c in device.TrimStart('/'))
            builder.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-');
        return builder.ToString().Trim('-');
    }

    /// <summary>Whether <paramref name="value"/> may be a label value (63 characters of [A-Za-z0-9-_.], alphanumeric at both ends).</summary>
    public static bool IsLabelValue(string value) => value.Length == 0 || LabelValuePattern().IsMatch(value);

    /// <summary>Whether <paramref name="name"/> may name a Pod, PV, PVC, ConfigMap, Secret or Job (a DNS-1123 label here: 63 characters).</summary>
    public static bool IsObjectName(string name) => DnsLabelPattern().IsMatch(name);

    /// <summary>Whether <paramref name="name"/> may name a node (a DNS-1123 subdomain).</summary>
    public static bool IsSubdomain(string name) => name.Length <= 253 && name.Split('.').All(DnsLabelPattern().IsMatch);

    private static string Checked(string name) =>
        IsObjectName(name) ? name : throw new ArgumentException($"'{name}' cannot name a Kubernetes object (lower-case letters, digits and '-', at most 63 characters)");

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")]
    private static partial Regex LabelValuePattern();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabelPattern();
}
