using BpfMaps.Tests.Corpus;

// One BTF corpus for the whole assembly: built, loaded and filled on first use, unpinned at the end.
[assembly: AssemblyFixture(typeof(BtfCorpus))]
