using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Nnk;

namespace Nnk.Tests.Checkpoints;

/// <summary>
/// The safetensors reader and writer: round trips, the header's layout checked with an independent
/// JSON parser, files made by hand as the format describes them, corrupt and truncated files, and
/// atomic replacement when a write is interrupted.
/// </summary>
public class SafeTensorsTests
{
    [Fact]
    public void WriteThenRead_EveryDTypeAndShape_RoundTripsBitIdentically()
    {
        using var directory = new TempDirectory();
        string path = directory.File("all.safetensors");
        // -0.0, NaN with a payload, a subnormal and infinity survive only if bytes are copied as they are.
        float[] f32 = [1.5f, -0.0f, BitConverter.Int32BitsToSingle(0x7FC0_1234), float.Epsilon, float.PositiveInfinity, 3e38f];
        double[] f64 = [Math.PI, -0.0, BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_ABCD), double.Epsilon];
        var tensors = new Dictionary<string, SafeTensor>
        {
            ["weights"] = SafeTensor.From<float>(f32, [2, 3]),
            ["f64"] = SafeTensor.From<double>(f64),
            ["step"] = SafeTensor.Scalar(-42L),
            ["words"] = SafeTensor.From<ulong>([ulong.MaxValue, 1, 0]),
            ["empty"] = SafeTensor.From<double>([], [0, 3]),
        };
        var metadata = new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "quotes \" and unicode é <&>" };

        SafeTensors.Write(path, tensors, metadata);
        SafeTensorsFile file = SafeTensors.Read(path);

        Assert.Equal(Path.GetFullPath(path), file.Path);
        Assert.Equal(tensors.Keys.Order(), file.Tensors.Keys.Order());
        foreach ((string name, SafeTensor written) in tensors)
        {
            SafeTensor read = file.Tensors[name];
            Assert.Equal(written.DType, read.DType);
            Assert.Equal(written.Shape, read.Shape);
            Assert.True(written.Data.SequenceEqual(read.Data), $"the bytes of \"{name}\" changed");
        }
        Assert.Equal(f64.Select(BitConverter.DoubleToInt64Bits), file.Tensors["f64"].ToArray<double>().Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(-42L, Assert.Single(file.Tensors["step"].ToArray<long>()));
        Assert.Empty(file.Tensors["step"].Shape);
        Assert.Equal(metadata, file.Metadata);
    }

    [Fact]
    public void Write_Header_IsJsonWithContiguousAlignedOffsetsAndKnownDTypes()
    {
        using var directory = new TempDirectory();
        string path = directory.File("layout.safetensors");
        SafeTensors.Write(path, new Dictionary<string, SafeTensor>
        {
            ["b1"] = SafeTensor.From<float>([1f, 2f, 3f]),
            ["W1"] = SafeTensor.From<float>(new float[6], [2, 3]),
            ["mean"] = SafeTensor.From<double>([0.5]),
            ["t"] = SafeTensor.Scalar(7L),
            ["rng"] = SafeTensor.From<ulong>([1, 2, 3, 4]),
        }, new Dictionary<string, string> { ["epoch"] = "1" });

        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        Assert.Equal(0, headerLength % 8);
        long dataLength = bytes.Length - 8 - headerLength;
        using JsonDocument header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));

        var sizes = new Dictionary<string, int> { ["F32"] = 4, ["F64"] = 8, ["I64"] = 8, ["U64"] = 8 };
        var ranges = new List<(long Begin, long End)>();
        foreach (JsonProperty entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                Assert.All(entry.Value.EnumerateObject(), m => Assert.Equal(JsonValueKind.String, m.Value.ValueKind));
                continue;
            }
            string dtype = entry.Value.GetProperty("dtype").GetString()!;
            Assert.Contains(dtype, sizes.Keys);
            long count = entry.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (c, d) => c * d.GetInt64());
            long begin = entry.Value.GetProperty("data_offsets")[0].GetInt64(), end = entry.Value.GetProperty("data_offsets")[1].GetInt64();
            Assert.Equal(count * sizes[dtype], end - begin);
            Assert.Equal(0, begin % sizes[dtype]);
            ranges.Add((begin, end));
        }
        Assert.Equal(5, ranges.Count);
        ranges.Sort();
        Assert.Equal(0, ranges[0].Begin);
        for (int i = 1; i < ranges.Count; i++)
            Assert.Equal(ranges[i - 1].End, ranges[i].Begin);
        Assert.Equal(dataLength, ranges[^1].End);
        Assert.Equal("1", header.RootElement.GetProperty("__metadata__").GetProperty("epoch").GetString());
    }

    // Written byte by byte as the format's description lays a file out: no padding, metadata after the
    // tensors, and the entries not in offset order.
    [Fact]
    public void Read_HandMadeFile_GivesItsTensorsAndMetadata()
    {
        using var directory = new TempDirectory();
        string path = directory.File("hand.safetensors");
        byte[] data = [.. FloatBytes(1f, 2f, 3f, 4f), .. BitConverter.GetBytes(9L)];
        File.WriteAllBytes(path, Make(
            "{\"t\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[16,24]}," +
            "\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},\"__metadata__\":{\"format\":\"pt\"}}", data));

        SafeTensorsFile file = SafeTensors.Read(path);

        Assert.Equal([1f, 2f, 3f, 4f], file.Tensors["x"].ToArray<float>());
        Assert.Equal([2, 2], file.Tensors["x"].Shape);
        Assert.Equal(9L, Assert.Single(file.Tensors["t"].ToArray<long>()));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(["x", "t"], file.Tensors.Keys);
    }

    public static TheoryData<string, string> CorruptFiles => new()
    {
        { "shorter than the length field", "" },
        { "header length beyond the file", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}" },
        { "header not JSON", "{\"x\": [oops" },
        { "header not an object", "[1, 2]" },
        { "data truncated", "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}" },
        { "bytes left over", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}" },
        { "overlapping tensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}" },
        { "gap between tensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}" },
        { "shape disagrees with offsets", "{\"x\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}" },
        { "unsupported dtype", "{\"x\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}" },
        { "negative dimension", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}" },
        { "offsets not numbers", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",\"8\"]}}" },
        { "metadata value not a string", "{\"__metadata__\":{\"epoch\":3},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}" },
        { "name given twice", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}" },
    };

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Read_CorruptFile_ThrowsInvalidDataExceptionNamingTheFile(string corruption, string header)
    {
        using var directory = new TempDirectory();
        string path = directory.File("corrupt.safetensors");
        byte[] bytes = corruption switch
        {
            "shorter than the length field" => [1, 2, 3, 4, 5],
            "header length beyond the file" => Make(header, new byte[8])[..20],
            "data truncated" => Make(header, new byte[12]),
            _ => Make(header, new byte[8]),
        };
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));

        Assert.Contains(Path.GetFullPath(path), error.Message);
    }

    [Fact]
    public void Read_TruncatedWrittenFile_SaysTruncated()
    {
        using var directory = new TempDirectory();
        string path = directory.File("cut.safetensors");
        SafeTensors.Write(path, new Dictionary<string, SafeTensor> { ["W"] = SafeTensor.From<double>(new double[100]) });
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^17]);

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    // The temporary file loses its end before the rename (a disk that did not keep it all, or another
    // process): the check before the rename catches it and the good file stays.
    [Fact]
    public void Write_TemporaryFileTruncatedBeforeRename_ThrowsAndKeepsTheGoodFile()
    {
        using var directory = new TempDirectory();
        string path = directory.File("model.safetensors");
        SafeTensors.Write(path, Tensors(1.0));
        byte[] good = File.ReadAllBytes(path);

        var error = Assert.Throws<IOException>(() => SafeTensors.Write(path, Tensors(2.0), null, temporary =>
        {
            using var stream = new FileStream(temporary, FileMode.Open);
            stream.SetLength(stream.Length - 5);
        }));

        Assert.Contains(path, error.Message);
        Assert.Equal(good, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Write_FailingBeforeRename_KeepsTheGoodFile()
    {
        using var directory = new TempDirectory();
        string path = directory.File("model.safetensors");
        SafeTensors.Write(path, Tensors(1.0));
        byte[] good = File.ReadAllBytes(path);

        Assert.Throws<IOException>(() => SafeTensors.Write(path, Tensors(2.0), null, _ => throw new IOException("disk full")));

        Assert.Equal(good, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    // A process killed mid-write leaves a torn temporary file beside the last good one.
    [Fact]
    public void StaleTornTemporaryFile_DoesNotAffectReadsAndIsReplacedByTheNextWrite()
    {
        using var directory = new TempDirectory();
        string path = directory.File("model.safetensors");
        SafeTensors.Write(path, Tensors(1.0));
        byte[] good = File.ReadAllBytes(path);
        SafeTensors.Write(directory.File("next.safetensors"), Tensors(2.0));
        File.WriteAllBytes(path + ".tmp", File.ReadAllBytes(directory.File("next.safetensors"))[..^9]);

        Assert.Equal(1.0, SafeTensors.Read(path).Tensors["W"].ToArray<double>()[0]);
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(path + ".tmp"));
        Assert.Contains(path + ".tmp", error.Message);
        Assert.Equal(good, File.ReadAllBytes(path));

        SafeTensors.Write(path, Tensors(3.0));

        Assert.Equal(3.0, SafeTensors.Read(path).Tensors["W"].ToArray<double>()[0]);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("__metadata__")]
    public void Write_ReservedOrEmptyName_Throws(string name)
    {
        using var directory = new TempDirectory();
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(directory.File("x.safetensors"),
            new Dictionary<string, SafeTensor> { [name] = SafeTensor.Scalar(1.0) }));
        Assert.Empty(Directory.EnumerateFileSystemEntries(directory.Path));
    }

    [Fact]
    public void SafeTensor_ReadAsOtherType_ThrowsNamingBothTypes()
    {
        var error = Assert.Throws<InvalidOperationException>(() => SafeTensor.From<float>([1f]).ToArray<double>());
        Assert.Contains("F32", error.Message);
        Assert.Contains("F64", error.Message);
    }

    [Fact]
    public void SafeTensor_BytesNotMatchingShape_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => new SafeTensor(SafeTensorsDType.F64, [2, 2], new byte[24]));
        Assert.Contains("32 bytes", error.Message);
    }

    [Fact]
    public void SafeTensor_ToTensor_KeepsShapeAndValues()
    {
        var tensor = Tensor<double>.Linspace(0, 1, [2, 3]);
        Tensor<double> back = SafeTensor.From(tensor).ToTensor<double>();
        Assert.Equal(tensor.Shape, back.Shape);
        Assert.Equal(tensor.Span.ToArray(), back.Span.ToArray());
        Assert.Throws<InvalidOperationException>(() => SafeTensor.Scalar(1.0).ToTensor<double>());
    }

    private static Dictionary<string, SafeTensor> Tensors(double value) => new()
    {
        ["W"] = SafeTensor.From<double>(Enumerable.Repeat(value, 50).ToArray(), [5, 10]),
        ["b"] = SafeTensor.From<float>([1f, 2f]),
    };

    private static byte[] Make(string header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        return [.. length, .. json, .. data];
    }

    private static byte[] FloatBytes(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
}
