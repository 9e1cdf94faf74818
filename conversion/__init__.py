"""Training, evaluation and int8 quantization of edge-monitor's models (needs the ``train`` extra)."""
