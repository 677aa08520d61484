"""The installed version (`nezuko --version`, the start-up line, `nezuko_build_info`)."""

from importlib.metadata import PackageNotFoundError, version


def installed_version() -> str:
    """The version of the installed `nezuko` distribution (`0+unknown` when not installed)."""
    try:
        return version("nezuko")
    except PackageNotFoundError:
        return "0+unknown"
