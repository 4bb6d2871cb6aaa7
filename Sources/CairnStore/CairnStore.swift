// The CairnStore module.
