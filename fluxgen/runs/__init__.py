"""Runs: the run folder and its manifest, training attempts, resume, reproduce, diff, and reading runs back.

    fluxgen.runs.session    start_run(plan, TrainOptions) / resume_run(run_dir, TrainOptions) -> RunResult
    fluxgen.runs.attempt    run_attempt(...): one trainer process, followed live and classified
    fluxgen.runs.verdict    classify(...): how an attempt ended, with what only the runner knows; redaction
    fluxgen.runs.folder     new_run_dir, find_run, given_intent, write_run_files, load_plan
    fluxgen.runs.manifest   RunManifest (the typed record), read_manifest / save_manifest (its one writer)
    fluxgen.runs.facts      what a manifest records: versions, GPU, dataset, file hashes, outputs
    fluxgen.runs.record     train.log, events.jsonl, metrics.csv as a run goes
    fluxgen.runs.checkpoints resume_point: the newest valid checkpoint or saved state
    fluxgen.runs.reproduce  read_source, plan_reproduction, differences
    fluxgen.runs.diff       diff(a, b) -> Diff
    fluxgen.runs.listing    list_runs, run_status
Importing this package is light: each module loads what it needs when called.
"""
