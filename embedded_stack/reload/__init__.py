"""Hot reload for `make run`: a saved file is deployed to the running stack as a deploy would.

- ``watcher``: file events under functions/, shared/, terraform/ and requirements/, in batches.
- ``changes``: what a batch needs: function code, the layer, or a Terraform apply.
- ``checks``: compile and import (a real init phase) before anything ships.
- ``publish``: S3 upload, layer/function versions, alias and stream mappings, as Terraform does.
- ``code``: the fast path (rebuild, check, publish); ``reloader``: the queue and the console.
"""

from embedded_stack.reload.reloader import Reloader

RELOAD_NOTE = (
    "Hot reload on: a save under functions/ or shared/apikit/ is rebuilt, checked and published (new\n"
    "  version, alias live moved); a manifest, schema, stage file or .tf runs terraform apply. See [reload]."
)

__all__ = ["RELOAD_NOTE", "Reloader"]
