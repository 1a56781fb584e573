"""Datasets on disk: resumable generation on any executor, HDF5 storage verified on load.

``generate_dataset`` writes a spin dataset (annealed states with their
energies and charges, e.g. the E-VAE dataset of Kwon et al., Adv. Sci. 2021);
``open_dataset``, ``load_states`` and ``load_observables`` read it back,
verified (HDF5 checksums, per-state digests, energies and charges recomputed
from the stored spins), without torch.  ``generate_records`` /
``load_records`` are the generic form (one record of fixed-shape arrays per item) behind the
micromagnetic images of chapter 7 and the (sigma, tau) defect statistics of
chapter 8; :mod:`.windows` cuts images into the sliding windows of Wang et
al. (Adv. Sci. 2020); :mod:`.export` writes datasets and record tables to
xarray / netCDF-4 (imported on its own, as it imports xarray).  Which datasets the chapters make, and their sizes per
profile, is the chapter layer's (:mod:`mag_ml.chapters`).  Importing this
package has no side effects.
"""

from .generation import SerialExecutor, generate_dataset, generate_records, load_records
from .storage import (SPLITS, DatasetBusyError, DatasetCorruptError, DatasetError, DatasetMismatchError,
                      SplitStates, dataset_params, load_observables, load_states, open_dataset, read_params, split_slice,
                      subset_dataset)
from .windows import sliding_windows, window_count

__all__ = ["generate_dataset", "generate_records", "load_records", "SerialExecutor", "dataset_params", "open_dataset",
           "read_params", "load_states", "SplitStates", "load_observables", "split_slice", "subset_dataset", "SPLITS", "DatasetError",
           "DatasetMismatchError", "DatasetCorruptError", "DatasetBusyError", "sliding_windows", "window_count"]
