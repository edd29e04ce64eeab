"""Who may call the server: the management token (`auth`) and the inference API keys (`keys`)."""
