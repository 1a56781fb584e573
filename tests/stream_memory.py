"""Peak memory of chapters 3-5's analyses over a dataset split, run in a fresh process (tests/test_streaming.py).

``python -m tests.stream_memory PATH MODE CHUNK`` prints the growth of the peak resident set (bytes) while the
analyses run over the file's ``train`` split, after a warm-up on two states: MODE ``stream`` reads the split as a
:class:`mag_ml.data.SplitStates` in chunks of CHUNK states; ``whole`` loads it at once and analyses it in one batch
(the chapters' code before the analyses streamed; the encoding still in chunks, as 300 states at once
took about 10 GB here).
"""

import resource
import sys

import torch

from mag_ml.analysis.collapse import fourier_mse
from mag_ml.chapters.evae import EVAE_HAMILTONIAN, latent_directions
from mag_ml.data import SplitStates, load_states
from mag_ml.models import SpinVAE, energy_losses


def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def analyse(states, chunk, model, encode_chunk):
    energy_losses(states, EVAE_HAMILTONIAN, batch_size=chunk, device="auto")
    fourier_mse(states, chunk=chunk)
    latent_directions(model, states, batch_size=encode_chunk)


def main(path, mode, chunk):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SpinVAE(128).eval()
    split = SplitStates(path, "train")
    analyse(split[:2], 2, model, 2)  # warm-up: imports, kernels, allocator
    base = peak()
    if mode == "stream":
        analyse(split, chunk, model, chunk)
    else:  # the encoder still in chunks (see above)
        states = load_states(path, "train")
        analyse(states, len(states), model, chunk)
    print(peak() - base)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
