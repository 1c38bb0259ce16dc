"""wfrewrite: compile WDL tasks and CWL tools into self-contained POSIX sh scripts."""

__version__ = "0.1.0"
