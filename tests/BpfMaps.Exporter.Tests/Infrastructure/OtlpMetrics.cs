using System.Buffers.Binary;
using System.Text;

namespace BpfMaps.Exporter.Tests.Infrastructure;

/// <summary>One histogram data point of an OTLP request, explicit or exponential.</summary>
public sealed record OtlpPoint(
    string Metric,
    bool Exponential,
    int Temporality,
    IReadOnlyDictionary<string, string> Attributes,
    ulong Start,
    ulong Time,
    ulong Count,
    double Sum,
    ulong[] BucketCounts,
    double[] Bounds,
    int Scale,
    ulong ZeroCount,
    int Offset);

/// <summary>
/// Reads the histograms out of an OTLP ExportMetricsServiceRequest: a protobuf reader for just the fields the
/// tests look at (resource attributes, metric names, histogram and exponential histogram points).
/// </summary>
public static class OtlpMetrics
{
    /// <summary>The resource attributes and histogram points of one request.</summary>
    public static (Dictionary<string, string> Resource, List<OtlpPoint> Points) Read(byte[] request)
    {
        var resource = new Dictionary<string, string>(StringComparer.Ordinal);
        var points = new List<OtlpPoint>();
        foreach ((int f, ReadOnlyMemory<byte> rm) in Messages(request, 1))
        {
            foreach ((int rf, ReadOnlyMemory<byte> part) in Fields(rm))
            {
                if (rf == 1)
                {
                    foreach ((_, ReadOnlyMemory<byte> kv) in Messages(part, 1))
                    {
                        (string k, string v) = KeyValue(kv);
                        resource[k] = v;
                    }
                }
                else if (rf == 2)
                {
                    foreach ((_, ReadOnlyMemory<byte> metric) in Messages(part, 2))
                    {
                        ReadMetric(metric, points);
                    }
                }
            }

            _ = f;
        }

        return (resource, points);
    }

    private static void ReadMetric(ReadOnlyMemory<byte> metric, List<OtlpPoint> points)
    {
        string name = "";
        foreach ((int f, ReadOnlyMemory<byte> v) in Fields(metric))
        {
            if (f == 1)
            {
                name = Encoding.UTF8.GetString(v.Span);
            }
            else if (f is 9 or 10)
            {
                int temporality = 0;
                var raw = new List<ReadOnlyMemory<byte>>();
                foreach ((int hf, ReadOnlyMemory<byte> hv) in FieldsWithVarints(v))
                {
                    if (hf == 1)
                    {
                        raw.Add(hv);
                    }
                    else if (hf == 2)
                    {
                        temporality = (int)Varint(hv.Span, out _);
                    }
                }

                foreach (ReadOnlyMemory<byte> p in raw)
                {
                    points.Add(f == 9 ? Explicit(name, temporality, p) : Exponential(name, temporality, p));
                }
            }
        }
    }

    private static OtlpPoint Explicit(string name, int temporality, ReadOnlyMemory<byte> p)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        ulong start = 0, time = 0, count = 0;
        double sum = 0;
        ulong[] counts = [];
        double[] bounds = [];
        foreach ((int f, ReadOnlyMemory<byte> v) in FieldsWithVarints(p))
        {
            switch (f)
            {
                case 9: (string k, string s) = KeyValue(v); attrs[k] = s; break;
                case 2: start = Fixed(v); break;
                case 3: time = Fixed(v); break;
                case 4: count = Fixed(v); break;
                case 5: sum = BitConverter.UInt64BitsToDouble(Fixed(v)); break;
                case 6: counts = PackedFixed(v); break;
                case 7: bounds = PackedFixed(v).Select(BitConverter.UInt64BitsToDouble).ToArray(); break;
            }
        }

        return new OtlpPoint(name, false, temporality, attrs, start, time, count, sum, counts, bounds, 0, 0, 0);
    }

    private static OtlpPoint Exponential(string name, int temporality, ReadOnlyMemory<byte> p)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        ulong start = 0, time = 0, count = 0, zero = 0;
        double sum = 0;
        int scale = 0, offset = 0;
        ulong[] counts = [];
        foreach ((int f, ReadOnlyMemory<byte> v) in FieldsWithVarints(p))
        {
            switch (f)
            {
                case 1: (string k, string s) = KeyValue(v); attrs[k] = s; break;
                case 2: start = Fixed(v); break;
                case 3: time = Fixed(v); break;
                case 4: count = Fixed(v); break;
                case 5: sum = BitConverter.UInt64BitsToDouble(Fixed(v)); break;
                case 6: scale = ZigZag(Varint(v.Span, out _)); break;
                case 7: zero = Fixed(v); break;
                case 8:
                    foreach ((int bf, ReadOnlyMemory<byte> bv) in FieldsWithVarints(v))
                    {
                        if (bf == 1)
                        {
                            offset = ZigZag(Varint(bv.Span, out _));
                        }
                        else if (bf == 2)
                        {
                            var list = new List<ulong>();
                            ReadOnlySpan<byte> span = bv.Span;
                            while (span.Length > 0)
                            {
                                list.Add(Varint(span, out int n));
                                span = span[n..];
                            }

                            counts = [.. list];
                        }
                    }

                    break;
            }
        }

        return new OtlpPoint(name, true, temporality, attrs, start, time, count, sum, counts, [], scale, zero, offset);
    }

    private static int ZigZag(ulong v) => (int)(v >> 1) ^ -(int)(v & 1);

    private static ulong Fixed(ReadOnlyMemory<byte> v) => BinaryPrimitives.ReadUInt64LittleEndian(v.Span);

    private static ulong[] PackedFixed(ReadOnlyMemory<byte> v)
    {
        var r = new ulong[v.Length / 8];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = BinaryPrimitives.ReadUInt64LittleEndian(v.Span[(i * 8)..]);
        }

        return r;
    }

    private static (string Key, string Value) KeyValue(ReadOnlyMemory<byte> kv)
    {
        string key = "", value = "";
        foreach ((int f, ReadOnlyMemory<byte> v) in Fields(kv))
        {
            if (f == 1)
            {
                key = Encoding.UTF8.GetString(v.Span);
            }
            else if (f == 2)
            {
                foreach ((int af, ReadOnlyMemory<byte> av) in Fields(v))
                {
                    if (af == 1)
                    {
                        value = Encoding.UTF8.GetString(av.Span);
                    }
                }
            }
        }

        return (key, value);
    }

    private static IEnumerable<(int Field, ReadOnlyMemory<byte> Value)> Messages(ReadOnlyMemory<byte> data, int field)
        => Fields(data).Where(x => x.Field == field);

    /// <summary>Length-delimited fields only (others skipped).</summary>
    private static IEnumerable<(int Field, ReadOnlyMemory<byte> Value)> Fields(ReadOnlyMemory<byte> data)
        => All(data).Where(x => x.Wire == 2).Select(x => (x.Field, x.Value));

    /// <summary>Every field: varints as their bytes, fixed64 as 8 bytes, length-delimited as their content.</summary>
    private static IEnumerable<(int Field, ReadOnlyMemory<byte> Value, int Wire)> All(ReadOnlyMemory<byte> data)
    {
        int at = 0;
        while (at < data.Length)
        {
            ulong tag = Varint(data.Span[at..], out int n);
            at += n;
            int wire = (int)(tag & 7);
            int field = (int)(tag >> 3);
            switch (wire)
            {
                case 0:
                    Varint(data.Span[at..], out n);
                    yield return (field, data.Slice(at, n), wire);
                    at += n;
                    break;
                case 1:
                    yield return (field, data.Slice(at, 8), wire);
                    at += 8;
                    break;
                case 2:
                    int length = (int)Varint(data.Span[at..], out n);
                    at += n;
                    yield return (field, data.Slice(at, length), wire);
                    at += length;
                    break;
                case 5:
                    yield return (field, data.Slice(at, 4), wire);
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wire} at byte {at}");
            }
        }
    }

    private static IEnumerable<(int Field, ReadOnlyMemory<byte> Value)> FieldsWithVarints(ReadOnlyMemory<byte> data)
        => All(data).Select(x => (x.Field, x.Value));

    private static ulong Varint(ReadOnlySpan<byte> span, out int n)
    {
        ulong v = 0;
        int shift = 0;
        n = 0;
        while (true)
        {
            byte b = span[n++];
            v |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return v;
            }

            shift += 7;
        }
    }
}
