"""Datasets of the book: resumable generation on any executor, HDF5 storage verified on load.

``generate_dataset`` writes the E-VAE dataset of Kwon et al. (Adv. Sci. 2021)
or its quick-profile miniature; ``open_dataset``, ``load_states`` and
``load_observables`` read it back, verified, without torch.
``generate_records`` / ``load_records`` are the generic form (one record of
fixed-shape arrays per item) behind the micromagnetic images of Wang et al.
(Adv. Sci. 2020, :mod:`.micromagnetic`, with the sliding windows of
:mod:`.windows`) and the (sigma, tau) defect statistics of Eagan et al.
(arXiv 2603.10182, :mod:`.defects`).  Importing this package has no side
effects.
"""

from .defects import DefectDataset, defect_dataset, defect_dataset_spec, load_defect_dataset
from .generation import SerialExecutor, generate_dataset, generate_records, load_records
from .micromagnetic import estimator_datasets, estimator_spec, micromagnetic_dataset
from .storage import (SPLITS, DatasetCorruptError, DatasetError, DatasetMismatchError, dataset_params,
                      load_observables, load_states, open_dataset, read_params, split_slice)
from .windows import sliding_windows, window_count

__all__ = ["generate_dataset", "generate_records", "load_records", "SerialExecutor", "dataset_params", "open_dataset",
           "read_params", "load_states", "load_observables", "split_slice", "SPLITS", "DatasetError",
           "DatasetMismatchError", "DatasetCorruptError",
           "estimator_spec", "estimator_datasets", "micromagnetic_dataset", "sliding_windows", "window_count",
           "defect_dataset_spec", "defect_dataset", "load_defect_dataset", "DefectDataset"]
