"""layoutgen: one YAML spec of a binary ABI in, C, assembly, Go and Python views out."""
