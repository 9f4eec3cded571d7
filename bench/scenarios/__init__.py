"""One module per benchmark; see bench/__main__.py for what each exposes."""
