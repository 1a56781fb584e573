"""Neural networks of the book (importing this package imports torch, nothing else runs).

:mod:`mag_ml.models.vae`: the convolutional VAE of Kwon et al. (Adv. Sci. 2021)
and the loss terms of the standard VAE and the E-VAE.
:mod:`mag_ml.models.tfc` and :mod:`mag_ml.models.defect_cnn`: the defect networks of
Eagan, Copus & Iacocca (arXiv 2603.10182): TFC-constrained PINN, dispersion CNN, two-branch wall CNN.
:mod:`mag_ml.models.cnn`: the parameter-estimation CNN of Wang et al. (Adv. Sci. 2020).
"""

from .cnn import ParameterCNN
from .defect_cnn import (DefectInverseCNN, DefectMLP, DispersionCNN, LineShapeMLP, WallCNN, inverse_loss,
                         line_shape_loss, mlp_loss, wall_loss)
from .tfc import ConstrainedExpression, DispersionPINN, intact_bond_fraction, kernel_coordinate
from .vae import (ANALYSIS_BATCH, LOSS_TERMS, PeriodicConv2d, SpinVAE, energy_losses, flops_per_sample,
                  hamiltonian_loss, kl_divergence, layer_table, periodic_pad, reconstruction_loss, reference_energy,
                  state_batch, total_loss, vae_losses)

__all__ = ["SpinVAE", "PeriodicConv2d", "periodic_pad", "vae_losses", "total_loss", "reconstruction_loss",
           "kl_divergence", "hamiltonian_loss", "energy_losses", "state_batch", "ANALYSIS_BATCH", "reference_energy",
           "layer_table", "flops_per_sample",
           "LOSS_TERMS", "ParameterCNN", "DispersionCNN", "WallCNN", "wall_loss", "DefectInverseCNN", "inverse_loss",
           "DefectMLP", "mlp_loss", "LineShapeMLP", "line_shape_loss", "ConstrainedExpression",
           "DispersionPINN", "intact_bond_fraction", "kernel_coordinate"]
