using BpfMaps.Tests.Corpus;

// One corpus for the whole assembly: built, loaded and filled on first use (only btf tests use it), unpinned at the end.
[assembly: AssemblyFixture(typeof(BtfCorpus))]
