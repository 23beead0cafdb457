"""The project's benchmark suite (issue 6): cold starts, request overhead, DynamoDB calls, the embedded
stack and artifact sizes, each measured against baselines in the same run. Run it with `make bench`.
"""
