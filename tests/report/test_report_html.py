"""report.html: every section present, every user string escaped, images inlined, nothing external."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from report.report_builders import HOSTILE_NAME, HOSTILE_TRIGGER, HOSTILE_WARNING, PROMPTS, build_completed

from fluxgen.report import load_run, write_report
from fluxgen.report.html import MAX_SAMPLE_ROWS, THUMB_PX, render_html


class _Text(HTMLParser):
    """The page as a reader sees it: text nodes with entities decoded, plus each <dt>'s <dd>."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.facts: dict[str, str] = {}
        self._tag, self._dt = "", ""
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self._tag = tag

    def handle_endtag(self, tag):
        self._tag = ""

    def handle_data(self, data):
        self.chunks.append(data)
        if self._tag == "dt":
            self._dt = data
        elif self._tag == "dd":
            self.facts[self._dt] = self.facts.get(self._dt, "") + data

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def _html(run: Path) -> str:
    html_path, png_path = write_report(run)
    assert (html_path, png_path) == (run / "report.html", run / "loss.png")
    return html_path.read_text(encoding="utf-8")


def test_completed_run_has_every_section(completed_run: Path):
    page = _html(completed_run)
    assert '<span class="badge completed">completed</span>' in page
    for heading in ("Loss", "Samples", "Checkpoints", "Advice and warnings", "Plan", "Dataset", "Command"):
        assert f"<h2>{heading}</h2>" in page
    # plan: value and origin of every value
    plan = json.loads((completed_run / "plan.json").read_text(encoding="utf-8"))
    for key in plan["values"]:
        assert f'<td class="key">{key}</td>' in page
    assert "100 steps × 20 images ← seed:000" in page
    assert "--set lr=1e-4 on the command line" in page
    assert "<td>[512, 768, 1024]</td>" in page and "<td>0.0001</td>" in page
    # header facts
    assert "<dd>200 / 200</dd>" in page and "<dd>42 min 30 s</dd>" in page and "1.50 s/it (median)" in page
    # dataset and lint counts
    assert "sha256:" + "cd" * 32 in page
    assert "1 warning, 1 note" in page
    # checkpoints with their sizes, then the final LoRA's summary
    for step in (50, 100, 150):
        assert f"output/lora_{step:09d}.safetensors" in page
    assert "<td>final</td>" in page and " KB</td>" in page
    assert "Final LoRA: peft/diffusers, rank 4" in page
    # the exact command, shell-quoted
    assert "python run.py &#39;config with space.yaml&#39;" in page
    assert "/opt/ai-toolkit" in page
    assert "Why it stopped" not in page and "End of train.log" not in page


def test_every_user_string_is_escaped(completed_run: Path):
    page = _html(completed_run)
    assert "<script>" not in page and "<b>bold" not in page and "<u>ll" not in page and "<img src=x" not in page
    text = _Text(page).text
    for hostile in (HOSTILE_NAME, HOSTILE_TRIGGER, HOSTILE_WARNING, "/data/my <images>", *PROMPTS):
        assert hostile in text  # shown to the reader exactly as written
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "🦴" in page and "💀" in page  # emoji pass through unharmed


def test_samples_are_inlined_thumbnails_in_a_step_by_prompt_grid(completed_run: Path):
    page = _html(completed_run)
    uris = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)
    assert len(uris) == 5 * 3  # 5 sampled steps × 3 prompts
    thumb = Image.open(io.BytesIO(base64.b64decode(uris[0])))
    assert max(thumb.size) == THUMB_PX  # 512 px samples are downscaled
    rows = re.findall(r'<th class="step">(\d+)</th>', page)
    assert rows == ["0", "50", "100", "150", "200"]
    assert page.count('<th class="prompt"') == 3
    assert 'src="data:image/png;base64,' in page  # the loss curve


def test_no_external_url_and_no_script(completed_run: Path):
    page = _html(completed_run)
    assert "http" not in page
    assert "<script" not in page
    assert not re.search(r'(src|href)="(?!data:|samples/)', page)


def test_failed_run_shows_diagnosis_fix_and_log_tail(failed_run: Path):
    page = _html(failed_run)
    assert '<span class="badge failed">failed</span>' in page
    assert "The GPU ran out of memory at step 5 &lt;rank 128&gt;." in page
    assert "(out_of_memory)" in page
    assert "Lower the rank or pass --set quantize=true &amp; retry." in page
    assert "No samples were recorded for this run." in page
    assert "No checkpoint was saved." in page
    assert "torch.OutOfMemoryError: CUDA out of memory &lt;GPU 0&gt;" in page
    assert "<dd>5 / 200</dd>" in page  # progress read from events.jsonl despite a partial last line


def test_folder_with_only_a_plan_still_reports(tmp_path: Path):
    run = tmp_path / "bare"
    run.mkdir()
    (run / "plan.json").write_text(json.dumps({"values": {"name": "bare", "steps": 10}}), encoding="utf-8")
    page = _html(run)
    assert "<h1>bare</h1>" in page and "badge unknown" in page
    assert "No loss values were logged." in page and "No command.json in this run folder." in page
    assert (run / "loss.png").stat().st_size > 1000


def test_missing_and_unreadable_sample_files_are_marked(completed_run: Path):
    (completed_run / "samples" / "000000050_1.jpg").unlink()
    (completed_run / "samples" / "000000100_2.jpg").write_text("not an image", encoding="utf-8")
    (completed_run / "output" / "lora_000000100.safetensors").unlink()
    page = _html(completed_run)
    assert page.count("missing file") == 2
    assert len(re.findall(r'src="data:image/jpeg', page)) == 13
    assert "<td>100</td><td class=\"key\">output/lora_000000100.safetensors</td><td>missing</td>" in page


def test_damaged_metric_rows_are_skipped(completed_run: Path):
    with (completed_run / "metrics.csv").open("a", encoding="utf-8") as fh:
        fh.write("201,nan,,,\nnot,a,row\n202,,0.0001,1.5,3\n203,0.31,,,\n")
    run = load_run(completed_run)
    assert len(run.points) == 202 and run.points[-1] == (203, 0.31)
    assert "<dd>203 / 200</dd>" in _html(completed_run)


def test_many_checkpoints_are_thinned_to_keep_the_file_small(tmp_path: Path):
    steps = tuple(range(0, 1000, 20))  # 50 sampled steps × 3 prompts
    run = build_completed(tmp_path / "long", steps=1000, sample_steps=steps)
    page = _html(run)
    rows = [int(s) for s in re.findall(r'<th class="step">(\d+)</th>', page)]
    assert len(rows) == MAX_SAMPLE_ROWS and rows[0] == 0 and rows[-1] == 980
    assert f"Not shown: {50 - MAX_SAMPLE_ROWS} checkpoint rows" in page
    assert (run / "report.html").stat().st_size < 1_000_000


def test_report_is_rewritten_without_force(completed_run: Path):
    first = _html(completed_run)
    assert _html(completed_run) == first  # same input, same page


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40))
def test_arbitrary_trigger_text_round_trips_escaped(failed_run: Path, text: str):
    run = load_run(failed_run)
    run.plan["values"]["trigger"] = text + "<x>"
    page = render_html(run, b"\x89PNG")
    assert _Text(page).facts["trigger"] == text + "<x>"
    assert "<x>" not in page


@pytest.mark.parametrize("status, expected", [
    ("running", "The run is still going"),
    ("interrupted", "The run did not complete"),
])
def test_unfinished_run_without_diagnosis_says_so(failed_run: Path, status: str, expected: str):
    manifest = json.loads((failed_run / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(status=status, diagnosis=None, ended=None)
    (failed_run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    page = _html(failed_run)
    assert f'<span class="badge {status}">{status}</span>' in page
    assert expected in page
    assert "End of train.log" in page
    if status == "running":
        assert "<dd>still running</dd>" in page


@pytest.mark.parametrize(("warnings", "errors", "expected"), [(4, 1, "1 error, 4 warnings"), (1, 0, "1 warning"),
                                                              (0, 2, "2 errors")])
def test_report_wording_counts_code_and_training_time(tmp_path: Path, warnings: int, errors: int,
                                                      expected: str) -> None:
    from report.report_builders import build_failed

    from helpers import cli_run

    run = build_failed(tmp_path / "run")
    m = json.loads((run / "manifest.json").read_text())
    m["diagnosis"]["fix"] = "Free space, then `fluxgen resume runs/x` continues."
    m["attempts"] = [{"attempt": 1, "started": "2026-01-02T10:00:00+00:00", "seconds": 60.0},
                     {"attempt": 2, "started": "2026-01-03T10:00:00+00:00", "seconds": 30.0}]
    m["ended"] = "2026-01-03T10:00:30+00:00"  # a day after the start: the night between is not training time
    (run / "manifest.json").write_text(json.dumps(m))
    findings = [{"id": "x", "severity": "error", "message": "m", "path": "a"}] * errors
    findings += [{"id": "y", "severity": "warning", "message": "m", "path": "b"}] * warnings
    (run / "dataset-lint.json").write_text(json.dumps({"findings": findings, "summary": {}}))
    assert cli_run("report", str(run)).exit_code == 0
    html = (run / "report.html").read_text()
    assert expected in html and "1 min 30 s in 2 attempts" in html
    assert "<code>fluxgen resume runs/x</code>" in html and "`" not in html.split("Fix:", 1)[1].split("</p>", 1)[0]


def test_quality_checklist_says_what_eval_measured_and_what_to_look_at(completed_run: Path):
    """seed:003's checklist: without an eval, the measurable items say how to measure them; the rest need a person."""
    page = _html(completed_run)
    assert "<h2>Quality checklist</h2>" in page
    assert "<th>Face is consistent across 10+ generations</th><td>not measured</td>" in page
    assert "<th>Body proportions are accurate</th><td>look</td>" in page


def test_quality_checklist_carries_eval_figures():
    from fluxgen.report.checklist import checklist

    evaluation = {"choice": {"dino": 0.8123, "clip_t": 0.3011}, "rows": [{"strength": 0.75}, {"strength": 1.0}]}
    rows = {r["item"]: r for r in checklist(evaluation)}
    assert rows["Face is consistent across 10+ generations"]["status"] == "measured"
    assert "DINO 0.812" in rows["Face is consistent across 10+ generations"]["how"]
    assert "CLIP-T 0.301" in rows["Works with different prompts"]["how"]
    assert "strengths 0.75, 1.0" in rows["Works at different LoRA strengths"]["how"]
    assert rows["No obvious artifacts"]["status"] == "look"
    assert rows["Face is consistent across 10+ generations"]["status"] != "measured" or "confirm by eye" in \
        rows["Face is consistent across 10+ generations"]["how"]
