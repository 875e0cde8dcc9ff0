"""The image backend: build an analysed system into its capDL spec, report and bootable image."""

from sdf_lsp.backend.build import BuildResult, Progress, build, default_image_type

__all__ = ["BuildResult", "Progress", "build", "default_image_type"]
