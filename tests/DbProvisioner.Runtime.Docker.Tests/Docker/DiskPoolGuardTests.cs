using System.Diagnostics;
using DbProvisioner.Runtime;
using DbProvisioner.Testing;

namespace DbProvisioner.Runtime.Docker.Tests.Docker;

/// <summary>
/// The driver formats only the disk pool's loop devices: a loop device over a file outside the pool (another program's
/// disk) is refused before any helper writes to it. Each test attaches its own loop device over a temp file.
/// </summary>
[Category("Engine")]
public sealed class DiskPoolGuardTests
{
    // mkfs.xfs wants at least 300 MiB; sparse, so it costs nothing until written.
    private const long FileBytes = 512L * 1024 * 1024;
    private string _folder = null!;
    private string _file = null!;
    private string? _device;

    [SetUp]
    public async Task AttachLoopDeviceOutsideThePoolAsync()
    {
        _folder = Directory.CreateTempSubdirectory("dbprov-outside-pool-").FullName;
        _file = Path.Combine(_folder, "someone-elses.img");
        await using (var stream = File.Create(_file)) stream.SetLength(FileBytes);
        var (exit, stdout, stderr) = await RunAsync("losetup", "-f", "--show", _file);
        Assert.That(exit, Is.Zero, $"losetup -f --show {_file}: {stderr}");
        _device = stdout.Trim();
        Assert.That(TestDisks.Attached(), Does.Contain((_device, _file)), "the kernel names the backing file as the test does");
    }

    [TearDown]
    public async Task DetachAsync()
    {
        if (_device is not null) await RunAsync("losetup", "-d", _device);
        Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public async Task A_loop_device_over_a_file_outside_the_pool_is_refused_and_left_untouched()
    {
        using var factory = new DockerHostRuntimeFactory();
        var runtime = factory.For(Engine.Host);

        var e = Assert.ThrowsAsync<DiskException>(() => runtime.FormatDiskAsync(_device!, seed: true, Engine.Timeout()));

        Assert.That(e!.Kind, Is.EqualTo(HostRuntimeErrorKind.DiskNotInPool));
        Assert.That(e.Message, Is.EqualTo(
            $"{_device} on host local may not be formatted: it is a loop device over {_file}, outside the disk pool /var/lib/dbprov/disks"));
        Assert.That(await FirstNonZeroByteAsync(_file), Is.EqualTo(-1), "nothing wrote to the file (no mkfs, no seed)");
        Assert.That(await Engine.HelperLeftoversForAsync(_device!), Is.Empty);
    }

    [Test]
    public async Task Allowing_whole_disks_does_not_allow_a_loop_device_outside_the_pool()
    {
        using var factory = new DockerHostRuntimeFactory(new DockerRuntimeOptions { AllowWholeDisks = true });
        var runtime = factory.For(Engine.Host);

        var e = Assert.ThrowsAsync<DiskException>(() => runtime.FormatDiskAsync(_device!, seed: false, Engine.Timeout()));

        Assert.That(e!.Kind, Is.EqualTo(HostRuntimeErrorKind.DiskNotInPool));
        Assert.That(await FirstNonZeroByteAsync(_file), Is.EqualTo(-1));
    }

    [Test]
    public async Task The_same_device_is_formatted_where_its_folder_is_the_configured_pool()
    {
        // Proves the refusal above is the guard's doing: this very device formats once its folder is the pool.
        using var factory = new DockerHostRuntimeFactory(new DockerRuntimeOptions { DiskPoolFolder = _folder });
        var runtime = factory.For(Engine.Host);

        await runtime.FormatDiskAsync(_device!, seed: false, Engine.Timeout());

        Assert.That(await runtime.CheckDiskAsync(_device!, Engine.Timeout()), Is.EqualTo(new DiskCheck(_device!, "xfs", IsSeeded: false)));
        Assert.That(await FirstNonZeroByteAsync(_file), Is.Not.EqualTo(-1));
    }

    [Test]
    public async Task The_format_guard_refuses_a_loop_device_re_pointed_after_its_probe()
    {
        // The scripts the helpers run, run here: the host's sysfs is what a helper reads.
        var probe = await RunAsync("/bin/sh", "-c", SysfsDeviceProbe.ProbeScript(_device!));
        var (number, facts) = SysfsDeviceProbe.Parse(_device!, probe.Stdout);
        var unchanged = await GuardAsync(number, facts);
        var other = Path.Combine(_folder, "other.img");
        await using (var stream = File.Create(other)) stream.SetLength(FileBytes);
        Assert.That((await RunAsync("losetup", "-d", _device!)).Exit, Is.Zero);
        Assert.That((await RunAsync("losetup", _device!, other)).Exit, Is.Zero, "re-attach the same loop device to another file");

        var repointed = await GuardAsync(number, facts);

        Assert.That(facts.BackingFile, Is.EqualTo(_file));
        Assert.That(unchanged, Is.Zero, "the device the probe saw passes");
        Assert.That(repointed, Is.EqualTo(SysfsDeviceProbe.ChangedExit), "the same device over another file does not");
    }

    private static async Task<int> GuardAsync(string number, Domain.Disks.BlockDeviceFacts facts)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"{SysfsDeviceProbe.GuardScript(facts.Device)}; exit 0");
        foreach (var variable in SysfsDeviceProbe.GuardEnvironment(number, facts))
            psi.Environment[variable[..variable.IndexOf('=', StringComparison.Ordinal)]] = variable[(variable.IndexOf('=', StringComparison.Ordinal) + 1)..];
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("sh did not start");
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    /// <summary>The offset of the first byte that is not zero, or -1.</summary>
    private static async Task<long> FirstNonZeroByteAsync(string path)
    {
        var buffer = new byte[1 << 20];
        await using var stream = File.OpenRead(path);
        long offset = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            var i = buffer.AsSpan(0, read).IndexOfAnyExcept((byte)0);
            if (i >= 0) return offset + i;
            offset += read;
        }

        return -1;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }
}
