"""What a person reads: out dirs written safely, figures, report pages and comparisons."""
