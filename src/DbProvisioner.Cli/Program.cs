using DbProvisioner.Cli;

return await CliApp.RunAsync(args, CliEnvironment.System);
