using DbProvisioner.Api;

// The API's records (DbProvisioner.Api, no Orleans runtime) travel between grains too: their Orleans codecs and copiers
// are generated here. Their field ids are their constructor positions (Orleans cannot generate [property: Id] records
// of another assembly, ORLEANS0101), so a record only ever gains parameters at its end. The records grains keep in
// their stored state are not generated but carried by surrogates in their stored shape (ApiSurrogates.cs).
[assembly: GenerateCodeForDeclaringAssembly(typeof(InstanceView))]
