using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Nnk;

/// <summary>
/// Reads and writes the safetensors format (as the Hugging Face <c>safetensors</c> library does),
/// so that tensors nnk saves load in PyTorch, NumPy and other tools and theirs load here:
/// an 8-byte little-endian header length n, n bytes of UTF-8 JSON header, then the tensors' raw
/// little-endian bytes back to back. The header maps each tensor name to
/// <c>{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}</c> (offsets relative to the
/// first byte after the header) and may hold a <c>"__metadata__"</c> map of strings.
/// This reader handles the dtypes of <see cref="SafeTensorsDType"/> and reads a whole file into memory.
/// </summary>
public static class SafeTensors
{
    /// <summary>The key of the string map in the header.</summary>
    public const string MetadataKey = "__metadata__";

    // The reference implementation refuses larger headers, so nothing larger is a valid file.
    private const int MaxHeaderLength = 100_000_000;

    /// <summary>
    /// Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically:
    /// into <c>path + ".tmp"</c> in the same directory, flushed to disk, checked for its full length and
    /// only then renamed over <paramref name="path"/>. A crash or an error at any point leaves an existing
    /// file at <paramref name="path"/> as it was, never a torn one (a stale <c>.tmp</c> may remain; the next
    /// write replaces it). As the reference writer does, tensors are laid out by element size, largest
    /// first, then by name (ordinal), and the header is padded with spaces to a multiple of 8 bytes, so
    /// every tensor starts at an offset aligned to its element size.
    /// </summary>
    /// <param name="path">The file to create or replace; its directory must exist.</param>
    /// <param name="tensors">The tensors by name; names must be non-empty and not <see cref="MetadataKey"/>.</param>
    /// <param name="metadata">Strings to store under <see cref="MetadataKey"/>; null or empty for none.</param>
    /// <exception cref="ArgumentNullException">An argument, a tensor or a metadata value is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or a tensor name is empty or <see cref="MetadataKey"/>.</exception>
    /// <exception cref="IOException">The file could not be written; any existing file at <paramref name="path"/> is unchanged.</exception>
    /// <exception cref="PlatformNotSupportedException">This machine is big-endian.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors, metadata, beforeReplace: null);

    /// <summary>
    /// <see cref="Write(string, IReadOnlyDictionary{string, SafeTensor}, IReadOnlyDictionary{string, string}?)"/> with a hook
    /// called with the temporary file's path after it is flushed and closed, before it is checked and
    /// renamed: tests use it to play a process that dies or a disk that loses the end of the file.
    /// </summary>
    internal static void Write(string path, IReadOnlyDictionary<string, SafeTensor> tensors,
        IReadOnlyDictionary<string, string>? metadata, Action<string>? beforeReplace)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        SafeTensorsDTypes.RequireLittleEndian();
        KeyValuePair<string, SafeTensor>[] ordered = Order(tensors);
        byte[] header = Header(ordered, metadata);
        long length = 8L + header.Length + ordered.Sum(t => (long)t.Value.Data.Length);

        string fullPath = Path.GetFullPath(path);
        string temporary = fullPath + ".tmp";
        bool created = false;
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                created = true;
                Span<byte> headerLength = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(headerLength, (ulong)header.Length);
                stream.Write(headerLength);
                stream.Write(header);
                foreach ((_, SafeTensor tensor) in ordered)
                    stream.Write(tensor.Data);
                stream.Flush(flushToDisk: true);
            }
            beforeReplace?.Invoke(temporary);
            long written = new FileInfo(temporary).Length;
            if (written != length)
                throw new IOException(
                    $"Writing {fullPath}: the temporary file {temporary} holds {written} bytes instead of {length}; " +
                    "the existing file was left as it was.");
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch when (created)
        {
            DeleteQuietly(temporary);
            throw;
        }
    }

    /// <summary>
    /// Reads and validates a whole safetensors file: the header length fits the file, the header is
    /// JSON with a known dtype, a shape and two data offsets for every tensor, each tensor's byte count is
    /// its element count times its dtype's size, and the tensors cover the data after the header exactly,
    /// contiguous and without overlap.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The tensors, in data order, and the metadata.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not valid safetensors (truncated, corrupt or of an unsupported
    /// dtype); the message names the file and what is wrong.</exception>
    /// <exception cref="PlatformNotSupportedException">This machine is big-endian.</exception>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeTensorsDTypes.RequireLittleEndian();
        string fullPath = Path.GetFullPath(path);
        return Parse(File.ReadAllBytes(fullPath), fullPath);
    }

    private static KeyValuePair<string, SafeTensor>[] Order(IReadOnlyDictionary<string, SafeTensor> tensors)
    {
        foreach ((string name, SafeTensor tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name) || name == MetadataKey)
                throw new ArgumentException(
                    $"Tensor names must be non-empty and not \"{MetadataKey}\", but one is \"{name}\".", nameof(tensors));
            if (tensor is null)
                throw new ArgumentNullException(nameof(tensors), $"The tensor \"{name}\" is null.");
        }
        return tensors
            .OrderByDescending(t => SafeTensorsDTypes.Size(t.Value.DType))
            .ThenBy(t => t.Key, StringComparer.Ordinal)
            .ToArray();
    }

    private static byte[] Header(KeyValuePair<string, SafeTensor>[] ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach ((string key, string value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                {
                    if (key is null || value is null)
                        throw new ArgumentNullException(nameof(metadata), $"Metadata keys and values must not be null (key \"{key}\").");
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach ((string name, SafeTensor tensor) in ordered)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", SafeTensorsDTypes.Name(tensor.DType));
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += tensor.Data.Length;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static SafeTensorsFile Parse(byte[] file, string path)
    {
        if (file.Length < 8)
            throw Invalid(path, $"it holds {file.Length} bytes, fewer than the 8 of the header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > MaxHeaderLength)
            throw Invalid(path, $"the header length {headerLength} exceeds the format's limit of {MaxHeaderLength} bytes");
        if (headerLength > (ulong)(file.Length - 8))
            throw Invalid(path, $"the header length {headerLength} exceeds the {file.Length - 8} bytes after it (truncated?)");
        int dataStart = 8 + (int)headerLength;
        int dataLength = file.Length - dataStart;

        // The JSON reader leaves string contents to be decoded on access, so check the encoding up front.
        if (!Utf8.IsValid(file.AsSpan(8, (int)headerLength)))
            throw Invalid(path, "the header is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"the header is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Invalid(path, $"the header is a JSON {document.RootElement.ValueKind}, not an object");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Invalid(path, $"the header names \"{property.Name}\" twice");
                if (property.Name == MetadataKey)
                    ReadMetadata(property.Value, metadata, path);
                else
                    entries.Add(ReadEntry(property, path));
            }

            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            long expected = 0;
            foreach (var entry in entries)
            {
                if (entry.Begin != expected)
                    throw Invalid(path, entry.Begin < expected
                        ? $"tensor \"{entry.Name}\" at bytes [{entry.Begin}, {entry.End}) overlaps the tensor before it, which ends at {expected}"
                        : $"tensor \"{entry.Name}\" starts at byte {entry.Begin}, leaving a gap after the tensor before it, which ends at {expected}");
                expected = entry.End;
            }
            if (expected != dataLength)
                throw Invalid(path, expected > dataLength
                    ? $"the tensors need {expected} bytes of data but only {dataLength} follow the header (truncated?)"
                    : $"the tensors cover {expected} bytes but {dataLength} follow the header");

            var tensors = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
            foreach (var (name, dtype, shape, begin, end) in entries)
                tensors.Add(name, SafeTensor.Wrap(dtype, shape, file.AsSpan(dataStart + (int)begin, (int)(end - begin)).ToArray()));
            return new SafeTensorsFile(path, tensors.AsReadOnly(), metadata.AsReadOnly());
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"\"{MetadataKey}\" is a JSON {value.ValueKind}, not an object of strings");
        foreach (JsonProperty item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Invalid(path, $"\"{MetadataKey}\" maps \"{item.Name}\" to a JSON {item.Value.ValueKind}, not a string");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Invalid(path, $"\"{MetadataKey}\" names \"{item.Name}\" twice");
        }
    }

    private static (string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End) ReadEntry(JsonProperty property, string path)
    {
        string name = property.Name;
        JsonElement info = property.Value;
        if (info.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"tensor \"{name}\" is described by a JSON {info.ValueKind}, not an object");

        if (!info.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Invalid(path, $"tensor \"{name}\" has no \"dtype\" string");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDTypes.TryParse(dtypeName, out SafeTensorsDType dtype))
            throw Invalid(path, $"tensor \"{name}\" has dtype \"{dtypeName}\", which this reader does not support (it reads {SafeTensorsDTypes.Known})");

        if (!info.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Invalid(path, $"tensor \"{name}\" has no \"shape\" array");
        var shape = new int[shapeElement.GetArrayLength()];
        long count = 1;
        int i = 0;
        foreach (JsonElement d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out shape[i]) || shape[i] < 0)
                throw Invalid(path, $"tensor \"{name}\" has shape {shapeElement.GetRawText()}; dimensions must be integers in [0, {int.MaxValue}]");
            count *= shape[i++];
            if (count > Array.MaxLength)
                throw Invalid(path, $"tensor \"{name}\" of shape {shapeElement.GetRawText()} has more elements than this reader can hold");
        }

        if (!info.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2 || !IsInt64(offsets[0], out long begin) || !IsInt64(offsets[1], out long end)
            || begin < 0 || end < begin)
            throw Invalid(path, $"tensor \"{name}\" needs \"data_offsets\" [begin, end] with 0 <= begin <= end");
        long bytes = count * SafeTensorsDTypes.Size(dtype);
        if (end - begin != bytes)
            throw Invalid(path,
                $"tensor \"{name}\" ({dtypeName}, shape {SafeTensor.Format(shape)}) needs {bytes} bytes but its data_offsets [{begin}, {end}] span {end - begin}");
        return (name, dtype, shape, begin, end);
    }

    private static bool IsInt64(JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }

    private static InvalidDataException Invalid(string path, string reason, Exception? inner = null) =>
        new($"{path} is not a valid safetensors file: {reason}.", inner);

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
