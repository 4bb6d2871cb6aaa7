// The CairnCore module.
