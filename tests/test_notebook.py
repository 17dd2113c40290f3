"""The example notebook, examples/presence.ipynb, runs top to bottom in a real kernel without an
error, and shows what it promises: a DataFrame with UTC datetimes, a plot, a progress bar."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "presence.ipynb"


def test_the_example_notebook_runs_top_to_bottom():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # Raises CellExecutionError, naming the cell, on any error.
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("ChatPresence" in h and "min ago" in h for h in html), "the notebook view of one chat"
    assert any("InvalidChatIdError" in h for h in html), "the DataFrame with its error row"
    text = "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "datetime64[us, UTC]" in text
    assert any("image/png" in o.get("data", {}) for o in outputs), "the timeline plot"
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    bars = [o for o in outputs if o.output_type == "stream" and "get_many" in o.get("text", "")]
    assert widgets or bars, "the progress bar"
