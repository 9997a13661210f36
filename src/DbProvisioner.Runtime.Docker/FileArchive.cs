using System.Formats.Tar;
using System.Security.Cryptography;

namespace DbProvisioner.Runtime.Docker;

/// <summary>
/// A tar of small files owned by one uid, mode 0400, for PUT /containers/{id}/archive: files reach
/// the container through the engine API, which works for remote engines and leaves no copy on any
/// host file system.
/// </summary>
internal sealed class FileArchive : IDisposable
{
    private readonly MemoryStream _stream = new();

    public FileArchive(int uid, IEnumerable<(string Name, byte[] Content)> files)
    {
        using (var writer = new TarWriter(_stream, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                using var data = new MemoryStream(content, writable: false);
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name)
                {
                    Uid = uid,
                    Gid = uid,
                    Mode = UnixFileMode.UserRead,
                    ModificationTime = DateTimeOffset.UtcNow,
                    DataStream = data,
                });
            }
        }
        _stream.Position = 0;
    }

    /// <summary>A fresh read-only view, so that a retried upload starts from the first byte.</summary>
    public Stream Open() => new MemoryStream(_stream.GetBuffer(), 0, (int)_stream.Length, writable: false);

    /// <summary>Wipes the bytes: the archive may hold passwords.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_stream.GetBuffer());
        _stream.Dispose();
    }
}
