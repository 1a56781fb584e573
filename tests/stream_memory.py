"""Peak memory of chapters 3-5's analyses over a dataset split, run in a fresh process (tests/test_streaming.py).

``python -m tests.stream_memory PATH MODE CHUNK`` prints the growth of the peak resident set (bytes; Linux's
high-water mark, reset after a warm-up on two states, so the warm-up's own peaks -- numba's compilation -- do
not hide it) while the analyses run over the file's ``train`` split: MODE ``stream`` reads the split as a
:class:`mag_ml.data.SplitStates` in chunks of CHUNK states; ``whole`` loads it at once and analyses it in one
batch (the chapters' code before the analyses streamed; the encoding still in chunks, as 300 states at once
took about 10 GB here).  Both also histogram the angles of the split's reconstructions: decoded per chunk as the
histogram reads them (``lazy=True``) when streaming, decoded whole first otherwise.
"""

import sys

import torch

from mag_ml.analysis.collapse import fourier_mse, theta_distribution
from mag_ml.chapters.evae import EVAE_HAMILTONIAN, latent_directions, reconstruct_states
from mag_ml.data import SplitStates, load_states
from mag_ml.models import SpinVAE, energy_losses


def status(key):
    """``VmHWM`` (peak resident set) or ``VmRSS`` of this process, bytes (Linux ``/proc/self/status``)."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def reset_peak():
    """Reset the peak resident set to the current one (``5`` into ``/proc/self/clear_refs``); the current one."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")
    return status("VmRSS")


def analyse(states, chunk, model, encode_chunk, lazy):
    energy_losses(states, EVAE_HAMILTONIAN, batch_size=chunk, device="auto")
    fourier_mse(states, chunk=chunk)
    latent_directions(model, states, batch_size=encode_chunk)
    outputs = reconstruct_states(model, states, batch_size=encode_chunk, lazy=lazy)
    theta_distribution(EVAE_HAMILTONIAN, outputs, chunk=chunk)


def main(path, mode, chunk):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SpinVAE(128).eval()
    split = SplitStates(path, "train")
    analyse(split[:2], 2, model, 2, True)  # warm-up: imports, numba and torch kernels (their compile peaks), allocator
    base = reset_peak()  # the growth is measured from here, whatever the warm-up's own peak was
    if mode == "stream":
        analyse(split, chunk, model, chunk, True)
    else:  # the encoder still in chunks (see above)
        states = load_states(path, "train")
        analyse(states, len(states), model, chunk, False)
    print(status("VmHWM") - base)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
