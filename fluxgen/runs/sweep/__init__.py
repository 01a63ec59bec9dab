"""Sweeps: one ordinary run folder per grid point, trained by `fluxgen train` on an executor (local pool, SLURM
through submitit, SkyPilot), recorded in `<sweep>/sweep.json`."""
