"""Autoencoder scoring on the box: a take in, per hand the reconstruction error, threshold,
verdict, severity and an explanation of which finger and which moment looked abnormal."""
