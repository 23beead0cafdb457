"""Lambda's data plane: runs each function's deployed zip and layers in warm worker processes."""
