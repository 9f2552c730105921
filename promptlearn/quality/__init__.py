"""Learning quality: calibration, sample difficulty, capability cliffs, reward hacking and per-bullet credit."""
