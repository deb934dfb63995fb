using System.Globalization;
using BpfMaps;

// Runs one library operation and prints "OK ..." or "<ExceptionType>: <message>" on one line.
try
{
    string result = args[0] switch
    {
        "create" => Create(),
        "open-id" => Open(uint.Parse(args[1], CultureInfo.InvariantCulture)),
        "open-pinned" => OpenPinned(args[1]),
        "list" => $"OK {BpfMap.ListSystemMaps().Count}",
        _ => throw new ArgumentException($"unknown probe '{args[0]}'"),
    };
    Console.WriteLine(result);
    return 0;
}
catch (Exception e) when (e is BpfException or ArgumentException or NotSupportedException)
{
    Console.WriteLine($"{e.GetType().Name}: {e.Message}");
    return 1;
}

static string Create()
{
    using var m = BpfMap.Create(new MapSpec { Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
    return $"OK {m.Id}";
}

static string Open(uint id)
{
    using var m = BpfMap.OpenById(id);
    return $"OK {m.Name}";
}

static string OpenPinned(string path)
{
    using var m = BpfMap.OpenPinned(path);
    return $"OK {m.Name}";
}
