// Placeholder until the CLI lands: prints usage only.
Console.Error.WriteLine("bpfmap: the command-line tool is being built; see README.md");
return 64;
