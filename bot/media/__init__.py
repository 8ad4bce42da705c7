"""Media handling for incoming tips (photos)."""

from bot.media.photos import PhotoLimits, PhotoRejected, ProcessedPhoto, hamming, process_photo

__all__ = ["PhotoLimits", "PhotoRejected", "ProcessedPhoto", "hamming", "process_photo"]
