// The CairnManifest module.
