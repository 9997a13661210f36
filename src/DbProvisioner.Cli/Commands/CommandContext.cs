using System.CommandLine;
using System.Text.Json;
using DbProvisioner.Cli.Config;
using DbProvisioner.Cli.Http;
using Spectre.Console;

namespace DbProvisioner.Cli.Commands;

/// <summary>What a command body gets: the API client, the chosen output format and consoles for stdout and stderr.</summary>
public sealed class CommandContext
{
    private readonly Lazy<DbProvisionerClient> client;

    internal CommandContext(ParseResult parse, CliConnection connection, OutputFormat format, CliEnvironment environment)
    {
        Parse = parse;
        Connection = connection;
        Format = format;
        Environment = environment;
        Console = CreateConsole(environment.Out);
        Error = CreateConsole(environment.Error);
        client = new Lazy<DbProvisionerClient>(() => DbProvisionerClient.Create(connection.Url, connection.Key, environment.HttpHandler));
    }

    public ParseResult Parse { get; }

    public CliConnection Connection { get; }

    public OutputFormat Format { get; }

    public CliEnvironment Environment { get; }

    public DbProvisionerClient Client => client.Value;

    public IAnsiConsole Console { get; }

    public IAnsiConsole Error { get; }

    /// <summary>Prints <paramref name="value"/> as indented JSON, or as whatever <paramref name="table"/> draws.</summary>
    public void Render<T>(T value, Func<T, Spectre.Console.Rendering.IRenderable> table)
    {
        if (Format == OutputFormat.Json)
        {
            Environment.Out.WriteLine(JsonSerializer.Serialize(value, JsonOutput));
        }
        else
        {
            Console.Write(table(value));
        }
    }

    /// <summary>A two-column key/value table, the usual shape for one object.</summary>
    public static Table PropertyTable(params (string Name, string? Value)[] rows)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Field").AddColumn("Value");
        foreach (var (name, value) in rows)
        {
            table.AddRow(Markup.Escape(name), Markup.Escape(value ?? "-"));
        }

        return table;
    }

    private static readonly JsonSerializerOptions JsonOutput = new(DbProvisionerClient.Json) { WriteIndented = true };

    private static IAnsiConsole CreateConsole(TextWriter writer)
    {
        var isConsole = ReferenceEquals(writer, System.Console.Out) || ReferenceEquals(writer, System.Console.Error);
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = isConsole ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isConsole ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isConsole ? InteractionSupport.Detect : InteractionSupport.No,
        });
    }
}
