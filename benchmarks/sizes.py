"""Measurement 7: each function zip and the layer, zipped and unzipped, against Lambda's limits.

The artifacts are the ones `scripts/build.py --target lambda` makes for AWS (manylinux wheels for
python3.12), built into the benchmark cache so that the build/ folder `make run` uses is left alone.
"""

import zipfile
from pathlib import Path
from typing import Any

from benchmarks.sandbox import Log, build_artifacts

MB = 1024 * 1024
ZIPPED_LIMIT = 50 * MB  # direct upload of a deployment package
UNZIPPED_LIMIT = 250 * MB  # function and all its layers, unzipped


def _unzipped(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def measure(log: Log) -> dict[str, Any]:
    """Sizes of every artifact, or a skip with the reason when the build is not possible here."""
    folder, how = build_artifacts("lambda", log)
    if folder is None:
        return {"id": "sizes", "title": "Artifact sizes", "status": "skipped", "reason": how, "rows": []}
    layer = folder / "layer.zip"
    layer_unzipped = _unzipped(layer)
    rows = [
        {
            "name": "layer",
            "zipped_bytes": layer.stat().st_size,
            "unzipped_bytes": layer_unzipped,
            "with_layers_bytes": layer_unzipped,
            "met": layer.stat().st_size <= ZIPPED_LIMIT and layer_unzipped <= UNZIPPED_LIMIT,
        }
    ]
    for zipped in sorted((folder / "functions").glob("*.zip")):
        unzipped = _unzipped(zipped)
        rows.append(
            {
                "name": zipped.stem,
                "zipped_bytes": zipped.stat().st_size,
                "unzipped_bytes": unzipped,
                "with_layers_bytes": unzipped + layer_unzipped,
                "met": zipped.stat().st_size <= ZIPPED_LIMIT and unzipped + layer_unzipped <= UNZIPPED_LIMIT,
            }
        )
    log(f"  layer {layer.stat().st_size / MB:.2f} MB zipped, {layer_unzipped / MB:.2f} MB unzipped")
    return {
        "id": "sizes",
        "title": f"Artifact sizes ({how}) against Lambda's limits",
        "status": "ok",
        "unit": "bytes",
        "targets": {"zipped": "<= 50 MB direct upload", "with_layers": "<= 250 MB unzipped incl. layers"},
        "rows": rows,
    }
