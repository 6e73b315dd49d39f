"""Sensors and actuators of the box: real drivers and their simulated twins.

Each kind of hardware sits behind a small interface; configuration picks the real driver
or the simulated twin. `emulated_i2c` holds register-level emulators for the tests.
"""
