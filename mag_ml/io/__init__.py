"""File formats for exchanging spin states and results with other tools.

* :mod:`.ovf`: OVF 1.0 and 2.0 (OOMMF, MuMax3, ubermag), read and written;
* :mod:`.netcdf`: states and result tables as ``xarray.Dataset`` (named
  dimensions, coordinates in physical units, the Hamiltonian and units as
  attributes), written to netCDF-4;
* :mod:`.vtk`: a state as VTK image data (``.vti``) for ParaView.

Importing this package has no side effects and imports :mod:`.ovf` only;
the names of :mod:`.netcdf` and :mod:`.vtk` (which import xarray and pyevtk)
are loaded on first use.
"""

from .ovf import CHECK_VALUES, FORMATS, METRES_PER_MESHUNIT, VERSIONS, OVFError, read_ovf, write_ovf

_LAZY = {"spins_to_xarray": "netcdf", "table_to_xarray": "netcdf", "write_netcdf": "netcdf",
         "read_netcdf": "netcdf", "hamiltonian_attrs": "netcdf", "write_vti": "vtk"}

__all__ = ["read_ovf", "write_ovf", "OVFError", "FORMATS", "VERSIONS", "CHECK_VALUES", "METRES_PER_MESHUNIT",
           *_LAZY]


def __getattr__(name):
    """Load the xarray and VTK exports on first use (they import xarray, pandas and pyevtk)."""
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
