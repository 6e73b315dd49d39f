"""Autoencoder screening: cohort loading, training, int8 export, evaluation (TensorFlow)."""
