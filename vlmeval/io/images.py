"""Images: sizes read from the file header with Pillow (no decoding), paths resolved against --images."""

from __future__ import annotations

from pathlib import Path


def images_folder(value: str | Path | None) -> Path | None:
    """``--images DIR`` as a folder, checked before any record is read (a file or a typo there would
    otherwise surface as every image missing, or not at all where no size is needed)."""
    if value is None or value == "":
        return None
    from vlmeval.errors import InputError

    folder = Path(value)
    try:
        ok = folder.is_dir()
    except OSError:
        ok = False
    if not ok:
        why = why_unreadable(folder)
        why = "no such folder" if why == "no such file" else why if why.startswith("permission") else "not a directory"
        raise InputError(f"--images {folder}: {why} (give the folder the image paths are relative to)")
    return folder


def report_image(report, name: object) -> str | None:
    """A failure row's image, found from wherever the report is read: its path as written (absolute, or
    relative to here), else relative to the folder the run was in (``environment.cwd``), else relative to
    the first input file's folder there (yes/no keeps the record's own ``image``, written relative to it)."""
    if not isinstance(name, str) or not name:
        return None
    path = Path(name)
    if path.is_absolute() or _regular_file(path):
        return name
    run_dir = report.environment.get("cwd") if isinstance(report.environment, dict) else None
    if isinstance(run_dir, str):
        candidates = [Path(run_dir) / path]
        first = next((e.get("path") for e in report.inputs if isinstance(e, dict)), None)
        if isinstance(first, str) and not first.startswith("<"):
            candidates.append(Path(run_dir) / Path(first).parent / path)
        for candidate in candidates:
            if _regular_file(candidate):
                return str(candidate)
    return name


def resolve_image(name: str | None, images_dir: Path | None, base: Path) -> Path | None:
    if not name:
        return None
    path = Path(name)
    if path.is_absolute():
        return path
    return (images_dir or base) / path


def why_unreadable(path: Path) -> str:
    """What stands between ``path`` and an image, for a message: "" when it is a regular file."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file"
    except PermissionError:
        return "permission denied: a folder on the way cannot be searched"
    except OSError as exc:  # a link loop, a name too long
        return exc.strerror or "cannot be read"
    if stat.S_ISDIR(mode):
        return "a directory"
    if not stat.S_ISREG(mode):
        return "not a regular file: a pipe or device is never opened"
    return ""


def _regular_file(path: Path) -> bool:
    """A FIFO would block the open; a folder, a missing file or one behind an unsearchable folder has no
    image (``Path.is_file`` raises on the last)."""
    try:
        return path.is_file()
    except OSError:
        return False


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) as stored (EXIF orientation is not applied: boxes are in stored pixels, as COCO's),
    or None when the file is missing or not an image."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    if not _regular_file(path):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                with Image.open(path) as image:
                    return image.size
            except Image.DecompressionBombError:
                return _bomb_size(path)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def _bomb_size(path: Path) -> tuple[int, int]:
    """The size in the header of an image over Pillow's pixel limit. Image.open refuses such a file before
    anything is decoded, to guard the decoding; reading the size decodes nothing, so it is lifted for this
    one open (the limit stays for every decode: thumbnails, CLIPScore)."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as image:
            return image.size
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def thumbnail(path: str | Path | None, max_side: int, *, upright: bool):
    """(RGB thumbnail, (stored width, stored height)) for a report, or None when there is no readable image.
    ``upright`` applies EXIF orientation; leave it off where boxes in stored pixels are drawn over it."""
    if not isinstance(path, (str, Path)) or not path or not _regular_file(Path(path)):
        return None
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened) if upright else opened
            size = image.size
            small = image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    small.thumbnail((max_side, max_side), Image.BICUBIC)
    return small, size


# CLIP's preprocessing constants (openai/CLIP clip.py _transform); a model's preprocessor_config.json wins
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ImageProblem(Exception):
    """An image that cannot be used: ``reason`` is the report's skip key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def clip_pixels(path: Path, size: int = 224, mean=CLIP_MEAN, std=CLIP_STD):
    """An image as CLIPScore's reference (jmhessel/clipscore) feeds CLIP: resized bicubic so the short side is
    ``size`` (torchvision's rule on a PIL image), centre-cropped (torchvision's rounding), converted to RGB,
    scaled to [0, 1] and normalised; float32 [3, size, size].

    Defined behaviour for what the reference leaves to chance:
    - EXIF orientation is applied (the image as a viewer shows it; the reference ignores the tag);
    - palette and 1-bit images become RGB(A) before resizing (Pillow would resize them nearest-neighbour);
    - 16-bit and 32-bit greyscale is scaled to 8 bits (value / 257; the reference would saturate at 255);
    - grey, RGBA, LA and CMYK are resized in their own mode and then converted to RGB as the reference does
      (alpha is dropped, CMYK uses Pillow's conversion);
    - a missing file, an unreadable or truncated one raises ImageProblem (counted, never scored).
    """
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    if Path(path).exists() and not Path(path).is_file() and not Path(path).is_dir():
        raise ImageProblem("unreadable_image", f"{path}: not a regular file")  # a FIFO's open would block
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now: a truncated file fails here, not later
            image = ImageOps.exif_transpose(opened)
            if image is opened:
                image = opened.copy()
    except FileNotFoundError:
        raise ImageProblem("missing_image", f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageProblem("missing_image", f"{path}: a folder, not an image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageProblem("unreadable_image", f"{path}: {exc}") from None
    if image.mode in ("P", "PA", "1"):
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    elif image.mode.startswith("I;16") or image.mode == "I":
        wide = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8), "L")
    elif image.mode == "F":
        image = Image.fromarray(np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8), "L")
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), Image.BICUBIC)
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    image = image.crop((left, top, left + size, top + size)).convert("RGB")
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    pixels = (pixels - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))
