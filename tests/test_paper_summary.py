"""The claims table and the gallery (python -m paper.summary) from every experiment's tiny run
with the real weights, and the gallery's figures within their size budget."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from paper import summary

real_weights = pytest.mark.real_weights
# a few iterations at 32 px barely move the noise: two images can round to the same uint8
# image, whose measures are then equal and their rank correlation undefined (nan)
pytestmark = pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")


@real_weights
def test_summary_table(paper_runs, tmp_path):
    for name in summary.ORDER:
        paper_runs(name)
    docs = paper_runs.out / "docs"
    text = summary.main(["--out", str(paper_runs.out), "--docs", str(docs)])
    assert (paper_runs.out / "claims.md").read_text() == text
    claims = sum(len(paper_runs(name)["claims"]) for name in summary.ORDER)
    assert text.count("\n| ") == claims + 1  # the separator row and one row per claim
    assert "not judged (unconverged)" in text and "images converged (cap 3 iterations" in text
    assert "min optimizing (compiling apart) on " in text
    assert "px, start: noise, sd 1 grey levels, " in text  # the authors' start
    assert re.search(r"; grain: speckle median \d+, max \d+ \(the photo's \d+\), colour "
                     r"channels at 0 or 255 median \d+\.\d%, max \d+\.\d%; total loss of the "
                     r"pictures as saved \(8 bits, clipped to 0\.\.255\) median [\d.e+-]+x, max "
                     r"[\d.e+-]+x the optimizer's", text)
    page = (docs / "paper.md").read_text()
    for name in summary.ORDER:
        figure = docs / "paper" / f"{name}.jpg"
        assert f"![{name}](paper/{name}.jpg)" in page
        assert figure.read_bytes()[:2] == b"\xff\xd8" and figure.stat().st_size <= 200_000
        for c in paper_runs(name)["claims"]:
            assert f"| {name} | {c['claim']} |" in section_of(page, name)
    # a rerun rewrites only its own part: the hand-written text around it stays
    (docs / "paper.md").write_text("# Title\n\nby hand\n\n" + page.split("\n\n", 1)[1]
                                   + "\n## Notes\n\nalso by hand\n")
    summary.main(["--out", str(paper_runs.out), "--docs", str(docs)])
    again = (docs / "paper.md").read_text()
    assert again.startswith("# Title\n\nby hand\n\n" + summary.BEGIN)
    assert again.endswith(summary.END + "\n\n## Notes\n\nalso by hand\n")
    assert again.split("\n\n", 2)[2] == page.split("\n\n", 1)[1] + "\n## Notes\n\nalso by hand\n"
    # results of one experiment rewrite its section only: the others stay as they were
    only = tmp_path / "only_fig5"
    (only / "fig5").mkdir(parents=True)
    fig5_metrics = json.loads((paper_runs.out / "fig5" / "metrics.json").read_text())
    fig5_metrics["claims"][0]["summary"] = "measured again"
    (only / "fig5" / "metrics.json").write_text(json.dumps(fig5_metrics))
    grid = only / "fig5" / fig5_metrics["grid"]
    grid.parent.mkdir(parents=True, exist_ok=True)
    grid.write_bytes((paper_runs.out / "fig5" / fig5_metrics["grid"]).read_bytes())
    summary.main(["--out", str(only), "--docs", str(docs)])
    third = (docs / "paper.md").read_text()
    assert "measured again" in section_of(third, "fig5")
    for name in summary.ORDER:
        if name != "fig5":
            assert section_of(third, name) == section_of(again, name)
    # an experiment that never ran has a section that says so
    fresh = summary.main(["--out", str(only), "--docs", str(tmp_path / "new_docs")])
    page = (tmp_path / "new_docs" / "paper.md").read_text()
    assert "measured again" in fresh and "Not yet run to convergence" in section_of(page, "fig2")


def section_of(page: str, name: str) -> str:
    """Experiment `name`'s section of docs/paper.md's generated part."""
    return next(m.group(0) for m in summary.SECTION.finditer(page) if m.group(1) == name)


def test_gallery_figures_shrink_to_fit(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8)  # incompressible
    Image.fromarray(noise).save(tmp_path / "grid.png")
    figure = summary.gallery_figure(tmp_path / "grid.png", tmp_path / "figure.jpg")
    assert figure.stat().st_size <= summary.FIGURE_BYTES
    assert Image.open(figure).size[0] < 1600
