"""Figures that need the images and the fitted detectors, not only the tables: mean spectra,
training curves, Grad-CAM and gradient saliency grids."""
