// The CairnPipeline module.
