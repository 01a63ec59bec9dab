"""Endings the captures do not show, built from them: cut short, OOM, NaN loss, gated model, Ctrl-C."""

from __future__ import annotations

from monitor.captures import by_type, parse_whole

from fluxgen.monitor import parse_streams
from fluxgen.monitor.diagnose import summarize

OOM_TRACEBACK = """Traceback (most recent call last):
  File "/opt/ai-toolkit/run.py", line 120, in main
    job.run()
  File "/opt/venv/lib/python3.11/site-packages/torch/nn/modules/linear.py", line 125, in forward
    return F.linear(input, self.weight, self.bias)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 72.00 MiB. GPU 0 has a total capacity of \
23.55 GiB of which 41.06 MiB is free. Including non-PyTorch memory, this process has 23.50 GiB memory in use.
"""
GATED_STDOUT = """Error running job: You are trying to access a gated repo.
Make sure to have access to it at https://huggingface.co/black-forest-labs/FLUX.1-dev.
401 Client Error. (Request ID: Root=1-6740a1b2-3c4d5e6f)
"""
GATED_STDERR = """Traceback (most recent call last):
  File "/opt/venv/lib/python3.11/site-packages/huggingface_hub/utils/_http.py", line 409, in \
hf_raise_for_status
    response.raise_for_status()
requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: \
https://huggingface.co/black-forest-labs/FLUX.1-dev/resolve/main/transformer/config.json

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/opt/ai-toolkit/run.py", line 120, in main
    job.run()
huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-6740a1b2-3c4d5e6f)

Cannot access gated repo for url \
https://huggingface.co/black-forest-labs/FLUX.1-dev/resolve/main/transformer/config.json.
Access to model black-forest-labs/FLUX.1-dev is restricted. You must have access to it and be \
authenticated to access it. Please log in.
"""


def _stderr_until_step(read, step: int) -> str:
    text = read("ai-toolkit", "fresh-run.stderr")
    return (
        text[: text.index(f"| {step}/5 [")]
        + f"| {step}/5 [00:01<00:01,  1.89it/s, lr: 1.0e-04 loss: 1.601e+00]"
    )


def test_a_log_cut_in_the_middle_is_still_running(read):
    stdout = read("ai-toolkit", "fresh-run.stdout")
    stdout = stdout[: stdout.index("Saving at step 4")]
    summary = summarize(parse_streams("ai-toolkit", [stdout, _stderr_until_step(read, 3)]))
    assert (summary.status, summary.last_step, summary.total) == ("running", 3, 5)
    assert summary.diagnosis is None
    text = read("sd-scripts", "success-cols200.log")
    cut = text[: text.index("avr_loss=1.47]") + 5]  # half-way through a bar redraw
    summary = summarize(parse_whole("sd-scripts", cut))
    assert (summary.status, summary.last_step) == ("running", 3)


def test_cuda_oom_appended_fails_with_what_to_lower(read):
    events = parse_whole("ai-toolkit", _stderr_until_step(read, 3) + "\n" + OOM_TRACEBACK)
    (error,) = by_type(events, "error")
    assert (error.code, error.step) == ("out_of_memory", 3)
    summary = summarize(events, exit_code=1, backend="ai-toolkit")
    assert (summary.status, summary.diagnosis.code) == ("failed", "out_of_memory")
    assert summary.diagnosis.message == "The GPU ran out of memory at step 3."
    assert "batch size to 1" in summary.diagnosis.fix and "model.quantize: true" in summary.diagnosis.fix

    text = read("sd-scripts", "success-cols200.log")
    cut = text[: text.index("\rsteps:  62%")]
    wrapper = read("sd-scripts", "bad-dataset-key.log")
    wrapper = wrapper[wrapper.rindex("Traceback") :]  # accelerate's own CalledProcessError traceback
    events = parse_whole("sd-scripts", cut + "\n" + OOM_TRACEBACK + wrapper)
    summary = summarize(events, exit_code=1, backend="sd-scripts")
    assert summary.diagnosis.code == "out_of_memory"
    assert "--blocks_to_swap 16" in summary.diagnosis.fix and "fp8_base" in summary.diagnosis.fix


def test_nan_loss_in_the_bar(read):
    text = read("ai-toolkit", "fresh-run.stderr").replace(
        "3/5 [00:01<00:01,  1.89it/s, lr: 1.0e-04 loss: 1.601e+00]",
        "3/5 [00:01<00:01,  1.89it/s, lr: 1.0e-04 loss: nan]",
    )
    events = parse_whole("ai-toolkit", text)
    (error,) = by_type(events, "error")
    assert (error.code, error.step) == ("nan_loss", 3)
    summary = summarize(events)
    assert (summary.status, summary.diagnosis.code) == ("failed", "nan_loss")
    assert "at step 3" in summary.diagnosis.message and "5e-5" in summary.diagnosis.fix

    text = read("sd-scripts", "success-cols200.log").replace(
        "5/8 [00:00<00:00, 10.88it/s, avr_loss=1.47]", "5/8 [00:00<00:00, 10.88it/s, avr_loss=nan]"
    )
    summary = summarize(parse_whole("sd-scripts", text))
    assert (summary.status, summary.diagnosis.code, summary.last_loss) == ("failed", "nan_loss", 1.48)


def test_gated_model_401(read):
    stdout = read("ai-toolkit", "missing-dataset.stdout")
    stdout = stdout[: stdout.index("Error running job")] + GATED_STDOUT
    stderr = read("ai-toolkit", "missing-dataset.stderr")
    stderr = stderr[: stderr.index("Traceback")] + GATED_STDERR
    events = parse_streams("ai-toolkit", [stdout, stderr])
    assert {e.code for e in by_type(events, "error")} == {"gated_model"}
    summary = summarize(events, exit_code=1)
    assert (summary.status, summary.diagnosis.code) == ("failed", "gated_model")
    assert "HF_TOKEN" in summary.diagnosis.fix and "accept the licence" in summary.diagnosis.fix


def test_keyboard_interrupt_traceback_is_an_interruption(read):
    text = read("sd-scripts", "success-cols200.log")
    cut = (
        text[: text.index("\rsteps:  62%")]
        + '\nTraceback (most recent call last):\n  File "x.py", line 1\nKeyboardInterrupt\n'
    )
    events = parse_whole("sd-scripts", cut)
    assert by_type(events, "warning")[-1].code == "interrupted"
    summary = summarize(events)
    assert (summary.status, summary.last_step) == ("interrupted", 4)
    assert "--resume" in summary.diagnosis.fix
