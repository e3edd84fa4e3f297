"""What-if over levers: sweep files and designs, running points with resume, sensitivity,
hazard ratios, PRIM discovery, figures and the report."""
