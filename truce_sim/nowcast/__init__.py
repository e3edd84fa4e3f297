"""Nowcasting a running truce: the simulated worlds conditioned on what has been observed so far."""
