"""Spin-state datasets: generation (Monte Carlo, any executor, resumable) and HDF5 storage.

``generate_dataset`` writes the E-VAE dataset of Kwon et al. (Adv. Sci. 2021)
or its quick-profile miniature; ``open_dataset``, ``load_states`` and
``load_observables`` read it back, verified, without torch.  Importing this
package has no side effects.
"""

from .generation import SerialExecutor, generate_dataset, generate_records, load_records
from .micromagnetic import estimator_datasets, estimator_spec, micromagnetic_dataset
from .windows import sliding_windows, window_count
from .defects import DefectDataset, defect_dataset, defect_dataset_spec, load_defect_dataset
from .storage import (SPLITS, DatasetCorruptError, DatasetError, DatasetMismatchError, dataset_params,
                      load_observables, load_states, open_dataset, read_params, split_slice)

__all__ = ["generate_dataset", "generate_records", "load_records", "SerialExecutor", "dataset_params", "open_dataset", "read_params",
           "load_states", "load_observables", "split_slice", "SPLITS", "DatasetError",
           "DatasetMismatchError", "DatasetCorruptError"]
__all__ += ["sliding_windows", "window_count", "estimator_datasets", "estimator_spec", "micromagnetic_dataset"]
__all__ += ["DefectDataset", "defect_dataset", "defect_dataset_spec", "load_defect_dataset"]
