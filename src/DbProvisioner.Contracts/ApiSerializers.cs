using DbProvisioner.Api;

// The API's records (DbProvisioner.Api, no Orleans runtime) travel between grains and sit in grain state too: their
// Orleans codecs and copiers are generated here. Their field ids are their constructor positions (Orleans cannot
// generate [property: Id] records of another assembly, ORLEANS0101), so a record only ever gains parameters at its end.
[assembly: GenerateCodeForDeclaringAssembly(typeof(InstanceView))]
