"""sdf_lsp: language server, checker and image backend for seL4 Microkit SDF files."""

__version__ = "0.1.0"
