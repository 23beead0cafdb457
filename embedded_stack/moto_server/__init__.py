"""The AWS control plane: moto's server in our process, its patches, and fault injection."""
