// The CairnLedger module.
