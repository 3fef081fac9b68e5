"""Where a dataset may be written: under the output root, never over the project or the system."""

from __future__ import annotations

from pathlib import Path

from simian.errors import InvalidInputError, shorten
from simian.settings import Settings, project_root

#: Folders no dataset is ever written into (nor anywhere below them).
SYSTEM_FOLDERS = tuple(
    Path(p)
    for p in (
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/proc",
        "/run",
        "/sbin",
        "/sys",
        "/usr",
        "/var/lib",
        "/var/run",
    )
)


def is_system_location(resolved: Path) -> bool:
    """Whether a resolved path is a file system root, the home folder itself, or in a system folder."""
    return (
        resolved == Path(resolved.anchor)
        or resolved == Path.home().resolve()
        or any(resolved == folder or folder in resolved.parents for folder in SYSTEM_FOLDERS)
    )


def refuse_system_location(path: Path, flag: str, what: str) -> Path:
    """`path` resolved (links followed), refused when it lands in a system folder: `render -o` through a link to
    /usr/lib, `combine -o /etc/passwd` as root."""
    if "\x00" in str(path):
        raise InvalidInputError(f"{flag}: the path holds a NUL character, which no path can; name a {what}")
    resolved = path.expanduser().resolve()
    if is_system_location(resolved):
        raise InvalidInputError(
            f"{flag}: {shorten(str(path))!r} is in a system folder ({resolved}); choose a {what} of your own"
        )
    return resolved


def output_root(settings: Settings) -> Path:
    """SIMIAN_OUTPUT_ROOT, by default the project root."""
    return (settings.simian_output_root or project_root()).expanduser().resolve()


def confine_output(output: str, settings: Settings) -> Path:
    """The dataset folder `output` names, resolved (links followed) and checked: strictly below the output
    root, not the project root or one of its parents, not a system folder."""
    root = output_root(settings)
    shown = output if len(output) <= 200 else output[:200] + "..."
    if "\x00" in output:
        raise InvalidInputError(f"output: {shown!r} holds a NUL character, which no path can; name a dataset folder")
    path = Path(output).expanduser()
    resolved = (path if path.is_absolute() else root / path).resolve()
    project = project_root().resolve()
    if is_system_location(resolved):
        raise InvalidInputError(f"output: {shown!r} is a system folder ({resolved}); choose a dataset folder")
    if resolved == project or resolved in project.parents:
        raise InvalidInputError(
            f"output: {shown!r} is the project folder or one above it ({resolved}); use a folder of its own, "
            "e.g. output=dataset"
        )
    if root not in resolved.parents:
        raise InvalidInputError(
            f"output: {shown!r} ({resolved}) is not below the output root {root}; use a folder under it "
            "(relative paths are relative to it) or set SIMIAN_OUTPUT_ROOT"
        )
    return resolved
