"""The tests beside the piano run step by step on the drivers: force, range of motion, TOJT.

Each step tells the patient what to do, shows live feedback where the paper uses it, records
its raw samples, and ends either completed or stopped with a message that says what happened
(a sensor that dropped out); what was recorded is kept either way.
"""
