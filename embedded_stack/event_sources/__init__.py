"""Lambda's event source mappings: the pollers that feed functions from DynamoDB streams."""
